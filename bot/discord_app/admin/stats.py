"""``/kb stats``: what was asked in this server, what went unanswered, and the feedback."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.discord_app.admin.targets import refuse
from bot.discord_app.interactions import guard, reply, respond_in_time
from bot.discord_app.store_reads import write_pending_before_reading
from bot.render.admin_embeds import stats_embed
from bot.render.discord_text import fit
from bot.store import Stats, Store, StoreError, UnansweredPost

if TYPE_CHECKING:
    from bot.discord_app.bot import KnowledgeBot


class StatsCommands:
    bot: KnowledgeBot

    @app_commands.command(name="stats", description="Questions asked in this server, what went unanswered, feedback")
    @app_commands.describe(days="How many days back to look (default 30)")
    async def stats(self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 3650] = 30) -> None:
        async with guard(interaction, "/kb stats"):
            if not self.bot.access.is_admin(interaction) or interaction.guild_id is None:
                await refuse(self.bot, interaction)
                return
            store = self.bot.store
            if store is None:
                await reply(interaction, ephemeral=True, content="The bot keeps no question log here.")
                return
            try:  # this server's records only: the scope is its id, never EVERYWHERE
                stats, posts = await respond_in_time(interaction, self.read_stats(store, interaction.guild_id, days),
                                                     ephemeral=True)
            except StoreError as exc:
                await reply(interaction, ephemeral=True, content=(
                    f"The question log cannot be read right now ({fit(exc.reason, 500)}). Questions are still "
                    "answered and logged as soon as it is back; try again later."))
                return
            passage = self.bot.engine_for(interaction.guild_id).passage  # this server's documents only
            await reply(interaction, ephemeral=True, embed=stats_embed(stats, passage, posts))

    async def read_stats(self, store: Store, guild_id: int, days: int) -> tuple[Stats, tuple[UnansweredPost, ...]]:
        """The server's stats, and its help forums' posts still unanswered."""
        await write_pending_before_reading(store)  # the questions asked a moment ago count too
        return await store.stats(guild_id, days=days), await store.unanswered_posts(guild_id, days=days)
