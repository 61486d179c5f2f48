"""Asking: ``/ask``, @mentions (and DMs), and question-like messages in the channels listed in ASK_CHANNEL_IDS."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.answers import MAX_EXCERPTS
from bot.discord_app.bot import APOLOGY
from bot.discord_app.buttons import answer_view
from bot.discord_app.cooldown import QuestionCooldown
from bot.render.embeds import answer_embed

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


class Ask(commands.Cog):
    """Answers questions with quoted, cited excerpts; a per-user cooldown keeps one user from flooding it."""

    def __init__(self, bot: KnowledgeBot):
        self.bot = bot
        self.cooldown = QuestionCooldown(bot.settings.cooldown_questions, bot.settings.cooldown_seconds)

    @app_commands.command(name="ask", description="Ask the knowledge base; the answer quotes and cites the articles")
    @app_commands.describe(question="Your question, e.g. What did Russia do in Syria?",
                           excerpts=f"How many excerpts to show (1-{MAX_EXCERPTS})",
                           private="Show the answer only to you")
    async def ask(self, interaction: discord.Interaction, question: app_commands.Range[str, None, 6000],
                  excerpts: app_commands.Range[int, 1, MAX_EXCERPTS] | None = None, private: bool = False) -> None:
        async with self.bot.guard(interaction, "/ask"):
            wait = self.cooldown.wait_time(interaction.user.id, discord.utils.utcnow())
            if wait:
                await interaction.response.send_message(self.cooldown.message(wait), ephemeral=True)
                return
            limit = excerpts or self.bot.settings.excerpts
            answer = await self.bot.respond_in_time(interaction, self.bot.ask(canonical_question(question), limit),
                                                    ephemeral=private)
            await self.bot.reply_answer(interaction, answer, limit, ephemeral=private)

    def question_in(self, message: discord.Message) -> str | None:
        """The question a message asks the bot, or None when it is not for the bot."""
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
        listed = self.bot.settings.ask_channel_ids
        if (channel.id in listed or getattr(channel, "parent_id", None) in listed) and \
                looks_like_question(message.content):
            return canonical_question(message.content)
        return None

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        question = self.question_in(message)
        if question is None:
            return
        try:
            wait = self.cooldown.wait_time(message.author.id, discord.utils.utcnow())
            if wait:
                await message.reply(self.cooldown.message(wait), mention_author=False)
                return
            limit = self.bot.settings.excerpts
            answer = await self.bot.ask(question, limit)
            view = answer_view(answer, limit)
            await message.reply(embed=answer_embed(answer), mention_author=False, **({"view": view} if view else {}))
        except Exception:
            log.exception("Answering message %s in channel %s failed", message.id, message.channel.id)
            try:
                await message.reply(APOLOGY, mention_author=False)
            except discord.HTTPException:
                log.warning("Could not send the apology either", exc_info=True)


async def setup(bot: KnowledgeBot) -> None:
    await bot.add_cog(Ask(bot))
