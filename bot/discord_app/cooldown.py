"""A per-asker limit on questions: at most N in any window of S seconds (S may differ per server)."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Hashable
from datetime import datetime, timedelta


class QuestionCooldown:
    """Counts each asker's recent questions (a sliding window, so a burst is never refused mid-way).

    An asker is any key: the bot uses (server id, user id), so each server's cooldown (``/kb
    settings``) counts the questions asked there. Times come from the caller
    (``discord.utils.utcnow()``), so tests can move the clock.
    """

    MAX_TRACKED_ASKERS = 10_000

    def __init__(self, questions: int, seconds: float):
        self.questions = max(1, questions)
        self.seconds = seconds  # the window when the caller gives none
        self._asked: dict[Hashable, deque[datetime]] = {}
        self._longest = timedelta(seconds=max(0.0, seconds))

    def wait_time(self, asker: Hashable, now: datetime, seconds: float | None = None) -> float:
        """Seconds ``asker`` must wait before asking; 0 means the question is allowed and counted."""
        window = timedelta(seconds=self.seconds if seconds is None else seconds)
        if window <= timedelta(0):
            return 0.0
        self._longest = max(self._longest, window)
        asked = self._asked.setdefault(asker, deque())
        while asked and asked[0] <= now - window:
            asked.popleft()
        if len(asked) >= self.questions:
            return (asked[0] + window - now).total_seconds()
        asked.append(now)
        if len(self._asked) > self.MAX_TRACKED_ASKERS:
            self._forget_idle(now)
        return 0.0

    def _forget_idle(self, now: datetime) -> None:
        for asker in [a for a, asked in self._asked.items() if not asked or asked[-1] <= now - self._longest]:
            del self._asked[asker]

    def message(self, wait: float, seconds: float | None = None) -> str:
        """The polite refusal: the limit, and when to try again."""
        window = self.seconds if seconds is None else seconds
        wait_seconds = max(1, math.ceil(wait))
        limit = "one question" if self.questions == 1 else f"{self.questions} questions"
        return (f"One moment, please: you can ask {limit} every {window:g} seconds. "
                f"Try again in {wait_seconds} second{'s' if wait_seconds != 1 else ''}.")
