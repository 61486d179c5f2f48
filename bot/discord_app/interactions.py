"""Replying to an interaction within Discord's rules: in time, once, and with an apology when something breaks.

Discord drops an interaction not acknowledged within 3 seconds and refuses a second acknowledgement;
these helpers are the one place that knows whether to respond, follow up or edit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import discord

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFER_AFTER = 1.5  # seconds of work before "thinking…" is shown, well inside Discord's 3-second window
APOLOGY = "Sorry, something went wrong on my side. It has been logged; please try again in a moment."


async def respond_in_time(interaction: discord.Interaction, work: Awaitable[T], *, ephemeral: bool = False) -> T:
    """Await ``work``; if it runs longer than DEFER_AFTER seconds, defer ("thinking…") meanwhile.

    Fast work is answered directly, so an answer or an apology can still be a plain (or ephemeral) response.
    """
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=DEFER_AFTER)
        if not done and not interaction.response.is_done():
            await interaction.response.defer(thinking=True, ephemeral=ephemeral)
        return await task
    except BaseException:
        task.cancel()
        raise


async def reply(interaction: discord.Interaction, *, ephemeral: bool = False, **message: Any) -> None:
    """Respond, or complete the deferred response (the first followup replaces "thinking…")."""
    message = {key: value for key, value in message.items() if value is not None}
    if interaction.response.is_done():
        await interaction.followup.send(ephemeral=ephemeral, **message)
    else:
        await interaction.response.send_message(ephemeral=ephemeral, **message)
    interaction.extras["answered"] = True


@contextlib.asynccontextmanager
async def guard(interaction: discord.Interaction, action: str) -> AsyncIterator[None]:
    """Run a command or button so no exception escapes: the log gets the traceback, the user an apology."""
    try:
        yield
    except Exception:
        log.exception("%s failed (user %s, channel %s)", action, interaction.user.id, interaction.channel_id)
        await apologize(interaction)


async def apologize(interaction: discord.Interaction) -> None:
    """A short apology, ephemeral unless it has to replace a public "thinking…" message."""
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(APOLOGY, ephemeral=True)
        elif interaction.response.type is discord.InteractionResponseType.deferred_channel_message \
                and not interaction.extras.get("answered"):
            await interaction.edit_original_response(content=APOLOGY, embeds=[], view=None)
        else:
            await interaction.followup.send(APOLOGY, ephemeral=True)
    except discord.HTTPException:
        log.warning("Could not send the apology either", exc_info=True)
