"""What every format parser produces: a document's blocks in reading order, and its metadata.

Parsers (Markdown, reStructuredText, HTML, PDF, Word, plain text) know their format; the loader
knows none of them. It turns a ParsedDocument into passages: headings become the section path of
the blocks under them, paragraphs and list items become passages, code is kept but never quoted
as prose.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["heading", "paragraph", "item", "code"]


@dataclass(frozen=True)
class Block:
    """One block a reader sees.

    ``text`` is plain text with all markup removed (for code: the code itself, newlines kept).
    ``level``: a heading's depth (1 = top); a list item's nesting depth (0 = outermost).
    ``page``: the 1-based page a PDF block starts on, else None.
    """

    kind: BlockKind
    text: str
    level: int = 0
    page: int | None = None
    language: str = ""  # code blocks: the language named by the source, if any
    # The full heading path this block sits under (a heading's includes itself); None: the loader
    # derives it from the heading blocks before it. Formats whose sections can close before the next
    # heading (a reStructuredText directive's content) set it on every block.
    section: tuple[str, ...] | None = None


@dataclass
class ParsedDocument:
    """A parser's result. ``meta`` holds what the source itself says of the document (title,
    subtitle, author, publication, published, url), as plain strings; the loader lets front
    matter override it. ``dropped`` counts markup left out, by kind ("directive index": 12),
    for ``python -m bot check``."""

    format: str  # "Markdown", "reStructuredText", "HTML", "PDF", "Word", "text"
    blocks: list[Block]
    meta: dict[str, str] = field(default_factory=dict)
    dropped: Counter[str] = field(default_factory=Counter)


class ParseError(ValueError):
    """A file a parser cannot read, with the reason in words a user understands
    ("encrypted PDF", "no text: the PDF holds only images")."""
