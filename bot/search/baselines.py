"""Other BM25 engines over exactly our terms, for the bench's comparison table.

Each gets the terms our analysis makes of every passage and of every question, so the table
compares engines, not tokenisers: rank-bm25 (the reference our scores are checked against, with
the same Lucene IDF), bm25s (its "lucene" method: the same formula, in float32, without the
constant factor k1 + 1) and tantivy (Rust; Lucene's formula with passage lengths stored in one
byte, so scores differ slightly and near-ties can swap), when installed.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

import numpy as np

from bot.search.index import K1, B, LuceneBM25


class RankBM25:
    name = "rank-bm25 (reference)"

    def __init__(self, corpus: Sequence[Sequence[str]]):
        self._bm25 = LuceneBM25(corpus)

    def search(self, terms: Sequence[str], k: int) -> list[tuple[int, float]]:
        scores = self._bm25.get_scores(terms)
        top = np.argsort(-scores, kind="stable")[:k]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]


class Bm25s:
    name = "bm25s (lucene)"

    def __init__(self, corpus: Sequence[Sequence[str]]):
        import bm25s

        self._vocabulary: dict[str, int] = {}
        ids = [[self._vocabulary.setdefault(t, len(self._vocabulary)) for t in terms] for terms in corpus]
        self._bm25 = bm25s.BM25(method="lucene", k1=K1, b=B)
        self._bm25.index(bm25s.tokenization.Tokenized(ids=ids, vocab=self._vocabulary), show_progress=False)

    def search(self, terms: Sequence[str], k: int) -> list[tuple[int, float]]:
        ids = [self._vocabulary[t] for t in terms if t in self._vocabulary]
        if not ids:
            return []
        scores = self._bm25.get_scores(ids) * (K1 + 1)  # bm25s leaves out Lucene's constant (k1 + 1)
        top = np.argsort(-scores, kind="stable")[:k]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]


class Tantivy:
    name = "tantivy"

    def __init__(self, corpus: Sequence[Sequence[str]], path: str | None = None):
        import tantivy

        self._tantivy = tantivy
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("body", tokenizer_name="whitespace", index_option="freq")
        builder.add_integer_field("position", fast=True)
        self._schema = builder.build()
        self._index = tantivy.Index(self._schema, path=path)
        writer = self._index.writer(heap_size=256_000_000, num_threads=1)
        for position, terms in enumerate(corpus):
            writer.add_document(tantivy.Document(body=" ".join(terms), position=position))
        writer.commit()
        writer.wait_merging_threads()
        self._index.reload()
        self._searcher = self._index.searcher()

    def search(self, terms: Sequence[str], k: int) -> list[tuple[int, float]]:
        tantivy = self._tantivy
        query = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(self._schema, "body", t)) for t in terms])
        hits = self._searcher.search(query, k).hits
        positions = self._searcher.fast_field_values("position", [address for _, address in hits])
        return [(int(p), float(score)) for (score, _), p in zip(hits, positions, strict=True)]


def available_baselines() -> list[type]:
    """The engines importable here (tantivy is optional)."""
    engines: list[type] = [RankBM25]
    if importlib.util.find_spec("bm25s") is not None:
        engines.append(Bm25s)
    if importlib.util.find_spec("tantivy") is not None:
        engines.append(Tantivy)
    return engines
