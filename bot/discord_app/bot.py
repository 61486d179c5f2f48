"""The Discord bot: owns the settings, the answer engine and the store; one cog per feature area.

Everything the engine does is CPU work, so it runs in a worker thread (``asyncio.to_thread``)
and the event loop keeps answering Discord while a question is searched or the index is rebuilt.

The store (``bot.store``) remembers questions, votes, server settings and reloads. Recording
never waits for it (writes are queued) and reading it is bounded in time with a fallback, so a
slow or broken database never delays or breaks an answer.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.answers import Answer
from bot.discord_app.access import REQUIRED_PERMISSIONS, Access
from bot.discord_app.interactions import apologize
from bot.discord_app.server_collections import ServerCollections
from bot.discord_app.server_settings import ServerSettings
from bot.discord_app.store_reads import bounded_read
from bot.discord_app.sync import SyncRecord, sync_commands
from bot.discord_app.votes import Votes
from bot.engine import Engine
from bot.library import Library
from bot.reloads import ReloadRecord, ReloadReport
from bot.settings import Settings
from bot.store import Store, StoreError, open_store

log = logging.getLogger(__name__)

EXTENSIONS = ("bot.discord_app.cogs.ask", "bot.discord_app.cogs.threads", "bot.discord_app.cogs.context_menu",
              "bot.discord_app.cogs.sources", "bot.discord_app.cogs.admin", "bot.discord_app.cogs.forums")


class KnowledgeTree(app_commands.CommandTree):
    """Last line of defence: an error no command handled is logged in full and the user gets an apology."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        command = interaction.command.qualified_name if interaction.command else "an interaction"
        log.error("/%s failed", command, exc_info=error)
        await apologize(interaction)


