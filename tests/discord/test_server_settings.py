"""/kb settings: each server's answer channels, public or private answers and cooldown, changed by its
admins, applied at once, kept in the database across restarts, and never leaking into another server."""

from __future__ import annotations

import discord
import simcord

from bot import create_bot
from tests.discord.conftest import SYRIA, arrange_world, flushed

TALIBAN = "Is Russia arming the Taliban?"


def fields(result: simcord.InteractionResult) -> dict[str, str]:
    [embed] = result.response.embeds
    return {field.name: field.value for field in embed.fields}


async def test_kb_settings_shows_the_bots_defaults(world):
    result = await world.admin.slash(world.channel, "kb settings")

    assert result.ephemeral
    [embed] = result.response.embeds
    assert embed.title == "Settings for Readers"
    assert embed.description.startswith("Change them with this command's options")
    assert fields(result) == {
        "Answer channels": "None: members @mention the bot or use `/ask`. In an answer channel, every message that "
                           "looks like a question is answered without a mention.",
        "Answers": "Public by default: everyone in the channel sees a `/ask` answer (`private: True` keeps one "
                   "private). Replies to @mentions and in answer channels are always public.",
        "Cooldown": "Each member may ask 3 questions every 10 seconds (the bot's default, `COOLDOWN_SECONDS`).",
    }


async def test_private_answers_by_default_apply_at_once_and_survive_a_restart(world):
    env = world.env
    changed = await world.admin.slash(world.channel, "kb settings", answers="private")
    assert changed.response.embeds[0].description == "Changed: `/ask` answers are private by default."
    assert fields(changed)["Answers"].startswith("Private by default: only the asker sees a `/ask` answer")

    private = await world.member.slash(world.channel, "ask", question=SYRIA)
    assert private.ephemeral and private.response.embeds[0].title == SYRIA
    assert private.response.id not in [m.id for m in world.channel.history(viewer=world.admin)]
    shared = await world.member.slash(world.channel, "ask", question=TALIBAN, private=False)  # the asker decides
    assert not shared.ephemeral

    await flushed(env.bot.store)  # what close() does when the process stops
    await env.restart_bot(create_bot())
    await env.advance_time(10)

    assert (await world.member.slash(world.channel, "ask", question=SYRIA)).ephemeral
    assert fields(await world.admin.slash(world.channel, "kb settings"))["Answers"].startswith("Private by default")
    await world.admin.slash(world.channel, "kb settings", reset="answers")
    assert not (await world.admin.slash(world.channel, "ask", question=SYRIA)).ephemeral


async def test_a_servers_cooldown_overrides_cooldown_seconds_there_only(world):
    env = world.env
    other = env.create_guild("Elsewhere")
    other_channel = other.create_text_channel("general")
    bob = env.create_user("bobby")
    here, there = world.guild.add_member(bob), other.add_member(bob)  # one person in both servers

    changed = await world.admin.slash(world.channel, "kb settings", cooldown=60)
    assert changed.response.embeds[0].description == "Changed: cooldown 60 seconds."
    assert fields(changed)["Cooldown"] == "Each member may ask 3 questions every 60 seconds (this server's setting)."

    for n in range(3):
        assert (await here.slash(world.channel, "ask", question=f"{SYRIA} {n}")).response.embeds
    refused = await here.slash(world.channel, "ask", question=SYRIA)
    assert refused.ephemeral and refused.response.content == (
        "One moment, please: you can ask 3 questions every 60 seconds. Try again in 60 seconds.")
    assert (await there.slash(other_channel, "ask", question=SYRIA)).response.embeds  # the other server: its own

    await env.advance_time(11)  # past COOLDOWN_SECONDS, not past this server's minute
    await here.send(world.channel, f"{env.bot.user.mention} {SYRIA}")  # mentions count too
    assert world.channel.last_message.content.endswith("Try again in 49 seconds.")
    await env.advance_time(49)
    assert (await here.slash(world.channel, "ask", question=SYRIA)).response.embeds

    await world.admin.slash(world.channel, "kb settings", cooldown=0)
    for n in range(5):
        assert (await here.slash(world.channel, "ask", question=f"{SYRIA} {n}")).response.embeds
    assert fields(await world.admin.slash(world.channel, "kb settings"))["Cooldown"] == \
        "Off (this server's setting)."

    await world.admin.slash(world.channel, "kb settings", reset="cooldown")
    assert fields(await world.admin.slash(world.channel, "kb settings"))["Cooldown"].endswith(
        "every 10 seconds (the bot's default, `COOLDOWN_SECONDS`).")


