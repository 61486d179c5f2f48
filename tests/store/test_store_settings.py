"""The store's settings: DATABASE_PATH, DATABASE_URL, RETENTION_DAYS and HASH_SALT."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError
from bot.store import SQLiteStore, store_from_settings
from bot.store.postgres import PostgresStore


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


def test_database_url_selects_postgresql_and_is_never_printed():
    url = "postgresql://bot:s3cret@db.example:5432/kb"
    settings = Settings.from_env({"DATABASE_URL": f"  {url} "})
    assert settings.database_url == url
    assert "s3cret" not in repr(settings)
    assert Settings.from_env({}).database_url is None
    assert Settings.from_env({"DATABASE_URL": "postgres://db/kb"}).database_url == "postgres://db/kb"


@pytest.mark.parametrize("value", ["mysql://bot:s3cret@db/kb", "bot:s3cret@db/kb", "sqlite:///data/bot.sqlite3"])
def test_a_database_url_that_is_not_postgresql_is_named_without_its_password(value):
    with pytest.raises(SettingsError, match="DATABASE_URL must be a postgresql://") as error:
        Settings.from_env({"DATABASE_URL": value})
    assert "s3cret" not in str(error.value)


def test_the_store_follows_the_settings(tmp_path):
    sqlite = store_from_settings(Settings.from_env({"STATE_DIR": str(tmp_path)}))
    assert isinstance(sqlite, SQLiteStore) and sqlite.where == str(tmp_path / "bot.sqlite3")
    postgres = store_from_settings(Settings.from_env({"STATE_DIR": str(tmp_path), "RETENTION_DAYS": "7",
                                                      "DATABASE_URL": "postgresql://bot:s3cret@db.example/kb"}))
    assert isinstance(postgres, PostgresStore)
    assert (postgres.where, postgres.retention_days) == ("postgresql://bot@db.example/kb", 7)
    assert postgres.hash_user(1) == sqlite.hash_user(1)  # one salt: pseudonyms do not depend on the backend
