"""Help forums: a new post is answered once, in its thread, from its title and first message; "Solved" is its
author's or an admin's; declined posts wait in /kb stats; and a restart never answers a post twice."""

from __future__ import annotations

import asyncio
import re

import pytest

from bot import create_bot
from bot.discord_app.cogs.forums import starts_help_forum_post
from bot.discord_app.forum_buttons import SolvedButton
from bot.store import UP
from tests.discord.conftest import SYRIA, arrange_world, buttons, embed_text, flushed
from tests.discord.forum_posts import (
    answer_in,
    applied_tags,
    bot_messages,
    help_forum,
    labels,
    post,
    redeliver_starter,
    tag_id,
)

BREAD = "How do I bake sourdough bread?"
SOLAR = "---\ntitle: Solar Power Now\nauthor: Sam Sun\n---\n\nSolar panels got cheaper than coal in 2020.\n"
SOLAR_QUESTION = "When did solar panels get cheaper than coal?"


@pytest.fixture
def simcord_bot(bot_env, monkeypatch):
    monkeypatch.setenv("MESSAGE_CONTENT", "on")  # the posts' text, not only their titles
    monkeypatch.setenv("COOLDOWN_SECONDS", "0")
    return create_bot()


async def named_forum(world, name="help", tags=()):
    """A forum this server's admin named a help forum."""
    forum = await help_forum(world.env, world.guild, name, tags)
    result = await world.admin.slash(world.channel, "kb settings", forum=forum)
    assert f"new posts in {forum.mention} are answered" in result.response.embeds[0].description
    return forum


def question_id(message) -> str:
    match = re.fullmatch(r"kb:vote:([0-9a-f]{32}):up", buttons(message)["Helpful"])
    assert match
    return match[1]


async def test_a_new_post_is_answered_once_in_its_thread_from_its_title_and_first_message(world):
    env = world.env
    forum = await named_forum(world)
    other = await help_forum(env, world.guild, "chat")  # not a help forum

    thread = await post(env, forum, world.member, "Russia's part in the war", "What did Russia do in Syria?")
    ignored = await post(env, other, world.member, "Russia", SYRIA)

    answer = answer_in(env, thread)
    [embed] = answer.embeds
    assert embed.title == "Russia's part in the war: What did Russia do in Syria?"
    assert "**Syria**" in embed.description and "Sources" in embed_text(embed)
    assert labels(answer)[-3:] == ["Helpful", "Not helpful", "Solved"]  # on one row, under the excerpts' buttons
    assert answer.components[-1].children[-1].label == "Solved"
    assert bot_messages(env, ignored) == []
    # the post's later messages are the conversation, not new questions
    await world.member.send(thread, "Thanks! And what did Iran do in Syria?")
    await world.admin.send(thread, "What about Turkey?")
    assert len(bot_messages(env, thread)) == 1
    # nothing public anywhere else
    assert [m for m in world.channel.history() if m.author.id == env.bot.user.id] == []


async def test_a_post_the_knowledge_base_cannot_answer_is_declined_once_and_waits_in_stats(world):
    env = world.env
    forum = await named_forum(world)
    thread = await post(env, forum, world.member, "Baking", BREAD)
    answered = await post(env, forum, world.member, "Syria", SYRIA)

    decline = answer_in(env, thread)
    assert decline.embeds[0].description.startswith("I couldn't find that in the knowledge base.")
    assert labels(decline) == ["Solved"]  # no votes on a decline, as anywhere else
    await world.member.send(thread, "Anyone?")
    assert len(bot_messages(env, thread)) == 1

    stats = (await world.admin.slash(world.channel, "kb stats")).response.embeds[0]
    unanswered = {f.name: f.value for f in stats.fields}["Unanswered forum posts: waiting for someone to answer them"]
    assert unanswered.startswith(f"{thread.mention} Baking: How do I bake sourdough bread? (<t:")
    assert answered.mention not in unanswered
    assert stats.description == "**2** questions asked, **1** answered (50%)."

    # someone answered it by hand; its author marks it solved: it leaves the list
    await world.admin.send(thread, "Feed the starter the night before.")
    solved = await world.member.click(decline, label="Solved")
    assert not solved.ephemeral and solved.response.content == "✅ bob marked this post as solved."
    stats = (await world.admin.slash(world.channel, "kb stats")).response.embeds[0]
    assert "Unanswered forum posts" not in embed_text(stats)


