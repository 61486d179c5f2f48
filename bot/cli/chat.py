"""`python -m bot chat`: an interactive prompt that answers like the bot and logs questions like it.

Line editing and history come from readline where Python has it (history kept in STATE_DIR). The
questions are recorded in the bot's store, as direct messages from one user (the terminal), so
`stats` and `export` have something to show before the Discord bot ever runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

from bot.answers import Answer, Excerpt
from bot.engine import Engine
from bot.followups import MAX_EARLIER
from bot.render import terminal
from bot.settings import Settings
from bot.store import Store, StoreError, open_store

HISTORY_FILE = "chat_history"
HISTORY_LENGTH = 1000
T = TypeVar("T")
TERMINAL_USER = 0  # the user id chat's questions are logged under (hashed like every user id)

HELP = """Type a question (a follow-up such as "and Iran?" is read with the questions before it), or:
  more                 more excerpts for the last question
  full N               the whole paragraph of excerpt N
  recommendations [T]  the recommendations (about topic T)
  sources              the documents in the knowledge base
  help, quit"""
FULL_USAGE = "usage: full N, where N is the number of an excerpt shown above (e.g. full 1)"


@contextlib.contextmanager
def line_history(state_dir: Path) -> Iterator[None]:
    """Arrow keys, editing and history across sessions, where Python comes with readline."""
    try:
        import readline
    except ImportError:  # Windows without pyreadline: plain input() still works
        yield
        return
    path = state_dir / HISTORY_FILE
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(HISTORY_LENGTH)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(path)


class QuestionLog:
    """The store, open on an event loop of its own in a thread: a question is queued at once and written
    while the user reads the answer (so `stats` in another terminal sees it), never making chat wait."""

    def __init__(self, settings: Settings):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="chat-question-log", daemon=True)
        self.thread.start()
        try:
            self.store: Store = self._run(open_store(settings))
        except BaseException:
            self._stop()
            raise

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def record(self, answer: Answer, latency_ms: float) -> None:
        self.loop.call_soon_threadsafe(functools.partial(
            self.store.record_question, question=answer.question, answered=answer.answered,
            passage_ids=[e.passage.id for e in answer.excerpts], latency_ms=latency_ms, guild_id=None,
            channel_id=None, user_id=TERMINAL_USER))

    def close(self) -> None:
        """Write what is still queued (the store waits a bounded time and says what it could not save)."""
        try:
            self._run(self.store.close())
        finally:
            self._stop()

    def _stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


class Chat:
    """One session: the question being paged through, and every excerpt of it shown so far."""

    def __init__(self, engine: Engine, limit: int, color: bool, log: QuestionLog | None,
                 out: Callable[[str], None] = print):
        self.engine, self.limit, self.color, self.log, self.out = engine, limit, color, log, out
        self.last: Answer | None = None
        self.shown: dict[int, Excerpt] = {}
        self.earlier: list[str] = []  # the session's questions so far: a follow-up is read with them
        self.last_earlier: tuple[str, ...] = ()

    def handle(self, line: str) -> bool:
        """Answer one line; False when the user wants to leave."""
        word, _, rest = line.partition(" ")
        command, rest = word.lower().lstrip("/"), rest.strip()
        if command in ("quit", "exit", "q") and not rest:
            return False
        if command == "help" and not rest:
            self.out(HELP)
        elif command == "sources" and not rest:
            self.out(terminal.render_sources(self.engine.knowledge))
        elif command == "recommendations":
            self.out(terminal.render_recommendations(self.engine.recommendations(topic=rest or None),
                                                     width=terminal.terminal_width()))
        elif command == "more" and not rest:
            self.more()
        elif command == "full":
            self.full(rest)
        else:
            self.ask(line)
        return True

    def ask(self, question: str) -> None:
        started = time.perf_counter()
        earlier = tuple(self.earlier[-MAX_EARLIER:])
        answer = self.engine.ask(question, limit=self.limit, earlier=earlier)
        self.earlier.append(question)
        self.last_earlier = earlier
        if self.log is not None:
            self.log.record(answer, (time.perf_counter() - started) * 1000)
        self.last, self.shown = answer, {}
        self.show(answer)

    def more(self) -> None:
        if self.last is None or not self.last.has_more:
            self.out("No more excerpts.")
            return
        self.last = self.engine.ask(self.last.question, limit=self.limit,
                                    offset=self.last.offset + len(self.last.excerpts), earlier=self.last_earlier)
        self.show(self.last)

    def show(self, answer: Answer) -> None:
        self.shown.update((e.citation.number, e) for e in answer.excerpts)
        self.out(terminal.render_answer(answer, color=self.color, width=terminal.terminal_width()))

    def full(self, number: str) -> None:
        if not number.isdigit():
            self.out(FULL_USAGE)
            return
        excerpt = self.shown.get(int(number))
        if excerpt is None:
            shown = f"excerpts shown: {min(self.shown)}-{max(self.shown)}" if self.shown else "ask a question first"
            self.out(f"No excerpt {number} ({shown}).")
            return
        width = terminal.terminal_width()
        self.out(terminal.wrap(excerpt.passage.text, "", width))
        self.out(terminal.wrap(excerpt.citation.text, "    ", width))


def run_chat(engine: Engine, settings: Settings, *, limit: int, color: bool, record: bool) -> int:
    """The prompt loop, until quit, end of input or Ctrl-C."""
    log = None
    if record:
        try:
            log = QuestionLog(settings)
        except StoreError as exc:  # a damaged or unreachable database: chat still answers
            print(f"warning: questions are not logged: {exc}", file=sys.stderr)
    try:
        kb = engine.knowledge
        print(f"Knowledge base: {len(kb.documents)} document(s), {len(kb.passages)} passages; ranking: {engine.mode}."
              " Ask a question ('help' for commands, 'quit' to leave).")
        if log is not None:
            print(f"Questions are logged in {log.store.where} for stats and export (--no-record: not logged).")
        chat = Chat(engine, limit, color, log)
        with line_history(settings.state_dir):
            while True:
                try:
                    line = input("you> ").strip()
                except (EOFError, KeyboardInterrupt):
                    print()
                    return 0
                if line and not chat.handle(line):
                    return 0
    finally:
        if log is not None:
            log.close()
        sys.stdout.flush()
