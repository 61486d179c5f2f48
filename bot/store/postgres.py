"""The PostgreSQL backend, through asyncpg: one database that several bot processes, on several machines, share.

The same tables as SQLite in PostgreSQL's own types (``POSTGRES_MIGRATIONS``, versioned in the
``schema_migrations`` table), the same write queue and the same promise: answering never waits for
the database. While the server cannot be reached, the connection was lost, the database is
read-only (a standby after a failover, ``default_transaction_read_only``), the bot's role lost its
rights or the disk is full, writes are kept and retried, one warning says so and one line says when
it is over. After such a fault the pool's connections are dropped and made again, so a session
opened read-only, or to a server that has since restarted, is not used again.

A pool of at most ``pool_size`` connections, opened on demand: the writer uses one, reads (settings,
``/kb stats``, collections) the others at the same time. Every unit of work is one short transaction;
reads that take several queries (the stats) see one snapshot.

A database whose schema is newer than this bot is refused at start-up before anything is changed.
Processes starting together on a new database migrate one after the other (an advisory lock).

Writes a retry could repeat are idempotent: when the connection drops during COMMIT nobody knows
whether it happened, so writing a question or a reload again does nothing if it is already there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

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
from bot.store.migrations import POSTGRES_MIGRATIONS, Migration
from bot.store.settings_cache import SETTINGS_TTL, GuildSettingsCache
from bot.store.stats import busiest_topics, unanswered_questions
from bot.store.writer import MAX_PENDING, FaultLog, RetryWait, WriteQueue, backoff

log = logging.getLogger("bot.store")
R = TypeVar("R")
Record = QuestionRecord | Vote | GuildSettings | ReloadEntry
Connection = Any  # an asyncpg connection, or the pool's proxy for one

LATEST = POSTGRES_MIGRATIONS[-1].version
POOL_SIZE = 4  # connections per process at most: mind max_connections (100 by default) when running many shards
CONNECT_TIMEOUT = 5.0  # seconds to get a connection before the writer backs off
COMMAND_TIMEOUT = 30.0  # seconds a statement may take
CLOSE_TIMEOUT = 5.0
PURGE_EVERY = 24 * 3600.0
TOP = 10  # rows in each "most …" list of the stats
MIGRATION_LOCK = 0x6B62_5F73_6368_656D  # pg_advisory_xact_lock key: one process migrates a database at a time
APPLICATION_NAME = "kb-answer-bot"  # shows in pg_stat_activity

_SCHEMA_MIGRATIONS = """
    CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )"""

# Errors that describe a database that may work again later, most specific first.
_PASSING_FAULTS: tuple[tuple[type[BaseException], str], ...] = (
    (asyncpg.ReadOnlySQLTransactionError, "it is read-only"),
    (asyncpg.DiskFullError, "the disk is full"),
    (asyncpg.TooManyConnectionsError, "the server has too many connections"),
    (asyncpg.InsufficientResourcesError, "the server is out of resources"),
    (asyncpg.InsufficientPrivilegeError, "permission denied (were the bot's rights revoked?)"),
    (asyncpg.CannotConnectNowError, "the server is starting up or shutting down"),
    (asyncpg.AdminShutdownError, "the server ended the connection (shut down, restarted, or the session terminated)"),
    (asyncpg.OperatorInterventionError, "the server cancelled the work"),
    (asyncpg.PostgresConnectionError, "the connection to the server was lost"),
    (asyncpg.InvalidAuthorizationSpecificationError, "the server refused the login"),
    (asyncpg.InvalidCatalogNameError, "the database does not exist"),
    (asyncpg.TransactionRollbackError, "a conflict with another transaction"),
    (asyncpg.LockNotAvailableError, "it is locked"),
)


def describe_fault(exc: BaseException) -> str | None:
    """Why the database is unusable for now, or None for an error that retrying cannot fix."""
    if isinstance(exc, StoreError):
        return exc.reason
    for kind, what in _PASSING_FAULTS:
        if isinstance(exc, kind):
            return f"{what} ({exc})"
    if isinstance(exc, TimeoutError):  # before OSError, of which it is a kind
        return "the server did not answer in time"
    if isinstance(exc, OSError):
        return f"the server cannot be reached ({exc.strerror or exc})"
    return None


def public_url(dsn: str) -> str:
    """The URL without its password, for logs and messages."""
    parts = urlsplit(dsn)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}@{host}"
    query = "&".join(p for p in parts.query.split("&") if p.split("=", 1)[0].lower() != "password")
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def new_id() -> str:
    """A question or reload id made here, not by the database, so queueing a write needs no round trip."""
    return uuid.uuid4().hex


def _document_id(passage_id: str) -> str:
    return passage_id.split("#", 1)[0]


def _is_closed(con: Connection) -> bool:
    try:
        return con.is_closed()
    except asyncpg.InterfaceError:  # the pool took it back already: it saw the session end
        return True


def _rows(status: str) -> int:
    """The row count of a command's status ("DELETE 3", "INSERT 0 1")."""
    return int(status.rsplit(" ", 1)[-1])


