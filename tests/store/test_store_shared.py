"""Two bot processes on one database (two Store instances, each with its own writer, pool or connection and
settings cache): what one writes, the other reads. On PostgreSQL this is how shards on several machines
share what the bot remembers; SQLite allows it on one machine."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import sys
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.store import GuildSettings, StoreError, UserHasher
from bot.store.base import utcnow
from bot.store.settings_cache import SETTINGS_TTL
from tests.conftest import BUNDLED
from tests.store.conftest import FLUSH_LIMIT, Database, ask, flushed

GUILD = 5

ANOTHER_PROCESS = """
import asyncio
from bot.settings import Settings
from bot.store import open_store

async def main():
    store = await open_store(Settings.from_env())
    store.record_question(question="Asked through the other process", answered=True, passage_ids=["putin#p4"],
                          latency_ms=5, guild_id=5, channel_id=50, user_id=77)
    await store.put_document(5, "theirs", "theirs.md", "# Theirs", 77)
    await store.close()

asyncio.run(main())
"""


async def test_another_process_on_the_same_database(open_store, db, tmp_path):
    """A real second process (its own interpreter, event loop and connections), configured from the environment."""
    here = await open_store(hasher=UserHasher(b"shared salt"))
    env = {**os.environ, "PYTHONPATH": str(BUNDLED.parent), "STATE_DIR": str(tmp_path / "other"),
           "HASH_SALT": "shared salt", "DATABASE_PATH": str(db.target), "DATABASE_URL": ""}
    if db.backend == "postgres":
        env["DATABASE_URL"] = str(db.target)
    other = await asyncio.create_subprocess_exec(sys.executable, "-c", ANOTHER_PROCESS, env=env,
                                                 stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(other.communicate(), FLUSH_LIMIT * 3)
    assert other.returncode == 0, err.decode()
    stats = await here.stats(GUILD, days=1, now=utcnow() + timedelta(minutes=1))  # the other's clock is real
    assert stats.questions == 1 and stats.documents[0].label == "putin"
    [question] = await here.question_log(GUILD)
    assert question.question.asker_hash == here.hash_user(77)  # the same salt: the same pseudonym everywhere
    assert [d.document_id for d in await here.documents(GUILD)] == ["theirs"]


async def test_a_question_answered_by_one_counts_in_the_others_stats(open_store):
    one, two = await open_store(), await open_store()
    asked = ask(one, "What did Russia do in Syria?", guild_id=GUILD)
    ask(two, "What about China?", guild_id=GUILD, answered=False, passage_ids=())
    await flushed(one)
    await flushed(two)
    two.record_feedback(asked, 9, -1)  # a vote through the other shard on the first one's answer
    await flushed(two)
    for store in (one, two):
        stats = await store.stats(GUILD, days=1)
        assert (stats.questions, stats.answered, stats.votes_down) == (2, 1, 1)
        assert [u.text for u in stats.unanswered] == ["What about China?"]
    assert (await one.question(asked)).asker_hash == (await two.question(asked)).asker_hash  # one salt, one pseudonym


async def test_a_document_put_through_one_is_listed_by_the_other(open_store):
    one, two = await open_store(), await open_store()
    polled = await two.collections_version(GUILD)
    await one.put_document(GUILD, "notes", "notes.md", "# Notes\n\nShared by every shard.", 1)
    assert await two.collections_version(GUILD) != polled  # what the other process polls
    assert [d.text for d in await two.documents(GUILD)] == ["# Notes\n\nShared by every shard."]
    polled = await one.collections_version(GUILD)
    assert await two.delete_document(GUILD, "notes")
    assert await one.collections_version(GUILD) != polled
    assert await one.documents(GUILD) == []


async def test_settings_changed_through_one_apply_in_the_other_within_the_ttl(open_store, ticker):
    one, two = await open_store(), await open_store()
    assert (await two.get_guild_settings(GUILD)).public_answers  # read, and kept for the TTL
    one.set_guild_settings(GuildSettings(GUILD, public_answers=False, cooldown_seconds=2.0))
    await flushed(one)
    assert not (await one.get_guild_settings(GUILD)).public_answers  # at once where it was changed

    ticker.advance(SETTINGS_TTL - 0.1)
    assert (await two.get_guild_settings(GUILD)).public_answers  # the other's copy is still young
    ticker.advance(0.1)
    changed = await two.get_guild_settings(GUILD)
    assert (changed.public_answers, changed.cooldown_seconds) == (False, 2.0)


async def test_settings_cached_for_a_configured_time(open_store, ticker):
    one, two = await open_store(), await open_store(settings_ttl=0)
    await two.get_guild_settings(GUILD)
    one.set_guild_settings(GuildSettings(GUILD, public_answers=False))
    await flushed(one)
    assert not (await two.get_guild_settings(GUILD)).public_answers  # TTL 0: read every time


async def test_settings_set_here_win_over_an_older_copy_until_they_are_saved(open_store, db, ticker):
    """While this process's change is still queued, re-reading the database must not bring back the old one."""
    store = await open_store()
    store.set_guild_settings(GuildSettings(GUILD, public_answers=False))
    ticker.advance(SETTINGS_TTL * 10)  # long past the TTL, and the write not flushed yet
    assert not (await store.get_guild_settings(GUILD)).public_answers
    await flushed(store)
    assert await db.count("guild_settings") == 1
    ticker.advance(SETTINGS_TTL * 10)
    assert not (await store.get_guild_settings(GUILD)).public_answers  # read back from the database


async def test_forgetting_a_server_through_one_is_seen_by_the_other(open_store):
    one, two = await open_store(), await open_store()
    ask(one, guild_id=GUILD)
    await flushed(one)
    await one.put_document(GUILD, "notes", "notes.md", "text", 1)
    polled = await one.collections_version(GUILD)
    await two.forget_guild(GUILD)
    assert await one.collections_version(GUILD) == 0 != polled
    assert (await one.stats(GUILD, days=1)).questions == 0


async def test_a_put_that_cannot_be_written_says_so(open_store, db):
    """Collections are not queued: the admin who adds a file must hear that it was not saved."""
    store = await open_store()
    async with unwritable(db):
        with pytest.raises(StoreError) as error:
            await store.put_document(GUILD, "notes", "notes.md", "text", 1)
        assert error.value.where == store.where
        assert store.health().fault is not None
    await store.put_document(GUILD, "notes", "notes.md", "text", 1)
    assert store.health().fault is None
    assert len(await store.documents(GUILD)) == 1


@contextlib.asynccontextmanager
async def unwritable(db: Database) -> AsyncIterator[None]:
    """SQLite: another connection holds the write lock. PostgreSQL: the database turns read-only (a failover)."""
    if db.backend == "sqlite":
        holder = sqlite3.connect(db.path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            holder.close()
        return
    await db.set_read_only(True)
    await db.end_sessions()
    try:
        yield
    finally:
        await db.set_read_only(False)
