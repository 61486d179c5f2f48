"""What the knowledge base holds: ``/recommendations`` (with document autocomplete) and ``/sources``."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.autocomplete import document_choices
from bot.discord_app.installs import answering_guild, anywhere_contexts, anywhere_installs
from bot.discord_app.interactions import guard, reply, respond_in_time
from bot.render.answer_embeds import no_recommendations_embed, recommendations_embeds, sources_embeds

if TYPE_CHECKING:
    from bot.discord_app.bot import KnowledgeBot

log = logging.getLogger(__name__)


class Sources(commands.Cog):
    """What the documents recommend, and the documents themselves."""

    def __init__(self, bot: KnowledgeBot):
        self.bot = bot

    @app_commands.command(name="recommendations", description="What the articles recommend, numbered and cited")
    @anywhere_installs
    @anywhere_contexts
    @app_commands.describe(topic="Only recommendations about this, e.g. energy or sanctions",
                           document="Only this article")
    async def recommendations(self, interaction: discord.Interaction,
                              topic: app_commands.Range[str, None, 200] | None = None,
                              document: app_commands.Range[str, None, 200] | None = None) -> None:
        async with guard(interaction, "/recommendations"):
            engine = self.bot.engine_for(answering_guild(interaction))  # the shared base and this server's own
            recs = await respond_in_time(interaction, asyncio.to_thread(engine.recommendations, topic, document))
            embeds = recommendations_embeds(recs) if recs else \
                [no_recommendations_embed(topic, document, engine.knowledge.documents)]
            await reply(interaction, embeds=embeds)

    @recommendations.autocomplete("document")
    async def document_autocomplete(self, interaction: discord.Interaction,
                                    current: str) -> list[app_commands.Choice[str]]:
        try:
            return document_choices(self.bot.engine_for(answering_guild(interaction)).knowledge.documents, current)
        except Exception:  # a failing autocomplete only loses the suggestions
            log.exception("Document autocomplete failed")
            return []

    @app_commands.command(name="sources", description="The documents in the knowledge base, with their details")
    @anywhere_installs
    @anywhere_contexts
    async def sources(self, interaction: discord.Interaction) -> None:
        async with guard(interaction, "/sources"):
            knowledge = self.bot.engine_for(answering_guild(interaction)).knowledge
            await reply(interaction, embeds=sources_embeds(knowledge))


async def setup(bot: KnowledgeBot) -> None:
    await bot.add_cog(Sources(bot))
