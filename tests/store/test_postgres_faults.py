"""PostgreSQL's faults: recording never raises or waits, one warning per fault, pending writes land afterwards.

The same promise and the same assertions as SQLite's (test_sqlite_faults.py), with PostgreSQL's own
faults, each real: the server stopped and started again, sessions ended with pg_terminate_backend
(idle, or in the middle of a transaction), the database turned read-only (as a standby after a
failover), the bot's role losing its rights, a database not created yet, a server nobody answers at.
The writer's retry wait is a ``RetryGate`` the test opens, so nothing here sleeps.
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import AsyncIterator

import asyncpg
import pytest

from bot.store import GuildSettings, StoreError
from bot.store.postgres import PostgresStore, describe_fault, public_url
from tests.store.conftest import (
    FLUSH_LIMIT,
    PostgresServer,
    ask,
    assert_keeps_answering,
    flushed,
    recovers,
    store_warnings,
)


@pytest.fixture
def backend() -> str:
    return "postgres"


@pytest.fixture
async def own_server() -> AsyncIterator[PostgresServer]:
    """A server of the test's own, for the tests that stop it (the session's server serves everyone else)."""
    server = PostgresServer()
    yield server
    server.cleanup()


async def questions(dsn: str) -> list[str]:
    con = await asyncpg.connect(dsn)
    try:
        return [r[0] for r in await con.fetch("SELECT question FROM questions ORDER BY asked_at, question")]
    finally:
        await con.close()


async def test_server_stopped_while_the_bot_records(open_store, own_server, gate, caplog, ticker):
    dsn = own_server.dsn()
    store = await open_store(dsn)
    store.set_guild_settings(GuildSettings(7, public_answers=False))
    ask(store, "before")
    await flushed(store)

    own_server.stop()
    await assert_keeps_answering(store, gate, caplog, "while it was down", "and another")
    warning = store_warnings(caplog)[0]
    assert "unavailable" in warning and ("connection" in warning or "cannot be reached" in warning), warning
    ticker.advance(60)  # the settings copy is old: reading fails, the last settings seen still apply
    assert not (await store.get_guild_settings(7)).public_answers
    assert await store.get_guild_settings(8) == GuildSettings(8)
    with pytest.raises(StoreError, match=r"cannot be reached|connection"):
        await store.stats(1)

    own_server.start()
    await recovers(store, gate, caplog)
    assert await questions(own_server.dsn()) == ["and another", "before", "while it was down"]
    assert (await store.stats(1, days=1)).questions == 3


async def test_server_down_when_the_bot_starts(open_store, own_server, gate, caplog):
    own_server.stop()
    store = await open_store(own_server.dsn())  # starts anyway
    assert len(store_warnings(caplog)) == 1
    assert store.health().fault is not None
    await assert_keeps_answering(store, gate, caplog, "asked before the server was up")
    own_server.start()
    await recovers(store, gate, caplog)  # the schema is made on the first connection, then the write lands
    assert await questions(own_server.dsn()) == ["asked before the server was up"]


async def test_session_ended_while_idle(open_store, db, gate, caplog):
    store = await open_store()
    ask(store, "before")
    await flushed(store)
    assert await db.end_sessions() >= 1

    ask(store, "after")
    retries = await gate.drain(store)  # the pool notices the lost session now or on the first try
    assert retries <= 1
    assert await db.questions() == ["after", "before"]
    assert len(store_warnings(caplog)) == retries
    assert store.health().fault is None and store.health().pending == 0


async def test_session_ended_in_the_middle_of_a_transaction(open_store, db, gate, caplog):
    """The writer is inside its transaction (waiting for a table lock) when its session is terminated."""
    store = await open_store()
    holder = await db.connect()
    try:
        async with holder.transaction():
            await holder.execute("LOCK TABLE questions IN ACCESS EXCLUSIVE MODE")
            ask(store, "asked while the table was locked")
            await wait_for_a_session_waiting_on_a_lock(holder, db.name)
            assert await db.end_sessions() >= 1
            await gate.failed()
    finally:
        await holder.close()
    assert "connection" in store_warnings(caplog)[0] or "ended" in store_warnings(caplog)[0]
    await recovers(store, gate, caplog)
    assert await db.questions() == ["asked while the table was locked"]


async def wait_for_a_session_waiting_on_a_lock(con: asyncpg.Connection, database: str) -> None:
    """Ask the server until the writer's session shows as waiting on a lock (each look is one round trip)."""
    async def look() -> None:
        while not await con.fetchval(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'kb-answer-bot' "
                "AND wait_event_type = 'Lock'", database):
            await asyncio.sleep(0)

    await asyncio.wait_for(look(), FLUSH_LIMIT)


