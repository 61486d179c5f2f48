"""The schema's steps, on both backends: from an empty database, from every earlier version with data in it,
never half applied, and a database from a newer bot refused with nothing changed."""

from __future__ import annotations

import asyncio
import sqlite3

import aiosqlite
import asyncpg
import pytest

from bot.engine import ReloadReport
from bot.store import GuildSettings, StoreError
from bot.store import postgres as pg
from bot.store.migrations import LATEST, MIGRATIONS, POSTGRES_MIGRATIONS, Migration
from bot.store.sqlite import migrate
from tests.store.conftest import Database, ask, flushed, postgres_only, sqlite_only

TABLES = {"questions", "question_passages", "feedback", "guild_settings", "reloads", "collection_documents",
          "collection_versions"}
SQLITE_ONLY_TABLES = {"collection_changes"}  # PostgreSQL counts collection versions with a SEQUENCE
T0 = "2026-05-01T10:00:00.000000+00:00"

# Rows written the way each version's schema allowed, keyed by backend and by the version that made the table.
OLD_ROWS = {
    "sqlite": {
        1: ["INSERT INTO questions (id, asked_at, guild_id, channel_id, asker_hash, question, answered, latency_ms) "
            f"VALUES ('q1', '{T0}', 5, 50, 'hash-a', 'Who is Kramer?', 1, 30)",
            "INSERT INTO question_passages (question_id, position, passage_id, document_id) VALUES "
            "('q1', 1, 'putin#author', 'putin'), ('q1', 2, 'putin#p1', 'putin')"],
        2: [f"INSERT INTO feedback (question_id, voter_hash, vote, voted_at) VALUES ('q1', 'hash-b', -1, '{T0}')"],
        3: ["INSERT INTO guild_settings (guild_id, answer_channel_ids, public_answers, cooldown_seconds, updated_at) "
            f"VALUES (5, '[50, 51]', 0, 4.0, '{T0}')"],
        4: ["INSERT INTO reloads (id, reloaded_at, guild_id, by_name, by_hash, error, documents, passages, "
            "documents_added, documents_changed, documents_removed, passages_added, passages_changed, "
            f"passages_removed, skipped) VALUES ('r1', '{T0}', NULL, 'Old', NULL, NULL, 1, 9, '[\"putin\"]', '[]', "
            "'[]', 9, 0, 0, '[]')"],
    },
    "postgres": {
        1: ["INSERT INTO questions (id, asked_at, guild_id, channel_id, asker_hash, question, answered, latency_ms) "
            f"VALUES ('q1', '{T0}', 5, 50, 'hash-a', 'Who is Kramer?', true, 30)",
            "INSERT INTO question_passages (question_id, position, passage_id, document_id) VALUES "
            "('q1', 1, 'putin#author', 'putin'), ('q1', 2, 'putin#p1', 'putin')"],
        2: [f"INSERT INTO feedback (question_id, voter_hash, vote, voted_at) VALUES ('q1', 'hash-b', -1, '{T0}')"],
        3: ["INSERT INTO guild_settings (guild_id, answer_channel_ids, public_answers, cooldown_seconds, updated_at) "
            f"VALUES (5, '{{50, 51}}', false, 4.0, '{T0}')"],
        4: ["INSERT INTO reloads (id, reloaded_at, guild_id, by_name, by_hash, error, documents, passages, "
            "documents_added, documents_changed, documents_removed, passages_added, passages_changed, "
            f"passages_removed, skipped) VALUES ('r1', '{T0}', NULL, 'Old', NULL, NULL, 1, 9, '{{putin}}', '{{}}', "
            "'{}', 9, 0, 0, '[]')"],
    },
}


async def build_old_database(db: Database, version: int) -> None:
    """A database as a bot at ``version`` left it: only the first steps, with rows in every table it had."""
    rows = [sql for made_in in range(1, version + 1) for sql in OLD_ROWS[db.backend].get(made_in, [])]
    if db.backend == "sqlite":
        db.path.parent.mkdir(parents=True, exist_ok=True)
        async with aiosqlite.connect(db.path, isolation_level=None) as con:
            await migrate(con, str(db.path), MIGRATIONS[:version])
            for sql in rows:
                await con.execute(sql)
        return
    con = await db.connect()
    try:
        await pg.migrate(con, db.name, POSTGRES_MIGRATIONS[:version])
        for sql in rows:
            await con.execute(sql)
    finally:
        await con.close()


def test_steps_are_numbered_one_by_one_and_the_same_on_both_backends():
    assert [step.version for step in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert LATEST == len(MIGRATIONS) >= 5
    assert [(s.version, s.name) for s in POSTGRES_MIGRATIONS] == [(s.version, s.name) for s in MIGRATIONS]
    assert pg.LATEST == LATEST


async def test_an_empty_database_gets_every_step(open_store, db):
    store = await open_store()
    assert await db.schema_version() == LATEST
    assert await db.tables() == TABLES | (SQLITE_ONLY_TABLES if db.backend == "sqlite" else set())
    await store.close()
    await open_store()  # opening an up-to-date database changes nothing
    assert await db.schema_version() == LATEST


@sqlite_only
async def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(open_store):
    seen = {}

    async def look(con: aiosqlite.Connection) -> None:
        for pragma in ("journal_mode", "foreign_keys", "busy_timeout"):
            async with con.execute(f"PRAGMA {pragma}") as cursor:
                seen[pragma] = (await cursor.fetchone())[0]

    await open_store(on_connect=look)
    assert seen == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 50}


