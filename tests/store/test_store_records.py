"""Every record the store keeps is written and read back, on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import inspect
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from bot.engine import ReloadReport
from bot.knowledge.models import Problem
from bot.settings import Settings
from bot.store import DOWN, UP, GuildSettings, SQLiteStore, UserHasher, store_from_settings
from bot.store.base import Store
from bot.store.postgres import PostgresStore
from tests.store.conftest import NOW, ask, flushed, store_warnings

RAW_USER = 987654321098765432
BACKEND_CLASSES = pytest.mark.parametrize("store_class", [SQLiteStore, PostgresStore])


def dump(path: Path) -> str:
    """Everything in the database, as SQL text."""
    with sqlite3.connect(path) as db:
        return "\n".join(db.iterdump())


@BACKEND_CLASSES
def test_each_backend_implements_the_store_interface(store_class):
    members = [(name, m) for name, m in inspect.getmembers(Store, inspect.isfunction) if not name.startswith("_")]
    assert len(members) > 20
    for name, member in members:
        assert hasattr(store_class, name), name
        ours = getattr(store_class, name)
        assert inspect.iscoroutinefunction(member) == inspect.iscoroutinefunction(ours), name
        theirs = inspect.signature(member).parameters
        assert list(inspect.signature(ours).parameters) == list(theirs), name


@BACKEND_CLASSES
def test_recording_never_awaits_the_database(store_class):
    for name in ("record_question", "record_feedback", "record_reload", "set_guild_settings"):
        assert not inspect.iscoroutinefunction(getattr(store_class, name)), name


async def test_question_is_stored_and_read_back_with_its_passages_in_order(open_store, clock):
    store = await open_store()
    question_id = store.record_question(
        question="What did Russia do in Syria?", answered=True, passage_ids=["putin#p6", "putin#p4", "putin#p11"],
        latency_ms=41.6, guild_id=111, channel_id=222, user_id=RAW_USER)
    assert await store.question(question_id) is None  # queued, not yet written: recording did not wait
    await flushed(store)

    stored = await store.question(question_id)
    assert stored is not None
    assert stored.asked_at == clock.now
    assert (stored.guild_id, stored.channel_id, stored.question, stored.answered, stored.latency_ms) == (
        111, 222, "What did Russia do in Syria?", True, 42)
    assert stored.passage_ids == ("putin#p6", "putin#p4", "putin#p11")
    assert stored.asker_hash == store.hash_user(RAW_USER) != str(RAW_USER)


async def test_closing_the_store_saves_what_is_pending(open_store):
    store = await open_store()
    question_id = ask(store)
    await store.close()
    assert await (await open_store()).question(question_id) is not None


async def test_direct_message_questions_keep_neither_server_nor_channel(open_store):
    store = await open_store()
    question_id = ask(store, "hello?", answered=False, passage_ids=(), guild_id=None, channel_id=555)
    await flushed(store)
    stored = await store.question(question_id)
    assert (stored.guild_id, stored.channel_id, stored.passage_ids, stored.answered) == (None, None, (), False)


async def test_no_raw_user_id_is_stored_anywhere(open_store, db):
    store = await open_store()
    question_id = ask(store, user_id=RAW_USER)
    store.record_feedback(question_id, RAW_USER, UP)
    store.record_reload(ReloadReport(documents=1, passages=3), by_name="Ada", by_user_id=RAW_USER)
    await store.put_document(1, "notes", "notes.md", "# Notes", RAW_USER)
    await flushed(store)
    text = await db.dump()
    assert store.hash_user(RAW_USER) in text
    assert str(RAW_USER) not in text


async def test_a_vote_is_one_per_person_per_answer_and_can_be_changed(open_store, clock):
    store = await open_store()
    question_id = ask(store)
    store.record_feedback(question_id, 1, UP)
    store.record_feedback(question_id, 2, DOWN)
    await flushed(store)
    clock.now = NOW.replace(minute=5)
    store.record_feedback(question_id, 1, DOWN)  # changes their mind
    await flushed(store)

    votes = {v.voter_hash: v for v in await store.votes(question_id)}
    assert len(votes) == 2
    assert votes[store.hash_user(1)].vote == DOWN
    assert votes[store.hash_user(1)].voted_at == clock.now
    assert votes[store.hash_user(2)].vote == DOWN


async def test_a_vote_is_plus_or_minus_one(open_store):
    store = await open_store()
    with pytest.raises(ValueError, match="\\+1 or -1"):
        store.record_feedback("abc", 1, 2)


async def test_a_vote_on_an_answer_the_log_does_not_have_is_ignored_quietly(open_store, caplog):
    store = await open_store()
    store.record_feedback("purged-long-ago", 1, UP)
    question_id = ask(store)
    await flushed(store)
    assert await store.votes("purged-long-ago") == ()
    assert await store.question(question_id) is not None
    assert store_warnings(caplog) == []


async def test_guild_settings_have_defaults_and_apply_at_once(open_store):
    store = await open_store()
    assert await store.get_guild_settings(7) == GuildSettings(7)
    store.set_guild_settings(GuildSettings(7, answer_channel_ids=frozenset({70, 71}), public_answers=False,
                                           cooldown_seconds=30.0))
    settings = await store.get_guild_settings(7)  # before the write reached the disk
    assert settings.answer_channel_ids == {70, 71} and not settings.public_answers
    assert settings.cooldown_seconds == 30.0


async def test_guild_settings_survive_reopening_the_store(open_store, clock):
    store = await open_store()
    store.set_guild_settings(GuildSettings(7, answer_channel_ids=frozenset({70}), public_answers=False,
                                           cooldown_seconds=2.5))
    store.set_guild_settings(GuildSettings(8, answer_channel_ids=frozenset(), cooldown_seconds=None))
    await store.close()

    reopened = await open_store()
    seven = await reopened.get_guild_settings(7)
    assert seven == GuildSettings(7, frozenset({70}), False, 2.5)
    assert seven.updated_at == clock.now
    eight = await reopened.get_guild_settings(8)
    assert eight.answer_channel_ids == frozenset()  # "no channels" is kept apart from "the bot-wide default"
    assert (await reopened.get_guild_settings(9)).answer_channel_ids is None

    reopened.set_guild_settings(replace(seven, public_answers=True))
    await reopened.close()
    assert (await (await open_store()).get_guild_settings(7)).public_answers


async def test_a_write_refused_for_good_is_dropped_without_holding_up_the_rest(open_store, db, caplog):
    """A bug (here a question without text, which no schema allows) costs that one write and an error line."""
    store = await open_store()
    ask(store, "first")
    ask(store, None)
    ask(store, "second")
    await flushed(store)
    assert await db.questions() == ["first", "second"]
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "refused a QuestionRecord" in errors[0]
    assert store_warnings(caplog) == []


async def test_reload_history_keeps_what_changed_what_was_skipped_and_failures(open_store, clock):
    store = await open_store()
    done = ReloadReport(documents_added=("solar",), documents_changed=("putin",), documents_removed=("old",),
                        passages_added=4, passages_changed=2, passages_removed=7,
                        problems=(Problem(Path("knowledge/broken.md"), "binary file"),), documents=2, passages=30)
    store.record_reload(done, by_name="Ada", by_user_id=RAW_USER)
    clock.now = NOW.replace(hour=13)
    failed = ReloadReport(error="knowledge directory not found", documents=2, passages=30)
    store.record_reload(failed, by_name="Bob", by_user_id=5)
    store.record_reload(ReloadReport(documents=1, passages=1), by_name="Cy", guild_id=42)  # a server's collection
    await flushed(store)

    latest = await store.latest_reload()
    assert latest is not None
    assert (latest.at, latest.by_name, latest.guild_id, latest.report) == (clock.now, "Bob", None, failed)
    assert not latest.report.ok
    history = await store.reload_history()
    assert [entry.report for entry in history] == [failed, done]
    assert history[1].by_hash == store.hash_user(RAW_USER)
    assert history[1].report.problems[0].path == Path("knowledge/broken.md")
    assert (await store.latest_reload(42)).by_name == "Cy"
    assert (await store.latest_reload(43)) is None


async def test_pseudonyms_stay_the_same_across_restarts_with_the_salt_kept_outside_the_database(tmp_path):
    settings = Settings.from_env(state_dir=tmp_path / "state", database_path=tmp_path / "db" / "bot.sqlite3")
    first = store_from_settings(settings)
    salt_file = tmp_path / "state" / "hash_salt"
    assert salt_file.stat().st_mode & 0o777 == 0o600
    second = store_from_settings(settings)
    assert first.hash_user(RAW_USER) == second.hash_user(RAW_USER)

    await first.open()
    ask(first, user_id=RAW_USER)
    await first.close()
    assert salt_file.read_text().strip() not in dump(settings.database_path)

    salted = store_from_settings(Settings.from_env(state_dir=tmp_path / "other", hash_salt="operator secret"))
    assert salted.hash_user(RAW_USER) == UserHasher(b"operator secret")(RAW_USER) != first.hash_user(RAW_USER)
    assert not (tmp_path / "other" / "hash_salt").exists()
