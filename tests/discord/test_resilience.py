"""Never breaks: failing Discord calls and failing code are logged, the user gets an apology, the bot goes on."""

from __future__ import annotations

import asyncio
import logging

import discord
import pytest

from bot.discord_app.interactions import APOLOGY
from tests.discord.conftest import SYRIA


def errors_logged(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("bot.")]


async def test_a_500_when_replying_to_a_mention_is_logged_and_the_bot_goes_on(world, caplog):
    world.env.inject_error("POST", "/channels/*/messages", status=500)

    with caplog.at_level(logging.ERROR):
        asked = await world.member.send(world.channel, f"{world.env.bot.user.mention} {SYRIA}")

    [record] = errors_logged(caplog)
    assert isinstance(record.exc_info[1], discord.HTTPException) and record.exc_info[1].status == 500
    assert world.env.errors == []  # handled: nothing escaped a handler
    apology = world.channel.last_message
    assert apology.content == APOLOGY and apology.reference.message_id == asked.id

    await world.env.advance_time(10)
    await world.member.send(world.channel, f"{world.env.bot.user.mention} {SYRIA}")
    assert world.channel.last_message.embeds[0].title == SYRIA


async def test_a_500_when_responding_to_a_command_is_logged_and_the_bot_goes_on(world, caplog):
    world.env.inject_error("POST", "/interactions/*/*/callback", status=500)

    with caplog.at_level(logging.ERROR):
        result = await world.member.slash(world.channel, "ask", question=SYRIA)

    [record] = errors_logged(caplog)
    assert record.getMessage().startswith("/ask failed")
    assert record.exc_info[1].status == 500
    assert result.ephemeral and result.response.content == APOLOGY  # the retry with the apology got through
    assert world.env.errors == []

    assert (await world.admin.slash(world.channel, "ask", question=SYRIA)).response.embeds[0].title == SYRIA


async def test_a_500_on_every_send_is_only_logged(world, caplog):
    world.env.inject_error("*", "/interactions/*/*/callback", status=500, times=None)

    with caplog.at_level(logging.WARNING):
        result = await world.member.slash(world.channel, "sources")

    assert not result.acknowledged  # Discord shows "the application did not respond"
    assert [r.getMessage() for r in caplog.records if r.name.startswith("bot.")] == [
        f"/sources failed (user {world.member.id}, channel {world.channel.id})",
        "Could not send the apology either"]
    assert world.env.errors == []


async def test_an_error_in_a_command_is_an_ephemeral_apology_and_a_logged_traceback(world, caplog, monkeypatch):
    def broken_ask(*args):
        raise RuntimeError("index corrupted")

    monkeypatch.setattr(world.env.bot.engine, "ask", broken_ask)

    with caplog.at_level(logging.ERROR):
        result = await world.member.slash(world.channel, "ask", question=SYRIA)
        await world.member.send(world.channel, f"{world.env.bot.user.mention} {SYRIA}")

    assert result.ephemeral and result.response.content == APOLOGY
    assert world.channel.last_message.content == APOLOGY
    records = errors_logged(caplog)
    assert len(records) == 2 and all(str(r.exc_info[1]) == "index corrupted" for r in records)
    assert "Traceback" in caplog.text and "index corrupted" in caplog.text
    assert world.env.errors == []


# SimCord lets timers shorter than its settle timeout run on the real clock; with 1 second, the bot's
# 1.5-second "still working" timer waits for env.advance_time() like every longer timer.
@pytest.mark.simcord(settle_timeout=1.0)
async def test_slow_work_is_deferred_within_discords_three_seconds(world, monkeypatch):
    env, bot = world.env, world.env.bot
    disk = asyncio.get_running_loop().create_future()
    ask = bot.ask

    async def slow_ask(*args, **kwargs):
        await env.external_wait(disk, reason="a slow search")
        return await ask(*args, **kwargs)

    monkeypatch.setattr(bot, "ask", slow_ask)

    result = await world.member.slash(world.channel, "ask", question=SYRIA)
    assert not result.acknowledged  # fast work is answered directly, so nothing was sent yet
    await env.advance_time(2)
    assert result.acknowledged and result.deferred  # "thinking…" before the 3 seconds are up

    disk.set_result(None)
    await env.settle()
    assert result.response.embeds[0].title == SYRIA and not result.deferred
    assert env.errors == []


@pytest.mark.simcord(settle_timeout=1.0)
async def test_a_failure_after_deferring_replaces_thinking_with_the_apology(world, monkeypatch, caplog):
    env, bot = world.env, world.env.bot
    disk = asyncio.get_running_loop().create_future()

    async def failing_ask(*args, **kwargs):
        await env.external_wait(disk, reason="a slow search")
        raise OSError("disk gone")

    monkeypatch.setattr(bot, "ask", failing_ask)
    result = await world.member.slash(world.channel, "ask", question=SYRIA)
    await env.advance_time(2)
    with caplog.at_level(logging.ERROR):
        disk.set_result(None)
        await env.settle()

    assert result.response.content == APOLOGY and not result.deferred
    assert str(errors_logged(caplog)[0].exc_info[1]) == "disk gone"
    assert env.errors == []
