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
from discord.ext import commands

from bot.answers import Answer
from bot.discord_app.buttons import FeedbackButton, FullParagraphButton, MoreExcerptsButton, answer_view, passage_ref
from bot.discord_app.sync import SyncRecord, sync_commands
from bot.engine import Engine, ReloadReport
from bot.knowledge.models import Document, KnowledgeBase, Passage
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
                         allowed_mentions=discord.AllowedMentions.none(), tree_cls=KnowledgeTree)
        self.settings = settings
        self.mode = mode
        self._engine = engine
        self._reload_lock = asyncio.Lock()
        self.last_reload: ReloadRecord | None = None  # this process's last reload: /kb status without the store
        self._passage_refs: tuple[KnowledgeBase, dict[str, str]] | None = None
        self.store: Store | None = None
        self._store_options = dict(store_options or {})  # for the backend (tests: busy timeout, retry wait)
        self._server_settings: dict[int, GuildSettings] = {}  # read from the store or set by /kb settings
        self._settings_reads: dict[int, asyncio.Task[GuildSettings]] = {}
        self._votes: OrderedDict[tuple[str, int], int] = OrderedDict()  # (answer, user) -> vote seen by this process

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("the knowledge base is not loaded yet")
        return self._engine

    async def setup_hook(self) -> None:
        # Runs again after every (re)connect of a new bot object: everything here is safe to repeat.
        if self.mode == "serve" and self.store is None:
            # First, and quick: a damaged database stops the start-up (StoreError) before anything heavy.
            self.store = await self._open_store()
        if self.mode == "serve" and self._engine is None:
            self._engine = await asyncio.to_thread(Engine.from_settings, self.settings)
            kb = self._engine.knowledge
            log.info("Knowledge base: %d document(s), %d passages from %s; ranking: %s", len(kb.documents),
                     len(kb.passages), kb.directory, self._engine.mode)
            if self._engine.semantic.error:
                log.warning("Semantic stage unavailable (%s): answering with lexical search",
                            self._engine.semantic.error)
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

    async def on_guild_join(self, guild: discord.Guild, /) -> None:
        await self.server_settings(guild.id)

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

    async def ask(self, question: str, limit: int, offset: int = 0) -> Answer:
        return await asyncio.to_thread(self.engine.ask, question, limit, offset)

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

    async def find_passage(self, ref: str) -> tuple[Document, Passage] | None:
        """The passage a "Full paragraph" button refers to, in the knowledge base being served."""
        return await asyncio.to_thread(self._find_passage, ref)

    def _find_passage(self, ref: str) -> tuple[Document, Passage] | None:
        kb = self.engine.knowledge
        if self._passage_refs is None or self._passage_refs[0] is not kb:
            self._passage_refs = (kb, {passage_ref(p.id): p.id for p in kb.passages})
        passage_id = self._passage_refs[1].get(ref)
        return self.engine.passage(passage_id) if passage_id else None

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
    return KnowledgeBot(settings or Settings.from_env(), store_options=store_options)
