"""RETENTION_DAYS: old questions go with their votes and passages, at start-up and on demand (both backends)."""

from __future__ import annotations

from bot.engine import ReloadReport
from bot.settings import Settings
from bot.store import UP, store_from_settings
from tests.store.conftest import NOW, ask, flushed


async def test_purge_deletes_questions_older_than_the_limit_with_their_votes(open_store, db, clock):
    store = await open_store(retention_days=90)
    old = ask(store, "old question", at=clock.back(days=91))
    edge = ask(store, "just inside", at=clock.back(days=89, hours=23))
    new = ask(store, "new question")
    store.record_feedback(old, 1, UP)
    store.record_feedback(new, 1, UP)
    await flushed(store)
    assert (await db.count("feedback"), await db.count("question_passages")) == (2, 6)

    assert await store.purge_expired(NOW) == 1
    assert await store.question(old) is None
    assert await store.question(edge) is not None and await store.question(new) is not None
    assert (await db.count("feedback"), await db.count("question_passages")) == (1, 4)
    assert await store.purge_expired(NOW) == 0


async def test_purge_keeps_the_latest_reload_of_each_collection(open_store, clock):
    store = await open_store(retention_days=30)
    for days, by, guild in ((100, "first", None), (95, "latest shared", None), (5, "recent", 7), (60, "old", 7)):
        store.record_reload(ReloadReport(documents=1, passages=1), by_name=by, guild_id=guild,
                            at=clock.back(days=days))
    await flushed(store)
    await store.purge_expired()
    assert [e.by_name for e in await store.reload_history()] == ["latest shared"]  # shown by /kb status
    assert [e.by_name for e in await store.reload_history(7)] == ["recent"]


async def test_expired_questions_are_purged_when_the_store_opens(open_store, db, clock):
    store = await open_store(retention_days=90)
    old = ask(store, at=clock.back(days=200))
    await store.close()
    assert await db.count("questions") == 1

    reopened = await open_store(retention_days=90)
    assert await reopened.question(old) is None


async def test_retention_days_comes_from_the_settings(tmp_path):
    settings = Settings.from_env({"RETENTION_DAYS": "7", "STATE_DIR": str(tmp_path)})
    store = store_from_settings(settings)
    assert store.retention_days == 7
    assert store.where == str(tmp_path / "bot.sqlite3")
