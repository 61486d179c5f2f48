"""The SQLite backend, through aiosqlite: the one module that owns the database file.

One connection, WAL (readers never wait for the writer), a busy timeout, foreign keys on, and short
explicit transactions. The statements are ``bot.store.queries`` and everything else ``SQLStore``;
this module keeps what is SQLite's own: the file, its connection, transactions, faults, migrations'
bookkeeping (``PRAGMA user_version``) and the collection counter (a one-row table). The
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
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import aiosqlite

from bot.store.base import StoreError, as_utc
from bot.store.migrations import LATEST, MIGRATIONS, Migration, refuse_newer, refuse_older
from bot.store.queries import Session
from bot.store.sql_store import SQLStore

log = logging.getLogger("bot.store")
R = TypeVar("R")

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT = 2.0  # seconds a statement waits for another connection's lock before the writer backs off

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


def _time(moment: datetime) -> str:
    return as_utc(moment).isoformat(timespec="microseconds")


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
    refuse_newer(version, len(migrations), where, "the file")
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


def _bind(params: Mapping[str, Any]) -> dict[str, Any]:
    """SQLite's column types: times as ISO 8601 text in UTC (they sort as text), lists as JSON text."""
    return {name: _time(value) if isinstance(value, datetime) else json.dumps(value) if isinstance(value, list)
            else value for name, value in params.items()}


class SQLiteSession:
    """One transaction on the connection; sqlite3 binds ``:name`` parameters as they are."""

    on_repeat = ""  # a file on this machine: a COMMIT never goes unanswered

    def __init__(self, db: aiosqlite.Connection):
        self.db = db

    async def execute(self, sql: str, /, **params: Any) -> int:
        cursor = await self.db.execute(sql, _bind(params))
        return cursor.rowcount

    async def execute_many(self, sql: str, rows: Iterable[Mapping[str, Any]]) -> None:
        await self.db.executemany(sql, [_bind(row) for row in rows])

    async def fetch(self, sql: str, /, **params: Any) -> list[Sequence[Any]]:
        async with self.db.execute(sql, _bind(params)) as cursor:
            return list(await cursor.fetchall())

    async def new_collection_version(self, guild_id: int) -> int:
        """From the one-row counter table (BEGIN IMMEDIATE has locked the whole file already)."""
        await self.db.execute("UPDATE collection_changes SET last = last + 1")
        [(version,)] = await self.fetch("SELECT last FROM collection_changes")
        await self.execute("INSERT INTO collection_versions (guild_id, version) VALUES (:guild_id, :version) "
                           "ON CONFLICT (guild_id) DO UPDATE SET version = excluded.version",
                           guild_id=guild_id, version=version)
        return int(version)


class SQLiteStore(SQLStore):
    """The bot's memory in one SQLite file (see ``bot.store.base.Store`` for what each method promises).

    ``busy_timeout`` is how long a statement waits for another connection's lock; ``on_connect`` is
    a test hook run on every new connection after the migrations (the disk-full test caps the file
    with ``PRAGMA max_page_count``). The other options are ``SQLStore``'s.
    """

    def __init__(self, path: Path | str, *, busy_timeout: float = BUSY_TIMEOUT,
                 on_connect: Callable[[aiosqlite.Connection], Awaitable[None]] | None = None, **options: Any):
        self.path = Path(path)
        super().__init__(str(self.path), describe_fault, **options)
        self._busy_timeout = busy_timeout
        self._on_connect = on_connect
        self._db: aiosqlite.Connection | None = None
        self._db_cannot_write = False  # SQLite fell back to opening the file read-only
        self._lock = asyncio.Lock()  # one user of the connection at a time: a transaction is never interleaved

    async def _connect(self) -> None:
        async with self._lock:
            await self._connection()

    @property
    def _connected(self) -> bool:
        return self._db is not None

    async def _connection(self, write: bool = False) -> aiosqlite.Connection:
        """The open connection, (re)opened if needed; the caller holds ``self._lock``."""
        if self._db is not None and not self.read_only and not self.path.exists():
            self.faults.report("the database file disappeared; a new one is started", self._writes.pending)
            await self._drop_connection()
        if write and self._db_cannot_write:
            await self._drop_connection()  # opened while the file was read-only (for a read): try again for writing
        if self._db is None:
            self._db = await self._new_connection()
            self._db_cannot_write = not self.read_only and not os.access(self.path, os.W_OK)
        return self._db

    async def _new_connection(self) -> aiosqlite.Connection:
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
            refuse_newer(version, LATEST, self.where, "the file")  # before WAL mode is set: that writes to the file
            if self.read_only:
                refuse_older(version, self.where)
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
        async with self._lock:
            await self._drop_connection()

    async def _drop_connection(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            with contextlib.suppress(Exception):
                await db.close()

    async def _transaction(self, work: Callable[[Session], Awaitable[R]], *, write: bool) -> R:
        async with self._lock:
            try:
                db = await self._connection(write)
                await db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    result = await work(SQLiteSession(db))
                    await db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        try:
                            await db.execute("ROLLBACK")
                        except Exception:
                            await self._drop_connection()
                    raise
                return result
            except StoreError:
                raise
            except Exception as exc:
                reason = describe_fault(exc)
                if reason is None:
                    raise
                await self._drop_connection()
                raise StoreError(self.where, reason) from exc
