"""Servers' own collections, kept in the store: loaded into the library at start-up, when the bot joins a
server, after ``/kb add`` or ``remove``, and when the poll sees another process change one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from discord.ext import tasks

from bot.discord_app.store_reads import bounded_read
from bot.engine import ReloadReport
from bot.library import CollectionFile, Library
from bot.store import Store

log = logging.getLogger(__name__)


class ServerCollections:
    """Which version of each server's collection the library serves, and bringing it up to date.

    ``store``, ``library`` and ``guild_ids`` are read when needed: the bot opens the store and builds
    the library when it starts, and the servers it is in change while it runs.
    """

    def __init__(self, store: Callable[[], Store | None], library: Callable[[], Library | None],
                 guild_ids: Callable[[], list[int]], poll_seconds: float | None):
        self._store, self._library, self._guild_ids = store, library, guild_ids
        self._locks: dict[int, asyncio.Lock] = {}
        self._versions: dict[int, int] = {}  # the store's version of each collection loaded
        self.poll_seconds = poll_seconds
        # discord.ext.tasks: its sleeps are the ones a simulated clock (SimCord) recognises and drives
        self.poll = tasks.loop(seconds=poll_seconds or 5.0)(self.refresh_all)

    def start_polling(self) -> None:
        """Every COLLECTION_POLL_SECONDS (when set), pick up collection changes made through any process."""
        if self.poll_seconds and not self.poll.is_running():
            self.poll.start()

    def stop_polling(self) -> None:
        self.poll.cancel()

    async def load(self, guild_id: int, version: int | None = None, *, force: bool = False) -> ReloadReport | None:
        """(Re)build a server's engine from its collection in the store; None when nothing changed (unless
        ``force``) or the store cannot say (the server keeps what it had)."""
        store, library = self._store(), self._library()
        if store is None or library is None:
            return None
        async with self._locks.setdefault(guild_id, asyncio.Lock()):
            try:
                if version is None:
                    version = await bounded_read(store.collections_version(guild_id))
                if version == self._versions.get(guild_id, 0) and not force:
                    return None
                stored = await bounded_read(store.documents(guild_id)) if version else []
            except Exception as exc:
                log.warning("Cannot read the collection of server %s for now: %s", guild_id, exc or type(exc).__name__)
                return None
            files = [CollectionFile(d.filename, d.text) for d in stored]
            report = await asyncio.to_thread(library.update_server, guild_id, files, version)
            self._versions[guild_id] = version
        if files or force:
            log.info("Server %s collection: %d document(s) loaded%s", guild_id, len(files),
                     f" ({len(report.problems)} skipped)" if report.problems else "")
        return report

    async def load_changed(self) -> None:
        """Rebuild the servers whose collection is not the version loaded (one read for all of them)."""
        store, library = self._store(), self._library()
        guild_ids = self._guild_ids()
        if store is None or library is None or not guild_ids:
            return
        versions = await bounded_read(store.collections_versions(guild_ids))
        for guild_id in guild_ids:
            version = versions.get(guild_id, 0)
            if version != self._versions.get(guild_id, 0):
                await self.load(guild_id, version)

    async def refresh_all(self) -> None:
        """``load_changed`` for every server the bot is in; a failure is logged and the next round tries again."""
        try:
            await self.load_changed()
        except Exception as exc:  # answers go on from what is loaded
            log.info("Server collections not checked this time: %s", exc or type(exc).__name__)
