"""The schema's steps: from an empty file, from every earlier version with data in it, and never half applied."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from bot.engine import ReloadReport
from bot.store import GuildSettings, StoreError
from bot.store.migrations import LATEST, MIGRATIONS, Migration
from bot.store.sqlite import migrate
from tests.store.conftest import ask, flushed

TABLES = {"questions", "question_passages", "feedback", "guild_settings", "reloads"}
T0 = "2026-05-01T10:00:00.000000+00:00"

# Rows written the way each version's schema allowed, keyed by the version that made the table.
OLD_ROWS = {
    1: ["INSERT INTO questions (id, asked_at, guild_id, channel_id, asker_hash, question, answered, latency_ms) "
        f"VALUES ('q1', '{T0}', 5, 50, 'hash-a', 'Who is Kramer?', 1, 30)",
        "INSERT INTO question_passages (question_id, position, passage_id, document_id) VALUES "
        "('q1', 1, 'putin#author', 'putin'), ('q1', 2, 'putin#p1', 'putin')"],
    2: [f"INSERT INTO feedback (question_id, voter_hash, vote, voted_at) VALUES ('q1', 'hash-b', -1, '{T0}')"],
    3: ["INSERT INTO guild_settings (guild_id, answer_channel_ids, public_answers, cooldown_seconds, updated_at) "
        f"VALUES (5, '[50, 51]', 0, 4.0, '{T0}')"],
}


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("PRAGMA user_version").fetchone()[0]


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


async def build_old_database(path: Path, version: int) -> None:
    """A database as a bot at ``version`` left it: only the first steps, with rows in every table it had."""
    path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(path, isolation_level=None) as db:
        await migrate(db, str(path), MIGRATIONS[:version])
        for made_in in range(1, version + 1):
            for sql in OLD_ROWS.get(made_in, []):
                await db.execute(sql)


def test_steps_are_numbered_one_by_one():
    assert [step.version for step in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert LATEST == len(MIGRATIONS) >= 2


async def test_an_empty_database_gets_every_step_and_the_right_connection_settings(open_store, db_path):
    seen = {}

    async def look(db: aiosqlite.Connection) -> None:
        for pragma in ("journal_mode", "foreign_keys", "busy_timeout"):
            async with db.execute(f"PRAGMA {pragma}") as cursor:
                seen[pragma] = (await cursor.fetchone())[0]

    store = await open_store(on_connect=look)
    assert user_version(db_path) == LATEST
    assert tables(db_path) == TABLES
    assert seen == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 50}
    await store.close()
    await open_store(db_path)  # opening an up-to-date database changes nothing
    assert user_version(db_path) == LATEST


@pytest.mark.parametrize("version", range(1, LATEST))
async def test_upgrading_from_each_earlier_version_keeps_the_data(open_store, db_path, version):
    await build_old_database(db_path, version)
    assert user_version(db_path) == version

    store = await open_store()
    assert user_version(db_path) == LATEST
    assert tables(db_path) == TABLES
    question = await store.question("q1")
    assert question is not None
    assert (question.question, question.guild_id, question.answered, question.passage_ids) == (
        "Who is Kramer?", 5, True, ("putin#author", "putin#p1"))
    votes = await store.votes("q1")
    assert [(v.voter_hash, v.vote) for v in votes] == ([("hash-b", -1)] if version >= 2 else [])
    settings = await store.get_guild_settings(5)
    assert settings == (GuildSettings(5, frozenset({50, 51}), False, 4.0) if version >= 3 else GuildSettings(5))

    # and the upgraded database takes every kind of record
    new = ask(store, guild_id=5)
    store.record_feedback("q1", 1, 1)
    store.record_reload(ReloadReport(documents=1, passages=2), by_name="Ada")
    store.set_guild_settings(GuildSettings(6))
    await flushed(store)
    assert await store.question(new) is not None
    assert len(await store.votes("q1")) == (2 if version >= 2 else 1)
    assert (await store.latest_reload()).by_name == "Ada"


async def test_a_failing_step_leaves_the_database_at_the_previous_version(tmp_path):
    path = tmp_path / "bot.sqlite3"
    broken = (*MIGRATIONS[:1], Migration(2, "broken", "CREATE TABLE half (x INTEGER); CREATE TABLE half (y);"))
    async with aiosqlite.connect(path, isolation_level=None) as db:
        with pytest.raises(sqlite3.OperationalError, match="already exists"):
            await migrate(db, str(path), broken)
    assert user_version(path) == 1
    assert "half" not in tables(path)


async def test_a_database_from_a_newer_bot_is_refused_and_left_untouched(open_store, db_path):
    await build_old_database(db_path, LATEST)
    with sqlite3.connect(db_path) as db:
        db.execute(f"PRAGMA user_version = {LATEST + 1}")
    before = db_path.read_bytes()
    with pytest.raises(StoreError) as error:
        await open_store()
    assert str(error.value).startswith(f"{db_path}: the database has schema version {LATEST + 1}")
    assert db_path.read_bytes() == before
