"""SQLite's faults: recording never raises or waits, one warning per fault, pending writes land afterwards.

Each fault is real: another connection holding the write lock, files made immutable, a size cap or
a full file system, a folder that cannot be made or disappears, garbage where the database should be.
The writer's retry wait is a ``RetryGate`` the test opens, so nothing here sleeps. PostgreSQL's
faults are in test_postgres_faults.py; the assertions are the same.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from bot.store import GuildSettings, StoreError
from bot.store.migrations import LATEST, MIGRATIONS
from tests.store.conftest import ask, assert_keeps_answering, flushed, read_only, recovers, store_warnings


@pytest.fixture
def backend() -> str:
    return "sqlite"


def questions_in(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT question FROM questions ORDER BY asked_at, question")]


async def test_locked_by_another_connection(open_store, db_path, gate, caplog):
    store = await open_store(busy_timeout=0.05)
    store.set_guild_settings(GuildSettings(7, public_answers=False))
    await flushed(store)
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        await assert_keeps_answering(store, gate, caplog, "asked while locked", "and another")
        assert "locked" in store_warnings(caplog)[0]
        assert not (await store.get_guild_settings(7)).public_answers  # reads still work
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    await recovers(store, gate, caplog)
    assert questions_in(db_path) == ["and another", "asked while locked"]


async def test_database_read_only_at_start_up(open_store, db_path, gate, caplog):
    await (await open_store()).close()
    with read_only(db_path, db_path.parent):
        store = await open_store()  # starts anyway
        assert await store.get_guild_settings(3) == GuildSettings(3)
        await assert_keeps_answering(store, gate, caplog, "while read-only")
    await recovers(store, gate, caplog)
    assert questions_in(db_path) == ["while read-only"]


async def test_database_made_read_only_while_running(open_store, db_path, gate, caplog):
    """The file, its WAL and its folder become immutable under the open connection.

    Not the -shm file: SQLite maps it into memory, and a write to a mapping of an immutable file
    kills the process with SIGBUS, which no program can catch (and no administrator does on purpose).
    """
    store = await open_store()
    ask(store, "before")
    await flushed(store)
    with read_only(db_path, Path(f"{db_path}-wal"), db_path.parent):
        await assert_keeps_answering(store, gate, caplog, "while read-only")
        assert await store.get_guild_settings(3) == GuildSettings(3)
    await recovers(store, gate, caplog)
    assert questions_in(db_path) == ["before", "while read-only"]


async def test_database_full_at_its_size_cap(open_store, db_path, gate, caplog):
    """The test hook caps the file at the pages it has, as a full disk would; SQLite reports SQLITE_FULL."""
    capped = True

    async def cap(db: aiosqlite.Connection) -> None:
        if capped:
            async with db.execute("PRAGMA page_count") as cursor:
                (pages,) = await cursor.fetchone()
            await db.execute(f"PRAGMA max_page_count = {pages}")

    store = await open_store(on_connect=cap)
    long_question = "Why " + "really " * 3000 + "?"  # needs pages the file does not have
    await assert_keeps_answering(store, gate, caplog, long_question)
    assert "full" in store_warnings(caplog)[0]
    capped = False
    await recovers(store, gate, caplog)
    assert questions_in(db_path) == [long_question]
    await store.close()


async def test_missing_folder_is_created_on_first_run(open_store, tmp_path):
    path = tmp_path / "a" / "b" / "bot.sqlite3"
    store = await open_store(path)
    ask(store, "first")
    await flushed(store)
    assert questions_in(path) == ["first"]


async def test_folder_that_cannot_be_created(open_store, tmp_path, gate, caplog):
    parent = tmp_path / "locked"
    parent.mkdir()
    path = parent / "data" / "bot.sqlite3"
    with read_only(parent):
        store = await open_store(path)  # starts anyway
        assert len(store_warnings(caplog)) == 1
        store.set_guild_settings(GuildSettings(7, cooldown_seconds=1.0))
        assert (await store.get_guild_settings(7)).cooldown_seconds == 1.0
        assert await store.get_guild_settings(8) == GuildSettings(8)  # defaults: nothing can be read
        await assert_keeps_answering(store, gate, caplog, "asked before the folder existed", other_writes=1)
    await recovers(store, gate, caplog)
    assert questions_in(path) == ["asked before the folder existed"]
    await store.close()
    assert (await (await open_store(path)).get_guild_settings(7)).cooldown_seconds == 1.0


async def test_folder_deleted_while_running(open_store, db_path, gate, caplog):
    store = await open_store()
    ask(store, "before")
    await flushed(store)
    shutil.rmtree(db_path.parent)
    ask(store, "after")
    await flushed(store)
    assert questions_in(db_path) == ["after"]
    assert len(store_warnings(caplog)) == 1 and "disappeared" in store_warnings(caplog)[0]


async def test_corrupt_file_is_reported_and_never_overwritten(open_store, db_path):
    db_path.parent.mkdir(parents=True)
    garbage = bytes(range(256)) * 64
    db_path.write_bytes(garbage)
    with pytest.raises(StoreError) as error:
        await open_store()
    assert str(error.value) == (f"{db_path}: not a SQLite database (the file was left untouched: move it away or "
                                "set DATABASE_PATH to another file)")
    assert db_path.read_bytes() == garbage
    assert sorted(p.name for p in db_path.parent.iterdir()) == ["bot.sqlite3"]


async def test_damaged_sqlite_file_is_reported_and_never_overwritten(open_store, db_path):
    store = await open_store()
    for n in range(50):
        ask(store, f"question {n}")
    await flushed(store)
    await store.close()
    damaged = bytearray(db_path.read_bytes())
    damaged[4096:8192] = b"\xff" * 4096  # page 2: the question log's first page
    db_path.write_bytes(bytes(damaged))

    with pytest.raises(StoreError, match="the database is damaged") as error:
        await open_store()
    assert str(error.value).startswith(f"{db_path}: ")
    assert db_path.read_bytes() == bytes(damaged)


async def test_pending_writes_are_bounded_dropping_the_oldest(open_store, tmp_path, gate, caplog):
    parent = tmp_path / "locked"
    parent.mkdir()
    path = parent / "data" / "bot.sqlite3"
    with read_only(parent):
        store = await open_store(path, max_pending=3)
        for n in range(5):
            ask(store, f"question {n}")
        await gate.failed()
        assert store.health().pending == 3 and store.health().dropped == 2
        warnings = store_warnings(caplog)
        assert len(warnings) == 2 and "dropping the oldest" in warnings[1]
    gate.retry()
    await flushed(store)
    assert questions_in(path) == ["question 2", "question 3", "question 4"]
    assert "2 oldest write(s) were dropped" in store_warnings(caplog)[-1]


async def test_a_write_refused_for_good_is_dropped_without_holding_up_the_rest(open_store, db_path, caplog):
    store = await open_store()
    ask(store, "first", question_id="same-id")
    ask(store, "duplicate id", question_id="same-id")
    ask(store, "second")
    await flushed(store)
    assert questions_in(db_path) == ["first", "second"]
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "refused a QuestionRecord" in errors[0]
    assert store_warnings(caplog) == []


async def test_closing_during_a_fault_says_what_was_not_saved(open_store, db_path, gate, caplog):
    store = await open_store(busy_timeout=0.01)
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        ask(store, "never saved")
        await gate.failed()
        await store.close(timeout=0)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "closing with 1 write(s) not saved" in store_warnings(caplog)[-1]


async def test_locked_while_the_schema_needs_upgrading(open_store, db_path, gate, caplog):
    """A bot that starts while another holds the lock upgrades the schema once it can, then writes."""
    db_path.parent.mkdir(parents=True)
    with sqlite3.connect(db_path) as db:
        db.execute("PRAGMA journal_mode = WAL")
        db.executescript(MIGRATIONS[0].sql + "\nPRAGMA user_version = 1;")
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        store = await open_store(busy_timeout=0.01)
        assert len(store_warnings(caplog)) == 1
        await assert_keeps_answering(store, gate, caplog, "asked during the upgrade")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    await recovers(store, gate, caplog)
    assert questions_in(db_path) == ["asked during the upgrade"]
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == LATEST
