"""Plain data for what the knowledge directory holds: documents, passages, problems."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Literal

PassageKind = Literal["paragraph", "list_item", "code", "metadata"]
# Where a citation stops naming a section path and names only its last heading.
MAX_SECTION_CHARS = 80


@dataclass(frozen=True)
class Passage:
    """One unit of a document: a paragraph, a list item, a code block, or one metadata field.

    ``paragraph`` counts paragraphs as a reader would (1-based) within the passage's section, or
    within its page for a PDF; a list item carries the number of the paragraph that introduces it
    plus its own ``item`` number. ``section`` is the path of headings above the passage (the
    document's title left out). Only paragraphs and list items are searched and quoted: code is
    shown as code beside the paragraph it follows, metadata answers questions that ask for it.
    """

    id: str
    document_id: str
    kind: PassageKind
    text: str
    paragraph: int
    item: int | None = None
    intro_id: str | None = None
    section: tuple[str, ...] = ()
    # Words indexed but never shown: the section's headings, or how people ask for a metadata field.
    keywords: str = ""
    page: int | None = None
    language: str = ""  # code: the language its source names

    @property
    def searchable(self) -> bool:
        return self.kind in ("paragraph", "list_item")

    @property
    def section_title(self) -> str | None:
        """The section as a citation names it: "Parent › Child" when short, else the last heading."""
        if not self.section:
            return None
        tail = " › ".join(self.section[-2:])
        last = self.section[-1]
        text = tail if len(tail) <= MAX_SECTION_CHARS else last
        return text if len(text) <= MAX_SECTION_CHARS else text[:MAX_SECTION_CHARS - 1].rstrip() + "…"

    @property
    def location(self) -> str:
        """Where a reader finds the passage: "§ 4. Conveying Verbatim Copies, ¶1", "p. 12, ¶3",
        "¶8, item 2", "document details"."""
        if self.kind == "metadata":
            return "document details"
        parts = []
        if self.section_title:
            parts.append(f"§ {self.section_title}")
        if self.page is not None:
            parts.append(f"p. {self.page}")
        if self.kind == "code":
            parts.append(f"code after ¶{self.paragraph}" if self.paragraph else "code")
        elif self.item is not None:
            parts.append(f"¶{self.paragraph}, item {self.item}")
        else:
            parts.append(f"¶{self.paragraph}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    path: Path
    passages: tuple[Passage, ...]
    subtitle: str | None = None
    author: str | None = None
    publication: str | None = None
    published: date | None = None
    url: str | None = None
    checksum: str = ""
    format: str = "Markdown"
    sections: tuple[str, ...] = ()  # every heading, in order (the title left out)
    dropped: tuple[tuple[str, int], ...] = ()  # markup left out, by kind, for `check`

    @property
    def published_text(self) -> str | None:
        if self.published is None:
            return None
        return f"{self.published:%B} {self.published.day}, {self.published.year}"

    @property
    def body(self) -> tuple[Passage, ...]:
        """The passages a question is searched in (paragraphs and list items)."""
        return tuple(p for p in self.passages if p.searchable)

    @property
    def metadata(self) -> tuple[Passage, ...]:
        return tuple(p for p in self.passages if p.kind == "metadata")

    def code_after(self, passage: Passage) -> Passage | None:
        """The code block that directly follows a passage in its section, shown with it."""
        position = self._positions.get(passage.id)
        if position is None or position + 1 >= len(self.passages):
            return None
        following = self.passages[position + 1]
        return following if following.kind == "code" and following.section == passage.section else None

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {p.id: i for i, p in enumerate(self.passages)}


@dataclass(frozen=True)
class Problem:
    """A file that could not be used, and why; reported, never fatal."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class KnowledgeBase:
    directory: Path
    documents: tuple[Document, ...]
    problems: tuple[Problem, ...] = ()
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def passages(self) -> tuple[Passage, ...]:
        return tuple(p for d in self.documents for p in d.passages)

    @property
    def searchable(self) -> tuple[Passage, ...]:
        """What the search index holds: every document's paragraphs and list items."""
        return tuple(p for d in self.documents for p in d.passages if p.searchable)

    @cached_property
    def _by_id(self) -> dict[str, Document]:
        return {d.id: d for d in self.documents}

    def document(self, document_id: str) -> Document | None:
        return self._by_id.get(document_id)

    def passage(self, passage_id: str) -> Passage | None:
        doc = self.document(passage_id.split("#", 1)[0])
        if doc is None:
            return None
        position = doc._positions.get(passage_id)
        return doc.passages[position] if position is not None else None


class KnowledgeError(Exception):
    """A problem with a knowledge file or directory, with where it was found."""

    def __init__(self, path: Path | str, reason: str, problems: tuple[Problem, ...] = ()):
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason
        self.problems = problems
