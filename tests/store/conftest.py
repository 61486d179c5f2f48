"""Every store test runs on both backends: a real SQLite file in a temp folder, and a real PostgreSQL server.

The ``backend`` fixture is parametrized ("sqlite", "postgres"): a test that asks for ``open_store``
or ``db`` runs once on each, from the same code. PostgreSQL is one server per session, started by
the tests themselves from the ``pgserver`` wheel in a temp folder, on a Unix socket only; every test
gets a fresh schema in one database on it. A test about one backend says so (``sqlite_only``,
``postgres_only``, or a ``backend`` fixture of its module: test_sqlite_faults.py, test_postgres_faults.py).

Time never passes by sleeping: the store's clock, the settings cache's clock and the writer's retry
wait are all objects the test moves by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import sqlite3
import stat
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.store import SQLiteStore, Store, UserHasher
from bot.store.postgres import APPLICATION_NAME, PostgresStore
from tests.store.postgres_server import PostgresServer

NOW = datetime(2026, 5, 9, 12, 0, tzinfo=UTC)
FLUSH_LIMIT = 10  # seconds; a guard against a hung test, never a way to wait for something
BACKENDS = ("sqlite", "postgres")
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])
postgres_only = pytest.mark.parametrize("backend", ["postgres"])


class Clock:
    """The store's clock, moved by the test."""

    def __init__(self, now: datetime = NOW):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def back(self, **delta: float) -> datetime:
        return self.now - timedelta(**delta)


class Ticker:
    """A monotonic clock (the settings cache's), moved by the test."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds

    def advance(self, seconds: float) -> None:
        self.seconds += seconds


class RetryGate:
    """The writer's retry wait, opened by the test: no sleeping, no guessing how long backoff takes.

    ``await gate.failed()`` returns once the writer has failed and is waiting to retry;
    ``gate.retry()`` lets it try again.
    """

    def __init__(self) -> None:
        self.attempts = 0
        self._waiting = asyncio.Event()
        self._go = asyncio.Event()

    async def __call__(self, attempt: int) -> None:
        self.attempts = attempt
        self._go.clear()
        self._waiting.set()
        await self._go.wait()

    @property
    def waiting(self) -> bool:
        return self._waiting.is_set()

    async def failed(self) -> int:
        await asyncio.wait_for(self._waiting.wait(), FLUSH_LIMIT)
        return self.attempts

    def retry(self) -> None:
        self._waiting.clear()
        self._go.set()

    async def fail_again(self) -> int:
        """Let the writer retry while the fault lasts, and wait until that attempt has failed too."""
        self.retry()
        return await self.failed()

    async def drain(self, store: Store) -> int:
        """Flush, letting the writer retry whenever it waits (a fault that may or may not be met); returns
        how many retries it took."""
        retries = 0
        flush = asyncio.ensure_future(store.flush())
        try:
            while not flush.done():
                waiting = asyncio.ensure_future(self._waiting.wait())
                done, _ = await asyncio.wait({flush, waiting}, timeout=FLUSH_LIMIT,
                                             return_when=asyncio.FIRST_COMPLETED)
                waiting.cancel()
                if not done:
                    raise TimeoutError("the store did not flush")
                if self.waiting:
                    retries += 1
                    self.retry()
            return retries
        finally:
            flush.cancel()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
def gate() -> RetryGate:
    return RetryGate()


@pytest.fixture(autouse=True)
def store_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.store")


# ------------------------------------------------------------------------------------ the two backends


_started: list[float] = []  # how long pgserver took, for the line at the end of the run
_schemas = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session (started only if a test needs it), deleted at the end."""
    server = PostgresServer()
    _started.append(server.start_seconds)
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def postgres_database(postgres_server: PostgresServer) -> str:
    """The database the store tests share, each in a schema of its own."""
    return postgres_server.create_database("store_tests")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _started:
        terminalreporter.write_line(f"store tests: pgserver started PostgreSQL in {_started[0]:.2f} s")


class Database:
    """The test's database, whichever the backend: a store opener and plain SQL to look into it."""

    backend: str
    target: Path | str  # what the store is given: a path or a URL

    def store(self, target: Path | str | None = None, **options: Any) -> Any:
        raise NotImplementedError

    async def rows(self, sql: str) -> list[tuple]:
        raise NotImplementedError

    async def execute(self, sql: str) -> None:
        raise NotImplementedError

    async def tables(self) -> set[str]:
        raise NotImplementedError

    async def schema_version(self) -> int:
        raise NotImplementedError

    async def dump(self) -> str:
        """Everything in the database, as text."""
        raise NotImplementedError

    async def questions(self) -> list[str]:
        return [r[0] for r in await self.rows("SELECT question FROM questions ORDER BY asked_at, question")]

    async def count(self, table: str) -> int:
        return (await self.rows(f"SELECT COUNT(*) FROM {table}"))[0][0]


