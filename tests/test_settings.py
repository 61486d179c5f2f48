import re
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, environment_variables


def test_unset_shards_mean_one_connection_and_auto_means_discords_recommendation():
    settings = Settings.from_env({})
    assert not settings.sharded and settings.shard_count is None and settings.shard_ids is None
    auto = Settings.from_env({"SHARD_COUNT": "auto"})
    assert auto.sharded and auto.shard_count is None


def test_collections_are_polled_only_when_the_store_is_shared():
    assert Settings.from_env({}).collection_poll_seconds is None
    assert Settings.from_env({"DATABASE_URL": "postgresql://bot@db/bot"}).collection_poll_seconds == 5.0
    assert Settings.from_env({"COLLECTION_POLL_SECONDS": "2"}).collection_poll_seconds == 2.0


def test_a_process_runs_the_shards_it_is_given():
    assert Settings.from_env({"SHARD_COUNT": "4", "SHARD_IDS": "3, 1"}).shard_ids == (1, 3)
    assert Settings.from_env({"SHARD_COUNT": "2"}).shard_ids == (0, 1)


@pytest.mark.parametrize(("env", "message"), [
    ({"SHARD_IDS": "1"}, "SHARD_IDS needs SHARD_COUNT"),
    ({"SHARD_COUNT": "2", "SHARD_IDS": "2"}, "SHARD_IDS must be below SHARD_COUNT (2)"),
    ({"SHARD_COUNT": "two"}, "SHARD_COUNT must be a whole number"),
    ({"SHARD_COUNT": "0"}, "SHARD_COUNT must be at least 1"),
    ({"SHARD_COUNT": "auto", "SHARD_IDS": "1"}, "SHARD_IDS needs a number in SHARD_COUNT"),
    ({"LOG_LEVEL": "loud"}, "LOG_LEVEL must be one of"),
    ({"SEMANTIC": "maybe"}, "SEMANTIC must be one of"),
    ({"ASK_CHANNEL_IDS": "general"}, "ASK_CHANNEL_IDS must be a comma-separated list of Discord ids"),
])
def test_bad_settings_name_the_variable(env, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings.from_env(env)


def test_the_token_is_never_in_the_settings_repr():
    assert "s3cret" not in repr(Settings.from_env({"DISCORD_TOKEN": "s3cret"}))


def test_the_embedding_cache_and_database_follow_the_state_dir():
    moved = Settings.from_env({"STATE_DIR": "/var/lib/kb"})
    assert moved.embedding_cache == Path("/var/lib/kb/embeddings.sqlite3")
    assert moved.database_path == Path("/var/lib/kb/bot.sqlite3")
    given = Settings.from_env({"STATE_DIR": "/var/lib/kb"}, state_dir=Path("/srv/state"))  # in code, too
    assert (given.embedding_cache, given.database_path) == (Path("/srv/state/embeddings.sqlite3"),
                                                            Path("/srv/state/bot.sqlite3"))
    assert Settings(state_dir=Path("elsewhere")).embedding_cache == Path("elsewhere/embeddings.sqlite3")
    pinned = Settings.from_env({"STATE_DIR": "/var/lib/kb", "EMBEDDING_CACHE": "/cache/e.sqlite3",
                                "DATABASE_PATH": "/db/bot.sqlite3"})
    assert (pinned.embedding_cache, pinned.database_path) == (Path("/cache/e.sqlite3"), Path("/db/bot.sqlite3"))
    assert Settings.from_env({"EMBEDDING_CACHE": "off"}).embedding_cache is None


@pytest.mark.parametrize(("value", "off"), [("1", True), ("anything", True), ("", False)])
def test_no_color_set_to_anything_but_empty_turns_colours_off(value, off):
    assert Settings.from_env({"NO_COLOR": value}).no_color is off
    assert Settings.from_env({}).no_color is False


class Reads(dict):
    """An environment that notes every variable looked up."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def get(self, name, default=None):
        self.names.add(name)
        return super().get(name, default)


def test_every_variable_read_is_declared_on_its_settings_field():
    env = Reads()
    Settings.from_env(env)
    assert env.names == set(environment_variables())  # a variable read without a field naming it fails here
