"""Sharding: the bot is discord.py's AutoShardedBot, running the shards its settings give it."""

import discord
import pytest
import simcord
from discord.ext import commands

from bot import create_bot


def test_unset_the_bot_is_one_connection(bot_env):
    assert not isinstance(create_bot(), commands.AutoShardedBot)


def test_auto_asks_discord_for_its_recommended_shard_count(bot_env, monkeypatch):
    monkeypatch.setenv("SHARD_COUNT", "auto")
    bot = create_bot()
    assert isinstance(bot, commands.AutoShardedBot)
    assert bot.shard_count is None and bot.shard_ids is None


def test_shard_settings_reach_discord_py(bot_env, monkeypatch):
    monkeypatch.setenv("SHARD_COUNT", "4")
    monkeypatch.setenv("SHARD_IDS", "1,3")
    bot = create_bot()
    assert isinstance(bot, commands.AutoShardedBot)
    assert bot.shard_count == 4 and bot.shard_ids == [1, 3]


@pytest.fixture
def simcord_bot(bot_env, monkeypatch):
    monkeypatch.setenv("SHARD_COUNT", "2")
    return create_bot()


async def test_two_shards_in_one_process_answer_their_servers(simcord_env: simcord.Env):
    answered = []
    for shard in (0, 1):
        guild = simcord_env.create_guild(f"Shard {shard}", shard_id=shard)
        channel = guild.create_text_channel("general")
        member = guild.add_member(simcord_env.create_user(f"reader{shard}"))
        result = await member.slash(channel, "ask", question="What did Russia do in Syria?")
        answered.append(result.response.embeds[0].title)
        assert simcord_env.bot.get_guild(guild.id).shard_id == shard
    assert answered == ["What did Russia do in Syria?"] * 2
    assert isinstance(simcord_env.bot, discord.AutoShardedClient)
