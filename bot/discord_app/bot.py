"""The Discord bot: owns the settings, the answer engine and the store; one cog per feature area.

Everything the engine does is CPU work, so it runs in a worker thread (``asyncio.to_thread``)
and the event loop keeps answering Discord while a question is searched or the index is rebuilt.

The store (``bot.store``) remembers questions, votes, server settings and reloads. Recording
never waits for it (writes are queued) and reading it is bounded in time with a fallback, so a
slow or broken database never delays or breaks an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, TypeVar

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.answers import Answer
from bot.discord_app.buttons import FeedbackButton, FullParagraphButton, MoreExcerptsButton, answer_view, passage_ref
from bot.discord_app.sync import SyncRecord, sync_commands
from bot.engine import Engine, ReloadReport
from bot.knowledge.models import Document, KnowledgeBase, Passage
from bot.library import CollectionFile, Library
from bot.render.embeds import ReloadRecord, answer_embed
from bot.settings import Settings
from bot.store import GuildSettings, Store, StoreError, open_store

log = logging.getLogger(__name__)
T = TypeVar("T")

EXTENSIONS = ("bot.discord_app.cogs.ask", "bot.discord_app.cogs.library", "bot.discord_app.cogs.admin")
# What the bot needs in a channel to answer @mentions there (slash commands need no permission at all):
# see, write, embed, and read history (a reply quotes the message it answers); threads too.
REQUIRED_PERMISSIONS = discord.Permissions(view_channel=True, send_messages=True, send_messages_in_threads=True,
                                           embed_links=True, read_message_history=True)
DEFER_AFTER = 1.5  # seconds of work before "thinking…" is shown, well inside Discord's 3-second window
# The longest the bot waits for a read from the store (a server's settings, earlier votes, the reload
# history) before it goes on without it: a last resort against a hung disk. Discord's 3-second deadline
# is met meanwhile by respond_in_time, which shows "thinking…" after DEFER_AFTER seconds.
STORE_READ_WAIT = 10.0
MAX_REMEMBERED_VOTES = 10_000
APOLOGY = "Sorry, something went wrong on my side. It has been logged; please try again in a moment."


class KnowledgeTree(app_commands.CommandTree):
    """Last line of defence: an error no command handled is logged in full and the user gets an apology."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        command = interaction.command.qualified_name if interaction.command else "an interaction"
        log.error("/%s failed", command, exc_info=error)
        await self.client.apologize(interaction)  # type: ignore[attr-defined]


