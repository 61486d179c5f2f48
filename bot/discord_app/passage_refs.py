"""The short references "Full paragraph" buttons carry, and the passages they stand for.

A passage id has no bound on its length while a custom id must fit in 100 characters, so a
button carries a short hash of the id; finding the passage again needs a map from hash to id,
built once for each knowledge base served.
"""

from __future__ import annotations

import hashlib

from bot.engine import Engine
from bot.knowledge.models import Document, KnowledgeBase, Passage


def passage_ref(passage_id: str) -> str:
    return hashlib.sha256(passage_id.encode()).hexdigest()[:12]


class PassageRefs:
    """Resolves a ref in what a server is answered from; one map per server (None: the shared base),
    rebuilt when that server's knowledge base changes."""

    def __init__(self) -> None:
        self._maps: dict[int | None, tuple[KnowledgeBase, dict[str, str]]] = {}

    def find(self, engine: Engine, ref: str, key: int | None) -> tuple[Document, Passage] | None:
        """The document and passage ``ref`` stands for in ``engine`` (CPU work the first time: call it off
        the event loop); ``key`` is the server the engine is for, None for the shared one."""
        kb = engine.knowledge
        known = self._maps.get(key)
        if known is None or known[0] is not kb:
            known = self._maps[key] = (kb, {passage_ref(p.id): p.id for p in kb.passages})
        passage_id = known[1].get(ref)
        return engine.passage(passage_id) if passage_id else None
