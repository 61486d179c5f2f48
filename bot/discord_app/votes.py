"""👍 / 👎 on answers: one vote per person per answer, remembered by this process and kept in the store."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence

from bot.discord_app.store_reads import bounded_read
from bot.store import Store, StoreError

log = logging.getLogger(__name__)

MAX_REMEMBERED_VOTES = 10_000


class Votes:
    """The votes seen by this process, and those the store (``store()``, once open) has from before."""

    def __init__(self, store: Callable[[], Store | None]):
        self._store = store
        self._seen: OrderedDict[tuple[str, int], int] = OrderedDict()  # (answer, user) -> vote

    async def asked_elsewhere(self, question_id: str, guild_id: int | None) -> bool:
        """Whether the logged question was asked in another server (or in DMs) than ``guild_id``: its
        buttons are not for this one. False when the store cannot say."""
        store = self._store()
        if store is None:
            return False
        try:
            record = await bounded_read(store.question(question_id))
        except (StoreError, TimeoutError) as exc:
            log.info("Cannot tell where %s was asked: %s", question_id, exc)
            return False
        return record is not None and record.guild_id != guild_id

    async def record(self, question_id: str, user_id: int, vote: int) -> int | None:
        """Record a 👍 (+1) or 👎 (-1), replacing the person's earlier vote; returns that earlier vote."""
        store = self._store()
        key = (question_id, user_id)
        previous = self._seen.get(key)
        if previous is None and store is not None:
            previous = await self._stored(store, question_id, user_id)
        if store is not None:
            store.record_feedback(question_id, user_id, vote)
        self._seen[key] = vote
        self._seen.move_to_end(key)
        while len(self._seen) > MAX_REMEMBERED_VOTES:
            self._seen.popitem(last=False)
        return previous

    async def _stored(self, store: Store, question_id: str, user_id: int) -> int | None:
        """A vote saved before this process started (or before it remembered it), if the store can say."""
        try:
            votes: Sequence = await bounded_read(store.votes(question_id))
        except (StoreError, TimeoutError) as exc:
            log.info("Cannot tell whether %s voted on %s before: %s", user_id, question_id, exc)
            return None
        voter = store.hash_user(user_id)
        return next((v.vote for v in votes if v.voter_hash == voter), None)
