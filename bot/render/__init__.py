"""Renderers: plain data (Answer, Recommendations) -> text for a terminal or Discord."""
