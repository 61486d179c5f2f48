"""Knowledge administration: ``/kb reload`` and ``/kb status``, for server admins.

Only members with Manage Server see the group (its default permissions); because a server can
grant the commands to anyone in its Integrations settings, the callbacks check again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.render.embeds import reload_embed, status_embed

if TYPE_CHECKING:
    from bot.discord_app.bot import KnowledgeBot


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class KnowledgeAdmin(commands.GroupCog, group_name="kb", group_description="Knowledge base administration"):
    """Reload the knowledge directory while the bot keeps answering; see what is being served."""

    def __init__(self, bot: KnowledgeBot):
        self.bot = bot
        super().__init__()

    async def refuse(self, interaction: discord.Interaction) -> None:
        roles = " or one of the bot's admin roles" if self.bot.settings.admin_role_ids else ""
        await self.bot.reply(interaction, ephemeral=True, content=(
            f"Sorry, only server admins can manage the knowledge base: it needs the Manage Server permission{roles}."))

    @app_commands.command(name="reload", description="Re-read the knowledge directory and report what changed")
    async def reload(self, interaction: discord.Interaction) -> None:
        async with self.bot.guard(interaction, "/kb reload"):
            if not self.bot.is_admin(interaction):
                await self.refuse(interaction)
                return
            await interaction.response.defer(thinking=True, ephemeral=True)
            report, waited = await self.bot.reload_knowledge(by=interaction.user.mention)
            await self.bot.reply(interaction, ephemeral=True,
                                 embed=reload_embed(report, self.bot.engine.knowledge.directory, waited))

    @app_commands.command(name="status", description="The knowledge base being served and the last reload")
    async def status(self, interaction: discord.Interaction) -> None:
        async with self.bot.guard(interaction, "/kb status"):
            if not self.bot.is_admin(interaction):
                await self.refuse(interaction)
                return
            engine = self.bot.engine
            state = engine.state
            await self.bot.reply(interaction, ephemeral=True, embed=status_embed(
                state.knowledge, state.loaded_at, engine.mode, self.bot.last_reload))


async def setup(bot: KnowledgeBot) -> None:
    await bot.add_cog(KnowledgeAdmin(bot))