async def test_solved_is_for_the_author_or_an_admin_applies_the_forums_tag_and_locks_nothing(world):
    env = world.env
    forum = await named_forum(world, tags=["Bug", "✅ Resolved", "Unsolved"])
    bug = tag_id(env, forum, "Bug")
    thread = await post(env, forum, world.member, "Syria", SYRIA, tags=[bug])
    answer = answer_in(env, thread)
    carol = world.guild.add_member(env.create_user("carol"))

    refused = await carol.click(answer, label="Solved")
    assert refused.ephemeral
    assert refused.response.content == "Only the post's author or a server admin can mark it solved."
    assert applied_tags(env, thread) == [bug]

    done = await world.member.click(answer, label="Solved")
    assert not done.ephemeral and done.response.content == "✅ bob marked this post as solved."
    assert applied_tags(env, thread) == [bug, tag_id(env, forum, "✅ Resolved")]
    metadata = env.backend.get_channel(thread.id).thread_metadata
    assert not metadata.locked and not metadata.archived
    again = await world.admin.click(answer, label="Solved")
    assert again.ephemeral and again.response.content == "This post is already tagged ✅ Resolved."
    await carol.send(thread, "Still open for replies")  # nothing was locked
    assert thread.last_message.content == "Still open for replies"

    # an admin may mark anyone's post; a forum without such a tag gets the note only
    plain = await help_forum(env, world.guild, "questions")
    await world.admin.slash(world.channel, "kb settings", forum=plain)
    other = await post(env, plain, carol, "Syria", SYRIA)
    by_admin = await world.admin.click(answer_in(env, other), label="Solved")
    assert by_admin.response.content == "✅ ada marked this post as solved."
    assert applied_tags(env, other) == []


async def test_the_bot_never_answers_itself_or_other_bots(world):
    env = world.env
    forum = await named_forum(world)
    robot = world.guild.add_member(env.create_user("helper-bot", bot=True))
    by_bot = await post(env, forum, robot, "Syria", SYRIA)
    assert bot_messages(env, by_bot) == []
    mine = await env.bot.get_channel(forum.id).create_thread(name="Syria", content=SYRIA)  # the bot's own post
    await env.settle()
    assert [m.author_id for m in env.backend.messages[mine.thread.id].values()] == [env.bot.user.id]


async def test_a_restart_in_the_middle_answers_no_post_twice_and_keeps_solved_working(world):
    env = world.env
    forum = await named_forum(world, tags=["Solved"])
    first = await post(env, forum, world.member, "Syria", SYRIA)
    declined = await post(env, forum, world.member, "Baking", BREAD)
    answer = answer_in(env, first)
    await flushed(env.bot.store)  # what close() does when the process stops

    await env.restart_bot(create_bot())

    await redeliver_starter(env, first)  # the same posts' events once more: a replaying gateway
    await redeliver_starter(env, declined)
    assert len(bot_messages(env, first)) == 1 and len(bot_messages(env, declined)) == 1
    done = await world.member.click(answer, label="Solved")  # a button from before the restart
    assert done.response.content == "✅ bob marked this post as solved."
    assert applied_tags(env, first) == [tag_id(env, forum, "Solved")]
    voted = await world.member.click(answer, label="Helpful")
    assert voted.response.content == "Thanks — your 👍 is noted."
    # the settings survived too: a new post is answered
    later = await post(env, forum, world.admin, "Syria again", SYRIA)
    assert len(bot_messages(env, later)) == 1
    store = await flushed(env.bot.store)
    assert sorted(q.question.question for q in await store.question_log(world.guild.id)) == [
        "Baking: How do I bake sourdough bread?", "Syria again: What did Russia do in Syria?",
        "Syria: What did Russia do in Syria?"]


