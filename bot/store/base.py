"""What the bot remembers, as plain data, and the one interface every store backend implements.

The Discord layer talks to a ``Store``; SQLite (``bot.store.sqlite``) is the embedded backend and
PostgreSQL (``bot.store.postgres``) the shared one. Nothing here knows which database is underneath:
times are aware ``datetime`` objects in UTC, ids are ``int``/``str``, results are frozen dataclasses.

Scopes: every record belongs to a Discord server (``guild_id``) or to direct messages (``None``).
Reads that summarise take a ``Scope``: a server id, ``None`` for direct messages only, or
``EVERYWHERE`` for the operator's view across all of them (the terminal's default). There is no
default scope, so a server's view can never include another server's records by accident.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol, TextIO, TypeVar

from bot.reloads import ReloadRecord, ReloadReport

UP, DOWN = 1, -1
R = TypeVar("R")
ExportFormat = Literal["csv", "json"]


class Everywhere(enum.Enum):
    EVERYWHERE = "everywhere"


EVERYWHERE = Everywhere.EVERYWHERE
Scope = int | None | Everywhere  # a server id; None: direct messages; EVERYWHERE: all servers and DMs


class StoreError(Exception):
    """The database cannot be used (damaged, too new, missing, unavailable); says where and why in one line."""

    def __init__(self, where: Path | str, reason: str):
        super().__init__(f"{where}: {reason}")
        self.where = str(where)
        self.reason = reason


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class UserHasher:
    """Pseudonyms for Discord users: HMAC-SHA256 of the id with a secret salt, so no raw id is ever stored.

    The same person gets the same pseudonym while the salt is kept (one vote per person per answer);
    without the salt a pseudonym cannot be turned back into an id by trying every id.
    """

    def __init__(self, salt: bytes):
        if not salt:
            raise ValueError("the hash salt must not be empty")
        self._salt = salt

    def __call__(self, user_id: int) -> str:
        return hmac.new(self._salt, f"discord-user:{int(user_id)}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class QuestionRecord:
    """One question as the log keeps it. ``channel_id`` is None in direct messages (a DM channel names a user)."""

    id: str
    asked_at: datetime
    guild_id: int | None
    channel_id: int | None
    asker_hash: str
    question: str
    answered: bool
    passage_ids: tuple[str, ...]  # the cited passages, in the answer's order
    latency_ms: int


@dataclass(frozen=True)
class LoggedQuestion:
    """A logged question with the votes its answer received (what the export writes)."""

    question: QuestionRecord
    votes_up: int = 0
    votes_down: int = 0


@dataclass(frozen=True)
class Vote:
    """One person's vote on one answer; voting again replaces it."""

    question_id: str
    voter_hash: str
    vote: int  # UP (+1) or DOWN (-1)
    voted_at: datetime


