"""A per-user limit on questions: at most N in any window of S seconds."""

from __future__ import annotations

import math
from collections import deque
from datetime import datetime, timedelta


class QuestionCooldown:
    """Counts each user's recent questions (a sliding window, so a burst is never refused mid-way).

    Times come from the caller (``discord.utils.utcnow()``), so tests can move the clock.
    """

    MAX_TRACKED_USERS = 10_000

    def __init__(self, questions: int, seconds: float):
        self.questions = max(1, questions)
        self.window = timedelta(seconds=seconds)
        self._asked: dict[int, deque[datetime]] = {}

    def wait_time(self, user_id: int, now: datetime) -> float:
        """Seconds ``user_id`` must wait before asking; 0 means the question is allowed and counted."""
        if self.window <= timedelta(0):
            return 0.0
        asked = self._asked.setdefault(user_id, deque())
        while asked and asked[0] <= now - self.window:
            asked.popleft()
        if len(asked) >= self.questions:
            return (asked[0] + self.window - now).total_seconds()
        asked.append(now)
        if len(self._asked) > self.MAX_TRACKED_USERS:
            self._forget_idle(now)
        return 0.0

    def _forget_idle(self, now: datetime) -> None:
        for user_id in [u for u, asked in self._asked.items() if not asked or asked[-1] <= now - self.window]:
            del self._asked[user_id]

    def message(self, wait: float) -> str:
        """The polite refusal: the limit, and when to try again."""
        seconds = max(1, math.ceil(wait))
        limit = "one question" if self.questions == 1 else f"{self.questions} questions"
        return (f"One moment, please: you can ask {limit} every {self.window.total_seconds():g} seconds. "
                f"Try again in {seconds} second{'s' if seconds != 1 else ''}.")
