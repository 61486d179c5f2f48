"""YAML front matter: the metadata block between two ``---`` lines at the top of a file."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import yaml

_FENCE = re.compile(r"^(?:---|\.\.\.)\s*$")


class FrontMatterError(ValueError):
    pass


def split_front_matter(text: str) -> tuple[dict[str, Any], str, bool]:
    """Return (metadata, body, had_front_matter); raise FrontMatterError if broken."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return {}, text, False
    for end in range(1, len(lines)):
        if _FENCE.match(lines[end]):
            break
    else:
        raise FrontMatterError("front matter starts with '---' but has no closing '---'")
    raw = "".join(lines[1:end])
    try:
        data = yaml.safe_load(raw) if raw.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FrontMatterError(f"front matter is not valid YAML: {problem}{where}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FrontMatterError("front matter must be 'key: value' lines")
    return {str(k).lower(): v for k, v in data.items()}, "".join(lines[end + 1:]), True


_DATE_FORMATS = ("%Y-%m-%d", "%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%Y/%m/%d")


def parse_date(value: Any) -> date:
    """A date from YAML (already a date) or from common written forms."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise FrontMatterError(f"cannot read the date {text!r} (write it as YYYY-MM-DD)")
