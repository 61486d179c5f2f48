"""Slash commands are synced to the development server or globally, and only when they changed."""

from __future__ import annotations

import json

import discord
import pytest
import simcord
from discord import app_commands
from simcord import SetupError

from bot import create_bot
from bot.discord_app import KnowledgeBot
from bot.settings import Settings
from tests.discord.conftest import SYRIA

DEV_GUILD = 1400000000000000000


def syncs(env: simcord.Env) -> list[str]:
    return [r.path for r in env.http_requests if r.method == "PUT" and r.path.endswith("/commands")]


async def test_commands_sync_globally_once_and_not_again_on_restart(bot_env):
    async with simcord.run(create_bot()) as env:
        [path] = syncs(env)
        assert path == f"/applications/{env.bot.application_id}/commands"
        await env.restart_bot(create_bot())
        assert len(syncs(env)) == 1
        member = env.create_guild().add_member(env.create_user("bob"))
        assert (await member.slash(env.guild.create_text_channel("c"), "ask", question=SYRIA)).response.embeds
    record = json.loads((bot_env / "state" / "commands.json").read_text())
    assert record["scope"] == "global" and len(record["fingerprint"]) == 64


async def test_a_changed_command_set_is_synced_again(bot_env):
    async with simcord.run(create_bot()) as env:
        bot = create_bot()

        @app_commands.command(name="ping", description="Is the bot there?")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pong")

        bot.tree.add_command(ping)
        await env.restart_bot(bot)
        assert len(syncs(env)) == 2
        member = env.create_guild().add_member(env.create_user("bob"))
        assert (await member.slash(env.guild.create_text_channel("c"), "ping")).response.content == "pong"


async def test_commands_missing_on_discord_are_synced_whatever_the_state_file_says(bot_env):
    async with simcord.run(create_bot()):
        pass
    async with simcord.run(create_bot()) as env:  # a new Discord application state, the same state file
        assert len(syncs(env)) == 1
        member = env.create_guild().add_member(env.create_user("bob"))
        assert (await member.slash(env.guild.create_text_channel("c"), "sources")).response.embeds


async def test_with_a_development_server_commands_sync_there_only(bot_env, monkeypatch):
    monkeypatch.setenv("DISCORD_GUILD_ID", str(DEV_GUILD))
    async with simcord.run(create_bot()) as env:
        assert syncs(env) == [f"/applications/{env.bot.application_id}/guilds/{DEV_GUILD}/commands"]
        dev = env.create_guild("Dev", id=DEV_GUILD)
        tester = dev.add_member(env.create_user("tess"))
        assert (await tester.slash(dev.create_text_channel("c"), "ask", question=SYRIA)).response.embeds
        other = env.create_guild("Elsewhere")
        reader = other.add_member(env.create_user("rita"))
        with pytest.raises(SetupError, match="never synced"):
            await reader.slash(other.create_text_channel("c"), "ask", question=SYRIA)


async def test_python_m_bot_sync_always_syncs_and_needs_no_knowledge(bot_env, monkeypatch):
    async with simcord.run(create_bot()) as env:
        assert len(syncs(env)) == 1
    monkeypatch.setenv("KNOWLEDGE_DIR", str(bot_env / "missing"))
    async with simcord.run(KnowledgeBot(Settings.from_env(), mode="sync")) as env:
        assert len(syncs(env)) == 1  # forced, though nothing changed
        with pytest.raises(RuntimeError, match="not loaded"):
            env.bot.engine  # noqa: B018
