"""The store's settings: DATABASE_PATH, RETENTION_DAYS and HASH_SALT."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError


def test_defaults_keep_the_database_in_the_state_folder():
    settings = Settings.from_env({})
    assert settings.database_path == Path("data/bot.sqlite3")
    assert settings.retention_days == 90
    assert settings.hash_salt is None
    assert Settings.from_env({"STATE_DIR": "/var/lib/kb"}).database_path == Path("/var/lib/kb/bot.sqlite3")


def test_settings_from_the_environment():
    settings = Settings.from_env({"DATABASE_PATH": "/srv/bot.db", "RETENTION_DAYS": "30", "HASH_SALT": "s3cret"})
    assert (settings.database_path, settings.retention_days, settings.hash_salt) == (Path("/srv/bot.db"), 30, "s3cret")
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(("value", "message"), [("0", "RETENTION_DAYS must be at least 1, not 0"),
                                                ("soon", "RETENTION_DAYS must be a whole number, not 'soon'")])
def test_bad_retention_is_named(value, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({"RETENTION_DAYS": value})
