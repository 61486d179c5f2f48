"""The SQLite backend, through aiosqlite: the one module that owns the database file.

One connection, WAL (readers never wait for the writer), a busy timeout, foreign keys on, and short
explicit transactions. Writes go through ``WriteQueue``: answering never waits for the disk. The
connection is dropped after any fault and opened again on the next attempt, so a folder that
reappears, a file made writable again or space freed up are all picked up without a restart.

A file that is not a SQLite database, or a damaged one, is reported (``StoreError``) and never
written to: the header and ``PRAGMA quick_check`` are read before anything else touches it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO, TypeVar
from urllib.parse import quote

import aiosqlite

from bot.engine import ReloadReport
from bot.knowledge.models import Problem
from bot.store.base import (
    EVERYWHERE,
    Count,
    ExportFormat,
    ForgottenGuild,
    GuildSettings,
    LoggedQuestion,
    PassageVotes,
    QuestionRecord,
    ReloadEntry,
    Scope,
    Stats,
    StoredDocument,
    StoreError,
    StoreHealth,
    UserHasher,
    Vote,
    as_utc,
    check_collection_limits,
    new_stored_document,
    utcnow,
)
from bot.store.export import write_export
from bot.store.migrations import LATEST, MIGRATIONS, Migration
from bot.store.settings_cache import SETTINGS_TTL, GuildSettingsCache
from bot.store.stats import busiest_topics, unanswered_questions
from bot.store.writer import MAX_PENDING, FaultLog, RetryWait, WriteQueue, backoff

log = logging.getLogger("bot.store")
R = TypeVar("R")
Record = QuestionRecord | Vote | GuildSettings | ReloadEntry

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT = 2.0  # seconds a statement waits for another connection's lock before the writer backs off
PURGE_EVERY = 24 * 3600.0
TOP = 10  # rows in each "most …" list of the stats

# SQLite's primary result codes that describe a database that may work again later.
_PASSING_FAULTS = {
    sqlite3.SQLITE_BUSY: "it is locked by another connection",
    sqlite3.SQLITE_LOCKED: "it is locked",
    sqlite3.SQLITE_READONLY: "it is read-only",
    sqlite3.SQLITE_FULL: "the disk (or the database's size limit) is full",
    sqlite3.SQLITE_CANTOPEN: "it cannot be opened (a missing folder, or a read-only file or folder?)",
    sqlite3.SQLITE_IOERR: "a disk I/O error (a read-only or full disk?)",
    sqlite3.SQLITE_PERM: "permission denied",
    sqlite3.SQLITE_PROTOCOL: "a locking protocol error",
    sqlite3.SQLITE_NOTADB: "it is not a SQLite database",
    sqlite3.SQLITE_CORRUPT: "it is damaged",
}


def describe_fault(exc: BaseException) -> str | None:
    """Why the database is unusable for now, or None for an error that retrying cannot fix."""
    if isinstance(exc, StoreError):
        return exc.reason
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        what = None if code is None else _PASSING_FAULTS.get(code & 0xFF)
        return f"{what} ({exc})" if what else None
    if isinstance(exc, OSError):
        detail = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
        return f"its folder or file cannot be used ({detail})"
    return None


def new_id() -> str:
    """A question or reload id made here, not by the database, so queueing a write needs no round trip."""
    return uuid.uuid4().hex


def _time(moment: datetime) -> str:
    return as_utc(moment).isoformat(timespec="microseconds")


def _document_id(passage_id: str) -> str:
    return passage_id.split("#", 1)[0]


# ---------------------------------------------------------------------------------------------- opening


def check_header(path: Path) -> None:
    """Refuse a file that is not SQLite before SQLite opens it (an empty file is a new database)."""
    try:
        with path.open("rb") as file:
            head = file.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    if head and head != SQLITE_HEADER:
        raise StoreError(path, "not a SQLite database (the file was left untouched: move it away or set "
                               "DATABASE_PATH to another file)")


async def check_integrity(db: aiosqlite.Connection, where: str) -> None:
    """``PRAGMA quick_check``: a damaged file is reported before anything writes to it."""
    try:
        async with db.execute("PRAGMA quick_check(1)") as cursor:
            row = await cursor.fetchone()
    except sqlite3.DatabaseError as exc:
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code not in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
            raise
        raise StoreError(where, f"the database is damaged ({exc}); the file was left untouched") from exc
    if row is None or row[0] != "ok":
        detail = row[0] if row else "no answer"
        raise StoreError(where, f"the database is damaged ({detail}); the file was left untouched")


async def user_version(db: aiosqlite.Connection) -> int:
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate(db: aiosqlite.Connection, where: str, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Apply the steps the database has not had, each in its own transaction; returns the version it was at."""
    version = await user_version(db)
    if version > len(migrations):
        raise StoreError(where, f"the database has schema version {version} but this bot knows only "
                                f"{len(migrations)}: run a newer bot (the file was left untouched)")
    for step in migrations[version:]:
        try:
            await db.executescript(f"BEGIN IMMEDIATE;\n{step.sql}\nPRAGMA user_version = {step.version};\nCOMMIT;")
        except BaseException:
            if db.in_transaction:
                with contextlib.suppress(Exception):
                    await db.execute("ROLLBACK")
            raise
        if version:
            log.info("Database %s upgraded to schema version %d (%s)", where, step.version, step.name)
    return version


