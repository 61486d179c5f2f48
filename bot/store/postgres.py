"""The PostgreSQL backend, through asyncpg: one database that several bot processes, on several machines, share.

The same tables as SQLite in PostgreSQL's own types (``POSTGRES_MIGRATIONS``, versioned in the
``schema_migrations`` table), the same statements (``bot.store.queries``, with ``:name`` parameters
numbered here for asyncpg) and the same ``SQLStore``: answering never waits for the database. This
module keeps what is PostgreSQL's own: the pool, transactions, faults, migrations' bookkeeping and
the collection counter (a SEQUENCE). While the server cannot be reached, the connection was lost, the database is
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
import functools
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bot.store.base import StoreError
from bot.store.migrations import LATEST, POSTGRES_MIGRATIONS, Migration, refuse_newer, refuse_older
from bot.store.queries import Session
from bot.store.sql_store import SQLStore

log = logging.getLogger("bot.store")
R = TypeVar("R")
Connection = Any  # an asyncpg connection, or the pool's proxy for one

POOL_SIZE = 4  # connections per process at most: mind max_connections (100 by default) when running many shards
CONNECT_TIMEOUT = 5.0  # seconds to get a connection before the writer backs off
COMMAND_TIMEOUT = 30.0  # seconds a statement may take
CLOSE_TIMEOUT = 5.0
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


def _is_closed(con: Connection) -> bool:
    try:
        return con.is_closed()
    except asyncpg.InterfaceError:  # the pool took it back already: it saw the session end
        return True


def _rows(status: str) -> int:
    """The row count of a command's status ("DELETE 3", "INSERT 0 1")."""
    return int(status.rsplit(" ", 1)[-1])


_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@functools.lru_cache(maxsize=256)
def positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """``sql`` in asyncpg's terms: ``:name`` as ``$1``, ``$2`` … (one number per name) and the binary
    collation by its PostgreSQL name; with the names in the order of their numbers."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    return _NAMED.sub(number, sql).replace("COLLATE BINARY", 'COLLATE "C"'), tuple(names)


class PostgresSession:
    """One transaction on one of the pool's connections."""

    on_repeat = "ON CONFLICT (id) DO NOTHING"  # the connection may drop during COMMIT: did it happen?

    def __init__(self, con: Connection):
        self.con = con

    async def execute(self, sql: str, /, **params: Any) -> int:
        text, names = positional(sql)
        return _rows(await self.con.execute(text, *(params[name] for name in names)))

    async def execute_many(self, sql: str, rows: Iterable[Mapping[str, Any]]) -> None:
        text, names = positional(sql)
        await self.con.executemany(text, [[row[name] for name in names] for row in rows])

    async def fetch(self, sql: str, /, **params: Any) -> list[Sequence[Any]]:
        text, names = positional(sql)
        return await self.con.fetch(text, *(params[name] for name in names))

    async def new_collection_version(self, guild_id: int) -> int:
        """From a SEQUENCE. The row it updates is locked until the transaction ends, so changes to one
        server's collection from several processes happen one after the other."""
        return int(await self.con.fetchval(
            "INSERT INTO collection_versions (guild_id, version) VALUES ($1, nextval('collection_changes')) "
            "ON CONFLICT (guild_id) DO UPDATE SET version = excluded.version RETURNING version", guild_id))


async def schema_version(con: Connection) -> int:
    if await con.fetchval("SELECT to_regclass('schema_migrations')") is None:
        return 0
    return int(await con.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))


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


class PostgresStore(SQLStore):
    """The bot's memory in a PostgreSQL database (see ``bot.store.base.Store`` for what each method promises).

    ``dsn`` is a ``postgresql://`` URL (DATABASE_URL); asyncpg also reads PGPASSWORD and ~/.pgpass, so
    the password need not be in it. ``read_only`` (the terminal's ``stats`` and ``export``) opens
    sessions that cannot write, and refuses a database that is not at this bot's schema version.
    The other options are ``SQLStore``'s.
    """

    def __init__(self, dsn: str, *, pool_size: int = POOL_SIZE, connect_timeout: float = CONNECT_TIMEOUT,
                 command_timeout: float = COMMAND_TIMEOUT, **options: Any):
        super().__init__(public_url(dsn), describe_fault, **options)
        self.dsn = dsn
        self._pool_size = pool_size
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._pool: asyncpg.Pool | None = None
        self._schema_ready = False
        self._opening = asyncio.Lock()

    async def _connect(self) -> None:
        await self._ready()

    @property
    def _connected(self) -> bool:
        return self._schema_ready

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
        refuse_older(version, self.where)

    async def _disconnect(self) -> None:
        pool, self._pool = self._pool, None
        self._schema_ready = False
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), CLOSE_TIMEOUT)
        except Exception:
            pool.terminate()

    async def _transaction(self, work: Callable[[Session], Awaitable[R]], *, write: bool) -> R:
        """Run ``work`` in one short transaction; a passing fault drops the pool's connections and becomes
        StoreError. Reads run in one read-only snapshot, so the stats' several queries agree."""
        lost = False
        try:
            pool = await self._ready()
            async with pool.acquire(timeout=self._connect_timeout) as con:
                try:
                    kind = {} if write else {"isolation": "repeatable_read", "readonly": True}
                    async with con.transaction(**kind):
                        return await work(PostgresSession(con))
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

