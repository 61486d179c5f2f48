"""Asking: ``/ask``, @mentions (and DMs), and question-like messages in the ask channels
(ASK_CHANNEL_IDS and each server's own, set with ``/kb settings``). Every question is logged."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.answers import MAX_EXCERPTS, Answer
from bot.discord_app.buttons import DYNAMIC_ITEMS, answer_view, reply_answer
from bot.discord_app.cooldown import QuestionCooldown
from bot.discord_app.installs import answering_guild, anywhere_contexts, anywhere_installs
from bot.discord_app.interactions import APOLOGY, guard, reply, respond_in_time
from bot.discord_app.threads import AUTO_ARCHIVE_MINUTES, can_start_thread, may_start_thread, thread_name, welcome
from bot.render.answer_embeds import answer_embed
from bot.store import GuildSettings

if TYPE_CHECKING:
    from bot.discord_app.bot import KnowledgeBot

log = logging.getLogger(__name__)

_QUESTION_WORD = re.compile(r"^(who|whom|whose|what|when|where|why|how|which|is|are|was|were|do|does|did|can|"
                            r"could|should|would|will|has|have|had)\b", re.IGNORECASE)


def canonical_question(text: str) -> str:
    """The question as asked, on one line: what is searched and what the answer's title shows."""
    return " ".join(text.split())


def looks_like_question(text: str) -> bool:
    """A message in an ask channel is answered when it ends with "?" or starts like a question."""
    text = text.strip()
    return text.endswith("?") or bool(_QUESTION_WORD.match(text))


def elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