class KnowledgeBot(commands.Bot):
    """A question-answering bot over the knowledge directory in ``settings``.

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
        self._collection_locks: dict[int, asyncio.Lock] = {}
        self._collection_versions: dict[int, int] = {}  # the store's version of each collection loaded
        # discord.ext.tasks: its sleeps are the ones a simulated clock (SimCord) recognises and drives
        self._collection_poll = tasks.loop(seconds=settings.collection_poll_seconds or 5.0)(self._poll_collections)
        self._app_owners: frozenset[int] | None = None  # the application's owner or team, once asked
        self.last_reload: ReloadRecord | None = None  # this process's last reload: /kb status without the store
        self._passage_refs: dict[int | None, tuple[KnowledgeBase, dict[str, str]]] = {}
        self.store: Store | None = None
        self._store_options = dict(store_options or {})  # for the backend (tests: busy timeout, retry wait)
        self._server_settings: dict[int, GuildSettings] = {}  # read from the store or set by /kb settings
        self._settings_reads: dict[int, asyncio.Task[GuildSettings]] = {}
        self._votes: OrderedDict[tuple[str, int], int] = OrderedDict()  # (answer, user) -> vote seen by this process

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
        if self.mode == "serve" and self.settings.collection_poll_seconds and not self._collection_poll.is_running():
            self._collection_poll.start()
        for extension in EXTENSIONS:
            if extension not in self.extensions:
                await self.load_extension(extension)
        self.add_dynamic_items(MoreExcerptsButton, FullParagraphButton, FeedbackButton)
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
        self._collection_poll.cancel()
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

    async def on_guild_available(self, guild: discord.Guild, /) -> None:
        await self.server_settings(guild.id)  # read ahead: the first question there needs no database read
        await self.load_collection(guild.id)

    async def on_guild_join(self, guild: discord.Guild, /) -> None:
        await self.server_settings(guild.id)
        await self.load_collection(guild.id)

    # ------------------------------------------------------------------ who owns what

    async def application_owners(self) -> frozenset[int]:
        """The Discord application's owner, or its team's members (asked once, then remembered)."""
        if self._app_owners is None:
            try:
                info = await self._bounded(self.application_info())
            except Exception as exc:  # not known this time: OWNER_IDS and the home servers still apply
                log.info("Cannot tell who owns the application: %s", exc)
                return frozenset()
            if info.team is not None:
                self._app_owners = frozenset(member.id for member in info.team.members)
            else:
                self._app_owners = frozenset({info.owner.id}) if info.owner else frozenset()
        return self._app_owners

    def in_home_server(self, guild_id: int | None) -> bool:
        """Whether knowledge commands here act on the shared knowledge base (HOME_GUILD_IDS)."""
        return guild_id is not None and guild_id in self.settings.home_guild_ids

    async def is_operator(self, interaction: discord.Interaction) -> bool:
        """Whether the user may reload or edit the shared knowledge base: the application's owner or team,
        a user in OWNER_IDS, or a server admin (``is_admin``) in a HOME_GUILD_IDS server."""
        user_id = interaction.user.id
        if user_id in self.settings.owner_ids:
            return True
        if self.in_home_server(interaction.guild_id) and self.is_admin(interaction):
            return True
        return user_id in await self.application_owners()

    # ------------------------------------------------------------------ server collections, kept in the store

    def _collection_lock(self, guild_id: int) -> asyncio.Lock:
        return self._collection_locks.setdefault(guild_id, asyncio.Lock())

    async def load_collection(self, guild_id: int, version: int | None = None,
                              *, force: bool = False) -> ReloadReport | None:
        """(Re)build a server's engine from its collection in the store; None when nothing changed (unless
        ``force``) or the store cannot say (the server keeps what it had)."""
        store, library = self.store, self.library
        if store is None or library is None:
            return None
        async with self._collection_lock(guild_id):
            try:
                if version is None:
                    version = await self._bounded(store.collections_version(guild_id))
                if version == self._collection_versions.get(guild_id, 0) and not force:
                    return None
                stored = await self._bounded(store.documents(guild_id)) if version else []
            except Exception as exc:
                log.warning("Cannot read the collection of server %s for now: %s", guild_id, exc or type(exc).__name__)
                return None
            files = [CollectionFile(d.filename, d.text) for d in stored]
            report = await asyncio.to_thread(library.update_server, guild_id, files, version)
            self._collection_versions[guild_id] = version
        if files or force:
            log.info("Server %s collection: %d document(s) loaded%s", guild_id, len(files),
                     f" ({len(report.problems)} skipped)" if report.problems else "")
        return report

    def served_guild_ids(self) -> list[int]:
        return [guild.id for guild in self.guilds]

    async def poll_collections_once(self) -> None:
        """Rebuild the servers whose collection another process changed (one read for all of them)."""
        store, library = self.store, self.library
        guild_ids = self.served_guild_ids()
        if store is None or library is None or not guild_ids:
            return
        versions = await self._bounded(store.collections_versions(guild_ids))
        for guild_id in guild_ids:
            version = versions.get(guild_id, 0)
            if version != self._collection_versions.get(guild_id, 0):
                await self.load_collection(guild_id, version)

    async def _poll_collections(self) -> None:
        """Every COLLECTION_POLL_SECONDS, pick up collection changes made through any process."""
        try:
            await self.poll_collections_once()
        except Exception as exc:  # the next round tries again; answers go on from what is loaded
            log.info("Server collections not checked this time: %s", exc or type(exc).__name__)

    # ------------------------------------------------------------------ the store: never in an answer's way

    async def _bounded(self, read: Awaitable[T]) -> T:
        """``read``, or TimeoutError after STORE_READ_WAIT seconds; the read itself is never cancelled
        (cancelling one mid-transaction would leave the store's connection in that transaction)."""
        task = asyncio.ensure_future(read)
        done, _ = await asyncio.wait({task}, timeout=STORE_READ_WAIT)
        if not done:
            task.add_done_callback(lambda t: t.cancelled() or t.exception())  # finished later; nothing to report
            raise TimeoutError("the store did not answer in time")
        return task.result()

    def cached_server_settings(self, guild_id: int) -> GuildSettings | None:
        return self._server_settings.get(guild_id)

    async def server_settings(self, guild_id: int | None) -> GuildSettings | None:
        """A server's own settings (``/kb settings``); None in direct messages.

        Answered from memory once known, without waiting (the order questions arrive in is the
        order the cooldown counts them); ``cached_server_settings`` says whether it is known. Questions
        that arrive together share one read; while the store cannot say, they get the defaults, which
        are not remembered.
        """
        if guild_id is None:
            return None
        known = self._server_settings.get(guild_id)
        if known is not None or self.store is None:
            return known or GuildSettings(guild_id)
        reading = self._settings_reads.get(guild_id)
        if reading is None:
            reading = self._settings_reads[guild_id] = asyncio.ensure_future(
                self._read_server_settings(self.store, guild_id))
            reading.add_done_callback(lambda _: self._settings_reads.pop(guild_id, None))
        return await asyncio.shield(reading)

    async def _read_server_settings(self, store: Store, guild_id: int) -> GuildSettings:
        try:
            found = await self._bounded(store.get_guild_settings(guild_id))
        except Exception as exc:
            log.warning("Using the default settings for server %s for now: %s", guild_id, exc or type(exc).__name__)
            return GuildSettings(guild_id)
        if store.health().fault is None:  # a read that failed gives defaults and reports a fault
            found = self._server_settings.setdefault(guild_id, found)
        return found

    def set_server_settings(self, settings: GuildSettings) -> None:
        """Apply a server's new settings at once; the store saves them in the background."""
        self._server_settings[settings.guild_id] = settings
        if self.store is not None:
            self.store.set_guild_settings(settings)

    def answer_channels(self, server: GuildSettings | None) -> frozenset[int]:
        """Where questions are answered without a mention: ASK_CHANNEL_IDS plus the server's own channels."""
        own = server.answer_channel_ids if server is not None and server.answer_channel_ids else frozenset()
        return self.settings.ask_channel_ids | own

    def cooldown_seconds(self, server: GuildSettings | None) -> float:
        if server is not None and server.cooldown_seconds is not None:
            return server.cooldown_seconds
        return self.settings.cooldown_seconds

    def record_question(self, *, question: str, answer: Answer, latency_ms: float, guild_id: int | None,
                        channel_id: int | None, user_id: int) -> str | None:
        """Log a question (queued: returns at once); its id for the feedback buttons, None if not logged."""
        if self.store is None or not question:
            return None
        try:
            return self.store.record_question(
                question=question, answered=answer.answered, passage_ids=[e.passage.id for e in answer.excerpts],
                latency_ms=latency_ms, guild_id=guild_id, channel_id=channel_id, user_id=user_id)
        except Exception:
            log.exception("Could not log a question (the answer is sent anyway)")
            return None

    async def asked_elsewhere(self, question_id: str, guild_id: int | None) -> bool:
        """Whether the logged question was asked in another server (or in DMs) than ``guild_id``: its
        buttons are not for this one. False when the store cannot say."""
        if self.store is None:
            return False
        try:
            record = await self._bounded(self.store.question(question_id))
        except (StoreError, TimeoutError) as exc:
            log.info("Cannot tell where %s was asked: %s", question_id, exc)
            return False
        return record is not None and record.guild_id != guild_id

    async def record_vote(self, question_id: str, user_id: int, vote: int) -> int | None:
        """Record a 👍 (+1) or 👎 (-1), replacing the person's earlier vote; returns that earlier vote."""
        key = (question_id, user_id)
        previous = self._votes.get(key)
        if previous is None and self.store is not None:
            previous = await self._stored_vote(self.store, question_id, user_id)
        if self.store is not None:
            self.store.record_feedback(question_id, user_id, vote)
        self._votes[key] = vote
        self._votes.move_to_end(key)
        while len(self._votes) > MAX_REMEMBERED_VOTES:
            self._votes.popitem(last=False)
        return previous

    async def _stored_vote(self, store: Store, question_id: str, user_id: int) -> int | None:
        """A vote saved before this process started (or before it remembered it), if the store can say."""
        try:
            votes: Sequence = await self._bounded(store.votes(question_id))
        except (StoreError, TimeoutError) as exc:
            log.info("Cannot tell whether %s voted on %s before: %s", user_id, question_id, exc)
            return None
        voter = store.hash_user(user_id)
        return next((v.vote for v in votes if v.voter_hash == voter), None)

    async def saved(self) -> None:
        """Let the writes queued so far land before a read that should show them (``/kb stats``), unless
        the database is failing: then they wait for it, and the read shows what is saved."""
        store = self.store
        if store is None or store.health().fault is not None or not store.health().pending:
            return
        try:
            await self._bounded(store.flush())
        except Exception as exc:
            log.info("Reading without the %d pending write(s): %s", store.health().pending, exc)

    async def latest_reload(self) -> ReloadRecord | None:
        """The last reload of the knowledge base: from the store, or this process's when it cannot be read."""
        stored: ReloadRecord | None = None
        if self.store is not None:
            try:
                entry = await self._bounded(self.store.latest_reload(None))
            except (StoreError, TimeoutError) as exc:
                log.info("Reload history unavailable, showing this process's last reload: %s", exc)
            else:
                stored = ReloadRecord(entry.at, entry.by_name, entry.report) if entry else None
        candidates = [r for r in (stored, self.last_reload) if r is not None]
        return max(candidates, key=lambda r: r.at) if candidates else None

    # ------------------------------------------------------------------ the engine, off the event loop

    async def ask(self, question: str, limit: int, offset: int = 0, *, guild_id: int | None = None) -> Answer:
        """Answer from what the server ``guild_id`` sees (None: a direct message, the shared base only)."""
        return await asyncio.to_thread(self.engine_for(guild_id).ask, question, limit, offset)

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

    async def find_passage(self, ref: str, guild_id: int | None = None) -> tuple[Document, Passage] | None:
        """The passage a "Full paragraph" button refers to, in what the server ``guild_id`` is answered from."""
        return await asyncio.to_thread(self._find_passage, ref, guild_id)

    def _find_passage(self, ref: str, guild_id: int | None) -> tuple[Document, Passage] | None:
        engine = self.engine_for(guild_id)
        kb = engine.knowledge
        key = guild_id if self.library is not None and guild_id in self.library.servers() else None
        known = self._passage_refs.get(key)
        if known is None or known[0] is not kb:
            known = self._passage_refs[key] = (kb, {passage_ref(p.id): p.id for p in kb.passages})
        passage_id = known[1].get(ref)
        return engine.passage(passage_id) if passage_id else None

    # ------------------------------------------------------------------ replies and failures

    async def respond_in_time(self, interaction: discord.Interaction, work: Awaitable[T], *,
                              ephemeral: bool = False) -> T:
        """Await ``work``; if it runs longer than DEFER_AFTER seconds, defer ("thinking…") meanwhile.

        Discord drops an interaction not acknowledged within 3 seconds. Fast work is answered
        directly, so an answer or an apology can still be a plain (or ephemeral) response.
        """
        task = asyncio.ensure_future(work)
        try:
            done, _ = await asyncio.wait({task}, timeout=DEFER_AFTER)
            if not done and not interaction.response.is_done():
                await interaction.response.defer(thinking=True, ephemeral=ephemeral)
            return await task
        except BaseException:
            task.cancel()
            raise

    async def reply(self, interaction: discord.Interaction, *, ephemeral: bool = False, **message: Any) -> None:
        """Respond, or complete the deferred response (the first followup replaces "thinking…")."""
        message = {key: value for key, value in message.items() if value is not None}
        if interaction.response.is_done():
            await interaction.followup.send(ephemeral=ephemeral, **message)
        else:
            await interaction.response.send_message(ephemeral=ephemeral, **message)
        interaction.extras["answered"] = True

    async def reply_answer(self, interaction: discord.Interaction, answer: Answer, limit: int, *,
                           ephemeral: bool = False, question_id: str | None = None) -> None:
        await self.reply(interaction, ephemeral=ephemeral, embed=answer_embed(answer),
                         view=answer_view(answer, limit, question_id))

    @contextlib.asynccontextmanager
    async def guard(self, interaction: discord.Interaction, action: str) -> AsyncIterator[None]:
        """Run a command or button so no exception escapes: the log gets the traceback, the user an apology."""
        try:
            yield
        except Exception:
            log.exception("%s failed (user %s, channel %s)", action, interaction.user.id, interaction.channel_id)
            await self.apologize(interaction)

    async def apologize(self, interaction: discord.Interaction) -> None:
        """A short apology, ephemeral unless it has to replace a public "thinking…" message."""
        try:
            if not interaction.response.is_done():
                await interaction.response.send_message(APOLOGY, ephemeral=True)
            elif interaction.response.type is discord.InteractionResponseType.deferred_channel_message \
                    and not interaction.extras.get("answered"):
                await interaction.edit_original_response(content=APOLOGY, embeds=[], view=None)
            else:
                await interaction.followup.send(APOLOGY, ephemeral=True)
        except discord.HTTPException:
            log.warning("Could not send the apology either", exc_info=True)

    def is_admin(self, interaction: discord.Interaction) -> bool:
        """Manage Server (or Administrator, or owning the server), or one of ``ADMIN_ROLE_IDS``."""
        if interaction.guild_id is None:
            return False
        if interaction.permissions.manage_guild:
            return True
        roles = getattr(interaction.user, "roles", ())
        return any(role.id in self.settings.admin_role_ids for role in roles)


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