class Params:
    """Bound parameters for a query: ``p(value)`` keeps the value and returns its placeholder ($1, $2 …)."""

    def __init__(self, *values: Any):
        self.values = list(values)

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


# ---------------------------------------------------------------------------------------------- the schema


async def schema_version(con: Connection) -> int:
    if await con.fetchval("SELECT to_regclass('schema_migrations')") is None:
        return 0
    return int(await con.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))


def refuse_newer(version: int, known: int, where: str) -> None:
    if version > known:
        raise StoreError(where, f"the database has schema version {version} but this bot knows only {known}: "
                                "run a newer bot (the database was left untouched)")


async def migrate(con: Connection, where: str, migrations: Sequence[Migration] = POSTGRES_MIGRATIONS) -> int:
    """Apply the steps the database has not had, each in its own transaction; returns the version it was at."""
    version = await schema_version(con)
    refuse_newer(version, len(migrations), where)
    for step in migrations[version:]:
        async with con.transaction():
            await con.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            await con.execute(_SCHEMA_MIGRATIONS)
            now = await schema_version(con)  # another process may have migrated while this one waited
            refuse_newer(now, len(migrations), where)
            if now >= step.version:
                continue
            await con.execute(step.sql)
            await con.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", step.version, step.name)
        if version:
            log.info("Database %s upgraded to schema version %d (%s)", where, step.version, step.name)
    return version


# ---------------------------------------------------------------------------------------------- writes


async def insert_question(con: Connection, q: QuestionRecord) -> None:
    status = await con.execute(
        "INSERT INTO questions (id, asked_at, guild_id, channel_id, asker_hash, question, answered, latency_ms) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
        q.id, q.asked_at, q.guild_id, q.channel_id, q.asker_hash, q.question, q.answered, q.latency_ms)
    if _rows(status) == 0:
        return  # written by an attempt whose COMMIT went unanswered
    await con.executemany(
        "INSERT INTO question_passages (question_id, position, passage_id, document_id) VALUES ($1, $2, $3, $4)",
        [(q.id, n, passage_id, _document_id(passage_id)) for n, passage_id in enumerate(q.passage_ids, 1)])


async def upsert_vote(con: Connection, v: Vote) -> None:
    """One row per person per answer; a vote on an answer the log does not have (purged) is ignored."""
    status = await con.execute(
        "INSERT INTO feedback (question_id, voter_hash, vote, voted_at) "
        "SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM questions WHERE id = $1) "
        "ON CONFLICT (question_id, voter_hash) DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at",
        v.question_id, v.voter_hash, v.vote, v.voted_at)
    if _rows(status) == 0:
        log.info("A vote on answer %s was ignored: the question log no longer has it", v.question_id)


async def upsert_guild_settings(con: Connection, s: GuildSettings) -> None:
    channels = None if s.answer_channel_ids is None else sorted(s.answer_channel_ids)
    await con.execute(
        "INSERT INTO guild_settings (guild_id, answer_channel_ids, public_answers, cooldown_seconds, updated_at) "
        "VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (guild_id) DO UPDATE SET answer_channel_ids = excluded.answer_channel_ids, "
        "public_answers = excluded.public_answers, cooldown_seconds = excluded.cooldown_seconds, "
        "updated_at = excluded.updated_at",
        s.guild_id, channels, s.public_answers, s.cooldown_seconds, s.updated_at or utcnow())


