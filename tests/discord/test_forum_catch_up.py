"""Posts made in a help forum while the bot was away: answered once when it starts again, oldest first and a few
at a time; never a post it answered before, nor one older than the forum's naming as a help forum."""

from __future__ import annotations

import pytest
import simcord

from bot import create_bot
from bot.discord_app.cogs.forums import CATCH_UP_POSTS
from bot.store import GuildSettings
from tests.discord.conftest import SYRIA, arrange_world, embed_text, flushed
from tests.discord.forum_posts import bot_messages, help_forum, post

IRAN = "What did Iran do in Syria?"


@pytest.fixture
def simcord_bot(bot_env, monkeypatch):
    monkeypatch.setenv("MESSAGE_CONTENT", "on")
    monkeypatch.setenv("COOLDOWN_SECONDS", "0")
    return create_bot()


async def named_forum(world, name="help"):
    forum = await help_forum(world.env, world.guild, name)
    result = await world.admin.slash(world.channel, "kb settings", forum=forum)
    assert f"new posts in {forum.mention} are answered" in result.response.embeds[0].description
    return forum


def post_while_away(env: simcord.Env, forum: simcord.ChannelHandle, author, title: str,
                    text: str) -> simcord.ChannelHandle:
    """A post the bot hears nothing of: made in Discord, announced to no one (as while the bot is offline)."""
    backend = env.backend
    thread = backend.create_thread(forum.id, title, author.id, broadcast=False)
    starter = backend.prepare_message(thread.id, author.id, text)
    starter.id = thread.id
    backend.commit_message(starter, broadcast=False)
    return simcord.ChannelHandle(env, forum.guild, thread)


async def restart(env: simcord.Env) -> None:
    await flushed(env.bot.store)
    await env.restart_bot(create_bot())


async def test_a_post_made_while_the_bot_was_down_gets_one_answer_at_the_restart(world):
    env = world.env
    forum = await named_forum(world)
    await env.advance_time(5)
    missed = post_while_away(env, forum, world.member, "Russia", SYRIA)
    assert bot_messages(env, missed) == []

    await restart(env)
    [answer] = bot_messages(env, missed)
    assert answer.embeds[0].title == f"Russia: {SYRIA}" and "Sources" in embed_text(answer.embeds[0])
    assert not answer.mention_everyone and answer.mentions == []

    await restart(env)  # and never again
    assert len(bot_messages(env, missed)) == 1
    stats = (await world.admin.slash(world.channel, "kb stats")).response.embeds[0]
    assert stats.description.startswith("**1** question asked, **1** answered")


async def test_a_post_answered_before_the_restart_is_not_answered_again(world):
    env = world.env
    forum = await named_forum(world)
    await env.advance_time(5)
    answered = await post(env, forum, world.member, "Russia", SYRIA)
    declined = await post(env, forum, world.member, "Baking", "How do I bake sourdough bread?")
    assert len(bot_messages(env, answered)) == 1 and len(bot_messages(env, declined)) == 1

    await restart(env)
    assert len(bot_messages(env, answered)) == 1 and len(bot_messages(env, declined)) == 1


async def test_a_post_older_than_the_forums_naming_is_left_alone(world):
    env = world.env
    forum = await help_forum(env, world.guild)
    older = await post(env, forum, world.member, "Russia", SYRIA)  # not a help forum yet: not answered
    await env.advance_time(5)
    await world.admin.slash(world.channel, "kb settings", forum=forum)
    await env.advance_time(5)
    newer = post_while_away(env, forum, world.member, "Iran", IRAN)

    await restart(env)
    assert bot_messages(env, older) == []
    assert len(bot_messages(env, newer)) == 1


async def test_missed_posts_are_answered_oldest_first_a_few_per_start_in_help_forums_only(world):
    env = world.env
    forum = await named_forum(world)
    chat = await help_forum(env, world.guild, "chat")  # not a help forum
    await env.advance_time(5)
    posts = []
    for number in range(CATCH_UP_POSTS + 1):
        posts.append(post_while_away(env, forum, world.member, f"Russia {number}", SYRIA))
        await env.advance_time(1)
    elsewhere = post_while_away(env, chat, world.member, "Russia", SYRIA)

    await restart(env)
    assert [len(bot_messages(env, p)) for p in posts] == [1] * CATCH_UP_POSTS + [0]
    await restart(env)
    assert [len(bot_messages(env, p)) for p in posts] == [1] * (CATCH_UP_POSTS + 1)
    assert bot_messages(env, elsewhere) == []


async def test_a_forum_removed_and_named_again_catches_up_only_from_its_new_naming(world):
    env = world.env
    forum = await named_forum(world)
    await world.admin.slash(world.channel, "kb settings", remove_forum=forum)
    await env.advance_time(5)
    between = post_while_away(env, forum, world.member, "Russia", SYRIA)
    await env.advance_time(5)
    await world.admin.slash(world.channel, "kb settings", forum=forum)
    await env.advance_time(5)
    after = post_while_away(env, forum, world.member, "Iran", IRAN)

    await restart(env)
    assert bot_messages(env, between) == [] and len(bot_messages(env, after)) == 1


async def test_catching_up_stays_within_each_server(world):
    env = world.env
    forum = await named_forum(world)
    elsewhere = arrange_world(env, "Elsewhere", "eve", "dan", home=False)
    other_forum = await help_forum(env, elsewhere.guild, "help")  # same name, never named there
    await env.advance_time(5)
    mine = post_while_away(env, forum, world.member, "Russia", SYRIA)
    theirs = post_while_away(env, other_forum, elsewhere.member, "Russia", SYRIA)

    await restart(env)
    assert len(bot_messages(env, mine)) == 1 and bot_messages(env, theirs) == []


async def test_a_forum_named_by_an_older_bot_catches_up_only_from_this_bots_first_start(world):
    env = world.env
    forum = await help_forum(env, world.guild)
    await env.settle()  # the bot has seen the server (with no help forum) before an older bot's settings appear
    env.bot.server_settings.set(GuildSettings(world.guild.id, forum_channel_ids=frozenset({forum.id})))  # no time
    await env.advance_time(5)
    before = post_while_away(env, forum, world.member, "Russia", SYRIA)
    await env.advance_time(5)

    await restart(env)  # the upgraded bot's first start: the forum's time is now
    assert bot_messages(env, before) == []
    await env.advance_time(5)
    after = post_while_away(env, forum, world.member, "Iran", IRAN)
    await restart(env)
    assert bot_messages(env, before) == [] and len(bot_messages(env, after)) == 1
