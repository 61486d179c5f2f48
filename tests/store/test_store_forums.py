"""What help forums need from the store, on a real SQLite file and a real PostgreSQL database: the forums a
server named, one logged question per post (what keeps a restarted bot from answering a post twice),
and the posts left unanswered."""

from __future__ import annotations

from datetime import timedelta

from bot.store import GuildSettings, UnansweredPost
from tests.store.conftest import NOW, ask, flushed

GUILD, OTHER = 11, 12
POST, SECOND_POST = 9001, 9002


def post(store, post_id=POST, *, answered=True, guild_id=GUILD, question="How do I reset it?", **fields) -> str:
    return store.record_post_question(post_id=post_id, question=question, answered=answered,
                                      passage_ids=["faq#p1"] if answered else [], latency_ms=12.0,
                                      guild_id=guild_id, user_id=42, **fields)


async def test_help_forums_are_kept_with_the_other_settings(open_store):
    store = await open_store()
    store.set_guild_settings(GuildSettings(GUILD, answer_channel_ids=frozenset({5}),
                                           forum_channel_ids=frozenset({70, 71})))
    await flushed(store)
    reopened = await open_store()
    assert (await reopened.get_guild_settings(GUILD)).forum_channel_ids == {70, 71}
    assert (await reopened.get_guild_settings(OTHER)).forum_channel_ids == frozenset()
    reopened.set_guild_settings(GuildSettings(GUILD, answer_channel_ids=frozenset({5})))
    await flushed(reopened)
    assert (await (await open_store()).get_guild_settings(GUILD)).forum_channel_ids == frozenset()


async def test_a_posts_question_is_logged_with_the_post_and_found_by_it(open_store):
    store = await open_store()
    assert await store.post_question(POST) is None
    question_id = post(store)
    await flushed(store)
    found = await store.post_question(POST)
    assert found is not None and found.id == question_id
    assert (found.guild_id, found.channel_id, found.question, found.answered, found.passage_ids) == (
        GUILD, POST, "How do I reset it?", True, ("faq#p1",))
    assert await store.post_question(SECOND_POST) is None


async def test_a_post_is_logged_once_even_when_two_answers_race(open_store, db):
    store = await open_store()
    first = post(store)
    post(store, question="the same post, answered again")  # a second process, or a replayed event
    await flushed(store)
    assert (await store.post_question(POST)).id == first
    assert await db.count("questions") == 1
    assert await db.count("question_passages") == 1
    # the queue went on: later records are written
    ask(store, "What did Russia do in Syria?", guild_id=GUILD)
    await flushed(store)
    assert await db.count("questions") == 2


async def test_the_record_survives_a_restart(open_store):
    store = await open_store()
    post(store, answered=False)
    await store.close()  # what a restarting bot does: pending writes are saved
    again = await open_store()
    found = await again.post_question(POST)
    assert found is not None and not found.answered


async def test_unanswered_posts_are_this_servers_declined_and_unsolved_ones_newest_first(open_store, clock):
    store = await open_store()
    post(store, POST, answered=False, question="Where is the manual?", at=NOW - timedelta(days=2))
    post(store, SECOND_POST, answered=False, question="Who wrote it?", at=NOW - timedelta(days=1))
    post(store, 9003, answered=True)
    post(store, 9004, answered=False, guild_id=OTHER)
    post(store, 9005, answered=False, at=NOW - timedelta(days=40))  # outside the period
    ask(store, "Unanswered, but not a forum post", guild_id=GUILD, answered=False)
    await flushed(store)
    assert await store.unanswered_posts(GUILD) == (
        UnansweredPost(SECOND_POST, "Who wrote it?", NOW - timedelta(days=1)),
        UnansweredPost(POST, "Where is the manual?", NOW - timedelta(days=2)))
    assert [p.post_id for p in await store.unanswered_posts(GUILD, days=60)] == [SECOND_POST, POST, 9005]
    assert [p.post_id for p in await store.unanswered_posts(OTHER)] == [9004]


async def test_a_solved_post_leaves_the_unanswered_posts(open_store):
    store = await open_store()
    post(store, POST, answered=False)
    post(store, SECOND_POST, answered=False)
    store.mark_post_solved(POST, GUILD)
    store.mark_post_solved(SECOND_POST, OTHER)  # not that server's post: nothing changes
    await flushed(store)
    assert [p.post_id for p in await store.unanswered_posts(GUILD)] == [SECOND_POST]


async def test_forgetting_a_server_forgets_its_posts(open_store):
    store = await open_store()
    post(store, POST, answered=False)
    post(store, SECOND_POST, answered=False, guild_id=OTHER)
    await flushed(store)
    await store.forget_guild(GUILD)
    assert await store.post_question(POST) is None
    assert await store.unanswered_posts(GUILD) == ()
    assert [p.post_id for p in await store.unanswered_posts(OTHER)] == [SECOND_POST]
