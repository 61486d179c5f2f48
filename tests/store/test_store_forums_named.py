"""What answering the posts made while the bot was away needs from the store, on a real SQLite file and a real
PostgreSQL database: when each help forum was named, and which posts the question log already has."""

from __future__ import annotations

from datetime import timedelta

from bot.store import GuildSettings
from tests.store.conftest import NOW, flushed

GUILD, OTHER = 11, 12


def post(store, post_id, *, guild_id=GUILD, answered=True) -> str:
    return store.record_post_question(post_id=post_id, question="How do I reset it?", answered=answered,
                                      passage_ids=["faq#p1"] if answered else [], latency_ms=12.0,
                                      guild_id=guild_id, user_id=42)


async def test_when_each_help_forum_was_named_is_kept_with_the_settings(open_store):
    store = await open_store()
    named = {70: NOW - timedelta(days=2), 71: NOW.replace(microsecond=123456)}
    store.set_guild_settings(GuildSettings(GUILD, forum_channel_ids=frozenset(named), forums_named_at=named))
    store.set_guild_settings(GuildSettings(OTHER, forum_channel_ids=frozenset({80})))
    await flushed(store)
    reopened = await open_store()
    kept = await reopened.get_guild_settings(GUILD)
    assert kept.forums_named_at == named and kept.forum_channel_ids == {70, 71}
    assert all(at.utcoffset() == timedelta(0) for at in kept.forums_named_at.values())
    assert (await reopened.get_guild_settings(OTHER)).forums_named_at == {}
    reopened.set_guild_settings(GuildSettings(GUILD))
    await flushed(reopened)
    assert (await (await open_store()).get_guild_settings(GUILD)).forums_named_at == {}


async def test_the_posts_the_log_has_are_told_apart_from_the_others(open_store):
    store = await open_store()
    post(store, 9001)
    post(store, 9002, answered=False)  # declined: logged too, so never answered again
    post(store, 9003, guild_id=OTHER)
    store.record_question(question="Who?", answered=True, passage_ids=["faq#p1"], latency_ms=1.0, guild_id=GUILD,
                          channel_id=9004, user_id=42)  # asked in a channel of that id, not a forum post
    await flushed(store)
    reopened = await open_store()
    assert await reopened.logged_posts([9001, 9002, 9003, 9004, 9005]) == {9001, 9002, 9003}
    assert await reopened.logged_posts([]) == frozenset()
    many = [*range(1, 1201), 9002]  # more than one IN (…) list
    assert await reopened.logged_posts(many) == {9002}
