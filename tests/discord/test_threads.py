"""Threads and follow-ups: "Continue in a thread" under a public answer, every message in a thread the bot
started answered in place and read with the questions before it, mentions in other threads, and what
holds everywhere (restarts, other bots, servers' own collections, cooldowns, pings, long messages)."""

from __future__ import annotations

import discord
import pytest
import simcord

from bot import create_bot
from tests.discord.conftest import SYRIA, arrange_world, buttons, embed_text

IRAN = "sells Iran advanced missile defense systems"
ASSAD = "prop up that country’s murderous Assad regime"
SOLAR = "---\ntitle: Solar Power Now\n---\n\nSolar panels got cheaper than coal in 2020.\n"
NOT_FOUND = "I couldn't find that in the knowledge base."


@pytest.fixture
def simcord_bot(bot_env, monkeypatch):
    monkeypatch.setenv("MESSAGE_CONTENT", "on")  # to read follow-ups that do not mention the bot
    monkeypatch.setenv("COOLDOWN_SECONDS", "0")
    return create_bot()


async def start_thread(world, question: str = SYRIA) -> simcord.ChannelHandle:
    answer = await world.member.slash(world.channel, "ask", question=question)
    started = await world.member.click(answer.response, label="Continue in a thread")
    assert started.ephemeral and "Started <#" in started.response.content
    [thread] = world.channel.threads
    return thread


def answers_in(thread: simcord.ChannelHandle, bot_id: int) -> list[discord.Message]:
    return [m for m in thread.history() if m.author.id == bot_id and m.embeds]


async def test_an_answer_continues_in_a_thread_where_follow_ups_are_read_with_the_question(world):
    thread = await start_thread(world)

    assert thread.name == SYRIA
    [welcome] = thread.history()
    assert "I answer every message in this thread" in welcome.content
    reply = await world.member.send(thread, "and what about Iran?")
    [answer] = answers_in(thread, world.env.bot.user.id)
    assert answer.reference is not None and answer.reference.message_id == reply.id  # answered in place
    assert IRAN in embed_text(answer.embeds[0]).replace("**", "")
    footer = answer.embeds[0].footer.text
    assert "Searched: " in footer and all(word in footer for word in ("Russia", "Syria", "Iran"))
    assert "More excerpts" not in buttons(answer)  # its title alone would be asked without the thread
    assert "Continue in a thread" not in buttons(answer) and "Helpful" in buttons(answer)


async def test_a_chain_of_follow_ups_and_a_new_topic(world):
    thread = await start_thread(world)
    await world.member.send(thread, "and what about Iran?")
    await world.admin.send(thread, "why?")
    await world.member.send(thread, "Where is the G20 summit?")

    _, why, g20 = answers_in(thread, world.env.bot.user.id)
    assert "Iran" in why.embeds[0].footer.text  # "why?" is read with the whole conversation so far
    assert "Hamburg" in embed_text(g20.embeds[0])
    assert "Searched" not in g20.embeds[0].footer.text  # a new topic is searched alone


async def test_the_thread_button_works_after_a_restart_and_so_does_the_thread(world):
    answer = await world.member.slash(world.channel, "ask", question=SYRIA)
    custom_id = buttons(answer.response)["Continue in a thread"]

    await world.env.restart_bot(create_bot())  # a new process: nothing survives but the custom id
    await world.member.click(answer.response, custom_id=custom_id)
    [thread] = world.channel.threads
    await world.env.restart_bot(create_bot())  # and again: the thread's questions are read back from Discord
    await world.member.send(thread, "why?")

    [why] = answers_in(thread, world.env.bot.user.id)
    assert ASSAD in embed_text(why.embeds[0]).replace("**", "")


async def test_a_second_click_points_to_the_thread_already_there(world):
    answer = await world.member.slash(world.channel, "ask", question=SYRIA)
    await world.member.click(answer.response, label="Continue in a thread")
    again = await world.admin.click(answer.response, label="Continue in a thread")

    [thread] = world.channel.threads
    assert again.ephemeral and again.response.content == f"The conversation goes on in <#{thread.id}>."


async def test_mentions_get_a_thread_button_too(world):
    me = world.env.bot.user
    await world.member.send(world.channel, f"<@{me.id}> {SYRIA}")
    answer = world.channel.last_message
    assert "Continue in a thread" in buttons(answer)
    await world.member.click(answer, label="Continue in a thread")
    assert [t.name for t in world.channel.threads] == [SYRIA]


