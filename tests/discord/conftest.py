"""The real bot (``create_bot()``, settings from the environment) against SimCord's simulated Discord."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import discord
import pytest
import simcord

from bot import create_bot

SETTINGS = ("KNOWLEDGE_DIR", "STATE_DIR", "DISCORD_TOKEN", "DISCORD_GUILD_ID", "ASK_CHANNEL_IDS", "ADMIN_ROLE_IDS",
            "LOG_LEVEL", "COOLDOWN_SECONDS", "COOLDOWN_QUESTIONS", "ANSWER_EXCERPTS")
SYRIA = "What did Russia do in Syria?"


@pytest.fixture
def bot_env(knowledge_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings for a test: a writable copy of the bundled knowledge, its own state directory, a fake token."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KNOWLEDGE_DIR", str(knowledge_dir))
    monkeypatch.setenv("STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DISCORD_TOKEN", "fake-token-never-sent")  # SimCord logs in without it
    return tmp_path


@pytest.fixture
def simcord_bot(bot_env: Path) -> discord.Client:
    return create_bot()


@dataclass
class World:
    """A server with a #general channel, an admin (Manage Server) and a plain member."""

    env: simcord.Env
    guild: simcord.GuildHandle
    channel: simcord.ChannelHandle
    admin: simcord.MemberActor
    member: simcord.MemberActor


@pytest.fixture
def world(simcord_env: simcord.Env) -> World:
    guild = simcord_env.create_guild("Readers")
    channel = guild.create_text_channel("general")
    admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    admin = guild.add_member(simcord_env.create_user("ada"), roles=[admins])
    member = guild.add_member(simcord_env.create_user("bob"))
    return World(simcord_env, guild, channel, admin, member)


def embed_text(embed: discord.Embed) -> str:
    """Everything a reader sees in an embed, as one string."""
    parts = [embed.title or "", embed.description or "", embed.footer.text or ""]
    parts += [f"{field.name}\n{field.value}" for field in embed.fields]
    return "\n".join(parts)


def buttons(message: simcord.ResponseMessage | discord.Message) -> dict[str, str]:
    """The buttons under a message: label -> custom id."""
    rows = message.components
    found = {}
    for row in rows:
        children = row["components"] if isinstance(row, dict) else row.children
        for button in children:
            label = button["label"] if isinstance(button, dict) else button.label
            custom_id = button["custom_id"] if isinstance(button, dict) else button.custom_id
            found[label] = custom_id
    return found