async def insert_reload(con: Connection, r: ReloadEntry) -> None:
    report = r.report
    await con.execute(
        "INSERT INTO reloads (id, reloaded_at, guild_id, by_name, by_hash, error, documents, passages, "
        "documents_added, documents_changed, documents_removed, passages_added, passages_changed, "
        "passages_removed, skipped) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) "
        "ON CONFLICT (id) DO NOTHING",
        r.id, r.at, r.guild_id, r.by_name, r.by_hash, report.error, report.documents, report.passages,
        list(report.documents_added), list(report.documents_changed), list(report.documents_removed),
        report.passages_added, report.passages_changed, report.passages_removed,
        json.dumps([{"path": str(p.path), "reason": p.reason} for p in report.problems], ensure_ascii=False))


async def write_records(con: Connection, records: Iterable[Record]) -> None:
    for record in records:
        match record:
            case QuestionRecord():
                await insert_question(con, record)
            case Vote():
                await upsert_vote(con, record)
            case GuildSettings():
                await upsert_guild_settings(con, record)
            case ReloadEntry():
                await insert_reload(con, record)
            case _:
                raise TypeError(f"not a record the store keeps: {record!r}")


async def delete_expired(con: Connection, cutoff: datetime) -> int:
    """Questions asked before ``cutoff`` (their passages and votes go with them: ON DELETE CASCADE), and
    reloads before it except each collection's latest, which ``/kb status`` shows."""
    status = await con.execute("DELETE FROM questions WHERE asked_at < $1", cutoff)
    await con.execute(
        "DELETE FROM reloads WHERE reloaded_at < $1 AND reloaded_at < ("
        " SELECT MAX(newer.reloaded_at) FROM reloads AS newer"
        " WHERE newer.guild_id IS NOT DISTINCT FROM reloads.guild_id)", cutoff)
    return _rows(status)


# ---------------------------------------------------------------------------------------------- server collections


async def new_collection_version(con: Connection, guild_id: int) -> int:
    """Give a server's collection a version no collection has had before (a sequence only goes up).

    The row it updates is locked until the transaction ends, so changes to one server's collection
    from several processes happen one after the other.
    """
    return int(await con.fetchval(
        "INSERT INTO collection_versions (guild_id, version) VALUES ($1, nextval('collection_changes')) "
        "ON CONFLICT (guild_id) DO UPDATE SET version = excluded.version RETURNING version", guild_id))


async def collection_usage_besides(con: Connection, guild_id: int, document_id: str) -> tuple[int, int]:
    """(documents, bytes) of a server's collection not counting ``document_id`` (which a put replaces)."""
    row = await con.fetchrow("SELECT COUNT(*), COALESCE(SUM(size_bytes), 0) FROM collection_documents "
                             "WHERE guild_id = $1 AND document_id <> $2", guild_id, document_id)
    return int(row[0]), int(row[1])


async def upsert_document(con: Connection, d: StoredDocument) -> None:
    await con.execute(
        "INSERT INTO collection_documents (guild_id, document_id, filename, text, checksum, size_bytes, added_at, "
        "added_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
        "ON CONFLICT (guild_id, document_id) DO UPDATE SET filename = excluded.filename, text = excluded.text, "
        "checksum = excluded.checksum, size_bytes = excluded.size_bytes, added_at = excluded.added_at, "
        "added_by = excluded.added_by",
        d.guild_id, d.document_id, d.filename, d.text, d.checksum, d.size_bytes, d.added_at, d.added_by)


async def remove_document(con: Connection, guild_id: int, document_id: str) -> bool:
    status = await con.execute("DELETE FROM collection_documents WHERE guild_id = $1 AND document_id = $2",
                               guild_id, document_id)
    if _rows(status) == 0:
        return False
    await new_collection_version(con, guild_id)
    return True


async def select_documents(con: Connection, guild_id: int) -> list[StoredDocument]:
    rows = await con.fetch("SELECT guild_id, document_id, filename, text, checksum, size_bytes, added_at, added_by "
                           'FROM collection_documents WHERE guild_id = $1 ORDER BY document_id COLLATE "C"', guild_id)
    return [StoredDocument(*row) for row in rows]


