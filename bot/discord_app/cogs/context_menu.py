""""Ask the knowledge base" in any message's menu (Apps): the message's text is the question, answered
privately to whoever used it, with a button to post the answer as a reply to that message."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.cogs.ask import Ask, canonical_question
from bot.discord_app.interactions import guard, reply

if TYPE_CHECKING:
    from bot.discord_app.bot import KnowledgeBot

MENU_NAME = "Ask the knowledge base"
MAX_QUESTION_CHARS = 6000  # as /ask's option allows; the search reads the first 1,000 (bot/search/query.py)


class ContextMenu(commands.Cog):
    """The message command; a cog so it is added to each new bot's command tree and removed with it."""

    def __init__(self, bot: KnowledgeBot):
        self.bot = bot
        self.menu = app_commands.ContextMenu(name=MENU_NAME, callback=self.ask_about)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu, override=True)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    async def ask_about(self, interaction: discord.Interaction, message: discord.Message) -> None:
        async with guard(interaction, MENU_NAME):
            question = canonical_question(message.content)[:MAX_QUESTION_CHARS]
            if not question:
                await reply(interaction, ephemeral=True, content="That message has no text to ask about.")
                return
            await cast(Ask, self.bot.get_cog("Ask")).answer_interaction(
                interaction, question, self.bot.settings.excerpts, private=True, shared_from=message.id)


async def setup(bot: KnowledgeBot) -> None:
    await bot.add_cog(ContextMenu(bot))
