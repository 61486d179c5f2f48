"""`python -m bot run` and `sync`: what stops the bot is one line and an exit code; the token never shows."""

from __future__ import annotations

import http.server
import logging
import socket
import sqlite3
import threading
from collections.abc import Iterator
from typing import ClassVar

import discord
import pytest

from bot.cli import main

TOKEN = "MTQ1.very-secret.token-value"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """`run` sets up logging on the root logger, as the program does; undo it after each test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def run_env(knowledge_dir, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KNOWLEDGE_DIR", str(knowledge_dir))
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")  # the most talkative logs must not show the token either
    monkeypatch.delenv("DISCORD_GUILD_ID", raising=False)
    monkeypatch.delenv("ASK_CHANNEL_IDS", raising=False)
    monkeypatch.delenv("MESSAGE_CONTENT", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr("bot.cli.load_dotenv", lambda **kwargs: False)  # a developer's .env stays out of tests


class RejectEveryToken(http.server.BaseHTTPRequestHandler):
    """Discord's answer to a wrong token: 401 on GET /users/@me."""

    seen_authorization: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        RejectEveryToken.seen_authorization.append(self.headers.get("Authorization", ""))
        body = b'{"message": "401: Unauthorized", "code": 0}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def fake_discord(monkeypatch) -> Iterator[str]:
    """A local stand-in for discord.com that rejects every token."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RejectEveryToken)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{server.server_port}/api/v10")
    yield
    server.shutdown()
    server.server_close()


def error_line(capsys) -> str:
    captured = capsys.readouterr()
    assert TOKEN not in captured.out + captured.err
    assert "Traceback" not in captured.err
    [line] = [line for line in captured.err.splitlines() if line.startswith("error:")]
    return line


@pytest.mark.parametrize("command", ["run", "sync"])
def test_a_missing_token_is_one_line(command, run_env, monkeypatch, capsys):
    monkeypatch.delenv("DISCORD_TOKEN")
    assert main([command]) == 2
    assert capsys.readouterr().err == ("error: DISCORD_TOKEN is not set: put the bot's token in .env or the "
                                       "environment (README.md: Discord set-up)\n")


@pytest.mark.parametrize("command", ["run", "sync"])
def test_a_rejected_token_is_one_line_and_never_shown(command, run_env, fake_discord, capsys):
    assert main([command]) == 2
    assert error_line(capsys) == ("error: Discord rejected DISCORD_TOKEN (wrong or reset token): copy the bot's "
                                  "token from the Developer Portal (Bot → Reset Token) into .env")
    assert RejectEveryToken.seen_authorization[-1] == f"Bot {TOKEN}"  # it was sent, and only there


@pytest.mark.parametrize("command", ["run", "sync"])
def test_no_route_to_discord_is_one_line(command, run_env, monkeypatch, capsys):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{port}/api/v10")
    assert main([command]) == 3
    line = error_line(capsys)
    assert line.startswith("error: cannot reach Discord (Cannot connect to host 127.0.0.1:")
    assert line.endswith("check the network connection and try again")


def test_a_broken_knowledge_directory_is_one_line(run_env, tmp_path, monkeypatch, capsys):
    async def login_without_discord(self, token: str) -> None:
        await self.setup_hook()  # where the knowledge is loaded, as after a real login

    monkeypatch.setenv("KNOWLEDGE_DIR", str(tmp_path / "missing"))
    monkeypatch.setattr(discord.Client, "login", login_without_discord)
    assert main(["run"]) == 1
    assert error_line(capsys) == f"error: {tmp_path / 'missing'}: knowledge directory not found"


def test_a_missing_privileged_intent_is_explained(run_env, monkeypatch, capsys):
    monkeypatch.setenv("ASK_CHANNEL_IDS", "123456789012345678")

    async def refused(self, token, *, reconnect=True):
        raise discord.PrivilegedIntentsRequired(None)

    monkeypatch.setattr(discord.Client, "start", refused)
    assert main(["run"]) == 2
    assert error_line(capsys) == ("error: ASK_CHANNEL_IDS needs the Message Content intent: enable it in the "
                                  "Developer Portal (Bot → Privileged Gateway Intents) or leave ASK_CHANNEL_IDS empty")


def test_message_content_on_without_the_portal_switch_is_explained(run_env, monkeypatch, capsys):
    monkeypatch.setenv("MESSAGE_CONTENT", "on")

    async def refused(self, token, *, reconnect=True):
        raise discord.PrivilegedIntentsRequired(None)

    monkeypatch.setattr(discord.Client, "start", refused)
    assert main(["run"]) == 2
    assert error_line(capsys) == ("error: MESSAGE_CONTENT=on needs the Message Content intent: enable it in the "
                                  "Developer Portal (Bot → Privileged Gateway Intents) or set MESSAGE_CONTENT=auto")


def test_the_token_is_redacted_from_any_log_line(run_env):
    from bot.discord_app.runner import RedactSecret

    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "token is %s", (TOKEN,), None)
    assert RedactSecret(TOKEN).filter(record) and record.getMessage() == "token is [token]"


@pytest.fixture
def login_without_discord(monkeypatch):
    async def login(self, token: str) -> None:
        await self.setup_hook()  # where the store is opened and the knowledge loaded, as after a real login

    monkeypatch.setattr(discord.Client, "login", login)


def test_a_file_that_is_not_a_database_is_one_line_and_left_untouched(run_env, tmp_path, monkeypatch, capsys,
                                                                       login_without_discord):
    path = tmp_path / "data" / "bot.sqlite3"
    path.parent.mkdir()
    garbage = b"these are not the bytes of a database\n" * 100
    path.write_bytes(garbage)
    monkeypatch.setenv("DATABASE_PATH", str(path))

    assert main(["run"]) == 1
    assert error_line(capsys) == (f"error: the database {path} cannot be used: not a SQLite database (the file was "
                                  "left untouched: move it away or set DATABASE_PATH to another file)")
    assert path.read_bytes() == garbage
    assert [p.name for p in path.parent.iterdir()] == ["bot.sqlite3"]


def test_a_damaged_database_is_one_line_saying_what_to_do_and_left_untouched(run_env, tmp_path, monkeypatch, capsys,
                                                                             login_without_discord):
    path = tmp_path / "data" / "bot.sqlite3"
    path.parent.mkdir()
    with sqlite3.connect(path) as db:  # a real database, then a page of it overwritten
        db.execute("CREATE TABLE questions (id TEXT PRIMARY KEY, question TEXT)")
        db.executemany("INSERT INTO questions VALUES (?, ?)", [(str(n), "why? " * 50) for n in range(200)])
    db.close()
    damaged = bytearray(path.read_bytes())
    damaged[4096:8192] = b"\xff" * 4096
    path.write_bytes(bytes(damaged))
    mtime = path.stat().st_mtime_ns
    monkeypatch.setenv("DATABASE_PATH", str(path))

    assert main(["run"]) == 1
    line = error_line(capsys)
    assert line.startswith(f"error: the database {path} cannot be used: the database is damaged (")
    assert line.endswith(f"Move the file aside (e.g. mv {path} {path}.damaged) or set DATABASE_PATH to another "
                         "file, then start again: the bot begins a new memory there")
    assert path.read_bytes() == bytes(damaged) and path.stat().st_mtime_ns == mtime
    assert [p.name for p in path.parent.iterdir()] == ["bot.sqlite3"]


def test_a_locked_database_does_not_stop_the_start(run_env, tmp_path, monkeypatch, capsys, login_without_discord):
    path = tmp_path / "data" / "bot.sqlite3"
    monkeypatch.setenv("DATABASE_PATH", str(path))
    monkeypatch.setenv("KNOWLEDGE_DIR", str(tmp_path / "missing"))  # stops the start right after the store opened
    path.parent.mkdir()
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        assert main(["run"]) == 1
    finally:
        holder.close()
    assert error_line(capsys) == f"error: {tmp_path / 'missing'}: knowledge directory not found"  # not the database
