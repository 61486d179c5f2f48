"""Server settings as this process last saw them: kept a few seconds, because other processes may change them.

Settings are read for every question, so each process keeps a copy; but with several processes on
one database (shards) a copy kept for ever would hide a change made through another shard. So a
copy is trusted for ``SETTINGS_TTL`` seconds and then read again: one indexed read per server per
five seconds at most, and a change made anywhere applies everywhere within that time.

Settings changed in this process apply here at once and stay in force while their write is still
queued (the database may be down): a read from the database cannot bring back the older settings.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.store.base import GuildSettings

SETTINGS_TTL = 5.0  # seconds a process trusts its copy of a server's settings


class GuildSettingsCache:
    """Settings set here and not yet saved, and copies read from the database with the time they were read."""

    def __init__(self, ttl: float = SETTINGS_TTL, monotonic: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self._monotonic = monotonic
        self._unsaved: dict[int, GuildSettings] = {}
        self._read: dict[int, tuple[float, GuildSettings]] = {}

    def fresh(self, guild_id: int) -> GuildSettings | None:
        """Settings set here and not saved yet, or a copy younger than the TTL; None: read the database."""
        unsaved = self._unsaved.get(guild_id)
        if unsaved is not None:
            return unsaved
        copy = self._read.get(guild_id)
        if copy is not None and self._monotonic() - copy[0] < self.ttl:
            return copy[1]
        return None

    def last_known(self, guild_id: int) -> GuildSettings | None:
        """The newest settings seen here, however old (when the database cannot be read)."""
        unsaved = self._unsaved.get(guild_id)
        if unsaved is not None:
            return unsaved
        copy = self._read.get(guild_id)
        return copy[1] if copy is not None else None

    def read(self, settings: GuildSettings) -> GuildSettings:
        """Keep what was just read from the database (settings set here meanwhile still win)."""
        self._read[settings.guild_id] = (self._monotonic(), settings)
        return self._unsaved.get(settings.guild_id, settings)

    def set(self, settings: GuildSettings) -> None:
        """Settings changed here: in force at once, until saved and then for the TTL."""
        self._unsaved[settings.guild_id] = settings

    def saved(self, settings: GuildSettings) -> None:
        """Their write reached the database."""
        if self._unsaved.get(settings.guild_id) is settings:
            del self._unsaved[settings.guild_id]
            self._read[settings.guild_id] = (self._monotonic(), settings)

    def forget(self, guild_id: int) -> None:
        self._unsaved.pop(guild_id, None)
        self._read.pop(guild_id, None)