async def test_the_question_log_and_votes_keep_forum_answers(world):
    env = world.env
    forum = await named_forum(world)
    thread = await post(env, forum, world.member, "Syria", SYRIA)
    answer = answer_in(env, thread)
    await world.member.click(answer, label="Helpful")
    store = await flushed(env.bot.store)
    logged = await store.post_question(thread.id)
    assert logged is not None and logged.id == question_id(answer)
    assert (logged.guild_id, logged.channel_id, logged.answered) == (world.guild.id, thread.id, True)
    assert logged.asker_hash == store.hash_user(world.member.id)
    assert [v.vote for v in await store.votes(logged.id)] == [UP]


async def test_either_order_of_discords_events_and_a_starter_with_an_id_of_its_own(world):
    env = world.env
    forum = await named_forum(world)
    message_first = await post(env, forum, world.member, "Syria", SYRIA, message_first=True)
    own_id = await post(env, forum, world.member, "Syria", SYRIA, starter_is_post=False)
    both = await post(env, forum, world.member, "Syria", SYRIA, starter_is_post=False, message_first=True)
    for thread in (message_first, own_id, both):
        assert len(bot_messages(env, thread)) == 1, thread


async def test_a_post_longer_than_discords_limits_with_mentions_and_markdown(world):
    env = world.env
    forum = await named_forum(world)
    mods = world.guild.create_role("Moderators")
    title = ("**Russia** in Syria @everyone " * 4)[:100]
    text = (f"@everyone @here {mods.mention} {world.admin.mention}\n# Hello `code` _and_ ~~more~~\n"
            + "What did Russia do in Syria? " * 80)
    thread = await post(env, forum, world.member, title, text[:2000])  # a member's most, under a 100-character title

    answer = answer_in(env, thread)
    [embed] = answer.embeds
    assert len(embed) <= 6000 and len(embed.title) <= 256 and embed.title.endswith("…")
    logged = await (await flushed(env.bot.store)).post_question(thread.id)
    assert logged.question.startswith(" ".join(title.split())) and len(logged.question) > 2000  # all of it
    assert not answer.mention_everyone and answer.mentions == [] and answer.role_mentions == []
    assert "@everyone" not in embed.title and world.admin.mention not in embed.title
    sent = [r.json for r in env.http_requests if r.method == "POST" and isinstance(r.json, dict)
            and r.path.endswith(f"/channels/{thread.id}/messages")]
    assert sent and all(body["allowed_mentions"]["parse"] == [] for body in sent)


async def test_the_cooldown_holds_for_posts(world, monkeypatch):
    env = world.env
    monkeypatch.setenv("COOLDOWN_SECONDS", "60")
    monkeypatch.setenv("COOLDOWN_QUESTIONS", "1")
    await env.restart_bot(create_bot())
    forum = await named_forum(world)
    first = await post(env, forum, world.member, "Syria", SYRIA)
    second = await post(env, forum, world.member, "Syria", "Who wrote the article?")
    assert answer_in(env, first).embeds
    refused = answer_in(env, second)
    assert refused.content.startswith("One moment, please: you can ask one question every 60 seconds.")
    assert refused.embeds == [] and refused.components == []
    other = await post(env, forum, world.admin, "Syria", SYRIA)  # each member counts their own
    assert answer_in(env, other).embeds
    await env.advance_time(60)
    third = await post(env, forum, world.member, "Syria", SYRIA)
    assert answer_in(env, third).embeds
    # one limit for every way of asking: a post, then /ask
    asked = await world.member.slash(world.channel, "ask", question=SYRIA)
    assert asked.ephemeral and asked.response.content.startswith("One moment, please")
    await env.advance_time(60)
    await world.admin.slash(world.channel, "ask", question=SYRIA)
    fourth = await post(env, forum, world.admin, "Syria", SYRIA)
    assert answer_in(env, fourth).content.startswith("One moment, please")