async def test_answer_channels_are_added_and_removed_with_kb_settings(bot_env, monkeypatch):
    monkeypatch.setenv("MESSAGE_CONTENT", "on")  # the operator's part: the intent, here and in the portal
    async with simcord.run(create_bot()) as env:
        world = arrange_world(env)
        questions = world.guild.create_text_channel("questions")
        assert env.bot.intents.message_content

        await world.member.send(questions, TALIBAN)
        assert questions.last_message.author.id == world.member.id  # not an answer channel yet

        added = await world.admin.slash(world.channel, "kb settings", add_channel=questions)
        assert added.response.embeds[0].description == \
            f"Changed: questions in {questions.mention} are answered without a mention."
        assert fields(added)["Answer channels"] == questions.mention
        assert not any(name.startswith("⚠️") for name in fields(added))

        await world.member.send(questions, TALIBAN)
        assert "**Taliban**" in questions.last_message.embeds[0].description
        await world.member.send(questions, "thanks, that helps")  # not a question
        assert questions.last_message.author.id == world.member.id
        await env.advance_time(10)
        await world.member.send(world.channel, TALIBAN)  # other channels still need a mention
        assert world.channel.last_message.author.id == world.member.id

        again = await world.admin.slash(world.channel, "kb settings", add_channel=questions)
        assert again.response.embeds[0].description == f"{questions.mention} is already an answer channel."

        removed = await world.admin.slash(world.channel, "kb settings", remove_channel=questions)
        assert removed.response.embeds[0].description == \
            f"Changed: {questions.mention} is no longer an answer channel."
        await world.member.send(questions, TALIBAN)
        assert questions.last_message.author.id == world.member.id


async def test_kb_settings_says_when_the_bot_cannot_read_its_answer_channels(world):
    questions = world.guild.create_text_channel("questions")
    assert not world.env.bot.intents.message_content  # MESSAGE_CONTENT=auto without ASK_CHANNEL_IDS: off

    result = await world.admin.slash(world.channel, "kb settings", add_channel=questions)

    warning = fields(result)["⚠️ The bot cannot read messages in these channels"]
    assert "Message Content intent is off" in warning and "`MESSAGE_CONTENT=on`" in warning
    await world.member.send(questions, TALIBAN)  # indeed: unread without a mention
    assert questions.last_message.author.id == world.member.id


async def test_kb_settings_warns_when_the_bot_cannot_post_in_a_new_answer_channel(world):
    hidden = world.guild.create_text_channel("hidden", overwrites={
        world.guild.me: discord.PermissionOverwrite(send_messages=False, embed_links=False)})
    result = await world.admin.slash(world.channel, "kb settings", add_channel=hidden)
    assert result.response.embeds[0].description.endswith(
        f"⚠️ The bot cannot answer in {hidden.mention} yet: it needs Send Messages, Embed Links there.")


async def test_channels_from_ask_channel_ids_are_shown_and_stay(bot_env, monkeypatch):
    async with simcord.run(create_bot()) as env:  # snowflakes are deterministic: learn the channel's id
        questions_id = arrange_world(env).guild.create_text_channel("questions").id
    monkeypatch.setenv("ASK_CHANNEL_IDS", str(questions_id))

    async with simcord.run(create_bot()) as env:
        world = arrange_world(env)
        questions = world.guild.create_text_channel("questions")
        result = await world.admin.slash(world.channel, "kb settings", remove_channel=questions)
        assert result.response.embeds[0].description == (
            f"{questions.mention} comes from `ASK_CHANNEL_IDS`: only the bot's operator can remove it.")
        assert fields(result)["Answer channels"] == \
            f"{questions.mention} (`ASK_CHANNEL_IDS`, set by the bot's operator)"
        await world.member.send(questions, TALIBAN)
        assert questions.last_message.embeds


async def test_every_setting_survives_a_restart_and_stays_in_its_server(world):
    env = world.env
    questions = world.guild.create_text_channel("questions")
    await world.admin.slash(world.channel, "kb settings", add_channel=questions, answers="private", cooldown=30)
    before = fields(await world.admin.slash(world.channel, "kb settings"))
    other = arrange_world(env, "Elsewhere", "eve", "dan", home=False)
    await flushed(env.bot.store)

    await env.restart_bot(create_bot())

    after = fields(await world.admin.slash(world.channel, "kb settings"))
    assert after == before
    assert after["Answer channels"] == questions.mention
    assert after["Cooldown"] == "Each member may ask 3 questions every 30 seconds (this server's setting)."
    elsewhere = await other.admin.slash(other.channel, "kb settings")
    assert elsewhere.response.embeds[0].title == "Settings for Elsewhere"
    assert fields(elsewhere)["Answers"].startswith("Public by default")
    assert fields(elsewhere)["Answer channels"].startswith("None")
    assert not (await other.member.slash(other.channel, "ask", question=SYRIA)).ephemeral


def test_the_message_content_intent_follows_message_content(bot_env, monkeypatch):
    assert not create_bot().intents.message_content  # auto, no ASK_CHANNEL_IDS
    monkeypatch.setenv("MESSAGE_CONTENT", "on")
    assert create_bot().intents.message_content
    monkeypatch.setenv("ASK_CHANNEL_IDS", "123456789012345678")
    monkeypatch.setenv("MESSAGE_CONTENT", "off")
    assert not create_bot().intents.message_content
    monkeypatch.setenv("MESSAGE_CONTENT", "auto")
    assert create_bot().intents.message_content