async def select_collection_versions(con: Connection, guild_ids: Sequence[int]) -> dict[int, int]:
    versions = dict.fromkeys(guild_ids, 0)
    for guild_id, version in await con.fetch(
            "SELECT guild_id, version FROM collection_versions WHERE guild_id = ANY($1::bigint[])", list(guild_ids)):
        versions[guild_id] = int(version)
    return versions


async def delete_guild(con: Connection, guild_id: int) -> ForgottenGuild:
    """Everything kept about one server; direct messages and other servers are untouched."""
    async def delete(sql: str) -> int:
        return _rows(await con.execute(sql, guild_id))

    votes = await delete("DELETE FROM feedback WHERE question_id IN (SELECT id FROM questions WHERE guild_id = $1)")
    questions = await delete("DELETE FROM questions WHERE guild_id = $1")  # their passages: ON DELETE CASCADE
    reloads = await delete("DELETE FROM reloads WHERE guild_id = $1")
    settings = await delete("DELETE FROM guild_settings WHERE guild_id = $1")
    documents = await delete("DELETE FROM collection_documents WHERE guild_id = $1")
    await delete("DELETE FROM collection_versions WHERE guild_id = $1")
    return ForgottenGuild(guild_id, documents, questions, votes, reloads, settings)


# ---------------------------------------------------------------------------------------------- reads


def _where(p: Params, scope: Scope, since: datetime | None = None, until: datetime | None = None) -> str:
    """The filter on ``questions AS q`` for a scope and period; its values go into ``p``."""
    conditions: list[str] = []
    if scope is None:
        conditions.append("q.guild_id IS NULL")
    elif scope is not EVERYWHERE:
        conditions.append(f"q.guild_id = {p(int(scope))}")
    if since is not None:
        conditions.append(f"q.asked_at >= {p(since)}")
    if until is not None:
        conditions.append(f"q.asked_at <= {p(until)}")
    return " AND ".join(conditions) or "TRUE"


async def select_questions(con: Connection, where: str, params: Params) -> list[LoggedQuestion]:
    rows = await con.fetch(f"""
        SELECT q.id, q.asked_at, q.guild_id, q.channel_id, q.asker_hash, q.question, q.answered, q.latency_ms,
               ARRAY(SELECT qp.passage_id FROM question_passages AS qp WHERE qp.question_id = q.id
                     ORDER BY qp.position) AS passage_ids,
               (SELECT COUNT(*) FROM feedback AS f WHERE f.question_id = q.id AND f.vote > 0) AS votes_up,
               (SELECT COUNT(*) FROM feedback AS f WHERE f.question_id = q.id AND f.vote < 0) AS votes_down
        FROM questions AS q WHERE {where} ORDER BY q.asked_at, q.id COLLATE "C" """, *params.values)
    return [LoggedQuestion(QuestionRecord(
        id=row[0], asked_at=row[1], guild_id=row[2], channel_id=row[3], asker_hash=row[4], question=row[5],
        answered=row[6], passage_ids=tuple(row[8]), latency_ms=row[7]), votes_up=row[9], votes_down=row[10])
        for row in rows]


async def select_votes(con: Connection, question_id: str) -> tuple[Vote, ...]:
    rows = await con.fetch("SELECT question_id, voter_hash, vote, voted_at FROM feedback WHERE question_id = $1 "
                           'ORDER BY voted_at, voter_hash COLLATE "C"', question_id)
    return tuple(Vote(r[0], r[1], r[2], r[3]) for r in rows)


async def select_guild_settings(con: Connection, guild_id: int) -> GuildSettings | None:
    row = await con.fetchrow("SELECT guild_id, answer_channel_ids, public_answers, cooldown_seconds, updated_at "
                             "FROM guild_settings WHERE guild_id = $1", guild_id)
    if row is None:
        return None
    guild, channels, public, cooldown, updated_at = row
    return GuildSettings(guild, None if channels is None else frozenset(channels), public, cooldown, updated_at)


def _reload_entry(row: Sequence[Any]) -> ReloadEntry:
    (id_, at, guild_id, by_name, by_hash, error, documents, passages, added, changed, removed,
     passages_added, passages_changed, passages_removed, skipped) = row
    report = ReloadReport(
        documents_added=tuple(added), documents_changed=tuple(changed), documents_removed=tuple(removed),
        passages_added=passages_added, passages_changed=passages_changed, passages_removed=passages_removed,
        problems=tuple(Problem(Path(p["path"]), p["reason"]) for p in json.loads(skipped)),
        documents=documents, passages=passages, error=error)
    return ReloadEntry(id_, at, guild_id, by_name, by_hash, report)