class KnowledgeBot(commands.Bot):
    """A question-answering bot over the knowledge directory in ``settings``: it owns the engine, the
    library of server collections, the store and what it remembers of them; the cogs do the work.

    ``mode="sync"`` only registers the slash commands (``python -m bot sync``): it loads no knowledge.
    """

    def __init__(self, settings: Settings, *, engine: Engine | None = None,
                 mode: Literal["serve", "sync"] = "serve", store_options: Mapping[str, Any] | None = None):
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False  # no voice: no warning about it
        intents = discord.Intents.default()  # no privileged intent: slash commands and @mentions need none
        # Only to read questions that do not mention the bot (MESSAGE_CONTENT; by default: ASK_CHANNEL_IDS set).
        intents.message_content = settings.reads_message_content
        super().__init__(command_prefix=commands.when_mentioned, intents=intents, help_command=None,
                         allowed_mentions=discord.AllowedMentions.none(), tree_cls=KnowledgeTree,
                         **_shard_options(settings))
        self.settings = settings
        self.mode = mode
        self._engine = engine
        self.library: Library | None = Library(engine) if engine is not None else None
        self._reload_lock = asyncio.Lock()
        self._app_owners: frozenset[int] | None = None  # the application's owner or team, once asked
        self.last_reload: ReloadRecord | None = None  # this process's last reload: /kb status without the store
        self.store: Store | None = None
        self._store_options = dict(store_options or {})  # for the backend (tests: busy timeout, retry wait)
        self.access = Access(lambda: self.settings, self.application_owners)
        self.server_settings = ServerSettings(lambda: self.settings, lambda: self.store)
        self.collections = ServerCollections(lambda: self.store, lambda: self.library,
                                             lambda: [guild.id for guild in self.guilds],
                                             settings.collection_poll_seconds)
        self.votes = Votes(lambda: self.store)

    @property
    def engine(self) -> Engine:
        """The shared engine: the knowledge directory only (what direct messages are answered from)."""
        if self._engine is None:
            raise RuntimeError("the knowledge base is not loaded yet")
        return self._engine

    def engine_for(self, guild_id: int | None) -> Engine:
        """What a question in this server (None: a direct message) is answered from: the shared base plus
        the server's own collection, and nothing of any other server's."""
        if self.library is None:
            return self.engine
        return self.library.engine_for(guild_id)

    async def setup_hook(self) -> None:
        # Runs again after every (re)connect of a new bot object: everything here is safe to repeat.
        if self.mode == "serve" and self.store is None:
            # First, and quick: a damaged database stops the start-up (StoreError) before anything heavy.
            self.store = await self._open_store()
        if self.mode == "serve" and self._engine is None:
            self._engine = await asyncio.to_thread(Engine.from_settings, self.settings, background=True)
            kb = self._engine.knowledge
            log.info("Knowledge base: %d document(s), %d passages from %s; ranking: %s", len(kb.documents),
                     len(kb.passages), kb.directory, self._engine.mode)
            if self._engine.semantic.error:
                log.warning("Semantic stage unavailable (%s): answering with lexical search",
                            self._engine.semantic.error)
        if self.mode == "serve" and self.library is None:
            self.library = Library(self.engine)
        if self.mode == "serve":
            self.collections.start_polling()
        for extension in EXTENSIONS:  # the ask cog registers the answer buttons (DynamicItem)
            if extension not in self.extensions:
                await self.load_extension(extension)
        if self.application_id:
            log.info("Invite the bot with %s", self.invite_url())
        await sync_commands(self.tree, self.application_id, self.settings.guild_id,
                            SyncRecord(self.settings.state_dir), force=self.mode == "sync")

    async def _open_store(self) -> Store:
        """Open the store; a locked, read-only, full or missing database still opens (writes wait for it).

        The store's writer and retention tasks live as long as the process, not as long as the
        start-up that happens to create them, so they start in a context of their own. Its clock is
        ``discord.utils.utcnow`` read in the bot's context: the same clock as the rest of the bot.
        """
        context = contextvars.copy_context()

        def clock() -> datetime:
            return context.copy().run(discord.utils.utcnow)  # a copy: safe to call from any thread at once

        opening = contextvars.Context().run(
            asyncio.ensure_future, open_store(self.settings, clock=clock, **self._store_options))
        store = await opening
        health = store.health()
        log.info("Memory: %s%s", health.where, f" (unavailable for now: {health.fault})" if health.fault else "")
        return store

    async def close(self) -> None:
        """Disconnect from Discord, then save what the store still has pending and close it."""
        self.collections.stop_polling()
        try:
            await super().close()
        finally:
            store, self.store = self.store, None
            if store is not None:
                await store.close()

    def invite_url(self) -> str:
        """The link that adds the bot to a server, with the bot and applications.commands scopes."""
        return discord.utils.oauth_url(self.application_id or 0, permissions=REQUIRED_PERMISSIONS,
                                       scopes=("bot", "applications.commands"))

    async def on_message(self, message: discord.Message, /) -> None:
        """Questions in messages are handled by the ask cog; there are no prefix commands."""

    async def on_ready(self) -> None:
        """Every server the bot is in gets its collection, whether or not a guild_available event
        arrives for it (one need not: a restart with a short guild_ready_timeout sends none)."""
        if self.mode == "serve":
            await self.collections.refresh_all()

    async def on_guild_available(self, guild: discord.Guild, /) -> None:
        await self.server_settings.get(guild.id)  # read ahead: the first question there needs no database read
        await self.collections.load(guild.id)

    async def on_guild_join(self, guild: discord.Guild, /) -> None:
        await self.server_settings.get(guild.id)
        await self.collections.load(guild.id)

    async def application_owners(self) -> frozenset[int]:
        """The Discord application's owner, or its team's members (asked once, then remembered)."""
        if self._app_owners is None:
            try:
                info = await bounded_read(self.application_info())
            except Exception as exc:  # not known this time: OWNER_IDS and the home servers still apply
                log.info("Cannot tell who owns the application: %s", exc)
                return frozenset()
            if info.team is not None:
                self._app_owners = frozenset(member.id for member in info.team.members)
            else:
                self._app_owners = frozenset({info.owner.id}) if info.owner else frozenset()
        return self._app_owners

    async def ask(self, question: str, limit: int, offset: int = 0, *, guild_id: int | None = None,
                  earlier: Sequence[str] = ()) -> Answer:
        """Answer from what the server ``guild_id`` sees (None: a direct message, the shared base only);
        ``earlier``: the conversation's previous questions (a thread), for a follow-up."""
        follow_up = {"earlier": tuple(earlier)} if earlier else {}  # a question alone is asked as it always was
        return await asyncio.to_thread(self.engine_for(guild_id).ask, question, limit, offset, **follow_up)

    async def reload_engine(self) -> ReloadReport:
        """Re-read the knowledge directory in a worker thread; the engine swaps the new index in atomically."""
        return await asyncio.to_thread(self.engine.reload)

    async def reload_knowledge(self, by: str, by_user_id: int | None = None) -> tuple[ReloadReport, bool]:
        """Reload, one reload at a time; returns the report and whether it waited for another reload.

        ``by`` is who asked for it (a display name), kept with the report in the reload history.
        """
        waited = self._reload_lock.locked()
        async with self._reload_lock:
            report = await self.reload_engine()
            if report.ok and self.library is not None and self.library.servers():
                await asyncio.to_thread(self.library.rebuild_all)  # every server's collection on the new base
            self.last_reload = ReloadRecord(discord.utils.utcnow(), by, report)
            if self.store is not None:
                try:
                    self.store.record_reload(report, by_name=by, by_user_id=by_user_id)
                except Exception:
                    log.exception("Could not record the reload in the history")
        if report.ok:
            log.info("Knowledge reloaded by %s: %d document(s), %d passages (%d added, %d changed, %d removed)",
                     by, report.documents, report.passages, report.passages_added, report.passages_changed,
                     report.passages_removed)
        else:
            log.warning("Reload by %s failed, still serving the previous knowledge base: %s", by, report.error)
        return report, waited

    async def latest_reload(self) -> ReloadRecord | None:
        """The last reload of the knowledge base: from the store, or this process's when it cannot be read."""
        stored: ReloadRecord | None = None
        if self.store is not None:
            try:
                stored = await bounded_read(self.store.latest_reload(None))
            except (StoreError, TimeoutError) as exc:
                log.info("Reload history unavailable, showing this process's last reload: %s", exc)
        candidates = [r for r in (stored, self.last_reload) if r is not None]
        return max(candidates, key=lambda r: r.at) if candidates else None


def create_bot(settings: Settings | None = None, *, store_options: Mapping[str, Any] | None = None) -> KnowledgeBot:
    """The fully configured bot, from the environment (``Settings.from_env()``) unless settings are given.

    Nothing is loaded or connected yet: the store is opened and the knowledge base read in
    ``setup_hook`` when the bot starts. ``store_options`` go to the store's backend (tests use them).
    """
    settings = settings or Settings.from_env()
    cls = ShardedKnowledgeBot if settings.sharded else KnowledgeBot
    return cls(settings, store_options=store_options)


class ShardedKnowledgeBot(KnowledgeBot, commands.AutoShardedBot):
    """The same bot over several gateway shards (discord.py's AutoShardedBot): SHARD_COUNT set.

    Unset, the bot is a plain single-connection client, which Discord accepts below 2,500 servers
    (and which test harnesses can start without being told a shard count)."""


def _shard_options(settings: Settings) -> dict[str, Any]:
    if not settings.sharded:
        return {}
    return {"shard_count": settings.shard_count,
            "shard_ids": list(settings.shard_ids) if settings.shard_ids else None}