@dataclass(frozen=True)
class GuildSettings:
    """A server's own settings (``/kb settings``); None means "the bot-wide setting from the environment"."""

    guild_id: int
    answer_channel_ids: frozenset[int] | None = None  # None: ASK_CHANNEL_IDS
    public_answers: bool = True
    cooldown_seconds: float | None = None  # None: COOLDOWN_SECONDS
    updated_at: datetime | None = field(default=None, compare=False)
    forum_channel_ids: frozenset[int] = frozenset()  # help forums: each new post there is answered
    thread_channel_ids: frozenset[int] = frozenset()  # each public answer there starts a thread for follow-ups
    # When each help forum was named: posts made there since, while the bot was away, are answered when it starts.
    forums_named_at: Mapping[int, datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class PostQuestion:
    """The question a forum post asked (its title and first message), logged with the post it came from."""

    post_id: int  # the post's thread
    question: QuestionRecord

    @property
    def guild_id(self) -> int | None:
        return self.question.guild_id


@dataclass(frozen=True)
class SolvedPost:
    """A forum post marked solved by its author or an admin."""

    post_id: int
    guild_id: int
    solved_at: datetime


@dataclass(frozen=True)
class UnansweredPost:
    """A forum post the knowledge base could not answer and nobody has marked solved: for someone to answer."""

    post_id: int
    question: str
    asked_at: datetime


@dataclass(frozen=True)
class StoredDocument:
    """One document of a server's own collection, as ``/kb add`` stored it: the whole file, not its passages."""

    guild_id: int
    document_id: str  # the slug that /kb remove and citations name
    filename: str
    text: str
    checksum: str  # SHA-256 of the UTF-8 text, hex
    size_bytes: int  # of the UTF-8 text
    added_at: datetime
    added_by: str | None  # the admin's pseudonym; None when not added by a Discord user


def new_stored_document(guild_id: int, document_id: str, filename: str, text: str, added_at: datetime,
                        added_by: str | None) -> StoredDocument:
    """A document about to be stored, with its checksum and size; ValueError for what no database should keep."""
    if not document_id or not filename:
        raise ValueError("a document needs an id and a file name")
    if "\x00" in text:
        raise ValueError(f"{filename}: a document's text must not contain NUL characters")
    data = text.encode("utf-8")
    return StoredDocument(int(guild_id), document_id, filename, text, hashlib.sha256(data).hexdigest(), len(data),
                          as_utc(added_at), added_by)


class CollectionFull(Exception):
    """Adding a document would take a server's collection past a limit; says which, in one line."""

    def __init__(self, guild_id: int, limit: Literal["documents", "bytes"], allowed: int, needed: int):
        what = "document(s)" if limit == "documents" else "bytes"
        super().__init__(f"this server's collection would hold {needed:,} {what}; the limit is {allowed:,}")
        self.guild_id = guild_id
        self.limit = limit
        self.allowed = allowed
        self.needed = needed


def check_collection_limits(document: StoredDocument, others: tuple[int, int], max_documents: int | None,
                            max_bytes: int | None) -> None:
    """Raise CollectionFull if ``document`` with the collection's ``others`` (documents, bytes) is past a limit."""
    count, size = others[0] + 1, others[1] + document.size_bytes
    if max_documents is not None and count > max_documents:
        raise CollectionFull(document.guild_id, "documents", max_documents, count)
    if max_bytes is not None and size > max_bytes:
        raise CollectionFull(document.guild_id, "bytes", max_bytes, size)


@dataclass(frozen=True)
class ForgottenGuild:
    """What ``forget_guild`` deleted."""

    guild_id: int
    documents: int
    questions: int  # with their cited passages
    votes: int
    reloads: int
    settings: int  # 1 if the server had settings of its own


@dataclass(frozen=True)
class Count:
    label: str
    count: int


@dataclass(frozen=True)
class UnansweredQuestion:
    """Questions the bot could not answer, grouped case- and punctuation-insensitively."""

    text: str  # the most recent wording
    count: int
    last_asked: datetime


@dataclass(frozen=True)
class PassageVotes:
    passage_id: str
    down: int
    up: int

    @property
    def document_id(self) -> str:
        return self.passage_id.split("#", 1)[0]


@dataclass(frozen=True)
class Stats:
    """What admins see in ``/kb stats`` and ``python -m bot stats`` for one scope and period."""

    scope: Scope
    since: datetime
    until: datetime
    questions: int
    answered: int
    topics: tuple[Count, ...]  # content words of the questions, each counted once per question
    documents: tuple[Count, ...]  # documents cited, by number of questions whose answer cited them
    unanswered: tuple[UnansweredQuestion, ...]  # most asked first: what to add to the knowledge base next
    votes_up: int
    votes_down: int
    voted_down: tuple[PassageVotes, ...]  # excerpts most often voted down

    @property
    def days(self) -> float:
        return (self.until - self.since).total_seconds() / 86400

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.questions if self.questions else None

    @property
    def approval(self) -> float | None:
        """The share of votes that are 👍; None without votes."""
        votes = self.votes_up + self.votes_down
        return self.votes_up / votes if votes else None

    def to_json(self) -> dict:
        """The ``stats --json`` contract. Discord ids are strings, as in Discord's API (they exceed 2^53)."""
        return {
            "scope": scope_json(self.scope),
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "questions": self.questions,
            "answered": self.answered,
            "answer_rate": None if self.answer_rate is None else round(self.answer_rate, 4),
            "topics": [{"word": c.label, "questions": c.count} for c in self.topics],
            "documents": [{"document": c.label, "questions": c.count} for c in self.documents],
            "unanswered": [{"question": u.text, "count": u.count, "last_asked": u.last_asked.isoformat()}
                           for u in self.unanswered],
            "votes": {"up": self.votes_up, "down": self.votes_down,
                      "approval": None if self.approval is None else round(self.approval, 4)},
            "voted_down": [{"passage": p.passage_id, "document": p.document_id, "down": p.down, "up": p.up}
                           for p in self.voted_down],
        }


def scope_json(scope: Scope) -> str:
    """A scope as text: a server id, "direct messages" or "everywhere"."""
    if scope is EVERYWHERE:
        return "everywhere"
    return "direct messages" if scope is None else str(scope)


@dataclass(frozen=True)
class StoreHealth:
    """For /kb status and logs: where the store is, whether it is writable now, and what waits to be written."""

    where: str
    fault: str | None  # why writes are failing, None when they succeed
    pending: int
    dropped: int  # writes dropped (oldest first) because too many were pending during this fault


class Store(Protocol):
    """Everything the bot remembers. One object per process, opened at start-up and closed at shutdown.

    ``record_*`` and ``set_guild_settings`` never wait for the database: they queue the write and
    return at once (call them from the event loop). A writer applies queued writes in order; while the
    database is locked, read-only, full, unreachable or missing its folder, writes are kept and retried
    and one warning is logged. Reads are ``async``; ``get_guild_settings`` falls back to the last
    settings it saw (else defaults) when the database cannot be read, the others raise ``StoreError``.

    Several processes may share one database (shards on PostgreSQL): what one writes, the others
    read. Server settings are cached for a few seconds only (``SETTINGS_TTL``), and a server's
    collection has a version (``collections_version``) that other processes poll to see a change.
    Server collections are written at once, not queued: the admin who adds a file hears whether it
    was saved.
    """

    where: str  # the database, for messages (a path or a URL; never a password)

    async def open(self) -> None:
        """Create or upgrade the schema and start the writer; raises StoreError if the database is damaged."""
        ...

    async def flush(self) -> None:
        """Wait until every queued write is in the database."""
        ...

    async def close(self, timeout: float | None = 10.0) -> None:
        """Flush (for at most ``timeout`` seconds: one warning says what was not saved), then close."""
        ...

    def health(self) -> StoreHealth: ...

    async def bounded(self, read: Awaitable[R], seconds: float = ...) -> R:
        """``read`` (one of this store's), or TimeoutError after ``seconds`` (10 by default); never cancels it."""
        ...

    def hash_user(self, user_id: int) -> str: ...

    def record_question(self, *, question: str, answered: bool, passage_ids: Sequence[str], latency_ms: float,
                        guild_id: int | None, channel_id: int | None, user_id: int, at: datetime | None = None,
                        question_id: str | None = None) -> str:
        """Queue a logged question; returns its id (for the feedback buttons) at once."""
        ...

    def record_feedback(self, question_id: str, user_id: int, vote: int, *, at: datetime | None = None) -> None:
        """Queue a 👍 (+1) or 👎 (-1); a second vote by the same person on the same answer replaces the first."""
        ...

    def record_reload(self, report: ReloadReport, *, by_name: str, by_user_id: int | None = None,
                      guild_id: int | None = None, at: datetime | None = None) -> str: ...

    def set_guild_settings(self, settings: GuildSettings) -> None:
        """Queue a server's settings; they apply at once in this process and are saved in the background."""
        ...

    async def get_guild_settings(self, guild_id: int) -> GuildSettings: ...

    async def question(self, question_id: str) -> QuestionRecord | None: ...

    def record_post_question(self, *, post_id: int, question: str, answered: bool, passage_ids: Sequence[str],
                             latency_ms: float, guild_id: int, user_id: int, at: datetime | None = None) -> str:
        """Log a forum post's question (its channel is the post); a second one for the same post is not kept."""
        ...

    def mark_post_solved(self, post_id: int, guild_id: int, *, at: datetime | None = None) -> None:
        """Note that a forum post is solved: it leaves the unanswered posts."""
        ...

    async def post_question(self, post_id: int) -> QuestionRecord | None:
        """The question logged for a forum post, None if the bot never answered it (or the log has expired)."""
        ...

    async def unanswered_posts(self, guild_id: int, days: float = 30, now: datetime | None = None
                               ) -> tuple[UnansweredPost, ...]:
        """A server's forum posts of the last ``days`` the bot declined and nobody marked solved, newest first."""
        ...

    async def logged_posts(self, post_ids: Sequence[int]) -> frozenset[int]:
        """Which of these forum posts have a question in the log (the bot answered or declined them)."""
        ...

    async def votes(self, question_id: str) -> tuple[Vote, ...]: ...

    async def latest_reload(self, guild_id: int | None = None) -> ReloadRecord | None: ...

    async def reload_history(self, guild_id: int | None = None, limit: int = 10) -> tuple[ReloadRecord, ...]: ...

    async def question_log(self, scope: Scope, since: datetime | None = None,
                           until: datetime | None = None) -> list[LoggedQuestion]: ...

    async def stats(self, scope: Scope, days: float = 30, now: datetime | None = None) -> Stats: ...

    async def export(self, out: TextIO, format: ExportFormat, scope: Scope, days: float | None = None,
                     now: datetime | None = None) -> int:
        """Write the question log as CSV or JSON; returns the number of questions written."""
        ...

    async def purge_expired(self, now: datetime | None = None) -> int:
        """Delete questions (and their votes) older than the retention period; returns how many."""
        ...

    # Server collections: written and read at once; StoreError when the database cannot be used.

    async def put_document(self, guild_id: int, document_id: str, filename: str, text: str,
                           by_user_id: int | None, *, max_documents: int | None = None,
                           max_bytes: int | None = None) -> StoredDocument:
        """Add a document to a server's collection, or replace the one with that id, in one transaction.

        The limits are checked in the same transaction (CollectionFull), so two processes adding at
        once cannot both slip past them.
        """
        ...

    async def delete_document(self, guild_id: int, document_id: str) -> bool:
        """Remove a document from a server's collection; False if it had none with that id."""
        ...

    async def documents(self, guild_id: int) -> list[StoredDocument]:
        """A server's collection, by document id."""
        ...

    async def collection_usage(self, guild_id: int) -> tuple[int, int]:
        """(documents, bytes) in a server's collection."""
        ...

    async def collections_version(self, guild_id: int) -> int:
        """Changes whenever the server's collection changes (0: it has none); one cheap read, made to be polled."""
        ...

    async def collections_versions(self, guild_ids: Iterable[int]) -> dict[int, int]:
        """``collections_version`` for many servers in one read (the servers this process serves)."""
        ...

    async def forget_guild(self, guild_id: int) -> ForgottenGuild:
        """Delete everything kept about a server: its collection, questions, votes, settings and reloads."""
        ...
