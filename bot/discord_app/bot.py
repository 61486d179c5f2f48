"""The Discord bot: owns the settings and the answer engine; one cog per feature area.

Everything the engine does is CPU work, so it runs in a worker thread (``asyncio.to_thread``)
and the event loop keeps answering Discord while a question is searched or the index is rebuilt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable
from typing import Any, Literal, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.answers import Answer
from bot.discord_app.buttons import FullParagraphButton, MoreExcerptsButton, answer_view, passage_ref
from bot.discord_app.sync import SyncRecord, sync_commands
from bot.engine import Engine, ReloadReport
from bot.knowledge.models import Document, KnowledgeBase, Passage
from bot.render.embeds import ReloadRecord, answer_embed
from bot.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

EXTENSIONS = ("bot.discord_app.cogs.ask", "bot.discord_app.cogs.library", "bot.discord_app.cogs.admin")
# What the bot needs in a channel to answer @mentions there (slash commands need no permission at all):
# see, write, embed, and read history (a reply quotes the message it answers); threads too.
REQUIRED_PERMISSIONS = discord.Permissions(view_channel=True, send_messages=True, send_messages_in_threads=True,
                                           embed_links=True, read_message_history=True)
DEFER_AFTER = 1.5  # seconds of work before "thinking…" is shown, well inside Discord's 3-second window
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
                 mode: Literal["serve", "sync"] = "serve"):
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False  # no voice: no warning about it
        intents = discord.Intents.default()  # no privileged intent: slash commands and @mentions need none
        intents.message_content = bool(settings.ask_channel_ids)  # only to read questions in ASK_CHANNEL_IDS
        super().__init__(command_prefix=commands.when_mentioned, intents=intents, help_command=None,
                         allowed_mentions=discord.AllowedMentions.none(), tree_cls=KnowledgeTree)
        self.settings = settings
        self.mode = mode
        self._engine = engine
        self._reload_lock = asyncio.Lock()
        self.last_reload: ReloadRecord | None = None
        self._passage_refs: tuple[KnowledgeBase, dict[str, str]] | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("the knowledge base is not loaded yet")
        return self._engine

    async def setup_hook(self) -> None:
        # Runs again after every (re)connect of a new bot object: everything here is safe to repeat.
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
        self.add_dynamic_items(MoreExcerptsButton, FullParagraphButton)
        if self.application_id:
            log.info("Invite the bot with %s", self.invite_url())
        await sync_commands(self.tree, self.application_id, self.settings.guild_id,
                            SyncRecord(self.settings.state_dir), force=self.mode == "sync")

    def invite_url(self) -> str:
        """The link that adds the bot to a server, with the bot and applications.commands scopes."""
        return discord.utils.oauth_url(self.application_id or 0, permissions=REQUIRED_PERMISSIONS,
                                       scopes=("bot", "applications.commands"))

    async def on_message(self, message: discord.Message, /) -> None:
        """Questions in messages are handled by the ask cog; there are no prefix commands."""

    # ------------------------------------------------------------------ the engine, off the event loop

    async def ask(self, question: str, limit: int, offset: int = 0) -> Answer:
        return await asyncio.to_thread(self.engine.ask, question, limit, offset)

    async def reload_engine(self) -> ReloadReport:
        """Re-read the knowledge directory in a worker thread; the engine swaps the new index in atomically."""
        return await asyncio.to_thread(self.engine.reload)

    async def reload_knowledge(self, by: str) -> tuple[ReloadReport, bool]:
        """Reload, one reload at a time; returns the report and whether it waited for another reload."""
        waited = self._reload_lock.locked()
        async with self._reload_lock:
            report = await self.reload_engine()
            self.last_reload = ReloadRecord(discord.utils.utcnow(), by, report)
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
            if not done:
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
                           ephemeral: bool = False) -> None:
        await self.reply(interaction, ephemeral=ephemeral, embed=answer_embed(answer), view=answer_view(answer, limit))

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


def create_bot(settings: Settings | None = None) -> KnowledgeBot:
    """The fully configured bot, from the environment (``Settings.from_env()``) unless settings are given.

    Nothing is loaded or connected yet: the knowledge base is read in ``setup_hook`` when the bot starts.
    """
    return KnowledgeBot(settings or Settings.from_env())