class Ask(commands.Cog):
    """Answers questions with quoted, cited excerpts; a per-user cooldown keeps one user from flooding it."""

    def __init__(self, bot: KnowledgeBot):
        self.bot = bot
        self.cooldown = QuestionCooldown(bot.settings.cooldown_questions, bot.settings.cooldown_seconds)

    def wait_time(self, guild_id: int | None, user_id: int, server: GuildSettings | None) -> float:
        """The cooldown in the server the question is asked in (its own, or COOLDOWN_SECONDS)."""
        seconds = self.bot.server_settings.cooldown_seconds(server)
        return self.cooldown.wait_time((guild_id, user_id), discord.utils.utcnow(), seconds)

    @app_commands.command(name="ask", description="Ask the knowledge base; the answer quotes and cites the articles")
    @anywhere_installs
    @anywhere_contexts
    @app_commands.describe(question="Your question, e.g. What did Russia do in Syria?",
                           excerpts=f"How many excerpts to show (1-{MAX_EXCERPTS})",
                           private="Show the answer only to you (default: as this server's admins chose)")
    async def ask(self, interaction: discord.Interaction, question: app_commands.Range[str, None, 6000],
                  excerpts: app_commands.Range[int, 1, MAX_EXCERPTS] | None = None,
                  private: bool | None = None) -> None:
        async with guard(interaction, "/ask"):
            await self.answer_interaction(interaction, question, excerpts or self.bot.settings.excerpts, private)

    async def answer_interaction(self, interaction: discord.Interaction, question: str, limit: int,
                                 private: bool | None, *, shared_from: int | None = None) -> None:
        """Answer a question asked through an interaction (``/ask``, the message menu): within the asker's
        cooldown, logged, privately if asked (None: as the server chose), with the answer's buttons.

        ``shared_from``: the message the question was taken from; a private answer then offers to post it
        there publicly."""
        started = time.perf_counter()
        guild_id = answering_guild(interaction)  # None where only the user installed the app: the shared base
        server = await self.server_settings(interaction, private, guild_id)
        wait = self.wait_time(guild_id, interaction.user.id, server)
        if wait:
            await reply(interaction, ephemeral=True,
                        content=self.cooldown.message(wait, self.bot.server_settings.cooldown_seconds(server)))
            return
        if private is None:
            private = server is not None and not server.public_answers
        text = canonical_question(question)
        asking = self.bot.ask(text, limit, guild_id=guild_id)
        answer = await respond_in_time(interaction, asking, ephemeral=private)
        question_id = self.record_question(
            question=text, answer=answer, latency_ms=elapsed_ms(started), guild_id=guild_id,
            channel_id=interaction.channel_id, user_id=interaction.user.id)
        # A thread needs the bot in the server (it starts it and answers there).
        in_server = not private and guild_id is not None
        in_thread = in_server and self.bot.server_settings.answers_in_threads(server, interaction.channel_id) \
            and may_start_thread(interaction.channel)
        await reply_answer(interaction, answer, limit, ephemeral=private, question_id=question_id,
                           thread=in_server and not in_thread and can_start_thread(interaction.channel),
                           shared_from=shared_from if private else None)
        if in_thread:
            await self.continue_in_thread(await interaction.original_response(), text)

    async def continue_in_thread(self, answered: discord.Message, question: str) -> None:
        """Start the thread for a public ``/ask`` answer's follow-ups on the answer itself, as its "Continue in a
        thread" button would (the server chose threads for this channel)."""
        if self.bot.user is None:
            return
        try:
            thread = await answered.create_thread(name=thread_name(question),
                                                  auto_archive_duration=AUTO_ARCHIVE_MINUTES)
            await thread.send(welcome(self.bot.user, self.bot.intents.message_content))
        except discord.HTTPException as exc:  # the answer stands; a mention still asks a follow-up
            log.info("Could not start a thread on answer %s: %s", answered.id, exc)

    async def server_settings(self, interaction: discord.Interaction, private: bool | None,
                              guild_id: int | None) -> GuildSettings | None:
        """The settings of the server ``guild_id`` (None: no server's) for a /ask: from memory at once, or
        read in time for Discord's deadline.

        If the read is slow, "thinking…" is shown meanwhile: privately, unless the asker chose a public answer
        (the server's choice is not known yet, and a private answer shown publicly could not be taken back).
        """
        if guild_id is None or self.bot.server_settings.cached(guild_id) is not None:
            return await self.bot.server_settings.get(guild_id)  # no waiting: keeps the order questions came in
        return await respond_in_time(interaction, self.bot.server_settings.get(guild_id),
                                     ephemeral=private is not False)

    def question_in(self, message: discord.Message, answer_channels: frozenset[int] = frozenset()) -> str | None:
        """The question a message asks the bot, or None when it is not for the bot.

        ``answer_channels``: where a question-like message is answered without a mention.
        """
        me = self.bot.user
        if me is None or message.author.bot or message.author.id == me.id:
            return None
        own_role = message.guild.self_role if message.guild else None
        mentioned = any(user.id == me.id for user in message.mentions) or \
            (own_role is not None and own_role in message.role_mentions)
        if message.guild is None or mentioned:
            text = re.sub(rf"<@!?{me.id}>", " ", message.content)
            if own_role is not None:
                text = text.replace(own_role.mention, " ")
            return canonical_question(text)
        channel = message.channel
        if (channel.id in answer_channels or getattr(channel, "parent_id", None) in answer_channels) and \
                looks_like_question(message.content):
            return canonical_question(message.content)
        return None

    def record_question(self, *, question: str, answer: Answer, latency_ms: float, guild_id: int | None,
                        channel_id: int | None, user_id: int) -> str | None:
        """Log a question (queued: returns at once); its id for the feedback buttons, None if not logged."""
        store = self.bot.store
        if store is None or not question:
            return None
        try:
            return store.record_question(
                question=question, answered=answer.answered, passage_ids=[e.passage.id for e in answer.excerpts],
                latency_ms=latency_ms, guild_id=guild_id, channel_id=channel_id, user_id=user_id)
        except Exception:
            log.exception("Could not log a question (the answer is sent anyway)")
            return None

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or isinstance(message.channel, discord.Thread):  # threads: cogs/threads.py
            return
        started = time.perf_counter()
        guild_id = message.guild.id if message.guild else None
        server = await self.bot.server_settings.get(guild_id)  # never raises: defaults when it cannot be read
        question = self.question_in(message, self.bot.server_settings.answer_channels(server))
        if question is None:
            return
        await self.answer_message(message, question, server, started=started)

    async def answer_message(self, message: discord.Message, question: str, server: GuildSettings | None, *,
                             started: float, earlier: Sequence[str] = ()) -> None:
        """Reply to a question asked in a message (``earlier``: the conversation's previous questions, in a
        thread); within the asker's cooldown, logged, with the answer's buttons; an apology if it fails."""
        guild_id = message.guild.id if message.guild else None
        try:
            wait = self.wait_time(guild_id, message.author.id, server)
            if wait:
                await message.reply(self.cooldown.message(wait, self.bot.server_settings.cooldown_seconds(server)),
                                    mention_author=False)
                return
            limit = self.bot.settings.excerpts
            answer = await self.bot.ask(question, limit, guild_id=guild_id, earlier=earlier)
            question_id = self.record_question(
                question=question, answer=answer, latency_ms=elapsed_ms(started), guild_id=guild_id,
                channel_id=message.channel.id, user_id=message.author.id)
            if await self.answer_in_thread(message, question, answer, limit, question_id, server):
                return
            view = answer_view(answer, limit, question_id, thread=can_start_thread(message.channel))
            await message.reply(embed=answer_embed(answer), mention_author=False, **({"view": view} if view else {}))
        except Exception:
            log.exception("Answering message %s in channel %s failed", message.id, message.channel.id)
            try:
                await message.reply(APOLOGY, mention_author=False)
            except discord.HTTPException:
                log.warning("Could not send the apology either", exc_info=True)

    async def answer_in_thread(self, message: discord.Message, question: str, answer: Answer, limit: int,
                               question_id: str | None, server: GuildSettings | None) -> bool:
        """Answer in a new thread started from the question, where the server chose it for this channel and the
        bot may start one; False: not here (a plain reply then)."""
        me = self.bot.user
        if me is None or not self.bot.server_settings.answers_in_threads(server, message.channel.id) \
                or not may_start_thread(message.channel):
            return False
        try:
            thread = await message.create_thread(name=thread_name(question),
                                                 auto_archive_duration=AUTO_ARCHIVE_MINUTES)
        except discord.HTTPException as exc:  # a thread on it already, or a permission just taken away
            log.info("Answering message %s with a plain reply: no thread (%s)", message.id, exc)
            return False
        view = answer_view(answer, limit, question_id)
        await thread.send(embed=answer_embed(answer), **({"view": view} if view else {}))
        await thread.send(welcome(me, self.bot.intents.message_content))
        return True


async def setup(bot: KnowledgeBot) -> None:
    await bot.add_cog(Ask(bot))
    bot.add_dynamic_items(*DYNAMIC_ITEMS)  # the buttons under answers, answered after a restart too
