"""Who may do what: server admins manage their server; operators manage the shared knowledge base."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord

from bot.settings import Settings

# What the bot needs in a channel to answer @mentions there (slash commands need no permission at all):
# see, write, embed, and read history (a reply quotes the message it answers); threads too, and start them
# (the "Continue in a thread" button).
REQUIRED_PERMISSIONS = discord.Permissions(view_channel=True, send_messages=True, send_messages_in_threads=True,
                                           embed_links=True, read_message_history=True, create_public_threads=True)


class Access:
    """Decides from the bot's settings as they are now (``settings()``: OWNER_IDS, HOME_GUILD_IDS,
    ADMIN_ROLE_IDS) and the application's owners, which ``owners()`` gives (asked of Discord once)."""

    def __init__(self, settings: Callable[[], Settings], owners: Callable[[], Awaitable[frozenset[int]]]):
        self._settings = settings
        self._owners = owners

    @property
    def settings(self) -> Settings:
        return self._settings()

    def in_home_server(self, guild_id: int | None) -> bool:
        """Whether knowledge commands here act on the shared knowledge base (HOME_GUILD_IDS)."""
        return guild_id is not None and guild_id in self.settings.home_guild_ids

    def is_admin(self, interaction: discord.Interaction) -> bool:
        """Manage Server (or Administrator, or owning the server), or one of ``ADMIN_ROLE_IDS``."""
        if interaction.guild_id is None:
            return False
        if interaction.permissions.manage_guild:
            return True
        roles = getattr(interaction.user, "roles", ())
        return any(role.id in self.settings.admin_role_ids for role in roles)

    async def is_operator(self, interaction: discord.Interaction) -> bool:
        """Whether the user may reload or edit the shared knowledge base: the application's owner or team,
        a user in OWNER_IDS, or a server admin (``is_admin``) in a HOME_GUILD_IDS server."""
        user_id = interaction.user.id
        if user_id in self.settings.owner_ids:
            return True
        if self.in_home_server(interaction.guild_id) and self.is_admin(interaction):
            return True
        return user_id in await self._owners()
