"""`python -m bot forget-server ID`: a server's collection and every record of it deleted, on SQLite (DATABASE_PATH)
and on PostgreSQL (DATABASE_URL, a real server the tests start); one-line errors and a non-zero exit on problems."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from bot.engine import ReloadReport
from bot.settings import Settings
from bot.store import EVERYWHERE, UP, GuildSettings, Store, open_store

GUILD, OTHER = 11, 22
ADMIN = 424242424242424242


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """DATABASE_PATH to a SQLite file in a temp folder, or DATABASE_URL to a fresh PostgreSQL schema."""
    for name in ("DATABASE_PATH", "DATABASE_URL", "HASH_SALT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "db" / "bot.sqlite3"))
    if request.param == "postgres":
        monkeypatch.setenv("DATABASE_URL", request.getfixturevalue("postgres_url"))
    return request.param


async def store() -> Store:
    return await open_store(Settings.from_env(hash_salt="test salt"))


async def fill() -> None:
    """Two servers with questions, votes, settings, reloads and a collection each, and a direct message."""
    s = await store()
    try:
        for guild in (GUILD, OTHER):
            common = {"passage_ids": ["putin#p4"], "latency_ms": 3, "guild_id": guild, "channel_id": 5,
                      "user_id": ADMIN}
            asked = s.record_question(question=f"asked in {guild}", answered=True, **common)
            s.record_question(question=f"also asked in {guild}", answered=False, **{**common, "passage_ids": []})
            s.record_feedback(asked, 1, UP)
            s.set_guild_settings(GuildSettings(guild, public_answers=False))
            s.record_reload(ReloadReport(documents=1, passages=1), by_name="Ada", guild_id=guild)
            await s.put_document(guild, "notes", "notes.md", f"notes of {guild}", ADMIN)
        s.record_question(question="in a direct message", answered=False, passage_ids=[], latency_ms=3,
                          guild_id=None, channel_id=None, user_id=ADMIN)
    finally:
        await s.close()


async def forget(*args: str) -> int:
    return await asyncio.to_thread(main, ["forget-server", *args])


async def test_forget_server_deletes_its_collection_and_records_and_says_how_many(backend, capsys):
    await fill()
    assert await forget(str(GUILD)) == 0
    assert capsys.readouterr().out == (f"Forgot server {GUILD}: deleted 1 document(s) of its collection, "
                                       "2 question(s), 1 vote(s), 1 reload record(s), its settings.\n")
    s = await store()
    try:
        assert await s.documents(GUILD) == [] and await s.question_log(GUILD) == []
        assert await s.latest_reload(GUILD) is None
        assert await s.get_guild_settings(GUILD) == GuildSettings(GUILD)
        # the other server and direct messages keep everything
        assert [d.text for d in await s.documents(OTHER)] == [f"notes of {OTHER}"]
        assert (await s.stats(OTHER, days=1)).questions == 2 and (await s.stats(OTHER, days=1)).votes_up == 1
        assert (await s.stats(EVERYWHERE, days=1)).questions == 3
        assert not (await s.get_guild_settings(OTHER)).public_answers
    finally:
        await s.close()

    assert await forget(str(GUILD)) == 0  # again: nothing left, and it says so
    assert capsys.readouterr().out == f"Server {GUILD}: nothing was kept about it, nothing deleted.\n"


@pytest.mark.parametrize("bad", ["general", "-5", "0", "12.5", "dm"])
async def test_a_bad_server_id_is_a_usage_error(backend, bad, capsys):
    with pytest.raises(SystemExit) as exit_:
        await forget(bad)
    assert exit_.value.code == 2
    assert "argument ID: must be a Discord server id (a whole number)" in capsys.readouterr().err


def test_without_a_database_is_one_line_and_creates_nothing(tmp_path, monkeypatch, capsys):
    path = tmp_path / "none" / "bot.sqlite3"
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_PATH", str(path))
    assert main(["forget-server", str(GUILD)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"error: {path}: no database here (the bot creates it when it first runs; "
                            "is DATABASE_PATH right?)\n")
    assert not path.parent.exists()
    assert not (tmp_path / "state").exists()  # no salt file made either


def test_a_corrupt_database_is_one_line_and_left_untouched(tmp_path, monkeypatch, capsys):
    path = tmp_path / "bot.sqlite3"
    garbage = b"definitely not sqlite\n" * 100
    path.write_bytes(garbage)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_PATH", str(path))
    assert main(["forget-server", str(GUILD)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: not a SQLite database") and err.count("\n") == 1
    assert path.read_bytes() == garbage


async def test_a_postgresql_server_that_is_not_there_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"postgresql://bot:s3cret@/kb?host={tmp_path}")
    assert await forget(str(GUILD)) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: postgresql://bot@/kb?host={tmp_path}: the server cannot be reached")
    assert err.count("\n") == 1 and "s3cret" not in err and "Traceback" not in err
