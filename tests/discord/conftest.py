"""The real bot (``create_bot()``, settings from the environment) against SimCord's simulated Discord."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import pytest
import simcord

import bot.discord_app.bot
from bot import create_bot
from bot.store import Store

SETTINGS = ("KNOWLEDGE_DIR", "STATE_DIR", "DISCORD_TOKEN", "DISCORD_GUILD_ID", "ASK_CHANNEL_IDS", "ADMIN_ROLE_IDS",
            "LOG_LEVEL", "COOLDOWN_SECONDS", "COOLDOWN_QUESTIONS", "ANSWER_EXCERPTS", "DATABASE_PATH",
            "DATABASE_URL", "RETENTION_DAYS", "HASH_SALT", "MESSAGE_CONTENT", "MAX_UPLOAD_BYTES", "OWNER_IDS",
            "HOME_GUILD_IDS", "MAX_SERVER_DOCUMENTS", "MAX_SERVER_BYTES", "COLLECTION_POLL_SECONDS", "SHARD_COUNT",
            "SHARD_IDS", "FETCH_PRIVATE_ADDRESSES", "FETCH_TIMEOUT")
SYRIA = "What did Russia do in Syria?"
# The bot's home server in the tests (HOME_GUILD_IDS): its admins manage the shared knowledge base.
# ``arrange_world`` creates it unless told otherwise (``home=False``: any other server).
HOME_GUILD = 1_400_000_000_000_000_001
FLUSH_LIMIT = 10  # seconds; a guard against a hung test, never a way to wait for something


@pytest.fixture
def database_path(tmp_path: Path) -> Path:
    return tmp_path / "memory" / "bot.sqlite3"


@pytest.fixture
def bot_env(knowledge_dir: Path, tmp_path: Path, database_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings for a test: a writable copy of the bundled knowledge, its own state directory and
    database (a real SQLite file), a fake token."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KNOWLEDGE_DIR", str(knowledge_dir))
    monkeypatch.setenv("STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DATABASE_PATH", str(database_path))
    monkeypatch.setenv("DISCORD_TOKEN", "fake-token-never-sent")  # SimCord logs in without it
    monkeypatch.setenv("HOME_GUILD_IDS", str(HOME_GUILD))
    # Each poll is a real database read, and advance_time runs every one it passes: tests that jump
    # days ahead would run thousands. The tests of the poll itself set it back to seconds.
    monkeypatch.setenv("COLLECTION_POLL_SECONDS", "3600")
    return tmp_path


@pytest.fixture(autouse=True)
async def close_stores(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[Store]]:
    """Every store a bot opens in the test, closed at the end (SimCord never calls ``bot.close()``).

    The list is in opening order: after ``env.restart_bot(create_bot())`` the last one is the new bot's.
    """
    opened: list[Store] = []
    open_store = bot.discord_app.bot.open_store

    async def opening(*args: Any, **kwargs: Any) -> Store:
        store = await open_store(*args, **kwargs)
        opened.append(store)
        return store

    monkeypatch.setattr(bot.discord_app.bot, "open_store", opening)
    yield opened
    for store in reversed(opened):
        await store.close(timeout=FLUSH_LIMIT)


async def flushed(store: Store | None) -> Store:
    """The store once every write queued so far is in the database."""
    assert store is not None
    await asyncio.wait_for(store.flush(), FLUSH_LIMIT)
    return store


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


def arrange_world(env: simcord.Env, name: str = "Readers", admin: str = "ada", member: str = "bob", *,
                  home: bool = True, id: int | None = None) -> World:
    """A server with #general, an admin and a member (for tests that start their own bot).

    ``home``: the bot's home server (HOME_GUILD), whose admins manage the shared knowledge base.
    """
    guild = env.create_guild(name, id=id if id is not None else HOME_GUILD if home else None)
    channel = guild.create_text_channel("general")
    admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    return World(env, guild, channel, guild.add_member(env.create_user(admin), roles=[admins]),
                 guild.add_member(env.create_user(member)))


@pytest.fixture
def world(simcord_env: simcord.Env) -> World:
    return arrange_world(simcord_env)


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
