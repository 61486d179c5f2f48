"""What a reload of a knowledge base changed, and the record of one reload: plain data that the engine
makes, the store keeps and the renderers show (none of them imports another for it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.knowledge.models import Problem


@dataclass(frozen=True)
class ReloadReport:
    """What a reload changed, by document and by passage, and what it skipped."""

    documents_added: tuple[str, ...] = ()
    documents_changed: tuple[str, ...] = ()
    documents_removed: tuple[str, ...] = ()
    passages_added: int = 0
    passages_changed: int = 0
    passages_removed: int = 0
    problems: tuple[Problem, ...] = ()
    documents: int = 0
    passages: int = 0
    error: str | None = field(default=None)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def changed(self) -> bool:
        return bool(self.documents_added or self.documents_changed or self.documents_removed)


@dataclass(frozen=True)
class ReloadRecord:
    """One reload: when, by whom, and the report of what changed or was skipped (/kb status, the history)."""

    at: datetime
    by_name: str  # the admin's display name (or "terminal")
    report: ReloadReport
    guild_id: int | None = None  # whose collection was reloaded; None: the shared knowledge base
    by_hash: str | None = None  # the admin's pseudonym; None when not done by a Discord user
    id: str | None = None  # the store's id; None for a reload the store has not kept