# ---------------------------------------------------------------------------------------------- writes


async def insert_question(db: aiosqlite.Connection, q: QuestionRecord) -> None:
    await db.execute(
        "INSERT INTO questions (id, asked_at, guild_id, channel_id, asker_hash, question, answered, latency_ms) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (q.id, _time(q.asked_at), q.guild_id, q.channel_id, q.asker_hash, q.question, q.answered, q.latency_ms))
    await db.executemany(
        "INSERT INTO question_passages (question_id, position, passage_id, document_id) VALUES (?, ?, ?, ?)",
        [(q.id, n, passage_id, _document_id(passage_id)) for n, passage_id in enumerate(q.passage_ids, 1)])


async def upsert_vote(db: aiosqlite.Connection, v: Vote) -> None:
    """One row per person per answer; a vote on an answer the log does not have (purged) is ignored."""
    cursor = await db.execute(
        "INSERT INTO feedback (question_id, voter_hash, vote, voted_at) "
        "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM questions WHERE id = ?) "
        "ON CONFLICT (question_id, voter_hash) DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at",
        (v.question_id, v.voter_hash, v.vote, _time(v.voted_at), v.question_id))
    if cursor.rowcount == 0:
        log.info("A vote on answer %s was ignored: the question log no longer has it", v.question_id)


async def upsert_guild_settings(db: aiosqlite.Connection, s: GuildSettings) -> None:
    channels = None if s.answer_channel_ids is None else json.dumps(sorted(s.answer_channel_ids))
    await db.execute(
        "INSERT INTO guild_settings (guild_id, answer_channel_ids, public_answers, cooldown_seconds, updated_at) "
        "VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (guild_id) DO UPDATE SET answer_channel_ids = excluded.answer_channel_ids, "
        "public_answers = excluded.public_answers, cooldown_seconds = excluded.cooldown_seconds, "
        "updated_at = excluded.updated_at",
        (s.guild_id, channels, s.public_answers, s.cooldown_seconds, _time(s.updated_at or utcnow())))


async def insert_reload(db: aiosqlite.Connection, r: ReloadEntry) -> None:
    report = r.report
    await db.execute(
        "INSERT INTO reloads (id, reloaded_at, guild_id, by_name, by_hash, error, documents, passages, "
        "documents_added, documents_changed, documents_removed, passages_added, passages_changed, "
        "passages_removed, skipped) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (r.id, _time(r.at), r.guild_id, r.by_name, r.by_hash, report.error, report.documents, report.passages,
         json.dumps(list(report.documents_added)), json.dumps(list(report.documents_changed)),
         json.dumps(list(report.documents_removed)), report.passages_added, report.passages_changed,
         report.passages_removed,
         json.dumps([{"path": str(p.path), "reason": p.reason} for p in report.problems], ensure_ascii=False)))