@postgres_only
async def test_postgres_keeps_its_schema_version_in_a_table(open_store, db):
    await open_store()
    applied = await db.rows("SELECT version, name FROM schema_migrations ORDER BY version")
    assert applied == [(step.version, step.name) for step in POSTGRES_MIGRATIONS]


@postgres_only
async def test_postgres_processes_starting_together_migrate_once(open_store, db):
    """Two bots on one new database: the advisory lock lets one migrate while the other waits, then finds it done."""
    first, second = await asyncio.gather(open_store(), open_store())
    assert await db.rows("SELECT version, COUNT(*) FROM schema_migrations GROUP BY version ORDER BY version") == [
        (step.version, 1) for step in POSTGRES_MIGRATIONS]
    ask(first, "through the first")
    await flushed(first)
    assert (await second.stats(1, days=1)).questions == 1


@pytest.mark.parametrize("version", range(1, LATEST))
async def test_upgrading_from_each_earlier_version_keeps_the_data(open_store, db, version, caplog):
    await build_old_database(db, version)
    assert await db.schema_version() == version

    store = await open_store()
    assert await db.schema_version() == LATEST
    assert await db.tables() >= TABLES
    assert f"upgraded to schema version {LATEST}" in caplog.text
    question = await store.question("q1")
    assert question is not None
    assert (question.question, question.guild_id, question.answered, question.passage_ids) == (
        "Who is Kramer?", 5, True, ("putin#author", "putin#p1"))
    votes = await store.votes("q1")
    assert [(v.voter_hash, v.vote) for v in votes] == ([("hash-b", -1)] if version >= 2 else [])
    settings = await store.get_guild_settings(5)
    assert settings == (GuildSettings(5, frozenset({50, 51}), False, 4.0) if version >= 3 else GuildSettings(5))
    old_reload = await store.latest_reload()
    assert (old_reload and (old_reload.by_name, old_reload.report.documents_added)) == (
        ("Old", ("putin",)) if version >= 4 else None)

    # and the upgraded database takes every kind of record
    new = ask(store, guild_id=5)
    store.record_feedback("q1", 1, 1)
    store.record_reload(ReloadReport(documents=1, passages=2), by_name="Ada")
    store.set_guild_settings(GuildSettings(6))
    await flushed(store)
    assert await store.question(new) is not None
    assert len(await store.votes("q1")) == (2 if version >= 2 else 1)
    assert (await store.latest_reload()).by_name == "Ada"
    await store.put_document(5, "notes", "notes.md", "# Notes", 1)
    assert [d.document_id for d in await store.documents(5)] == ["notes"]


async def test_a_failing_step_leaves_the_database_at_the_previous_version(db):
    broken = "CREATE TABLE half (x INTEGER); CREATE TABLE half (y INTEGER);"
    if db.backend == "sqlite":
        db.path.parent.mkdir(parents=True)
        async with aiosqlite.connect(db.path, isolation_level=None) as con:
            with pytest.raises(sqlite3.OperationalError, match="already exists"):
                await migrate(con, str(db.path), (*MIGRATIONS[:1], Migration(2, "broken", broken)))
    else:
        con = await db.connect()
        try:
            with pytest.raises(asyncpg.DuplicateTableError, match="already exists"):
                await pg.migrate(con, db.name, (*POSTGRES_MIGRATIONS[:1], Migration(2, "broken", broken)))
        finally:
            await con.close()
    assert await db.schema_version() == 1
    assert "half" not in await db.tables()


async def test_a_database_from_a_newer_bot_is_refused_and_left_untouched(open_store, db):
    await build_old_database(db, LATEST)
    if db.backend == "sqlite":
        await db.execute(f"PRAGMA user_version = {LATEST + 1}")
    else:
        await db.execute(f"INSERT INTO schema_migrations (version, name) VALUES ({LATEST + 1}, 'from the future')")
    before = db.path.read_bytes() if db.backend == "sqlite" else await db.dump()
    with pytest.raises(StoreError) as error:
        await open_store()
    where = str(db.target) if db.backend == "sqlite" else pg.public_url(db.target)
    assert str(error.value).startswith(f"{where}: the database has schema version {LATEST + 1} but this bot "
                                       f"knows only {LATEST}: run a newer bot")
    assert (db.path.read_bytes() if db.backend == "sqlite" else await db.dump()) == before
    if db.backend == "sqlite":
        assert sorted(p.name for p in db.path.parent.iterdir()) == ["bot.sqlite3"]  # not even a WAL file
