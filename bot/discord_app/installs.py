"""Where a command can run and what it answers from, now that the app can be installed by a user too.

A server installs the app (the bot joins, the server's collection applies); a user can install it for
themselves and use ``/ask``, ``/recommendations`` and ``/sources`` in DMs, group DMs and servers the bot
is not in. There the bot has no presence: it answers the interaction only, from the shared base only,
and never reads or writes a server's collection, settings or channels.
"""

from __future__ import annotations

import discord
from discord import app_commands

# For the commands anyone may use anywhere (discord.py 2.4+: integration_types and contexts in the payload).
anywhere_installs = app_commands.allowed_installs(guilds=True, users=True)
anywhere_contexts = app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)


def answering_guild(interaction: discord.Interaction) -> int | None:
    """The server whose collection and settings apply to an interaction: its own server when the bot is in it
    and the server installed the app; None (the shared base only, as in a DM) in a DM, a group DM, or a server
    where only the user installed it."""
    guild_id = interaction.guild_id
    if guild_id is None:
        return None
    user_install_only = interaction.is_user_integration() and not interaction.is_guild_integration()
    if user_install_only or interaction.client.get_guild(guild_id) is None:
        return None
    return guild_id