async def write_records(db: aiosqlite.Connection, records: Iterable[Record]) -> None:
    for record in records:
        match record:
            case QuestionRecord():
                await insert_question(db, record)
            case Vote():
                await upsert_vote(db, record)
            case GuildSettings():
                await upsert_guild_settings(db, record)
            case ReloadEntry():
                await insert_reload(db, record)
            case _:
                raise TypeError(f"not a record the store keeps: {record!r}")


async def delete_expired(db: aiosqlite.Connection, cutoff: datetime) -> int:
    """Questions asked before ``cutoff`` (their passages and votes go with them: ON DELETE CASCADE), and
    reloads before it except each collection's latest, which ``/kb status`` shows."""
    cursor = await db.execute("DELETE FROM questions WHERE asked_at < ?", (_time(cutoff),))
    await db.execute(
        "DELETE FROM reloads WHERE reloaded_at < ? AND reloaded_at < ("
        " SELECT MAX(newer.reloaded_at) FROM reloads AS newer"
        " WHERE COALESCE(newer.guild_id, 0) = COALESCE(reloads.guild_id, 0))", (_time(cutoff),))
    return cursor.rowcount


# ---------------------------------------------------------------------------------------------- server collections


async def new_collection_version(db: aiosqlite.Connection, guild_id: int) -> int:
    """Give a server's collection a version no collection has had before: the counter only goes up."""
    await db.execute("UPDATE collection_changes SET last = last + 1")
    [(version,)] = await _all(db, "SELECT last FROM collection_changes")
    await db.execute("INSERT INTO collection_versions (guild_id, version) VALUES (?, ?) "
                     "ON CONFLICT (guild_id) DO UPDATE SET version = excluded.version", (guild_id, version))
    return version


async def collection_usage_besides(db: aiosqlite.Connection, guild_id: int, document_id: str) -> tuple[int, int]:
    """(documents, bytes) of a server's collection not counting ``document_id`` (which a put replaces)."""
    [(count, size)] = await _all(db, "SELECT COUNT(*), COALESCE(SUM(size_bytes), 0) FROM collection_documents "
                                     "WHERE guild_id = ? AND document_id <> ?", (guild_id, document_id))
    return count, size


async def upsert_document(db: aiosqlite.Connection, d: StoredDocument) -> None:
    await db.execute(
        "INSERT INTO collection_documents (guild_id, document_id, filename, text, checksum, size_bytes, added_at, "
        "added_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (guild_id, document_id) DO UPDATE SET filename = excluded.filename, text = excluded.text, "
        "checksum = excluded.checksum, size_bytes = excluded.size_bytes, added_at = excluded.added_at, "
        "added_by = excluded.added_by",
        (d.guild_id, d.document_id, d.filename, d.text, d.checksum, d.size_bytes, _time(d.added_at), d.added_by))


async def remove_document(db: aiosqlite.Connection, guild_id: int, document_id: str) -> bool:
    cursor = await db.execute("DELETE FROM collection_documents WHERE guild_id = ? AND document_id = ?",
                              (guild_id, document_id))
    if cursor.rowcount == 0:
        return False
    await new_collection_version(db, guild_id)
    return True


async def select_documents(db: aiosqlite.Connection, guild_id: int) -> list[StoredDocument]:
    rows = await _all(db, "SELECT guild_id, document_id, filename, text, checksum, size_bytes, added_at, added_by "
                          "FROM collection_documents WHERE guild_id = ? ORDER BY document_id", (guild_id,))
    return [StoredDocument(r[0], r[1], r[2], r[3], r[4], r[5], datetime.fromisoformat(r[6]), r[7]) for r in rows]


