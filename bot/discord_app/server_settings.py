"""Each server's own settings (``/kb settings``), kept in memory once read so questions never wait for them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.discord_app.store_reads import bounded_read
from bot.settings import Settings
from bot.store import GuildSettings, Store

log = logging.getLogger(__name__)


class ServerSettings:
    """Servers' settings read from the store (``store()`` gives it, once open) or set by ``/kb settings``,
    with the bot's own settings (``settings()``: ASK_CHANNEL_IDS, COOLDOWN_SECONDS) as defaults."""

    def __init__(self, settings: Callable[[], Settings], store: Callable[[], Store | None]):
        self._settings = settings
        self._store = store
        self._known: dict[int, GuildSettings] = {}
        self._reads: dict[int, asyncio.Task[GuildSettings]] = {}

    def cached(self, guild_id: int) -> GuildSettings | None:
        return self._known.get(guild_id)

    async def get(self, guild_id: int | None) -> GuildSettings | None:
        """A server's own settings; None in direct messages.

        Answered from memory once known, without waiting (the order questions arrive in is the
        order the cooldown counts them); ``cached`` says whether it is known. Questions that arrive
        together share one read; while the store cannot say, they get the defaults, which are not
        remembered.
        """
        if guild_id is None:
            return None
        known = self._known.get(guild_id)
        store = self._store()
        if known is not None or store is None:
            return known or GuildSettings(guild_id)
        reading = self._reads.get(guild_id)
        if reading is None:
            reading = self._reads[guild_id] = asyncio.ensure_future(self._read(store, guild_id))
            reading.add_done_callback(lambda _: self._reads.pop(guild_id, None))
        return await asyncio.shield(reading)

    async def _read(self, store: Store, guild_id: int) -> GuildSettings:
        try:
            found = await bounded_read(store.get_guild_settings(guild_id))
        except Exception as exc:
            log.warning("Using the default settings for server %s for now: %s", guild_id, exc or type(exc).__name__)
            return GuildSettings(guild_id)
        if store.health().fault is None:  # a read that failed gives defaults and reports a fault
            found = self._known.setdefault(guild_id, found)
        return found

    def set(self, server: GuildSettings) -> None:
        """Apply a server's new settings at once; the store saves them in the background."""
        self._known[server.guild_id] = server
        store = self._store()
        if store is not None:
            store.set_guild_settings(server)

    def answer_channels(self, server: GuildSettings | None) -> frozenset[int]:
        """Where questions are answered without a mention: ASK_CHANNEL_IDS plus the server's own channels."""
        own = server.answer_channel_ids if server is not None and server.answer_channel_ids else frozenset()
        return self._settings().ask_channel_ids | own

    @staticmethod
    def answers_in_threads(server: GuildSettings | None, channel_id: int | None) -> bool:
        """Whether the server chose that each public answer in this channel starts a thread for its follow-ups."""
        return server is not None and channel_id in server.thread_channel_ids

    def cooldown_seconds(self, server: GuildSettings | None) -> float:
        if server is not None and server.cooldown_seconds is not None:
            return server.cooldown_seconds
        return self._settings().cooldown_seconds
