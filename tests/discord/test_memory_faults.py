"""A database that is locked, read-only, full, missing its folder or damaged never stops the bot
from answering: one warning, writes kept and retried, nothing lost; a damaged file is left untouched.

Every fault is real (another sqlite3 connection holding the lock, immutable files, a size cap, a
folder that cannot be made, garbage bytes). The store's retry wait is a gate the test opens, so
nothing here sleeps.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import aiosqlite
import pytest
import simcord

from bot import create_bot
from bot.store import EVERYWHERE, StoreError
from tests.conftest import write
from tests.discord.conftest import SYRIA, arrange_world, buttons, flushed
from tests.store.conftest import RetryGate, read_only

TALIBAN = "Is Russia arming the Taliban?"
STORE_OPTIONS = {"busy_timeout": 0.05}  # a locked database is noticed in 50 ms, not the 2 s of production


@pytest.fixture
def gate() -> RetryGate:
    return RetryGate()


@pytest.fixture
def simcord_bot(bot_env, gate):
    return create_bot(store_options={**STORE_OPTIONS, "retry_wait": gate})


@pytest.fixture(autouse=True)
def store_logs(caplog):
    caplog.set_level(logging.INFO, logger="bot.store")


def store_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.store" and r.levelno == logging.WARNING]


def logged_questions(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return sorted(row[0] for row in db.execute("SELECT question FROM questions"))


async def keeps_answering(world) -> None:
    """A /ask (with its buttons) and an @mention are answered as usual."""
    result = await world.member.slash(world.channel, "ask", question=SYRIA)
    assert result.response.embeds[0].title == SYRIA
    assert {"Full paragraph [1]", "Helpful", "Not helpful"} <= set(buttons(result.response))
    await world.member.send(world.channel, f"{world.env.bot.user.mention} {TALIBAN}")
    assert world.channel.last_message.embeds[0].title == TALIBAN


async def catches_up(world, gate, caplog, database_path, asked: tuple[str, ...] = (SYRIA, TALIBAN)) -> None:
    """Once the fault is gone, the kept writes land (``asked``: the questions) and the recovery is logged."""
    gate.retry()
    store = await flushed(world.env.bot.store)
    assert store.health().fault is None and store.health().pending == 0
    assert len(store_warnings(caplog)) == 1, store_warnings(caplog)
    assert any("is back" in r.getMessage() for r in caplog.records if r.name == "bot.store")
    assert logged_questions(database_path) == sorted(asked)


async def test_locked_database(world, database_path, gate, caplog):
    await flushed(world.env.bot.store)
    holder = sqlite3.connect(database_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
    try:
        await keeps_answering(world)
        changed = await world.admin.slash(world.channel, "kb settings", answers="private")
        assert changed.response.embeds[0].description == "Changed: `/ask` answers are private by default."
        await world.env.advance_time(10)
        assert (await world.admin.slash(world.channel, "ask", question=SYRIA)).ephemeral  # applied at once
        await gate.failed()
        [warning] = store_warnings(caplog)
        assert "locked" in warning and "The bot keeps answering" in warning
        status = await world.admin.slash(world.channel, "kb status")
        memory = {f.name: f.value for f in status.response.embeds[0].fields}["Memory"]
        assert "⚠️ not saving right now (it is locked by another connection" in memory
        assert world.env.bot.store.health().pending >= 3
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    await catches_up(world, gate, caplog, database_path, (SYRIA, TALIBAN, SYRIA))
    with sqlite3.connect(database_path) as db:
        assert db.execute("SELECT public_answers FROM guild_settings").fetchall() == [(0,)]
    assert world.env.errors == []


async def test_database_made_read_only_while_running(world, database_path, gate, caplog):
    await flushed(world.env.bot.store)
    wal = database_path.with_name(database_path.name + "-wal")
    with read_only(database_path, wal, database_path.parent):  # not -shm: see tests/store/test_store_faults.py
        await keeps_answering(world)
        await gate.failed()
        [warning] = store_warnings(caplog)
        assert "unavailable: a disk I/O error (a read-only or full disk?)" in warning, warning
    await catches_up(world, gate, caplog, database_path)


async def test_read_only_database_at_start_up(bot_env, database_path, gate, caplog):
    async with simcord.run(create_bot(store_options=STORE_OPTIONS)):
        pass  # a first run creates the database
    wal = database_path.with_name(database_path.name + "-wal")
    with read_only(database_path, wal, database_path.parent):
        async with simcord.run(create_bot(store_options={**STORE_OPTIONS, "retry_wait": gate})) as env:
            world = arrange_world(env)
            await keeps_answering(world)
            await gate.failed()
            await gate.fail_again()  # still read-only: it fails again, quietly
            assert len(store_warnings(caplog)) == 1
    await catches_up(world, gate, caplog, database_path)


async def test_database_full(bot_env, database_path, gate, caplog):
    capped = True

    async def cap(db: aiosqlite.Connection) -> None:  # no more pages than the file has, as on a full disk
        if capped:
            async with db.execute("PRAGMA page_count") as cursor:
                (pages,) = await cursor.fetchone()
            await db.execute(f"PRAGMA max_page_count = {pages}")

    async with simcord.run(create_bot(store_options={**STORE_OPTIONS, "retry_wait": gate, "on_connect": cap})) as env:
        world = arrange_world(env)
        long_question = "Why did Russia go to Syria " + "really " * 800 + "?"
        result = await world.member.slash(world.channel, "ask", question=long_question)
        assert result.response.embeds[0].description  # answered
        await gate.failed()
        [warning] = store_warnings(caplog)
        assert "full" in warning
        capped = False
        gate.retry()
        await flushed(env.bot.store)
        assert logged_questions(database_path) == [" ".join(long_question.split())]


async def test_missing_folder_is_created(bot_env, tmp_path, monkeypatch):
    path = tmp_path / "not" / "there" / "yet" / "bot.sqlite3"
    monkeypatch.setenv("DATABASE_PATH", str(path))
    assert not path.parent.parent.parent.exists()
    async with simcord.run(create_bot()) as env:
        world = arrange_world(env)
        await keeps_answering(world)
        await flushed(env.bot.store)
    assert logged_questions(path) == sorted([SYRIA, TALIBAN])


async def test_a_folder_that_cannot_be_made_the_bot_answers_and_explains(bot_env, tmp_path, knowledge_dir,
                                                                            monkeypatch, gate, caplog):
    """Nothing can be read or written: answers go on, /kb stats says why it has nothing, /kb status shows
    this process's last reload, and everything lands once the folder can be made."""
    locked = tmp_path / "locked"
    locked.mkdir()
    path = locked / "data" / "bot.sqlite3"
    monkeypatch.setenv("DATABASE_PATH", str(path))
    with read_only(locked):
        async with simcord.run(create_bot(store_options={**STORE_OPTIONS, "retry_wait": gate})) as env:
            world = arrange_world(env)
            await keeps_answering(world)
            write(knowledge_dir, "solar.md", "---\ntitle: Solar\n---\n\nSolar panels got cheaper than coal.\n")
            await world.admin.slash(world.channel, "kb reload")
            await gate.failed()

            stats = await world.admin.slash(world.channel, "kb stats")
            assert stats.ephemeral and stats.response.content.startswith("The question log cannot be read right now (")
            status = await world.admin.slash(world.channel, "kb status")
            shown = {f.name: f.value for f in status.response.embeds[0].fields}
            assert "by ada; documents: 1 added" in shown["Last reload"]  # from memory
            assert "not saving right now" in shown["Memory"]
            assert len(store_warnings(caplog)) == 1
            assert env.errors == []
    gate.retry()
    store = await flushed(env.bot.store)
    assert logged_questions(path) == sorted([SYRIA, TALIBAN])
    assert [entry.by_name for entry in await store.reload_history()] == ["ada"]
    assert len(await store.question_log(EVERYWHERE)) == 2


async def test_a_damaged_database_stops_the_start_and_is_left_untouched(bot_env, database_path):
    database_path.parent.mkdir(parents=True)
    garbage = bytes(range(256)) * 64
    database_path.write_bytes(garbage)
    with pytest.raises(StoreError, match="not a SQLite database"):
        async with simcord.run(create_bot()):
            pass
    assert database_path.read_bytes() == garbage
    assert [p.name for p in database_path.parent.iterdir()] == ["bot.sqlite3"]
