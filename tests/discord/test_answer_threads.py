"""Answer threads (``/kb settings threads:``): in a channel whose admins chose it, each public answer is given in a
new thread started from the question, where follow-ups go on; everywhere else answers are as they were."""

from __future__ import annotations

import discord
import pytest

from bot import create_bot
from tests.discord.conftest import SYRIA, arrange_world, buttons, embed_text

IRAN = "sells Iran advanced missile defense systems"


@pytest.fixture
def simcord_bot(bot_env, monkeypatch):
    monkeypatch.setenv("MESSAGE_CONTENT", "on")  # to read follow-ups that do not mention the bot
    monkeypatch.setenv("COOLDOWN_SECONDS", "0")
    return create_bot()


def from_bot(world, channel) -> list[discord.Message]:
    """What the bot wrote in a channel (not Discord's "started a thread" notices)."""
    return [m for m in channel.history() if m.author.id == world.env.bot.user.id
            and m.type in (discord.MessageType.default, discord.MessageType.reply)]


async def choose_threads(world, channel=None):
    channel = channel or world.channel
    result = await world.admin.slash(world.channel, "kb settings", threads=channel)
    embed = result.response.embeds[0]
    assert f"each public answer in {channel.mention} starts a thread for its follow-ups" in embed.description
    assert {f.name: f.value for f in embed.fields}["Answers in threads"].startswith(channel.mention)


async def test_a_mention_in_a_chosen_channel_is_answered_in_a_thread_where_a_follow_up_has_the_question(world):
    await choose_threads(world)
    me = world.env.bot.user
    asked = await world.member.send(world.channel, f"{me.mention} {SYRIA}")

    assert from_bot(world, world.channel) == []  # no plain reply
    [thread] = world.channel.threads
    assert thread.id == asked.id and thread.name == SYRIA  # started from the question
    answer, welcome = thread.history()
    assert answer.author.id == me.id and answer.embeds[0].title == SYRIA and "Sources" in embed_text(answer.embeds[0])
    assert "Helpful" in buttons(answer) and "Continue in a thread" not in buttons(answer)
    assert "I answer every message in this thread" in welcome.content

    await world.member.send(thread, "and what about Iran?")
    follow_up = thread.last_message
    assert follow_up.author.id == me.id and IRAN in embed_text(follow_up.embeds[0]).replace("**", "")
    footer = follow_up.embeds[0].footer.text
    assert "Searched: " in footer and all(word in footer for word in ("Russia", "Syria", "Iran"))
    assert len(world.channel.threads) == 1  # a follow-up stays in its thread


async def test_a_question_in_an_answer_channel_and_a_public_ask_start_threads_a_private_one_does_not(world):
    await world.admin.slash(world.channel, "kb settings", add_channel=world.channel)
    await choose_threads(world)
    asked = await world.member.send(world.channel, SYRIA)
    [thread] = world.channel.threads
    assert thread.id == asked.id and from_bot(world, thread)[0].embeds[0].title == SYRIA

    public = await world.admin.slash(world.channel, "ask", question="Who is the author?")
    assert "Continue in a thread" not in buttons(public.response)  # already continued
    started = {t.id: t for t in world.channel.threads}[public.response.message.id]
    assert started.name == "Who is the author?"
    assert "I answer every message in this thread" in started.history()[0].content

    private = await world.member.slash(world.channel, "ask", question=SYRIA, private=True)
    assert private.ephemeral and private.response.embeds[0].title == SYRIA
    assert len(world.channel.threads) == 2


async def test_other_channels_and_other_servers_are_unchanged(world):
    await choose_threads(world)
    other = world.guild.create_text_channel("other")
    me = world.env.bot.user
    asked = await world.member.send(other, f"{me.mention} {SYRIA}")
    reply = other.last_message
    assert reply.author.id == me.id and reply.reference.message_id == asked.id
    assert "Continue in a thread" in buttons(reply) and other.threads == []

    elsewhere = arrange_world(world.env, "Elsewhere", "eve", "dan", home=False)
    asked = await elsewhere.member.send(elsewhere.channel, f"{me.mention} {SYRIA}")
    assert elsewhere.channel.last_message.reference.message_id == asked.id and elsewhere.channel.threads == []
    settings = (await elsewhere.admin.slash(elsewhere.channel, "kb settings")).response.embeds[0]
    assert "Answers in threads" not in embed_text(settings)


async def test_the_choice_survives_a_restart_and_can_be_removed_or_reset(world):
    await choose_threads(world)
    await world.env.restart_bot(create_bot())
    me = world.env.bot.user
    await world.member.send(world.channel, f"{me.mention} {SYRIA}")
    assert len(world.channel.threads) == 1 and from_bot(world, world.channel) == []

    removed = await world.admin.slash(world.channel, "kb settings", remove_threads=world.channel)
    assert f"answers in {world.channel.mention} are plain replies again" in removed.response.embeds[0].description
    await world.member.send(world.channel, f"{me.mention} {SYRIA}")
    assert world.channel.last_message.author.id == me.id and len(world.channel.threads) == 1

    await choose_threads(world)
    reset = await world.admin.slash(world.channel, "kb settings", reset="threads")
    assert "no answer threads" in reset.response.embeds[0].description
    assert "Answers in threads" not in embed_text(reset.response.embeds[0])


async def test_without_permission_to_start_threads_the_answer_is_a_plain_reply(world):
    closed = world.guild.create_text_channel("closed", overwrites={
        world.guild.me: discord.PermissionOverwrite(create_public_threads=False)})
    result = await world.admin.slash(world.channel, "kb settings", threads=closed)
    assert result.response.embeds[0].description.endswith(
        f"⚠️ Answers in {closed.mention} stay plain replies until the bot has Create Public Threads and Send "
        "Messages in Threads there.")
    me = world.env.bot.user
    asked = await world.member.send(closed, f"{me.mention} {SYRIA}")
    reply = closed.last_message
    assert reply.author.id == me.id and reply.reference.message_id == asked.id and reply.embeds[0].title == SYRIA
    public = await world.member.slash(closed, "ask", question=SYRIA)
    assert public.response.embeds[0].title == SYRIA and not public.ephemeral
    assert closed.threads == []


async def test_answers_in_threads_never_ping(world):
    await choose_threads(world)
    role = world.guild.create_role("Everyone-ish")
    me = world.env.bot.user
    await world.member.send(world.channel, f"{me.mention} @everyone <@&{role.id}> <@{world.admin.id}> **What** did "
                                           "Russia do in `Syria`?")
    [thread] = world.channel.threads
    await world.member.send(thread, f"@everyone <@&{role.id}> and what about Iran?")
    answers = from_bot(world, thread)
    assert len(answers) == 3  # the answer, the welcome, the follow-up's answer
    for message in answers:
        assert not message.mention_everyone and message.role_mentions == []
        assert [m.id for m in message.mentions] in ([], [me.id])
