""""Ask the knowledge base" in a message's menu: a private answer to whoever used it, a button that posts it
as a reply to the message, and what holds there too (restarts, mentions and markdown, cooldowns, limits)."""

from __future__ import annotations

import discord
import pytest

from bot import create_bot
from bot.discord_app.cogs.context_menu import MENU_NAME
from tests.discord.conftest import SYRIA, buttons, embed_text, flushed

ASSAD = "prop up that country’s murderous Assad regime"


@pytest.fixture
def simcord_bot(bot_env, monkeypatch):
    monkeypatch.setenv("COOLDOWN_SECONDS", "0")
    return create_bot()


async def test_a_moderator_answers_a_members_question_in_two_clicks(world):
    question = await world.member.send(world.channel, SYRIA)

    private = await world.admin.context_menu(world.channel, MENU_NAME, question)
    assert private.ephemeral
    [embed] = private.response.embeds
    assert embed.title == SYRIA and ASSAD in embed_text(embed).replace("**", "")
    assert {"Full paragraph [1]", "Helpful", "Post publicly"} <= set(buttons(private.response))
    assert private.response.id not in [m.id for m in world.channel.history(viewer=world.member)]

    posted = await world.admin.click(private.response, label="Post publicly")
    public = world.channel.last_message
    assert public.author.id == world.env.bot.user.id and public.reference.message_id == question.id
    assert public.embeds[0].title == SYRIA and public.content == "Shared by ada"
    assert public.mentions == []  # named, not pinged
    assert "Post publicly" not in buttons(public) and "Full paragraph [1]" in buttons(public)
    assert posted.response.content.startswith("Posted: ") and "Post publicly" not in buttons(posted.response)
    full = await world.member.click(public, label="Full paragraph [1]")  # the buttons work for everyone
    assert full.ephemeral and ASSAD in full.response.embeds[0].description


async def test_the_question_is_logged_and_its_votes_count(world):
    question = await world.member.send(world.channel, SYRIA)
    private = await world.admin.context_menu(world.channel, MENU_NAME, question)
    await world.admin.click(private.response, label="Post publicly")
    await world.member.click(world.channel.last_message, label="Helpful")

    store = await flushed(world.env.bot.store)
    question_id = buttons(private.response)["Helpful"].split(":")[2]
    assert [v.vote for v in await store.votes(question_id)] == [1]


async def test_post_publicly_works_after_a_restart(world):
    question = await world.member.send(world.channel, SYRIA)
    private = await world.admin.context_menu(world.channel, MENU_NAME, question)

    await world.env.restart_bot(create_bot())
    await world.admin.click(private.response, label="Post publicly")
    assert world.channel.last_message.reference.message_id == question.id


async def test_a_message_with_mentions_and_markdown_neither_pings_nor_breaks(world):
    role = world.guild.create_role("Moderators")
    text = f"@everyone <@&{role.id}> <@{world.admin.id}> **What** did _Russia_ do in `Syria`?? ||spoiler||"
    question = await world.member.send(world.channel, text)

    private = await world.admin.context_menu(world.channel, MENU_NAME, question)
    [embed] = private.response.embeds
    assert ASSAD in embed_text(embed).replace("**", "")
    await world.admin.click(private.response, label="Post publicly")
    public = world.channel.last_message
    assert not public.mention_everyone and public.role_mentions == [] and public.mentions == []
    assert "@everyone" not in public.embeds[0].title  # shown defused, as in every echo of user text


async def test_a_message_longer_than_a_title_fits_discords_limits(world):
    question = await world.member.send(world.channel, SYRIA + " " + "And why did it intervene there? " * 60)
    private = await world.admin.context_menu(world.channel, MENU_NAME, question)
    [embed] = private.response.embeds
    assert len(embed.title) <= 256 and len(embed) <= 6000 and private.ephemeral


async def test_a_message_without_text_is_refused_politely(world):
    question = await world.member.send(world.channel, attachments=[("map.png", b"not really a picture")])
    result = await world.admin.context_menu(world.channel, MENU_NAME, question)
    assert result.ephemeral and result.response.content == "That message has no text to ask about."


async def test_the_menu_keeps_the_cooldown(world, monkeypatch):
    monkeypatch.setenv("COOLDOWN_SECONDS", "60")
    monkeypatch.setenv("COOLDOWN_QUESTIONS", "1")
    await world.env.restart_bot(create_bot())
    question = await world.member.send(world.channel, SYRIA)
    await world.admin.context_menu(world.channel, MENU_NAME, question)

    again = await world.admin.context_menu(world.channel, MENU_NAME, question)
    assert again.ephemeral and "One moment" in again.response.content


async def test_only_who_may_post_there_can_post_publicly(world):
    announcements = world.guild.create_text_channel("announcements", overwrites={
        world.guild.default_role: discord.PermissionOverwrite(send_messages=False),
        world.admin: discord.PermissionOverwrite(send_messages=True)})
    question = await world.admin.send(announcements, SYRIA)
    private = await world.member.context_menu(announcements, MENU_NAME, question)

    refused = await world.member.click(private.response, label="Post publicly")
    assert refused.ephemeral and refused.response.content == "You cannot post in this channel."
    assert announcements.last_message.id == question.id
