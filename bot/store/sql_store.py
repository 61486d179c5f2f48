"""The store, written once for every database: the write queue, the settings cache, pseudonyms, retention
and every public method of ``bot.store.base.Store``.

A backend (``SQLiteStore``, ``PostgresStore``) adds only what differs: how it connects, how it runs
one transaction and hands it over as a ``Session`` (``bot.store.queries``), and which of its errors
mean "the database may work again later" (``describe_fault``). Everything a method promises
(writes queued and never awaited, faults waited out with one warning, settings cached for
``SETTINGS_TTL``) is kept here, so both backends keep it the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Self, TextIO, TypeVar

import bot.store.queries as q
from bot.reloads import ReloadRecord, ReloadReport
from bot.store.base import (
    ExportFormat,
    ForgottenGuild,
    GuildSettings,
    LoggedQuestion,
    PostQuestion,
    QuestionRecord,
    Scope,
    SolvedPost,
    Stats,
    StoredDocument,
    StoreError,
    StoreHealth,
    UnansweredPost,
    UserHasher,
    Vote,
    as_utc,
    check_collection_limits,
    new_stored_document,
    utcnow,
)
from bot.store.export import write_export
from bot.store.queries import Record, Session
from bot.store.settings_cache import SETTINGS_TTL, GuildSettingsCache
from bot.store.writer import MAX_PENDING, FaultLog, RetryWait, WriteQueue, backoff
from bot.timeouts import within

log = logging.getLogger("bot.store")
R = TypeVar("R")

PURGE_EVERY = 24 * 3600.0
READ_WAIT = 10.0  # seconds ``bounded`` waits for a read: a last resort against a hung disk or server


def new_id() -> str:
    """A question or reload id made here, not by the database, so queueing a write needs no round trip."""
    return uuid.uuid4().hex


class SQLStore:
    """What every backend shares (see ``bot.store.base.Store`` for what each method promises).

    ``read_only`` opens an existing, up-to-date database for reading only (the terminal's ``stats``
    and ``export``): nothing is created, upgraded or purged. ``retry_wait``, ``clock`` and
    ``monotonic`` (the clock of the settings cache, trusted ``settings_ttl`` seconds) are injectable
    so tests control time.
    """

    def __init__(self, where: str, describe_fault: Callable[[BaseException], str | None], *,
                 hasher: UserHasher | None = None, retention_days: int = 90, read_only: bool = False,
                 max_pending: int = MAX_PENDING, retry_wait: RetryWait = backoff, purge_every: float = PURGE_EVERY,
                 clock: Callable[[], datetime] = utcnow, settings_ttl: float = SETTINGS_TTL,
                 monotonic: Callable[[], float] = time.monotonic):
        self.where = where
        self.retention_days = retention_days
        self.read_only = read_only
        self._describe_fault = describe_fault
        self._hasher = hasher
        self._purge_every = purge_every
        self._clock = clock
        self.faults = FaultLog(where)
        self._writes: WriteQueue[Record] = WriteQueue(self._apply, describe_fault, self.faults,
                                                      max_pending=max_pending, retry_wait=retry_wait)
        # Other processes may share the database (shards): settings are read again after a few seconds.
        self._guild_settings = GuildSettingsCache(settings_ttl, monotonic)
        self._purger: asyncio.Task[None] | None = None

    # What a backend provides.

    async def _connect(self) -> None:
        """Open the connection (or pool) if it is not, with the schema checked or upgraded."""
        raise NotImplementedError

    async def _disconnect(self) -> None:
        raise NotImplementedError

    @property
    def _connected(self) -> bool:
        raise NotImplementedError

    async def _transaction(self, work: Callable[[Session], Awaitable[R]], *, write: bool) -> R:
        """Run ``work`` in one short transaction; a passing fault becomes StoreError (and drops the connection)."""
        raise NotImplementedError

    # Life cycle.

    async def open(self) -> None:
        try:
            await self._connect()
        except StoreError:
            await self._disconnect()
            raise
        except Exception as exc:
            reason = self._describe_fault(exc)
            if reason is None or self.read_only:
                await self._disconnect()
                raise StoreError(self.where, reason or f"cannot use this database ({type(exc).__name__}: {exc})"
                                 ) from exc
            self.faults.report(reason, self._writes.pending)  # the writer keeps trying
        if self.read_only or self._purger is not None:
            return
        self._writes.start()
        if self._connected:
            with contextlib.suppress(StoreError):  # a passing fault was reported; the next purge tries again
                await self.purge_expired()
        self._purger = asyncio.get_running_loop().create_task(self._purge_periodically(), name="store purge")

    async def flush(self) -> None:
        await self._writes.flush()

    async def close(self, timeout: float | None = 10.0) -> None:
        if self._purger is not None:
            self._purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purger
            self._purger = None
        await self._writes.close(timeout)
        await self._disconnect()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def health(self) -> StoreHealth:
        return StoreHealth(self.where, self.faults.reason, self._writes.pending, self.faults.dropped)

    async def bounded(self, read: Awaitable[R], seconds: float = READ_WAIT) -> R:
        """``read`` (one of this store's), or TimeoutError after ``seconds`` for a caller that cannot wait longer.

        The read itself is never cancelled (cancelling one mid-transaction would leave the connection
        in that transaction): it finishes in the background and its result is dropped.
        """
        return await within(read, seconds)

    # Writes: queued, never awaited.

    async def _apply(self, batch: Sequence[Record]) -> None:
        await self._transaction(lambda s: q.write_records(s, batch), write=True)
        for record in batch:
            if isinstance(record, GuildSettings):
                self._guild_settings.saved(record)

    def hash_user(self, user_id: int) -> str:
        if self._hasher is None:
            raise RuntimeError("this store was opened without a hash salt: it cannot record people")
        return self._hasher(user_id)

    def _queue(self, record: Record) -> None:
        if self.read_only:
            raise RuntimeError(f"{self.where} is open read-only")
        self._writes.put(record)

    def _now(self, at: datetime | None = None) -> datetime:
        return as_utc(at or self._clock())

    def record_question(self, *, question: str, answered: bool, passage_ids: Sequence[str], latency_ms: float,
                        guild_id: int | None, channel_id: int | None, user_id: int, at: datetime | None = None,
                        question_id: str | None = None) -> str:
        record = QuestionRecord(
            id=question_id or new_id(), asked_at=self._now(at), guild_id=guild_id,
            channel_id=channel_id if guild_id is not None else None, asker_hash=self.hash_user(user_id),
            question=question, answered=answered, passage_ids=tuple(passage_ids), latency_ms=round(latency_ms))
        self._queue(record)
        return record.id

    def record_post_question(self, *, post_id: int, question: str, answered: bool, passage_ids: Sequence[str],
                             latency_ms: float, guild_id: int, user_id: int, at: datetime | None = None) -> str:
        record = QuestionRecord(
            id=new_id(), asked_at=self._now(at), guild_id=guild_id, channel_id=post_id,
            asker_hash=self.hash_user(user_id), question=question, answered=answered,
            passage_ids=tuple(passage_ids), latency_ms=round(latency_ms))
        self._queue(PostQuestion(post_id, record))
        return record.id

    def mark_post_solved(self, post_id: int, guild_id: int, *, at: datetime | None = None) -> None:
        self._queue(SolvedPost(post_id, guild_id, self._now(at)))

    def record_feedback(self, question_id: str, user_id: int, vote: int, *, at: datetime | None = None) -> None:
        if vote not in (1, -1):
            raise ValueError(f"a vote is +1 or -1, not {vote!r}")
        self._queue(Vote(question_id, self.hash_user(user_id), vote, self._now(at)))

    def record_reload(self, report: ReloadReport, *, by_name: str, by_user_id: int | None = None,
                      guild_id: int | None = None, at: datetime | None = None) -> str:
        reload_id = new_id()
        by_hash = None if by_user_id is None else self.hash_user(by_user_id)
        self._queue(ReloadRecord(self._now(at), by_name, report, guild_id, by_hash, reload_id))
        return reload_id

    def set_guild_settings(self, settings: GuildSettings) -> None:
        if settings.updated_at is None:
            settings = replace(settings, updated_at=self._now())
        self._queue(settings)
        self._guild_settings.set(settings)

    # Reads.

    async def _read(self, work: Callable[[Session], Awaitable[R]]) -> R:
        return await self._transaction(work, write=False)

    async def get_guild_settings(self, guild_id: int) -> GuildSettings:
        """Read again once the cached copy is SETTINGS_TTL old; the last seen (else defaults) while it cannot be."""
        cached = self._guild_settings.fresh(guild_id)
        if cached is not None:
            return cached
        try:
            stored = await self._read(lambda s: q.select_guild_settings(s, guild_id))
        except StoreError as exc:
            self.faults.report(exc.reason, self._writes.pending)
            return self._guild_settings.last_known(guild_id) or GuildSettings(guild_id)
        return self._guild_settings.read(stored or GuildSettings(guild_id))

    async def question(self, question_id: str) -> QuestionRecord | None:
        found = await self._read(lambda s: q.select_questions(s, "q.id = :id", {"id": question_id}))
        return found[0].question if found else None

    async def post_question(self, post_id: int) -> QuestionRecord | None:
        question_id = await self._read(lambda s: q.select_post_question_id(s, post_id))
        return None if question_id is None else await self.question(question_id)

    async def unanswered_posts(self, guild_id: int, days: float = 30, now: datetime | None = None
                               ) -> tuple[UnansweredPost, ...]:
        since = self._now(now) - timedelta(days=days)
        return await self._read(lambda s: q.select_unanswered_posts(s, guild_id, since))

    async def logged_posts(self, post_ids: Sequence[int]) -> frozenset[int]:
        return await self._read(lambda s: q.select_logged_posts(s, list(post_ids)))

    async def votes(self, question_id: str) -> tuple[Vote, ...]:
        return await self._read(lambda s: q.select_votes(s, question_id))

    async def latest_reload(self, guild_id: int | None = None) -> ReloadRecord | None:
        found = await self.reload_history(guild_id, limit=1)
        return found[0] if found else None

    async def reload_history(self, guild_id: int | None = None, limit: int = 10) -> tuple[ReloadRecord, ...]:
        return await self._read(lambda s: q.select_reloads(s, guild_id, limit))

    async def question_log(self, scope: Scope, since: datetime | None = None,
                           until: datetime | None = None) -> list[LoggedQuestion]:
        where, params = q.where_questions(scope, since, until)
        return await self._read(lambda s: q.select_questions(s, where, params))

    async def stats(self, scope: Scope, days: float = 30, now: datetime | None = None) -> Stats:
        until = self._now(now)
        since = until - timedelta(days=days)
        return await self._read(lambda s: q.select_stats(s, scope, since, until))

    async def export(self, out: TextIO, format: ExportFormat, scope: Scope, days: float | None = None,
                     now: datetime | None = None) -> int:
        until = self._now(now)
        since = None if days is None else until - timedelta(days=days)
        return write_export(await self.question_log(scope, since, until), out, format)

    # Server collections: written at once.

    async def _write_now(self, work: Callable[[Session], Awaitable[R]]) -> R:
        """A write the caller waits for; StoreError (with one warning per fault) if it cannot be made now."""
        if self.read_only:
            raise RuntimeError(f"{self.where} is open read-only")
        try:
            result = await self._transaction(work, write=True)
        except StoreError as exc:
            self.faults.report(exc.reason, self._writes.pending)
            raise
        self.faults.clear(self._writes.pending)
        return result

    async def put_document(self, guild_id: int, document_id: str, filename: str, text: str,
                           by_user_id: int | None, *, max_documents: int | None = None,
                           max_bytes: int | None = None) -> StoredDocument:
        document = new_stored_document(guild_id, document_id, filename, text, self._clock(),
                                       None if by_user_id is None else self.hash_user(by_user_id))

        async def put(s: Session) -> None:
            await s.new_collection_version(document.guild_id)  # first: it locks the collection
            others = await q.collection_usage_besides(s, document.guild_id, document.document_id)
            check_collection_limits(document, others, max_documents, max_bytes)
            await q.upsert_document(s, document)

        await self._write_now(put)
        return document

    async def delete_document(self, guild_id: int, document_id: str) -> bool:
        return await self._write_now(lambda s: q.remove_document(s, guild_id, document_id))

    async def documents(self, guild_id: int) -> list[StoredDocument]:
        return await self._read(lambda s: q.select_documents(s, guild_id))

    async def collection_usage(self, guild_id: int) -> tuple[int, int]:
        # "" is no document's id (new_stored_document refuses it): this counts them all
        return await self._read(lambda s: q.collection_usage_besides(s, guild_id, ""))

    async def collections_version(self, guild_id: int) -> int:
        return (await self.collections_versions([guild_id]))[guild_id]

    async def collections_versions(self, guild_ids: Iterable[int]) -> dict[int, int]:
        wanted = sorted({int(guild_id) for guild_id in guild_ids})
        return await self._read(lambda s: q.select_collection_versions(s, wanted))

    async def forget_guild(self, guild_id: int) -> ForgottenGuild:
        """Queued writes about the server are dropped first, so none of this process lands after it was forgotten."""
        self._writes.discard(lambda record: getattr(record, "guild_id", None) == guild_id)
        self._guild_settings.forget(guild_id)
        forgotten = await self._write_now(lambda s: q.delete_guild(s, guild_id))
        log.info("Forgot server %d in %s: %s", guild_id, self.where, forgotten)
        return forgotten

    # Retention.

    async def purge_expired(self, now: datetime | None = None) -> int:
        cutoff = self._now(now) - timedelta(days=self.retention_days)
        try:
            deleted = await self._transaction(lambda s: q.delete_expired(s, cutoff), write=True)
        except StoreError as exc:
            self.faults.report(exc.reason, self._writes.pending)
            raise
        self.faults.clear(self._writes.pending)
        if deleted:
            log.info("Retention: %d question(s) older than %d days deleted from %s", deleted, self.retention_days,
                     self.where)
        return deleted

    async def _purge_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._purge_every)
            try:
                await self.purge_expired()
            except StoreError:
                pass  # reported once by the fault log; the next run tries again
            except Exception:
                log.exception("Retention purge of %s failed", self.where)