async def test_a_forum_in_one_server_never_sees_another_servers_collection(world):
    env = world.env
    elsewhere = arrange_world(env, "Elsewhere", "eve", "dan", home=False)
    added = await elsewhere.admin.slash(elsewhere.channel, "kb add", file=("solar.md", SOLAR.encode()))
    assert "Added `solar.md`" in added.response.embeds[0].description
    ours = await named_forum(world)
    theirs = await named_forum(elsewhere)

    here = answer_in(env, await post(env, ours, world.member, "Solar", SOLAR_QUESTION))
    there = answer_in(env, await post(env, theirs, elsewhere.member, "Solar", SOLAR_QUESTION))

    assert here.embeds[0].description.startswith("I couldn't find that in the knowledge base.")
    assert "Solar panels" not in embed_text(here.embeds[0])
    assert "Solar panels got cheaper" in there.embeds[0].description.replace("**", "")
    # and each server's stats and settings are its own
    assert "Solar" in embed_text((await world.admin.slash(world.channel, "kb stats")).response.embeds[0])
    assert "Solar" not in embed_text((await elsewhere.admin.slash(elsewhere.channel, "kb stats")).response.embeds[0]
                                     ).split("Unanswered forum posts")[-1]
    assert ours.mention not in embed_text((await elsewhere.admin.slash(elsewhere.channel, "kb settings")
                                           ).response.embeds[0])


async def test_without_message_content_a_post_is_answered_from_its_title(world, monkeypatch):
    env = world.env
    monkeypatch.setenv("MESSAGE_CONTENT", "auto")  # no ASK_CHANNEL_IDS: the intent is not asked for
    await env.restart_bot(create_bot())
    forum = await help_forum(env, world.guild)
    result = await world.admin.slash(world.channel, "kb settings", forum=forum)
    warning = {f.name: f.value for f in result.response.embeds[0].fields}
    assert warning["⚠️ The bot reads only the titles of forum posts"].startswith("Discord's Message Content intent")

    thread = await post(env, forum, world.member, SYRIA, "Please explain, with sources.")
    assert answer_in(env, thread).embeds[0].title == SYRIA


async def test_kb_settings_names_and_removes_help_forums_and_they_survive_a_restart(world):
    env = world.env
    forum = await help_forum(env, world.guild, tags=["Solved"])
    untagged = await help_forum(env, world.guild, "untagged")
    as_channel = await world.admin.slash(world.channel, "kb settings", add_channel=forum)
    assert "answered without a mention" in as_channel.response.embeds[0].description

    named = await world.admin.slash(world.channel, "kb settings", forum=forum)
    text = named.response.embeds[0].description
    assert f"{forum.mention} is no longer an answer channel (its posts are answered once)" in text
    fields = {f.name: f.value for f in named.response.embeds[0].fields}
    assert fields["Help forums"].startswith(forum.mention + "\nEach new post is answered once")
    assert fields["Answer channels"].startswith("None")
    again = await world.admin.slash(world.channel, "kb settings", add_channel=forum)
    assert f"{forum.mention} is a help forum, so it is no answer channel too" in again.response.embeds[0].description
    note = await world.admin.slash(world.channel, "kb settings", forum=untagged)
    assert "has no tag named Solved or Resolved" in note.response.embeds[0].description
    refused = await world.member.slash(world.channel, "kb settings", forum=forum) \
        if "kb settings" in world.member.available_commands(world.channel) else None
    assert refused is None  # members do not even see the command

    await flushed(env.bot.store)
    await env.restart_bot(create_bot())
    assert len(bot_messages(env, await post(env, forum, world.member, "Syria", SYRIA))) == 1

    removed = await world.admin.slash(world.channel, "kb settings", remove_forum=forum)
    assert f"new posts in {forum.mention} are no longer answered" in removed.response.embeds[0].description
    assert bot_messages(env, await post(env, forum, world.member, "Syria", SYRIA)) == []
    reset = await world.admin.slash(world.channel, "kb settings", reset="forums")
    assert "no help forums" in reset.response.embeds[0].description
    assert "Help forums" not in {f.name for f in reset.response.embeds[0].fields}
    assert bot_messages(env, await post(env, untagged, world.member, "Syria", SYRIA)) == []


