import re

import pytest

from bot.settings import Settings, SettingsError


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