async def test_private_answers_and_declines_offer_no_thread(world):
    private = await world.member.slash(world.channel, "ask", question=SYRIA, private=True)
    declined = await world.member.slash(world.channel, "ask", question="How do I bake sourdough bread?")
    assert "Continue in a thread" not in buttons(private.response)
    assert buttons(declined.response) == {}


async def test_the_bot_never_answers_itself_or_other_bots_in_its_threads(world):
    thread = await start_thread(world)
    other_bot = world.guild.add_member(world.env.create_user("helper-bot", bot=True))
    await other_bot.send(thread, "What did Russia do in Syria?")
    await world.member.send(thread, "hello everyone")  # a message, not a question: still answered (politely)

    answers = answers_in(thread, world.env.bot.user.id)
    assert len(answers) == 1 and answers[0].reference.message_id != thread.history()[1].id


async def test_a_thread_someone_else_started_is_answered_only_where_the_bot_is_mentioned(world):
    # SimCord has no member verb for starting a thread: its backend makes one, as Discord would.
    created = world.env.backend.create_thread(world.channel.id, "Russia questions", world.member.id)
    thread = world.channel.threads[0]
    assert thread.id == created.id
    me = world.env.bot.user
    await world.member.send(thread, SYRIA)  # not for the bot
    assert answers_in(thread, me.id) == []

    await world.member.send(thread, f"<@{me.id}> {SYRIA}")
    await world.member.send(thread, f"<@{me.id}> and what about Iran?")
    _, iran = answers_in(thread, me.id)
    assert "Iran" in iran.embeds[0].footer.text and IRAN in embed_text(iran.embeds[0]).replace("**", "")


async def test_a_thread_in_one_server_never_sees_another_servers_collection(world):
    elsewhere = arrange_world(world.env, "Elsewhere", "eve", "dan", home=False)
    added = await elsewhere.admin.slash(elsewhere.channel, "kb add", file=("solar.md", SOLAR.encode()))
    assert "Solar" in embed_text(added.response.embeds[0])
    question = "When did solar panels get cheaper than coal?"

    home_thread = await start_thread(world)
    await world.member.send(home_thread, question)
    other_thread = await start_thread(elsewhere)
    await elsewhere.member.send(other_thread, question)

    [home_answer] = answers_in(home_thread, world.env.bot.user.id)
    [other_answer] = answers_in(other_thread, world.env.bot.user.id)
    assert NOT_FOUND in embed_text(home_answer.embeds[0])
    assert "2020" in embed_text(other_answer.embeds[0])


async def test_follow_ups_keep_the_cooldown(world, monkeypatch):
    monkeypatch.setenv("COOLDOWN_SECONDS", "60")
    monkeypatch.setenv("COOLDOWN_QUESTIONS", "2")
    await world.env.restart_bot(create_bot())
    thread = await start_thread(world)  # the first question
    await world.member.send(thread, "why?")  # the second
    await world.member.send(thread, "and what about Iran?")  # one too many

    last = thread.last_message
    assert last.author.id == world.env.bot.user.id and not last.embeds and "One moment" in last.content
    await world.env.advance_time(60)
    await world.member.send(thread, "and what about Iran?")
    assert thread.last_message.embeds


async def test_follow_ups_never_ping_and_long_ones_fit(world):
    thread = await start_thread(world)
    role = world.guild.create_role("Everyone-ish")
    await world.member.send(thread, f"@everyone <@&{role.id}> <@{world.admin.id}> and **what** about `Iran`?")
    await world.member.send(thread, "and what about Iran? " + "Please explain in detail. " * 70)

    pinged, long = answers_in(thread, world.env.bot.user.id)
    for answer in (pinged, long):
        assert not answer.mention_everyone and answer.mentions == [] and answer.role_mentions == []
        assert len(answer.embeds[0]) <= 6000 and len(answer.embeds[0].title) <= 256
    assert IRAN in embed_text(pinged.embeds[0]).replace("**", "")


async def test_without_message_content_a_thread_asks_for_mentions(world, monkeypatch):
    monkeypatch.setenv("MESSAGE_CONTENT", "off")
    await world.env.restart_bot(create_bot())
    thread = await start_thread(world)
    me = world.env.bot.user

    assert f"mentioning me (<@{me.id}>)" in thread.history()[0].content
    await world.member.send(thread, "and what about Iran?")  # unreadable without the intent: left alone
    assert answers_in(thread, me.id) == []
    await world.member.send(thread, f"<@{me.id}> and what about Iran?")
    [iran] = answers_in(thread, me.id)
    assert IRAN in embed_text(iran.embeds[0]).replace("**", "")
