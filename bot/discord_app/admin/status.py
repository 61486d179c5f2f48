"""``/kb reload`` (the shared knowledge base, operators only) and ``/kb status`` (what is served here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.discord_app.admin.targets import SharedBase, refuse, refuse_shared, target_here
from bot.discord_app.interactions import guard, reply
from bot.render.admin_embeds import reload_embed

if TYPE_CHECKING:
    from bot.discord_app.bot import KnowledgeBot


class StatusCommands:
    bot: KnowledgeBot

    @app_commands.command(name="reload", description="Re-read the knowledge directory and report what changed")
    async def reload(self, interaction: discord.Interaction) -> None:
        async with guard(interaction, "/kb reload"):
            if not await self.bot.access.is_operator(interaction):
                await refuse_shared(self.bot, interaction)
                return
            await interaction.response.defer(thinking=True, ephemeral=True)
            report, waited = await self.bot.reload_knowledge(interaction.user.display_name, interaction.user.id)
            directory = self.bot.engine.knowledge.directory
            await reply(interaction, ephemeral=True, embed=reload_embed(report, directory, waited))

    @app_commands.command(name="status", description="The knowledge base being served and the last reload")
    async def status(self, interaction: discord.Interaction) -> None:
        async with guard(interaction, "/kb status"):
            if not self.bot.access.is_admin(interaction):
                await refuse(self.bot, interaction)
                return
            target = target_here(self.bot, interaction.guild_id)
            if target is None or interaction.guild is None:
                target = SharedBase(self.bot)
            await target.describe(interaction)