async def select_reloads(con: Connection, guild_id: int | None, limit: int) -> tuple[ReloadEntry, ...]:
    p = Params()
    which = "guild_id IS NULL" if guild_id is None else f"guild_id = {p(guild_id)}"
    rows = await con.fetch(f"""
        SELECT id, reloaded_at, guild_id, by_name, by_hash, error, documents, passages, documents_added,
               documents_changed, documents_removed, passages_added, passages_changed, passages_removed, skipped
        FROM reloads WHERE {which} ORDER BY reloaded_at DESC, id COLLATE "C" DESC LIMIT {p(limit)}""", *p.values)
    return tuple(_reload_entry(row) for row in rows)


async def select_stats(con: Connection, scope: Scope, since: datetime, until: datetime) -> Stats:
    p = Params()
    where = _where(p, scope, since, until)
    asked = await con.fetch(f"SELECT q.question, q.answered, q.asked_at FROM questions AS q WHERE {where}",
                            *p.values)
    documents = await con.fetch(f"""
        SELECT qp.document_id, COUNT(DISTINCT qp.question_id) AS questions
        FROM question_passages AS qp JOIN questions AS q ON q.id = qp.question_id
        WHERE {where} GROUP BY qp.document_id
        ORDER BY questions DESC, qp.document_id COLLATE "C" LIMIT {TOP}""", *p.values)
    up, down = await con.fetchrow(f"""
        SELECT COUNT(*) FILTER (WHERE f.vote > 0), COUNT(*) FILTER (WHERE f.vote < 0)
        FROM feedback AS f JOIN questions AS q ON q.id = f.question_id WHERE {where}""", *p.values)
    voted_down = await con.fetch(f"""
        SELECT qp.passage_id, COUNT(*) FILTER (WHERE f.vote < 0) AS down, COUNT(*) FILTER (WHERE f.vote > 0) AS up
        FROM feedback AS f JOIN questions AS q ON q.id = f.question_id
        JOIN question_passages AS qp ON qp.question_id = f.question_id
        WHERE {where} GROUP BY qp.passage_id HAVING COUNT(*) FILTER (WHERE f.vote < 0) > 0
        ORDER BY down DESC, up, qp.passage_id COLLATE "C" LIMIT {TOP}""", *p.values)
    return Stats(
        scope=scope, since=since, until=until, questions=len(asked), answered=sum(1 for r in asked if r[1]),
        topics=busiest_topics(r[0] for r in asked),
        documents=tuple(Count(doc, n) for doc, n in documents),
        unanswered=unanswered_questions((r[0], r[2]) for r in asked if not r[1]),
        votes_up=up, votes_down=down, voted_down=tuple(PassageVotes(p_, d, u) for p_, d, u in voted_down))


# ---------------------------------------------------------------------------------------------- the store


