"""The question an answer is for, kept in the embed's title: the state "More excerpts" reads back after a restart."""

from __future__ import annotations

from bot.render.discord_text import TITLE_LIMIT, fit, unescape


def question_title(question: str) -> str:
    """The question as the embed's title (escaped, trimmed)."""
    return fit(question, TITLE_LIMIT)


def question_from_title(title: str | None) -> str:
    """The question an answer embed was made for (part of it when the title had to be trimmed)."""
    return unescape(title or "")


def keeps_question(question: str) -> bool:
    """Whether the answer's title holds the whole question, so a button can ask it again."""
    return question_from_title(question_title(question)) == question