async def select_collection_versions(db: aiosqlite.Connection, guild_ids: Sequence[int]) -> dict[int, int]:
    versions = dict.fromkeys(guild_ids, 0)
    for start in range(0, len(guild_ids), 500):  # SQLite caps the number of parameters
        chunk = guild_ids[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        for guild_id, version in await _all(
                db, f"SELECT guild_id, version FROM collection_versions WHERE guild_id IN ({marks})", chunk):
            versions[guild_id] = version
    return versions


async def delete_guild(db: aiosqlite.Connection, guild_id: int) -> ForgottenGuild:
    """Everything kept about one server; direct messages and other servers are untouched."""
    async def delete(sql: str) -> int:
        cursor = await db.execute(sql, (guild_id,))
        return cursor.rowcount

    votes = await delete("DELETE FROM feedback WHERE question_id IN (SELECT id FROM questions WHERE guild_id = ?)")
    questions = await delete("DELETE FROM questions WHERE guild_id = ?")  # their passages: ON DELETE CASCADE
    reloads = await delete("DELETE FROM reloads WHERE guild_id = ?")
    settings = await delete("DELETE FROM guild_settings WHERE guild_id = ?")
    documents = await delete("DELETE FROM collection_documents WHERE guild_id = ?")
    await delete("DELETE FROM collection_versions WHERE guild_id = ?")
    return ForgottenGuild(guild_id, documents, questions, votes, reloads, settings)


# ---------------------------------------------------------------------------------------------- reads


def _where(scope: Scope, since: datetime | None = None, until: datetime | None = None) -> tuple[str, list[Any]]:
    """The filter on ``questions AS q`` for a scope and period, with its parameters."""
    conditions: list[str] = []
    params: list[Any] = []
    if scope is None:
        conditions.append("q.guild_id IS NULL")
    elif scope is not EVERYWHERE:
        conditions.append("q.guild_id = ?")
        params.append(int(scope))
    if since is not None:
        conditions.append("q.asked_at >= ?")
        params.append(_time(since))
    if until is not None:
        conditions.append("q.asked_at <= ?")
        params.append(_time(until))
    return " AND ".join(conditions) or "1 = 1", params


async def _all(db: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
    async with db.execute(sql, params) as cursor:
        return list(await cursor.fetchall())


async def select_questions(db: aiosqlite.Connection, where: str, params: Sequence[Any]) -> list[LoggedQuestion]:
    rows = await _all(db, f"""
        SELECT q.id, q.asked_at, q.guild_id, q.channel_id, q.asker_hash, q.question, q.answered, q.latency_ms,
               (SELECT COUNT(*) FROM feedback AS f WHERE f.question_id = q.id AND f.vote > 0) AS votes_up,
               (SELECT COUNT(*) FROM feedback AS f WHERE f.question_id = q.id AND f.vote < 0) AS votes_down
        FROM questions AS q WHERE {where} ORDER BY q.asked_at, q.id""", params)
    passages: dict[str, list[str]] = {}
    for question_id, passage_id in await _all(db, f"""
            SELECT qp.question_id, qp.passage_id FROM question_passages AS qp
            JOIN questions AS q ON q.id = qp.question_id
            WHERE {where} ORDER BY qp.question_id, qp.position""", params):
        passages.setdefault(question_id, []).append(passage_id)
    return [LoggedQuestion(QuestionRecord(
        id=row[0], asked_at=datetime.fromisoformat(row[1]), guild_id=row[2], channel_id=row[3], asker_hash=row[4],
        question=row[5], answered=bool(row[6]), passage_ids=tuple(passages.get(row[0], ())), latency_ms=row[7]),
        votes_up=row[8], votes_down=row[9]) for row in rows]


async def select_votes(db: aiosqlite.Connection, question_id: str) -> tuple[Vote, ...]:
    rows = await _all(db, "SELECT question_id, voter_hash, vote, voted_at FROM feedback WHERE question_id = ? "
                          "ORDER BY voted_at, voter_hash", (question_id,))
    return tuple(Vote(r[0], r[1], r[2], datetime.fromisoformat(r[3])) for r in rows)


async def select_guild_settings(db: aiosqlite.Connection, guild_id: int) -> GuildSettings | None:
    rows = await _all(db, "SELECT guild_id, answer_channel_ids, public_answers, cooldown_seconds, updated_at "
                          "FROM guild_settings WHERE guild_id = ?", (guild_id,))
    if not rows:
        return None
    guild, channels, public, cooldown, updated_at = rows[0]
    return GuildSettings(guild, None if channels is None else frozenset(json.loads(channels)), bool(public),
                         cooldown, datetime.fromisoformat(updated_at))


def _reload_entry(row: Sequence[Any]) -> ReloadEntry:
    (id_, at, guild_id, by_name, by_hash, error, documents, passages, added, changed, removed,
     passages_added, passages_changed, passages_removed, skipped) = row
    report = ReloadReport(
        documents_added=tuple(json.loads(added)), documents_changed=tuple(json.loads(changed)),
        documents_removed=tuple(json.loads(removed)), passages_added=passages_added,
        passages_changed=passages_changed, passages_removed=passages_removed,
        problems=tuple(Problem(Path(p["path"]), p["reason"]) for p in json.loads(skipped)),
        documents=documents, passages=passages, error=error)
    return ReloadEntry(id_, datetime.fromisoformat(at), guild_id, by_name, by_hash, report)


async def select_reloads(db: aiosqlite.Connection, guild_id: int | None, limit: int) -> tuple[ReloadEntry, ...]:
    rows = await _all(db, """
        SELECT id, reloaded_at, guild_id, by_name, by_hash, error, documents, passages, documents_added,
               documents_changed, documents_removed, passages_added, passages_changed, passages_removed, skipped
        FROM reloads WHERE COALESCE(guild_id, 0) = ? ORDER BY reloaded_at DESC, id DESC LIMIT ?""",
                      (guild_id or 0, limit))
    return tuple(_reload_entry(row) for row in rows)


async def select_stats(db: aiosqlite.Connection, scope: Scope, since: datetime, until: datetime) -> Stats:
    where, params = _where(scope, since, until)
    asked = await _all(db, f"SELECT q.question, q.answered, q.asked_at FROM questions AS q WHERE {where}", params)
    documents = await _all(db, f"""
        SELECT qp.document_id, COUNT(DISTINCT qp.question_id) AS questions
        FROM question_passages AS qp JOIN questions AS q ON q.id = qp.question_id
        WHERE {where} GROUP BY qp.document_id ORDER BY questions DESC, qp.document_id LIMIT ?""", [*params, TOP])
    [(up, down)] = await _all(db, f"""
        SELECT COALESCE(SUM(CASE WHEN f.vote > 0 THEN 1 ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN f.vote < 0 THEN 1 ELSE 0 END), 0)
        FROM feedback AS f JOIN questions AS q ON q.id = f.question_id WHERE {where}""", params)
    voted_down = await _all(db, f"""
        SELECT qp.passage_id, SUM(CASE WHEN f.vote < 0 THEN 1 ELSE 0 END) AS down,
               SUM(CASE WHEN f.vote > 0 THEN 1 ELSE 0 END) AS up
        FROM feedback AS f JOIN questions AS q ON q.id = f.question_id
        JOIN question_passages AS qp ON qp.question_id = f.question_id
        WHERE {where} GROUP BY qp.passage_id HAVING SUM(CASE WHEN f.vote < 0 THEN 1 ELSE 0 END) > 0
        ORDER BY down DESC, up, qp.passage_id LIMIT ?""", [*params, TOP])
    return Stats(
        scope=scope, since=since, until=until, questions=len(asked), answered=sum(1 for r in asked if r[1]),
        topics=busiest_topics(r[0] for r in asked),
        documents=tuple(Count(doc, n) for doc, n in documents),
        unanswered=unanswered_questions((r[0], datetime.fromisoformat(r[2])) for r in asked if not r[1]),
        votes_up=up, votes_down=down, voted_down=tuple(PassageVotes(p, d, u) for p, d, u in voted_down))


# ---------------------------------------------------------------------------------------------- the store


class SQLiteStore:
    """The bot's memory in one SQLite file (see ``bot.store.base.Store`` for what each method promises).

    ``read_only`` opens an existing, up-to-date database for reading only (the terminal's ``stats`` and
    ``export``): nothing is created, upgraded or purged. ``retry_wait`` and ``clock`` are injectable
    so tests control time (``monotonic`` is the clock of the settings cache, ``settings_ttl`` long);
    ``on_connect`` is a test hook run on every new connection after the migrations (the disk-full
    test caps the file with ``PRAGMA max_page_count``).
    """

    def __init__(self, path: Path | str, *, hasher: UserHasher | None = None, retention_days: int = 90,
                 read_only: bool = False, busy_timeout: float = BUSY_TIMEOUT, max_pending: int = MAX_PENDING,
                 retry_wait: RetryWait = backoff, purge_every: float = PURGE_EVERY,
                 clock: Callable[[], datetime] = utcnow, settings_ttl: float = SETTINGS_TTL,
                 monotonic: Callable[[], float] = time.monotonic,
                 on_connect: Callable[[aiosqlite.Connection], Awaitable[None]] | None = None):
        self.path = Path(path)
        self.where = str(self.path)
        self.retention_days = retention_days
        self.read_only = read_only
        self._hasher = hasher
        self._busy_timeout = busy_timeout
        self._purge_every = purge_every
        self._clock = clock
        self._on_connect = on_connect
        self._db: aiosqlite.Connection | None = None
        self._db_cannot_write = False  # SQLite fell back to opening the file read-only
        self._lock = asyncio.Lock()  # one user of the connection at a time: a transaction is never interleaved
        self.faults = FaultLog(self.where)
        self._writes: WriteQueue[Record] = WriteQueue(self._apply, describe_fault, self.faults,
                                                      max_pending=max_pending, retry_wait=retry_wait)
        # Other processes may share the file (shards on one machine): settings are re-read after a few seconds.
        self._guild_settings = GuildSettingsCache(settings_ttl, monotonic)
        self._purger: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ life cycle

    async def open(self) -> None:
        async with self._lock:
            try:
                await self._connection()
            except StoreError:
                raise
            except Exception as exc:
                reason = describe_fault(exc)
                if reason is None:
                    raise
                if self.read_only:
                    raise StoreError(self.where, reason) from exc
                self.faults.report(reason, self._writes.pending)
        if self.read_only:
            return
        if self._purger is not None:
            return  # already open
        self._writes.start()
        if self._db is not None:
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
        async with self._lock:
            await self._disconnect()

    async def __aenter__(self) -> SQLiteStore:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def health(self) -> StoreHealth:
        return StoreHealth(self.where, self.faults.reason, self._writes.pending, self.faults.dropped)

    # ------------------------------------------------------------------ the connection

    async def _connection(self, write: bool = False) -> aiosqlite.Connection:
        """The open connection, (re)opened if needed; the caller holds ``self._lock``."""
        if self._db is not None and not self.read_only and not self.path.exists():
            self.faults.report("the database file disappeared; a new one is started", self._writes.pending)
            await self._disconnect()
        if write and self._db_cannot_write:
            await self._disconnect()  # opened while the file was read-only (for a read): try again for writing
        if self._db is None:
            self._db = await self._connect()
            self._db_cannot_write = not self.read_only and not os.access(self.path, os.W_OK)
        return self._db

    async def _connect(self) -> aiosqlite.Connection:
        if self.read_only:
            if not self.path.is_file():
                raise StoreError(self.where, "no database here (the bot creates it when it first runs; "
                                             "is DATABASE_PATH right?)")
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        check_header(self.path)
        if self.read_only:
            db = await aiosqlite.connect(f"file:{quote(str(self.path.resolve()))}?mode=ro", uri=True,
                                         isolation_level=None)
        else:
            db = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            await db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            await db.execute("PRAGMA foreign_keys = ON")
            await check_integrity(db, self.where)
            version = await user_version(db)
            if version > LATEST:  # checked before WAL mode is set: that would write to the file
                raise StoreError(self.where, f"the database has schema version {version} but this bot knows only "
                                             f"{LATEST}: run a newer bot (the file was left untouched)")
            if self.read_only:
                if version != LATEST:
                    raise StoreError(self.where, f"the database has schema version {version}, this bot "
                                                 f"{LATEST}: run the bot once to upgrade it")
            else:
                await db.execute("PRAGMA journal_mode = WAL")
                await migrate(db, self.where)
            if self._on_connect is not None:
                await self._on_connect(db)
        except BaseException:
            with contextlib.suppress(Exception):
                await db.close()
            raise
        return db

    async def _disconnect(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            with contextlib.suppress(Exception):
                await db.close()

    async def _transaction(self, work: Callable[[aiosqlite.Connection], Awaitable[R]], *, write: bool) -> R:
        """Run ``work`` in one short transaction; a passing fault drops the connection and becomes StoreError."""
        async with self._lock:
            try:
                db = await self._connection(write)
                await db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    result = await work(db)
                    await db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        try:
                            await db.execute("ROLLBACK")
                        except Exception:
                            await self._disconnect()
                    raise
                return result
            except StoreError:
                raise
            except Exception as exc:
                reason = describe_fault(exc)
                if reason is None:
                    raise
                await self._disconnect()
                raise StoreError(self.where, reason) from exc

    async def _apply(self, batch: Sequence[Record]) -> None:
        await self._transaction(lambda db: write_records(db, batch), write=True)
        for record in batch:
            if isinstance(record, GuildSettings):
                self._guild_settings.saved(record)

    # ------------------------------------------------------------------ writes: queued, never awaited

    def hash_user(self, user_id: int) -> str:
        if self._hasher is None:
            raise RuntimeError("this store was opened without a hash salt: it cannot record people")
        return self._hasher(user_id)

    def _queue(self, record: Record) -> None:
        if self.read_only:
            raise RuntimeError(f"{self.where} is open read-only")
        self._writes.put(record)

    def record_question(self, *, question: str, answered: bool, passage_ids: Sequence[str], latency_ms: float,
                        guild_id: int | None, channel_id: int | None, user_id: int, at: datetime | None = None,
                        question_id: str | None = None) -> str:
        record = QuestionRecord(
            id=question_id or new_id(), asked_at=as_utc(at or self._clock()), guild_id=guild_id,
            channel_id=channel_id if guild_id is not None else None, asker_hash=self.hash_user(user_id),
            question=question, answered=answered, passage_ids=tuple(passage_ids), latency_ms=round(latency_ms))
        self._queue(record)
        return record.id

    def record_feedback(self, question_id: str, user_id: int, vote: int, *, at: datetime | None = None) -> None:
        if vote not in (1, -1):
            raise ValueError(f"a vote is +1 or -1, not {vote!r}")
        self._queue(Vote(question_id, self.hash_user(user_id), vote, as_utc(at or self._clock())))

    def record_reload(self, report: ReloadReport, *, by_name: str, by_user_id: int | None = None,
                      guild_id: int | None = None, at: datetime | None = None) -> str:
        entry = ReloadEntry(new_id(), as_utc(at or self._clock()), guild_id, by_name,
                            None if by_user_id is None else self.hash_user(by_user_id), report)
        self._queue(entry)
        return entry.id

    def set_guild_settings(self, settings: GuildSettings) -> None:
        if settings.updated_at is None:
            settings = replace(settings, updated_at=self._clock())
        self._queue(settings)
        self._guild_settings.set(settings)

    # ------------------------------------------------------------------ reads

    async def get_guild_settings(self, guild_id: int) -> GuildSettings:
        """Read again once the cached copy is SETTINGS_TTL old; the last seen (else defaults) while it cannot be."""
        cached = self._guild_settings.fresh(guild_id)
        if cached is not None:
            return cached
        try:
            stored = await self._transaction(lambda db: select_guild_settings(db, guild_id), write=False)
        except StoreError as exc:
            self.faults.report(exc.reason, self._writes.pending)
            return self._guild_settings.last_known(guild_id) or GuildSettings(guild_id)
        return self._guild_settings.read(stored or GuildSettings(guild_id))

    async def question(self, question_id: str) -> QuestionRecord | None:
        found = await self._transaction(lambda db: select_questions(db, "q.id = ?", [question_id]), write=False)
        return found[0].question if found else None

    async def votes(self, question_id: str) -> tuple[Vote, ...]:
        return await self._transaction(lambda db: select_votes(db, question_id), write=False)

    async def latest_reload(self, guild_id: int | None = None) -> ReloadEntry | None:
        found = await self.reload_history(guild_id, limit=1)
        return found[0] if found else None

    async def reload_history(self, guild_id: int | None = None, limit: int = 10) -> tuple[ReloadEntry, ...]:
        return await self._transaction(lambda db: select_reloads(db, guild_id, limit), write=False)

    async def question_log(self, scope: Scope, since: datetime | None = None,
                           until: datetime | None = None) -> list[LoggedQuestion]:
        where, params = _where(scope, since, until)
        return await self._transaction(lambda db: select_questions(db, where, params), write=False)

    async def stats(self, scope: Scope, days: float = 30, now: datetime | None = None) -> Stats:
        until = as_utc(now or self._clock())
        since = until - timedelta(days=days)
        return await self._transaction(lambda db: select_stats(db, scope, since, until), write=False)

    async def export(self, out: TextIO, format: ExportFormat, scope: Scope, days: float | None = None,
                     now: datetime | None = None) -> int:
        until = as_utc(now or self._clock())
        since = None if days is None else until - timedelta(days=days)
        return write_export(await self.question_log(scope, since, until), out, format)

    # ------------------------------------------------------------------ server collections: written at once

    async def _write_now(self, work: Callable[[aiosqlite.Connection], Awaitable[R]]) -> R:
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

        async def put(db: aiosqlite.Connection) -> None:
            await new_collection_version(db, document.guild_id)
            others = await collection_usage_besides(db, document.guild_id, document.document_id)
            check_collection_limits(document, others, max_documents, max_bytes)
            await upsert_document(db, document)

        await self._write_now(put)
        return document

    async def delete_document(self, guild_id: int, document_id: str) -> bool:
        return await self._write_now(lambda db: remove_document(db, guild_id, document_id))

    async def documents(self, guild_id: int) -> list[StoredDocument]:
        return await self._transaction(lambda db: select_documents(db, guild_id), write=False)

    async def collection_usage(self, guild_id: int) -> tuple[int, int]:
        # "" is no document's id (new_stored_document refuses it): this counts them all
        return await self._transaction(lambda db: collection_usage_besides(db, guild_id, ""), write=False)

    async def collections_version(self, guild_id: int) -> int:
        return (await self.collections_versions([guild_id]))[guild_id]

    async def collections_versions(self, guild_ids: Iterable[int]) -> dict[int, int]:
        wanted = sorted({int(guild_id) for guild_id in guild_ids})
        return await self._transaction(lambda db: select_collection_versions(db, wanted), write=False)

    async def forget_guild(self, guild_id: int) -> ForgottenGuild:
        """Queued writes about the server are dropped first, so none lands after it was forgotten."""
        self._writes.discard(lambda record: getattr(record, "guild_id", None) == guild_id)
        self._guild_settings.forget(guild_id)
        forgotten = await self._write_now(lambda db: delete_guild(db, guild_id))
        log.info("Forgot server %d in %s: %s", guild_id, self.where, forgotten)
        return forgotten

    # ------------------------------------------------------------------ retention

    async def purge_expired(self, now: datetime | None = None) -> int:
        cutoff = as_utc(now or self._clock()) - timedelta(days=self.retention_days)
        try:
            deleted = await self._transaction(lambda db: delete_expired(db, cutoff), write=True)
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
