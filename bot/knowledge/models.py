"""Plain data for what the knowledge directory holds: documents, passages, problems."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Literal

PassageKind = Literal["paragraph", "list_item", "metadata"]


@dataclass(frozen=True)
class Passage:
    """One searchable unit: a paragraph, a list item, or one metadata field.

    ``paragraph`` counts body paragraphs as a reader would (1-based); a list
    item carries the number of the paragraph that introduces it plus its own
    ``item`` number. Metadata passages have paragraph 0.
    """

    id: str
    document_id: str
    kind: PassageKind
    text: str
    paragraph: int
    item: int | None = None
    intro_id: str | None = None
    section: str | None = None
    # Words indexed but never shown: how people ask for a metadata field.
    keywords: str = ""

    @property
    def location(self) -> str:
        """Where a reader finds the passage: "¶7", "¶8, item 2", "article details"."""
        if self.kind == "metadata":
            return "article details"
        if self.item is not None:
            return f"¶{self.paragraph}, item {self.item}"
        return f"¶{self.paragraph}"


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

    @property
    def published_text(self) -> str | None:
        if self.published is None:
            return None
        return f"{self.published:%B} {self.published.day}, {self.published.year}"

    @property
    def body(self) -> tuple[Passage, ...]:
        return tuple(p for p in self.passages if p.kind != "metadata")


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

    @cached_property
    def _by_id(self) -> dict[str, Document]:
        return {d.id: d for d in self.documents}

    def document(self, document_id: str) -> Document | None:
        return self._by_id.get(document_id)

    def passage(self, passage_id: str) -> Passage | None:
        doc = self.document(passage_id.split("#", 1)[0])
        if doc is None:
            return None
        return next((p for p in doc.passages if p.id == passage_id), None)


class KnowledgeError(Exception):
    """A problem with a knowledge file or directory, with where it was found."""

    def __init__(self, path: Path | str, reason: str, problems: tuple[Problem, ...] = ()):
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason
        self.problems = problems
