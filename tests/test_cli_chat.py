"""`python -m bot chat` as a user types into it: paging, full paragraphs, history, wrapping, and its question log."""

from __future__ import annotations

import csv
import fcntl
import importlib.util
import io
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from bot.cli.chat import HISTORY_FILE
from bot.engine import Engine
from bot.render.terminal import highlight
from tests.conftest import BUNDLED
from tests.test_cli import command

SYRIA = "What did Russia do in Syria?"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
GUARD = 60  # seconds: only against a hung test, never a way to wait for something


def test_full_works_after_more_and_is_a_command_with_a_usage(tmp_path):
    result = command(tmp_path, "chat", "-n", "2", "--no-record",
                     stdin=f"{SYRIA}\nmore\nfull 1\nfull 3\nfull\nfull x\nfull 9\nquit\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[1] “" in out and "[3] “" in out and "[4] “" in out
    first = Engine.from_directory(BUNDLED).ask(SYRIA, limit=2).excerpts[0].passage.text
    assert first.split()[:12] == out.split("you> ")[3].split()[:12]  # full 1, though `more` showed 3 and 4
    usage = "usage: full N, where N is the number of an excerpt shown above (e.g. full 1)"
    assert out.count(usage) == 2 and "Q: full" not in out
    assert "No excerpt 9 (excerpts shown: 1-4)." in out


def test_questions_asked_in_chat_are_in_stats_and_export(tmp_path):
    state = tmp_path / "state"
    chat = command(state, "chat", stdin=f"{SYRIA}\nmore\nhow do I bake sourdough bread\nquit\n")
    assert chat.returncode == 0, chat.stderr
    assert f"Questions are logged in {state / 'bot.sqlite3'} for stats and export" in chat.stdout
    stats = command(state, "stats")
    assert stats.returncode == 0, stats.stderr
    assert stats.stdout.startswith("Last 30 day(s), all servers and direct messages: 2 question(s), 1 answered (50%).")
    assert "how do I bake sourdough bread" in stats.stdout
    export = command(state, "export", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(export.stdout)))
    assert sorted((r["question"], r["answered"], r["guild_id"]) for r in rows) == [
        (SYRIA, "true", ""), ("how do I bake sourdough bread", "false", "")]  # logged like direct messages


def test_no_record_logs_nothing(tmp_path):
    state = tmp_path / "state"
    chat = command(state, "chat", "--no-record", stdin=f"{SYRIA}\nquit\n")
    assert chat.returncode == 0 and "logged" not in chat.stdout
    assert not (state / "bot.sqlite3").exists()
    assert command(state, "stats").returncode == 1  # no database: nothing was ever recorded


class Terminal:
    """`python -m bot chat` in a pseudo-terminal of ``columns`` columns, so readline and colours are on."""

    def __init__(self, state: Path, columns: int):
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        env = {"PATH": "", "PYTHONPATH": str(BUNDLED.parent), "SEMANTIC": "off", "STATE_DIR": str(state),
               "TERM": "xterm", "COLUMNS": str(columns)}
        self.process = subprocess.Popen([sys.executable, "-m", "bot", "chat", "--no-record"], cwd=BUNDLED.parent,
                                        stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        self.output = ""

    def read_until(self, text: str) -> str:
        """Everything the terminal showed until ``text`` appears (after what was read before)."""
        start, deadline = len(self.output), time.monotonic() + GUARD
        while text not in self.output[start:]:
            assert time.monotonic() < deadline, f"{text!r} never appeared in {self.output[start:]!r}"
            ready, _, _ = select.select([self.master], [], [], 1)
            if ready:
                try:
                    self.output += os.read(self.master, 65536).decode("utf-8", "replace")
                except OSError:  # the program ended
                    break
        return self.output[start:]

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> int:
        code = self.process.wait(GUARD)
        os.close(self.master)
        return code


def answer_lines(shown: str) -> list[str]:
    """The lines of an answer as shown, control sequences kept, line ends and prompt left out."""
    return [line for line in shown.replace("\r", "").split("\n") if line and "you> " not in line]


@pytest.fixture
def terminal(tmp_path):
    sessions = []

    def start(columns: int = 80) -> Terminal:
        sessions.append(Terminal(tmp_path / "state", columns))
        sessions[-1].read_until("you> ")
        return sessions[-1]

    yield start
    for session in sessions:
        if session.process.poll() is None:
            session.process.kill()
            session.process.wait(GUARD)


def test_history_is_kept_in_the_state_dir_and_the_up_arrow_asks_again(terminal, tmp_path):
    first = terminal()
    first.type(f"{SYRIA}\r")
    assert "intervened militarily" in ANSI.sub("", first.read_until("you> "))
    first.type("quit\r")
    assert first.close() == 0
    history = tmp_path / "state" / HISTORY_FILE
    if importlib.util.find_spec("readline") is None:  # a Python without readline: plain input, no history
        assert not history.exists()
        return
    assert history.read_text(encoding="utf-8").splitlines()[-2:] == [SYRIA, "quit"]
    second = terminal()
    second.type("\x1b[A\x1b[A\r")  # up twice: past "quit" to the question
    assert f"Q: {SYRIA}" in ANSI.sub("", second.read_until("you> "))
    second.type("\x04")  # Ctrl-D leaves
    assert second.close() == 0


def test_wrapping_fits_the_terminal_without_counting_colours_or_splitting_words(terminal):
    session = terminal(columns=50)
    session.type(f"{SYRIA}\r")
    lines = answer_lines(session.read_until("you> "))
    visible = [ANSI.sub("", line) for line in lines]
    assert any("\x1b[1m" in line for line in lines)  # bold highlights: colours are on in a terminal
    assert all(len(line) <= 49 or len(line.split()) == 1 for line in visible), visible  # a long URL stays whole
    assert any(len(line) > 49 for line in lines)  # a line that fits only because colour codes take no room
    excerpt = Engine.from_directory(BUNDLED).ask(SYRIA).excerpts[0]
    start = next(i for i, line in enumerate(visible) if line.startswith("[1] "))
    end = next(i for i, line in enumerate(visible) if i > start and line.startswith("    "))  # the citation
    quote = highlight(excerpt, color=False).replace("**", "")
    assert " ".join(visible[start:end]).split() == f"[1] “{quote}”".split()  # every word whole, in order
    session.type("quit\r")
    assert session.close() == 0



def test_a_damaged_database_is_one_warning_and_chat_still_answers(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "bot.sqlite3").write_bytes(b"not a database, " * 100)
    chat = command(state, "chat", stdin=f"{SYRIA}\nquit\n")
    assert chat.returncode == 0 and "intervened militarily" in " ".join(chat.stdout.split())
    assert chat.stderr.startswith("warning: questions are not logged: ") and chat.stderr.count("\n") == 1
    assert (state / "bot.sqlite3").read_bytes() == b"not a database, " * 100  # never written to
