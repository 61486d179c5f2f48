"""`python -m bot stats` and `python -m bot export`, against a database the store wrote (SQLite, and PostgreSQL
through DATABASE_URL)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.store import DOWN, SQLiteStore, UserHasher
from bot.store.base import utcnow
from tests.conftest import BUNDLED
from tests.store.conftest import postgres_only

RAW_USER = 123456789012345678


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A database with questions in two servers and DMs, found through DATABASE_PATH."""
    path = tmp_path / "db" / "bot.sqlite3"
    monkeypatch.setenv("DATABASE_PATH", str(path))

    async def fill() -> None:
        async with SQLiteStore(path, hasher=UserHasher(b"salt")) as store:
            now = utcnow()
            common = {"latency_ms": 10, "channel_id": 5, "user_id": RAW_USER}
            syria = store.record_question(question="What did Russia do in Syria?", answered=True,
                                          passage_ids=["putin#p4"], guild_id=1, at=now - timedelta(days=1), **common)
            store.record_question(question="What about China?", answered=False, passage_ids=[], guild_id=1,
                                  at=now - timedelta(days=2), **common)
            store.record_question(question="what about china", answered=False, passage_ids=[], guild_id=1,
                                  at=now - timedelta(days=50), **common)
            store.record_question(question="Who is Kramer?", answered=True, passage_ids=["putin#author"],
                                  guild_id=2, **common)
            store.record_question(question="hi?", answered=False, passage_ids=[], guild_id=None, **common)
            store.record_feedback(syria, RAW_USER, DOWN)

    asyncio.run(fill())
    return path


def test_stats_in_the_terminal(database, capsys):
    assert main(["stats", "--guild", "1"]) == 0
    out = capsys.readouterr().out
    assert "Last 30 day(s), server 1: 2 question(s), 1 answered (50%)." in out
    assert "Unanswered questions (most asked first):\n    1x  What about China?" in out
    assert "Feedback: 0 up, 1 down (0% up)." in out
    assert "    1 down   0 up  putin#p4" in out

    assert main(["stats", "--days", "60", "--guild", "1"]) == 0
    assert "    2x  What about China?" in capsys.readouterr().out
    assert main(["stats", "--guild", "dm"]) == 0
    assert capsys.readouterr().out.startswith("Last 30 day(s), direct messages: 1 question(s), 0 answered (0%).")
    assert main(["stats", "--guild", "999"]) == 0
    assert capsys.readouterr().out.strip() == "Last 30 day(s), server 999: no questions."


def test_stats_json(database, capsys):
    assert main(["stats", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["scope"], data["questions"], data["answered"]) == ("everywhere", 4, 2)
    assert data["voted_down"] == [{"passage": "putin#p4", "document": "putin", "down": 1, "up": 0}]


def test_export_csv_to_a_file(database, tmp_path, capsys):
    output = tmp_path / "log.csv"
    assert main(["export", "--format", "csv", "--output", str(output), "--guild", "1"]) == 0
    assert capsys.readouterr().out.strip() == f"Wrote 3 question(s) to {output}"
    rows = list(csv.DictReader(io.StringIO(output.read_text(encoding="utf-8"))))
    assert [r["question"] for r in rows] == ["what about china", "What about China?", "What did Russia do in Syria?"]
    assert rows[2]["votes_down"] == "1" and rows[2]["passage_ids"] == "putin#p4"
    assert str(RAW_USER) not in output.read_text(encoding="utf-8")


def test_export_json_to_standard_output(database, capsys):
    assert main(["export", "--format", "json", "--days", "30"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 4
    assert {row["guild_id"] for row in rows} == {"1", "2", None}


def test_export_to_a_folder_that_does_not_exist_is_one_line(database, tmp_path, capsys):
    assert main(["export", "--format", "csv", "--output", str(tmp_path / "nowhere" / "log.csv")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: cannot write {tmp_path / 'nowhere' / 'log.csv'}: No such file or directory")


def test_stats_without_a_database_is_one_line_and_creates_nothing(tmp_path, monkeypatch, capsys):
    path = tmp_path / "none" / "bot.sqlite3"
    monkeypatch.setenv("DATABASE_PATH", str(path))
    assert main(["stats"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"error: {path}: no database here (the bot creates it when it first runs; is DATABASE_PATH right?)")
    assert not path.parent.exists()


def test_bad_guild_is_a_usage_error(database, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["stats", "--guild", "general"])
    assert exit_.value.code == 2
    assert "must be a server id or dm" in capsys.readouterr().err


def run(*args: str, database: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, timeout=60,
                          cwd=BUNDLED.parent, env={"PATH": "", "PYTHONPATH": str(BUNDLED.parent),
                                                   "DATABASE_PATH": str(database), "SEMANTIC": "off"})


def test_corrupt_database_is_one_line_without_traceback_and_left_untouched(tmp_path):
    path = tmp_path / "bot.sqlite3"
    garbage = b"definitely not sqlite\n" * 100
    path.write_bytes(garbage)
    for command in (["stats"], ["export", "--format", "json"]):
        result = run(*command, database=path)
        assert result.returncode == 1
        assert result.stderr.strip() == (f"error: {path}: not a SQLite database (the file was left untouched: move it "
                                         "away or set DATABASE_PATH to another file)")
        assert result.stdout == ""
    assert path.read_bytes() == garbage


def test_stats_reads_while_the_bot_holds_the_write_lock(database):
    """The terminal only reads: WAL lets it run beside a bot in the middle of a write."""
    bot = sqlite3.connect(database, isolation_level=None)
    try:
        bot.execute("BEGIN IMMEDIATE")
        bot.execute("DELETE FROM questions")  # not committed: the terminal still sees every question
        result = run("stats", "--json", database=database)
    finally:
        bot.execute("ROLLBACK")
        bot.close()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["questions"] == 4


@postgres_only
async def test_stats_and_export_from_postgresql(open_store, db, monkeypatch, capsys):
    """DATABASE_URL points the terminal at PostgreSQL; it reads in read-only sessions."""
    store = await open_store()
    store.record_question(question="What about China?", answered=False, passage_ids=[], guild_id=1, channel_id=5,
                          user_id=RAW_USER, latency_ms=3)
    store.record_question(question="Who is Kramer?", answered=True, passage_ids=["putin#author"], guild_id=2,
                          channel_id=5, user_id=RAW_USER, latency_ms=3)
    await store.flush()
    monkeypatch.setenv("DATABASE_URL", db.target)
    monkeypatch.setenv("DATABASE_PATH", "/nonexistent/never-used.sqlite3")

    assert await asyncio.to_thread(main, ["stats", "--json", "--days", "36500"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["scope"], data["questions"], data["answered"]) == ("everywhere", 2, 1)
    assert await asyncio.to_thread(main, ["export", "--format", "csv", "--guild", "1", "--days", "36500"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [row["question"] for row in rows] == ["What about China?"]


async def test_stats_from_a_postgresql_server_that_is_not_there_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"postgresql://bot:s3cret@/kb?host={tmp_path}")
    assert await asyncio.to_thread(main, ["stats"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: postgresql://bot@/kb?host={tmp_path}: the server cannot be reached")
    assert "s3cret" not in err and "Traceback" not in err
