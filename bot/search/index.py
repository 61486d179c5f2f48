"""BM25 over passages: rank-bm25's statistics, a Lucene-style IDF, and postings
so a question only touches the passages that contain its terms."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
from rank_bm25 import BM25

from bot.knowledge.models import Passage
from bot.search.analysis import tokens, word_form
from bot.search.typos import Speller

# Chosen with `python -m bot eval` on the dev set: k1 1.2-2.0 with b 0.75 tie
# at hit@1 92.2%; b 0.5 or 0.4 lose two points (long paragraphs win too often).
K1 = 1.2
B = 0.75


def field_term(field: str) -> str:
    """The term only a metadata passage of this field holds ("@author"); no word analyses to it."""
    return f"@{field}"


class LuceneBM25(BM25):
    """rank-bm25's BM25 with Lucene's IDF, log(1 + (N - n + 0.5) / (n + 0.5)).

    BM25Okapi gives IDF 0 to a term in exactly half the passages and a floored
    epsilon to terms in more (rank-bm25 issues #39, #43): with one article as
    the whole corpus, "Russia" then scores nothing. Lucene's IDF stays positive
    and decreases smoothly with document frequency.
    """

    def __init__(self, corpus: Sequence[Sequence[str]], k1: float = K1, b: float = B):
        self.k1 = k1
        self.b = b
        super().__init__(corpus)

    def _calc_idf(self, nd: Mapping[str, int]) -> None:
        n = self.corpus_size
        for word, freq in nd.items():
            self.idf[word] = math.log(1 + (n - freq + 0.5) / (freq + 0.5))

    def get_scores(self, query: Sequence[str]) -> np.ndarray:
        """Scores of every passage, as rank-bm25 computes them (the reference ranking)."""
        score = np.zeros(self.corpus_size)
        doc_len = np.array(self.doc_len)
        for q in query:
            q_freq = np.array([(doc.get(q) or 0) for doc in self.doc_freqs])
            score += (self.idf.get(q) or 0) * (q_freq * (self.k1 + 1) /
                                               (q_freq + self.k1 * (1 - self.b + self.b * doc_len / self.avgdl)))
        return score

    def get_batch_scores(self, query: Sequence[str], doc_ids: Sequence[int]) -> list[float]:
        scores = self.get_scores(query)
        return [float(scores[i]) for i in doc_ids]


class SearchIndex:
    """Passages, their analysed terms, BM25 statistics, postings and the known vocabulary."""

    def __init__(self, passages: Sequence[Passage], k1: float = K1, b: float = B):
        self.passages = tuple(passages)
        if not self.passages:
            raise ValueError("cannot index zero passages")
        corpus: list[list[str]] = []
        surface: Counter[str] = Counter()
        for passage in self.passages:
            words = tokens(f"{passage.text} {passage.keywords}")
            terms = [t for w in words for t in w.terms]
            if passage.kind == "metadata":
                terms.append(field_term(passage.id.rsplit("#", 1)[1]))
            corpus.append(terms)
            forms = {word_form(w.surface) for w in words if w.terms}
            surface.update(forms | {part for f in forms if "-" in f for part in f.split("-") if part})
        self.bm25 = LuceneBM25(corpus, k1, b)
        self.k1, self.b = k1, b
        self.speller = Speller(surface.items())
        self.known_words = frozenset(surface)
        self._by_prefix: dict[str, list[str]] = {}
        for word in sorted(surface):
            if len(word) >= 4 and word.isalpha():
                self._by_prefix.setdefault(word[:4], []).append(word)
        doc_len = np.asarray(self.bm25.doc_len, dtype=np.float64)
        self._length_norm = k1 * (1 - b + b * doc_len / self.bm25.avgdl)
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for i, freqs in enumerate(self.bm25.doc_freqs):
            for term, tf in freqs.items():
                ids, tfs = postings.setdefault(term, ([], []))
                ids.append(i)
                tfs.append(tf)
        self._postings = {t: (np.asarray(ids, dtype=np.int64), np.asarray(tfs, dtype=np.float64))
                          for t, (ids, tfs) in postings.items()}
        self.max_idf = math.log(1 + (len(self.passages) + 0.5) / 0.5)

    def __len__(self) -> int:
        return len(self.passages)

    def knows(self, term: str) -> bool:
        return term in self._postings

    def words_with_prefix(self, prefix: str) -> list[str]:
        """Known words starting with a four-letter prefix."""
        return self._by_prefix.get(prefix, [])

    def idf(self, term: str) -> float:
        """IDF of a term; an unknown term counts as rarer than any known one."""
        return self.bm25.idf.get(term, self.max_idf)

    def passage_terms(self, index: int) -> Mapping[str, int]:
        return self.bm25.doc_freqs[index]

    def term_score(self, term: str, tf: float, length_norm: float) -> float:
        idf = self.bm25.idf.get(term, 0.0)
        return idf * tf * (self.k1 + 1) / (tf + length_norm)

    def search(self, weighted_terms: Mapping[str, float], k: int | None = None) -> list[tuple[int, float]]:
        """Passages with a positive score, best first: (position, score).

        Equal to rank-bm25's get_scores for the same terms (weights 1), but
        only the passages in the terms' postings are touched.
        """
        acc = None
        touched = []
        for term, weight in weighted_terms.items():
            posting = self._postings.get(term)
            if posting is None or weight <= 0:
                continue
            ids, tfs = posting
            contribution = weight * self.bm25.idf[term] * tfs * (self.k1 + 1) / (tfs + self._length_norm[ids])
            if acc is None:
                acc = np.zeros(len(self.passages))
            acc[ids] += contribution  # ids are unique within a posting
            touched.append(ids)
        if acc is None:
            return []
        candidates = np.unique(np.concatenate(touched))
        values = acc[candidates]
        if k is not None and k < len(candidates):
            top = np.argpartition(-values, k)[:k]
            candidates, values = candidates[top], values[top]
        order = np.lexsort((candidates, -values))
        scores = {int(candidates[i]): float(values[i]) for i in order}
        return list(scores.items())
