"""Split a document body into blocks a reader sees: headings, paragraphs, list items."""

from __future__ import annotations

import re
from dataclasses import dataclass

_BULLET = re.compile(r"^\s*(?:[-*+•‣◦▪●]|\d{1,3}[.)])\s+(?=\S)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()]|\([^)]*\))*\)")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(r"(?<![\w*])([*_])(?=[^\s*_])(.+?)(?<=[^\s*_])\1(?![\w*])")
_CODE = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Block:
    kind: str  # "heading", "paragraph" or "item"
    text: str


def strip_inline_markdown(text: str) -> str:
    """The words a reader sees: links, emphasis and code marks removed."""
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _CODE.sub(r"\1", text)
    text = _STRONG.sub(r"\2", text)
    text = _EMPHASIS.sub(r"\2", text)
    return text


def _clean(lines: list[str], markdown: bool) -> str:
    text = " ".join(line.strip() for line in lines if line.strip())
    text = re.sub(r"\s+", " ", text).strip()
    return strip_inline_markdown(text) if markdown else text


def split_blocks(body: str, markdown: bool = True) -> list[Block]:
    """Paragraphs are separated by blank lines; bullet lines start list items.

    A list item's indented continuation lines belong to it; headings
    (Markdown only) and horizontal rules are not text.
    """
    blocks: list[Block] = []
    current: list[str] = []
    current_kind = "paragraph"

    def flush() -> None:
        nonlocal current
        text = _clean(current, markdown)
        if text:
            blocks.append(Block(current_kind, text))
        current = []

    for line in body.splitlines():
        if not line.strip():
            flush()
            current_kind = "paragraph"
            continue
        if markdown and (heading := _HEADING.match(line)):
            flush()
            blocks.append(Block("heading", _clean([heading.group(2)], markdown)))
            current_kind = "paragraph"
            continue
        if _RULE.match(line):
            flush()
            current_kind = "paragraph"
            continue
        bullet = _BULLET.match(line)
        if bullet:
            flush()
            current_kind = "item"
            current = [line[bullet.end():]]
            continue
        if current_kind == "item" and not line[:1].isspace() and not current:
            current_kind = "paragraph"
        current.append(line)
    flush()
    return blocks