class PostgresStore:
    """The bot's memory in a PostgreSQL database (see ``bot.store.base.Store`` for what each method promises).

    ``dsn`` is a ``postgresql://`` URL (DATABASE_URL); asyncpg also reads PGPASSWORD and ~/.pgpass, so
    the password need not be in it. ``read_only`` (the terminal's ``stats`` and ``export``) opens
    sessions that cannot write, and refuses a database that is not at this bot's schema version.
    ``retry_wait``, ``clock`` and ``monotonic`` (the settings cache's clock) are injectable so tests
    control time.
    """

    def __init__(self, dsn: str, *, hasher: UserHasher | None = None, retention_days: int = 90,
                 read_only: bool = False, max_pending: int = MAX_PENDING, retry_wait: RetryWait = backoff,
                 purge_every: float = PURGE_EVERY, clock: Callable[[], datetime] = utcnow,
                 settings_ttl: float = SETTINGS_TTL, monotonic: Callable[[], float] = time.monotonic,
                 pool_size: int = POOL_SIZE, connect_timeout: float = CONNECT_TIMEOUT,
                 command_timeout: float = COMMAND_TIMEOUT):
        self.dsn = dsn
        self.where = public_url(dsn)
        self.retention_days = retention_days
        self.read_only = read_only
        self._hasher = hasher
        self._purge_every = purge_every
        self._clock = clock
        self._pool_size = pool_size
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._pool: asyncpg.Pool | None = None
        self._schema_ready = False
        self._opening = asyncio.Lock()
        self.faults = FaultLog(self.where)
        self._writes: WriteQueue[Record] = WriteQueue(self._apply, describe_fault, self.faults,
                                                      max_pending=max_pending, retry_wait=retry_wait)
        self._guild_settings = GuildSettingsCache(settings_ttl, monotonic)
        self._purger: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ life cycle

    async def open(self) -> None:
        try:
            await self._ready()
        except StoreError:
            await self._close_pool()
            raise
        except Exception as exc:
            reason = describe_fault(exc)
            if reason is None or self.read_only:
                await self._close_pool()
                raise StoreError(self.where, reason or f"cannot use this database ({type(exc).__name__}: {exc})"
                                 ) from exc
            self.faults.report(reason, self._writes.pending)
        if self.read_only or self._purger is not None:
            return
        self._writes.start()
        if self._schema_ready:
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
        await self._close_pool()

    async def __aenter__(self) -> PostgresStore:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def health(self) -> StoreHealth:
        return StoreHealth(self.where, self.faults.reason, self._writes.pending, self.faults.dropped)

    # ------------------------------------------------------------------ the pool

    async def _ready(self) -> asyncpg.Pool:
        """The pool, made on first use, with the schema checked (and upgraded) once a connection could be had."""
        if self._pool is not None and self._schema_ready:
            return self._pool
        async with self._opening:
            if self._pool is None:
                settings = {"application_name": APPLICATION_NAME}
                if self.read_only:
                    settings["default_transaction_read_only"] = "on"
                self._pool = await asyncpg.create_pool(
                    self.dsn, min_size=0, max_size=self._pool_size, timeout=self._connect_timeout,
                    command_timeout=self._command_timeout, server_settings=settings)
            if not self._schema_ready:
                async with self._pool.acquire(timeout=self._connect_timeout) as con:
                    await self._check_schema(con)
                self._schema_ready = True
        return self._pool

    async def _check_schema(self, con: Connection) -> None:
        if not self.read_only:
            await migrate(con, self.where)
            return
        version = await schema_version(con)
        refuse_newer(version, LATEST, self.where)
        if version != LATEST:
            raise StoreError(self.where, f"the database has schema version {version}, this bot {LATEST}: "
                                         "run the bot once to upgrade it")

    async def _close_pool(self) -> None:
        pool, self._pool = self._pool, None
        self._schema_ready = False
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), CLOSE_TIMEOUT)
        except Exception:
            pool.terminate()

    async def _transaction(self, work: Callable[[Connection], Awaitable[R]], *, write: bool) -> R:
        """Run ``work`` in one short transaction; a passing fault drops the pool's connections and becomes
        StoreError. Reads run in one read-only snapshot, so the stats' several queries agree."""
        lost = False
        try:
            pool = await self._ready()
            async with pool.acquire(timeout=self._connect_timeout) as con:
                try:
                    kind = {} if write else {"isolation": "repeatable_read", "readonly": True}
                    async with con.transaction(**kind):
                        return await work(con)
                except Exception:
                    lost = _is_closed(con)
                    raise
        except StoreError:
            raise
        except Exception as exc:
            # A session the server ended surfaces as one of several asyncpg client errors (their text
            # is about asyncpg's internals): the connection being closed afterwards says it was lost.
            reason = describe_fault(exc) or ("the connection to the server was lost" if lost else None)
            if reason is None:
                raise
            if self._pool is not None:
                await self._pool.expire_connections()
            raise StoreError(self.where, reason) from exc

    async def _apply(self, batch: Sequence[Record]) -> None:
        await self._transaction(lambda con: write_records(con, batch), write=True)
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
            settings = replace(settings, updated_at=as_utc(self._clock()))
        self._queue(settings)
        self._guild_settings.set(settings)

    # ------------------------------------------------------------------ reads

    async def get_guild_settings(self, guild_id: int) -> GuildSettings:
        """Read again once the cached copy is SETTINGS_TTL old; the last seen (else defaults) while it cannot be."""
        cached = self._guild_settings.fresh(guild_id)
        if cached is not None:
            return cached
        try:
            stored = await self._transaction(lambda con: select_guild_settings(con, guild_id), write=False)
        except StoreError as exc:
            self.faults.report(exc.reason, self._writes.pending)
            return self._guild_settings.last_known(guild_id) or GuildSettings(guild_id)
        return self._guild_settings.read(stored or GuildSettings(guild_id))

    async def question(self, question_id: str) -> QuestionRecord | None:
        p = Params()
        where = f"q.id = {p(question_id)}"
        found = await self._transaction(lambda con: select_questions(con, where, p), write=False)
        return found[0].question if found else None

    async def votes(self, question_id: str) -> tuple[Vote, ...]:
        return await self._transaction(lambda con: select_votes(con, question_id), write=False)

    async def latest_reload(self, guild_id: int | None = None) -> ReloadEntry | None:
        found = await self.reload_history(guild_id, limit=1)
        return found[0] if found else None

    async def reload_history(self, guild_id: int | None = None, limit: int = 10) -> tuple[ReloadEntry, ...]:
        return await self._transaction(lambda con: select_reloads(con, guild_id, limit), write=False)

    async def question_log(self, scope: Scope, since: datetime | None = None,
                           until: datetime | None = None) -> list[LoggedQuestion]:
        p = Params()
        where = _where(p, scope, since and as_utc(since), until and as_utc(until))
        return await self._transaction(lambda con: select_questions(con, where, p), write=False)

    async def stats(self, scope: Scope, days: float = 30, now: datetime | None = None) -> Stats:
        until = as_utc(now or self._clock())
        since = until - timedelta(days=days)
        return await self._transaction(lambda con: select_stats(con, scope, since, until), write=False)

    async def export(self, out: TextIO, format: ExportFormat, scope: Scope, days: float | None = None,
                     now: datetime | None = None) -> int:
        until = as_utc(now or self._clock())
        since = None if days is None else until - timedelta(days=days)
        return write_export(await self.question_log(scope, since, until), out, format)

    # ------------------------------------------------------------------ server collections: written at once

    async def _write_now(self, work: Callable[[Connection], Awaitable[R]]) -> R:
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

        async def put(con: Connection) -> None:
            await new_collection_version(con, document.guild_id)  # first: it locks the collection
            others = await collection_usage_besides(con, document.guild_id, document.document_id)
            check_collection_limits(document, others, max_documents, max_bytes)
            await upsert_document(con, document)

        await self._write_now(put)
        return document

    async def delete_document(self, guild_id: int, document_id: str) -> bool:
        return await self._write_now(lambda con: remove_document(con, guild_id, document_id))

    async def documents(self, guild_id: int) -> list[StoredDocument]:
        return await self._transaction(lambda con: select_documents(con, guild_id), write=False)

    async def collection_usage(self, guild_id: int) -> tuple[int, int]:
        # "" is no document's id (new_stored_document refuses it): this counts them all
        return await self._transaction(lambda con: collection_usage_besides(con, guild_id, ""), write=False)

    async def collections_version(self, guild_id: int) -> int:
        return (await self.collections_versions([guild_id]))[guild_id]

    async def collections_versions(self, guild_ids: Iterable[int]) -> dict[int, int]:
        wanted = sorted({int(guild_id) for guild_id in guild_ids})
        return await self._transaction(lambda con: select_collection_versions(con, wanted), write=False)

    async def forget_guild(self, guild_id: int) -> ForgottenGuild:
        """Queued writes about the server are dropped first, so none of this process lands after it was forgotten."""
        self._writes.discard(lambda record: getattr(record, "guild_id", None) == guild_id)
        self._guild_settings.forget(guild_id)
        forgotten = await self._write_now(lambda con: delete_guild(con, guild_id))
        log.info("Forgot server %d in %s: %s", guild_id, self.where, forgotten)
        return forgotten

    # ------------------------------------------------------------------ retention

    async def purge_expired(self, now: datetime | None = None) -> int:
        cutoff = as_utc(now or self._clock()) - timedelta(days=self.retention_days)
        try:
            deleted = await self._transaction(lambda con: delete_expired(con, cutoff), write=True)
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
