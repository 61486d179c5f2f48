"""Knowledge administration for server admins: ``/kb reload``, ``status``, ``settings``, ``stats``,
``add``, ``remove`` and ``refresh`` (one module per concern in ``bot.discord_app.admin``).

Whose knowledge: the shared knowledge base (the knowledge directory) belongs to the bot's operators
(``Access.is_operator``), who reload it anywhere and edit it with ``/kb add`` / ``/kb remove``
in a home server (HOME_GUILD_IDS). In any other server, ``/kb add``, ``remove`` and ``status`` act on
that server's own collection, kept in the store (``admin.targets``).

Only members with Manage Server see the group (its default permissions); because a server can
grant the commands to anyone in its Integrations settings, every callback checks again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from discord import app_commands
from discord.ext import commands

from bot.discord_app.admin.files import FileCommands
from bot.discord_app.admin.settings import SettingsCommands
from bot.discord_app.admin.stats import StatsCommands
from bot.discord_app.admin.status import StatusCommands

if TYPE_CHECKING:
    from bot.discord_app.bot import KnowledgeBot


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class KnowledgeAdmin(StatusCommands, SettingsCommands, StatsCommands, FileCommands, commands.GroupCog,
                     group_name="kb", group_description="Knowledge base administration"):
    """Manage the knowledge directory and this server's settings while the bot keeps answering."""

    def __init__(self, bot: KnowledgeBot):
        self.bot = bot
        super().__init__()


async def setup(bot: KnowledgeBot) -> None:
    await bot.add_cog(KnowledgeAdmin(bot))