async def test_solved_without_permission_to_tag_still_notes_the_post_solved(world):
    env = world.env
    forum = await named_forum(world, tags=["Solved"])
    thread = await post(env, forum, world.member, "Baking", BREAD)
    env.inject_error("PATCH", f"/channels/{thread.id}", status=403, code=50013, message="Missing Permissions")

    done = await world.member.click(answer_in(env, thread), label="Solved")

    assert done.response.content == ("✅ bob marked this post as solved. (I could not apply the Solved tag: I need "
                                     "Manage Threads in this forum.)")
    assert applied_tags(env, thread) == []
    stats = (await world.admin.slash(world.channel, "kb stats")).response.embeds[0]
    assert "Unanswered forum posts" not in embed_text(stats)


async def test_a_failure_while_answering_gets_an_apology_and_escapes_nothing(world):
    env = world.env
    forum = await named_forum(world)
    env.inject_error("POST", "/channels/*/messages", status=500, times=1)
    thread = await post(env, forum, world.member, "Syria", SYRIA)
    [apology] = bot_messages(env, thread)
    assert apology.content.startswith("Sorry, something went wrong on my side.")


# As in test_resilience: with a 1-second settle timeout, the bot's 1.5-second "still working" timer waits for
# env.advance_time() like every longer timer.
@pytest.mark.simcord(settle_timeout=1.0)
async def test_solved_is_acknowledged_within_discords_three_seconds_when_tagging_is_slow(world, monkeypatch):
    env = world.env
    forum = await named_forum(world, tags=["Solved"])
    thread = await post(env, forum, world.member, "Syria", SYRIA)
    discord_api = asyncio.get_running_loop().create_future()
    apply_tag = SolvedButton.apply_tag

    async def slow_tag(*args):
        await env.external_wait(discord_api, reason="a slow Discord API")
        return await apply_tag(*args)

    monkeypatch.setattr(SolvedButton, "apply_tag", staticmethod(slow_tag))
    result = await world.member.click(answer_in(env, thread), label="Solved")
    assert not result.acknowledged
    await env.advance_time(2)
    assert result.acknowledged and result.deferred  # "thinking…" before the 3 seconds are up

    discord_api.set_result(None)
    await env.settle()
    assert result.response.content == "✅ bob marked this post as solved."
    assert applied_tags(env, thread) == [tag_id(env, forum, "Solved")]
    assert env.errors == []


async def test_the_first_message_of_a_help_forum_post_is_told_apart_for_other_ways_of_asking(world):
    env = world.env
    forum = await named_forum(world)
    chat = await help_forum(env, world.guild, "chat")
    thread = await post(env, forum, world.member, "Syria", SYRIA)
    await world.member.send(thread, "And Iran?")
    elsewhere = await post(env, chat, world.member, "Syria", SYRIA)
    server = await env.bot.server_settings.get(world.guild.id)

    starter, follow_up = [m.id for m in thread.history() if m.author.id == world.member.id]
    seen = {m.id: m for m in env.bot.cached_messages}  # as the bot received them
    assert starts_help_forum_post(seen[starter], server)
    assert not starts_help_forum_post(seen[follow_up], server)
    assert not starts_help_forum_post(seen[elsewhere.id], server)
    assert not starts_help_forum_post(seen[starter], None)


async def test_a_help_forum_post_that_mentions_the_bot_is_answered_once_and_other_forums_posts_when_mentioned(world):
    env = world.env
    forum = await named_forum(world)
    chat = await help_forum(env, world.guild, "chat")  # not a help forum: a mention is what asks there
    mention = f"<@{env.bot.user.id}>"

    helped = await post(env, forum, world.member, "Syria", f"{mention} What did Russia do in Syria?")
    asked = await post(env, chat, world.member, "Syria", f"{mention} What did Russia do in Syria?")
    quiet = await post(env, chat, world.member, "Syria", "What did Russia do in Syria?")

    assert len(bot_messages(env, helped)) == 1
    assert len(bot_messages(env, asked)) == 1 and "**Syria**" in bot_messages(env, asked)[0].embeds[0].description
    assert bot_messages(env, quiet) == []
