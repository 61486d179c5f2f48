"""What answer threads need from the store, on a real SQLite file and a real PostgreSQL database: the channels
a server chose, kept with its other settings and apart from every other server's."""

from __future__ import annotations

from bot.store import GuildSettings
from tests.store.conftest import flushed

GUILD, OTHER = 11, 12


async def test_thread_channels_are_kept_with_the_other_settings_and_per_server(open_store):
    store = await open_store()
    store.set_guild_settings(GuildSettings(GUILD, answer_channel_ids=frozenset({5}), forum_channel_ids=frozenset({70}),
                                           thread_channel_ids=frozenset({5, 6})))
    store.set_guild_settings(GuildSettings(OTHER, thread_channel_ids=frozenset({8})))
    await flushed(store)
    reopened = await open_store()
    kept = await reopened.get_guild_settings(GUILD)
    assert kept.thread_channel_ids == {5, 6}
    assert kept.forum_channel_ids == {70} and kept.answer_channel_ids == {5}
    assert (await reopened.get_guild_settings(OTHER)).thread_channel_ids == {8}
    reopened.set_guild_settings(GuildSettings(GUILD, answer_channel_ids=frozenset({5})))
    await flushed(reopened)
    again = await open_store()
    assert (await again.get_guild_settings(GUILD)).thread_channel_ids == frozenset()
    assert (await again.get_guild_settings(OTHER)).thread_channel_ids == {8}