class SQLiteDatabase(Database):
    """The test's SQLite file, and plain sqlite3 to look into it."""

    backend = "sqlite"

    def __init__(self, path: Path):
        self.path = path
        self.target = path

    def store(self, target: Path | str | None = None, **options: Any) -> SQLiteStore:
        return SQLiteStore(target or self.path, **{"busy_timeout": 0.05, **options})

    async def rows(self, sql: str) -> list[tuple]:
        with contextlib.closing(sqlite3.connect(self.path)) as db:
            return [tuple(row) for row in db.execute(sql)]

    async def execute(self, sql: str) -> None:
        with contextlib.closing(sqlite3.connect(self.path, isolation_level=None)) as db:
            db.executescript(sql)

    async def tables(self) -> set[str]:
        return {r[0] for r in await self.rows("SELECT name FROM sqlite_master WHERE type = 'table'")}

    async def schema_version(self) -> int:
        return (await self.rows("PRAGMA user_version"))[0][0]

    async def dump(self) -> str:
        with contextlib.closing(sqlite3.connect(self.path)) as db:
            return "\n".join(db.iterdump())


class PostgresDatabase(Database):
    """The test's own schema in the session's database, and superuser connections to look into it.

    A schema per test, not a database: CREATE DATABASE copies a template (about 90 ms each here), a
    schema costs nothing. The store meets it as its search_path (``?search_path=`` in the URL, which
    asyncpg passes on as a server setting), so every name resolves in the test's schema.
    """

    backend = "postgres"

    def __init__(self, server: PostgresServer, name: str, schema: str):
        self.server = server
        self.name = name  # the database
        self.schema = schema
        self.target = self.dsn()
        self.roles: list[str] = []

    def store(self, target: Path | str | None = None, **options: Any) -> PostgresStore:
        return PostgresStore(str(target or self.target), **options)

    def dsn(self, user: str = "postgres") -> str:
        return f"{self.server.dsn(self.name, user)}&search_path={self.schema}"

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.dsn())

    async def create(self) -> None:
        await self.execute(f'CREATE SCHEMA "{self.schema}"')

    async def drop(self) -> None:
        await self.set_read_only(False)  # in case the test stopped half-way
        await self.execute(f'DROP SCHEMA "{self.schema}" CASCADE')
        for role in self.roles:
            await self.execute(f'DROP OWNED BY "{role}"; DROP ROLE "{role}"')

    async def rows(self, sql: str) -> list[tuple]:
        con = await self.connect()
        try:
            return [tuple(row) for row in await con.fetch(sql)]
        finally:
            await con.close()

    async def execute(self, sql: str) -> None:
        con = await self.connect()
        try:
            await con.execute(sql)
        finally:
            await con.close()

    async def tables(self) -> set[str]:
        """The bot's tables (not ``schema_migrations``, PostgreSQL's stand-in for PRAGMA user_version)."""
        return await self._all_tables() - {"schema_migrations"}

    async def schema_version(self) -> int:
        if not (await self.rows("SELECT to_regclass('schema_migrations') IS NOT NULL"))[0][0]:
            return 0
        return (await self.rows("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))[0][0]

    async def dump(self) -> str:
        """Every row of every table, as text."""
        lines = []
        for table in sorted(await self._all_tables()):
            lines += [f"{table}: {row[0]}" for row in await self.rows(f"SELECT t::text FROM {table} AS t ORDER BY 1")]
        return "\n".join(lines)

    async def _all_tables(self) -> set[str]:
        found = await self.rows("SELECT table_name FROM information_schema.tables "
                                "WHERE table_schema = current_schema()")
        return {r[0] for r in found}

    async def add_role(self, name: str) -> str:
        """A login role that may read and write the bot's tables (not own them); dropped after the test."""
        role = f"{self.schema}_{name}"
        self.roles.append(role)
        await self.execute(f"""
            CREATE ROLE "{role}" LOGIN;
            GRANT CONNECT ON DATABASE "{self.name}" TO "{role}";
            GRANT USAGE ON SCHEMA "{self.schema}" TO "{role}";
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{self.schema}" TO "{role}";
            GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA "{self.schema}" TO "{role}";""")
        return role

    async def end_sessions(self) -> int:
        """pg_terminate_backend on every session of the bot's stores (this test's: the others are closed),
        as a failover does."""
        con = await self.server.admin()
        try:
            ended = await con.fetch("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = $1 AND application_name = $2", self.name, APPLICATION_NAME)
        finally:
            await con.close()
        return sum(1 for row in ended if row[0])

    async def set_read_only(self, read_only: bool) -> None:
        """Make sessions opened from now on read-only (as on a standby), or writable again (the whole
        database: tests run one at a time, and ``drop`` makes it writable again)."""
        con = await self.server.admin()  # from the maintenance database, which stays writable
        try:
            if read_only:
                await con.execute(f'ALTER DATABASE "{self.name}" SET default_transaction_read_only = on')
            else:
                await con.execute(f'ALTER DATABASE "{self.name}" RESET default_transaction_read_only')
        finally:
            await con.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "bot.sqlite3"


@pytest.fixture
async def db(backend: str, db_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    """The test's database on its backend: a SQLite file at ``db_path``, or a fresh PostgreSQL schema."""
    if backend == "sqlite":
        yield SQLiteDatabase(db_path)
        return
    database = PostgresDatabase(request.getfixturevalue("postgres_server"),
                                request.getfixturevalue("postgres_database"), f"test_{next(_schemas)}")
    await database.create()
    yield database
    await database.drop()


@pytest.fixture
async def open_store(db: Database, clock: Clock, gate: RetryGate, ticker: Ticker
                     ) -> AsyncIterator[Callable[..., Any]]:
    """Open stores on the test's database (or another path or URL); all are closed after the test."""
    stores: list[Any] = []

    async def opener(target: Path | str | None = None, **options: Any) -> Any:
        options = {"hasher": UserHasher(b"test salt"), "clock": clock, "retry_wait": gate, "monotonic": ticker,
                   **options}
        store = db.store(target, **options)
        await store.open()
        stores.append(store)
        return store

    yield opener
    for store in stores:
        await store.close(timeout=0)


async def flushed(store: Store) -> None:
    await asyncio.wait_for(store.flush(), FLUSH_LIMIT)


def store_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("bot.store") and r.levelno == logging.WARNING]


def ask(store: Store, question: str = "What did Russia do in Syria?", **fields: Any) -> str:
    """Record a question with plausible defaults."""
    values = {"answered": True, "passage_ids": ("putin#p4", "putin#p6"), "latency_ms": 12.0, "guild_id": 1,
              "channel_id": 10, "user_id": 100, **fields}
    return store.record_question(question=question, **values)


async def assert_keeps_answering(store: Store, gate: RetryGate, caplog: pytest.LogCaptureFixture, *questions: str,
                                 other_writes: int = 0) -> None:
    """While the fault lasts: recording returns at once, retries fail quietly, and one warning was logged."""
    for question in questions:
        assert isinstance(ask(store, question), str)  # returned, did not raise, was not awaited
    await gate.failed()
    await gate.fail_again()
    attempts = await gate.fail_again()
    assert attempts == 3
    assert len(store_warnings(caplog)) == 1, store_warnings(caplog)
    assert store.health().fault is not None
    assert store.health().pending == len(questions) + other_writes


async def recovers(store: Store, gate: RetryGate, caplog: pytest.LogCaptureFixture) -> None:
    """The fault is over: the pending writes land, and one line says so (no second warning)."""
    gate.retry()
    await flushed(store)
    assert store.health().fault is None and store.health().pending == 0
    assert len(store_warnings(caplog)) == 1, store_warnings(caplog)
    assert any("is back" in r.getMessage() for r in caplog.records)


# ------------------------------------------------------------------------------------ breaking the disk


def _chattr(flag: str, path: Path) -> bool:
    result = subprocess.run(["chattr", flag, str(path)], capture_output=True, text=True)
    return result.returncode == 0


@contextlib.contextmanager
def read_only(*paths: Path) -> Iterator[None]:
    """Make files and folders unwritable for real, and always undo it.

    As root, permission bits stop nothing, so the immutable attribute (``chattr +i``) is used; as
    another user, taking away the write bits is enough.
    """
    undo: list[Callable[[], object]] = []
    try:
        for path in paths:
            if not path.exists():
                continue
            if os.geteuid() == 0:
                if not _chattr("+i", path):
                    pytest.fail(f"chattr +i {path} failed: this file system cannot make files immutable")
                undo.append(lambda p=path: _chattr("-i", p))
            else:
                mode = path.stat().st_mode
                path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
                undo.append(lambda p=path, m=mode: p.chmod(m))
        yield
    finally:
        for step in reversed(undo):
            step()
