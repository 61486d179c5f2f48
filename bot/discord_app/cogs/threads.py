"""Threads as conversations: in a thread the bot started, every message is a question; in any other
thread, a message that mentions it (or a question in an ask channel's thread). Each is answered in
place, read with the questions asked before it in the thread (bot/followups.py decides what they mean)."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, cast

import discord
from discord.ext import commands

from bot.discord_app.cogs.ask import Ask, canonical_question
from bot.discord_app.cogs.forums import starts_help_forum_post
from bot.discord_app.threads import earlier_questions, started_by

if TYPE_CHECKING:
    from bot.discord_app.bot import KnowledgeBot

log = logging.getLogger(__name__)

ANSWERED_TYPES = (discord.MessageType.default, discord.MessageType.reply)  # not "thread created" and such


class Threads(commands.Cog):
    """Answers questions asked in threads, each with the thread's earlier questions."""

    def __init__(self, bot: KnowledgeBot):
        self.bot = bot

    def question_in(self, message: discord.Message, answer_channels: frozenset[int]) -> str | None:
        """The question a message in a thread asks the bot, or None when it is not for the bot."""
        thread = message.channel
        me = self.bot.user
        if not isinstance(thread, discord.Thread) or me is None or message.author.bot \
                or message.type not in ANSWERED_TYPES:
            return None
        question = cast(Ask, self.bot.get_cog("Ask")).question_in(message, answer_channels)
        if question is None and started_by(thread, me):
            question = canonical_question(message.content) or None  # empty: unreadable without Message Content
        return question

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if not isinstance(message.channel, discord.Thread) or message.author.bot or message.guild is None:
            return
        started = time.perf_counter()
        server = await self.bot.server_settings.get(message.guild.id)  # never raises
        if starts_help_forum_post(message, server):
            return  # a help forum's new post: answered once by cogs/forums.py
        question = self.question_in(message, self.bot.server_settings.answer_channels(server))
        if question is None or self.bot.user is None:
            return
        earlier = await earlier_questions(message.channel, message, self.bot.user)
        await cast(Ask, self.bot.get_cog("Ask")).answer_message(message, question, server, started=started,
                                                              earlier=earlier)


async def setup(bot: KnowledgeBot) -> None:
    await bot.add_cog(Threads(bot))