async def test_read_only_at_start_up(open_store, db, gate, caplog):
    await (await open_store()).close()  # the schema exists
    await db.set_read_only(True)
    store = await open_store()  # starts anyway: nothing to migrate
    assert await store.get_guild_settings(3) == GuildSettings(3)  # reads work
    await assert_keeps_answering(store, gate, caplog, "while read-only")
    assert "read-only" in store_warnings(caplog)[0]
    await db.set_read_only(False)
    await recovers(store, gate, caplog)  # the read-only sessions were dropped after the fault
    assert await db.questions() == ["while read-only"]


async def test_read_only_after_a_failover_while_running(open_store, db, gate, caplog):
    """Sessions are cut and the server that takes them back is read-only, as a standby is."""
    store = await open_store()
    ask(store, "before")
    await flushed(store)
    await db.set_read_only(True)
    await db.end_sessions()
    await assert_keeps_answering(store, gate, caplog, "during the failover")
    await db.set_read_only(False)
    await recovers(store, gate, caplog)
    assert await db.questions() == ["before", "during the failover"]


async def test_rights_revoked_while_running(open_store, db, gate, caplog):
    await (await open_store()).close()  # the owner makes the schema
    role = await db.add_role("bot")
    store = await open_store(db.dsn(role))
    ask(store, "while allowed")
    await flushed(store)

    await db.execute(f'REVOKE INSERT ON questions FROM "{role}"')
    await assert_keeps_answering(store, gate, caplog, "while refused")
    assert "permission denied" in store_warnings(caplog)[0]
    await db.execute(f'GRANT INSERT ON questions TO "{role}"')
    await recovers(store, gate, caplog)
    assert await db.questions() == ["while allowed", "while refused"]


async def test_a_database_not_created_yet(open_store, db, gate, caplog):
    dsn = db.server.dsn(f"{db.name}_later")
    store = await open_store(dsn)
    assert "the database does not exist" in store_warnings(caplog)[0]
    await assert_keeps_answering(store, gate, caplog, "asked before the database existed")
    con = await db.server.admin()
    try:
        await con.execute(f'CREATE DATABASE "{db.name}_later"')
        await recovers(store, gate, caplog)
        assert await questions(dsn) == ["asked before the database existed"]
        await store.close()
    finally:
        await con.execute(f'DROP DATABASE "{db.name}_later" WITH (FORCE)')
        await con.close()


async def test_closing_during_a_fault_says_what_was_not_saved(open_store, db, gate, caplog):
    store = await open_store()
    await db.set_read_only(True)
    await db.end_sessions()
    try:
        ask(store, "never saved")
        await gate.failed()
        await store.close(timeout=0)
    finally:
        await db.set_read_only(False)
    assert "closing with 1 write(s) not saved" in store_warnings(caplog)[-1]


async def test_nobody_answering_is_one_line_for_the_terminal(tmp_path):
    """``python -m bot stats`` opens the store read-only: an unreachable server is a StoreError, not a traceback."""
    dsn = f"postgresql://bot:s3cret@/kb?host={tmp_path / 'no-server-here'}"
    store = PostgresStore(dsn, read_only=True, connect_timeout=1)
    with pytest.raises(StoreError) as error:
        await store.open()
    assert str(error.value).startswith(f"postgresql://bot@/kb?host={tmp_path / 'no-server-here'}: "
                                       "the server cannot be reached")
    assert "s3cret" not in str(error.value)


def test_urls_in_messages_never_show_the_password():
    assert public_url("postgresql://bot:s3cret@db.example:5432/kb") == "postgresql://bot@db.example:5432/kb"
    assert public_url("postgres://db.example/kb?sslmode=require&password=s3cret") == (
        "postgres://db.example/kb?sslmode=require")
    assert PostgresStore("postgresql://bot:s3cret@db.example/kb").where == "postgresql://bot@db.example/kb"


@pytest.mark.parametrize("error", [
    asyncpg.DiskFullError("could not extend file: No space left on device"),
    asyncpg.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction"),
    asyncpg.InsufficientPrivilegeError("permission denied for table questions"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.CannotConnectNowError("the database system is starting up"),
    asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.SerializationError("could not serialize access"),
    ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
    TimeoutError(),
], ids=lambda e: type(e).__name__)
def test_faults_that_can_pass_are_retried(error):
    assert describe_fault(error) is not None


@pytest.mark.parametrize("error", [
    asyncpg.UniqueViolationError("duplicate key value"),
    asyncpg.NotNullViolationError("null value in column"),
    asyncpg.UndefinedTableError("relation does not exist"),
    asyncpg.DataError("invalid input"),
    ValueError("a bug"),
], ids=lambda e: type(e).__name__)
def test_errors_retrying_cannot_fix_are_not(error):
    assert describe_fault(error) is None
