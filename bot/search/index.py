"""BM25 over passages: rank-bm25's statistics with a Lucene-style IDF, stored as compact
postings so a question only touches the passages that contain its terms."""

from __future__ import annotations

import math
from array import array
from collections.abc import Mapping, Sequence
from functools import cached_property

import numpy as np
from rank_bm25 import BM25

from bot.knowledge.models import Passage
from bot.search.analysis import index_words, word_form, word_terms
from bot.search.typos import Speller

# Chosen with `python -m bot eval` on the dev set: k1 1.2-2.0 with b 0.75 tie
# at hit@1 92.2%; b 0.5 or 0.4 lose two points (long paragraphs win too often).
K1 = 1.2
B = 0.75


def lucene_idf(corpus_size: int, document_frequency: int) -> float:
    return math.log(1 + (corpus_size - document_frequency + 0.5) / (document_frequency + 0.5))


class LuceneBM25(BM25):
    """rank-bm25's BM25 with Lucene's IDF, log(1 + (N - n + 0.5) / (n + 0.5)).

    BM25Okapi gives IDF 0 to a term in exactly half the passages and a floored
    epsilon to terms in more (rank-bm25 issues #39, #43): with one article as
    the whole corpus, "Russia" then scores nothing. Lucene's IDF stays positive
    and decreases smoothly with document frequency. This class is also the
    reference the fast index is checked and benchmarked against.
    """

    def __init__(self, corpus: Sequence[Sequence[str]], k1: float = K1, b: float = B):
        self.k1 = k1
        self.b = b
        super().__init__(corpus)

    def _calc_idf(self, nd: Mapping[str, int]) -> None:
        for word, freq in nd.items():
            self.idf[word] = lucene_idf(self.corpus_size, freq)

    def get_scores(self, query: Sequence[str]) -> np.ndarray:
        """Scores of every passage, as rank-bm25 computes them (the naive reference)."""
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


class _CorpusStatistics(LuceneBM25):
    """rank-bm25's corpus statistics (size, average length, IDF) from counts we already have,
    without its per-passage dictionaries (a gigabyte at 100,000 passages)."""

    def __init__(self, doc_len: Sequence[int], document_frequency: Mapping[str, int], k1: float, b: float):
        self._counts = (doc_len, document_frequency)
        super().__init__([], k1, b)

    def _initialize(self, corpus: Sequence[Sequence[str]]) -> dict[str, int]:
        doc_len, document_frequency = self._counts
        self.doc_len = list(doc_len)
        self.corpus_size = len(self.doc_len)
        self.avgdl = sum(self.doc_len) / max(self.corpus_size, 1)
        return dict(document_frequency)


def passage_terms(passage: Passage) -> list[str]:
    """The terms a passage is indexed under, in order: its words, then its hidden keywords (its
    section's headings).

    SearchIndex computes the same in bulk; this is the readable definition (and the reference's input).
    """
    return [t for word in index_words(f"{passage.text} {passage.keywords}") for t in word_terms(word)]


def _unique_counts(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique values and their counts (NumPy 2's hash-based np.unique is 10x slower here)."""
    if not len(keys):
        return keys, keys
    keys = np.sort(keys)
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    return keys[starts], np.diff(np.append(starts, len(keys)))


_CHUNK = 10_000  # passages per NumPy batch: bounds the temporary arrays of a large build


class _PostingsBuilder:
    """Turns passages into (passage, term, frequency) triples a batch at a time.

    One pass of Python over the words of each passage (word ids); the rest is
    NumPy, so 100,000 passages index in seconds within a few hundred MB.
    """

    def __init__(self) -> None:
        self.word_ids: dict[str, int] = {}
        self.words: list[str] = []
        self.term_ids: dict[str, int] = {}
        self.terms: list[str] = []
        self._word_terms: list[int] = []  # term ids of every word, concatenated
        self._word_term_count: list[int] = []
        self.word_passages = np.zeros(0, dtype=np.int64)  # passages holding each word
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._lengths: list[np.ndarray] = []

    def _new_word(self, word: str) -> int:
        terms = word_terms(word)
        self._word_terms.extend(self.term_ids.setdefault(t, len(self.term_ids)) for t in terms)
        self._word_term_count.append(len(terms))
        self.words.append(word)
        return len(self.words) - 1

    def add(self, passages: Sequence[Passage], first: int) -> None:
        word_ids = self.word_ids
        token_words = array("i")
        counts = np.zeros(len(passages), dtype=np.int64)
        for i, passage in enumerate(passages):
            words = index_words(f"{passage.text} {passage.keywords}")
            counts[i] = len(words)
            token_words.extend([word_ids[w] if w in word_ids else word_ids.setdefault(w, self._new_word(w))
                                for w in words])
        self.terms = list(self.term_ids)
        tokens = np.frombuffer(token_words, dtype=np.int32).astype(np.int64)
        docs = np.repeat(np.arange(len(passages), dtype=np.int64), counts)
        # Passages holding each word (for the speller's tie-break).
        word_pairs, _ = _unique_counts((docs << 32) | tokens)
        seen = np.bincount(word_pairs & 0xFFFFFFFF, minlength=len(self.words))
        self.word_passages = np.concatenate((self.word_passages, np.zeros(len(seen) - len(self.word_passages),
                                                                          dtype=np.int64))) + seen
        # Each word becomes its terms: none for a stop word, several for "Al-Qaida".
        term_count = np.asarray(self._word_term_count, dtype=np.int64)
        word_start = np.concatenate(([0], np.cumsum(term_count)))
        per_token = term_count[tokens]
        starts = np.repeat(word_start[tokens], per_token)
        within = np.arange(int(per_token.sum())) - np.repeat(np.cumsum(per_token) - per_token, per_token)
        terms = np.asarray(self._word_terms, dtype=np.int64)[starts + within]
        term_docs = np.repeat(docs, per_token)
        self._lengths.append(np.bincount(term_docs, minlength=len(passages)))
        pairs, tf = _unique_counts((term_docs << 32) | terms)
        self._parts.append((((pairs >> 32) + first).astype(np.int32), (pairs & 0xFFFFFFFF).astype(np.int32),
                            tf.astype(np.int32)))

    def finish(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        docs, terms, tf = (np.concatenate(p) if p else np.zeros(0, np.int32) for p in zip(*self._parts, strict=True))
        doc_len = np.concatenate(self._lengths) if self._lengths else np.zeros(n, np.int64)
        self._parts.clear()
        return docs, terms, tf, doc_len


class SearchIndex:
    """Passages, BM25 statistics, postings (term -> passages) and rows (passage -> terms),
    all in flat NumPy arrays, plus the known vocabulary for typo correction."""

    def __init__(self, passages: Sequence[Passage], k1: float = K1, b: float = B):
        self.passages = tuple(passages)
        if not self.passages:
            raise ValueError("cannot index zero passages")
        self.k1, self.b = k1, b
        n = len(self.passages)
        builder = _PostingsBuilder()
        for chunk_start in range(0, n, _CHUNK):
            builder.add(self.passages[chunk_start:chunk_start + _CHUNK], chunk_start)
        pair_docs, pair_terms, tf, doc_len = builder.finish(n)
        self._terms = builder.terms
        self._term_ids = builder.term_ids
        # Rows: passage -> its distinct terms (pairs are sorted by passage, then term).
        self._row_terms = pair_terms
        self._row_start = np.searchsorted(pair_docs, np.arange(n + 1))
        # Postings: term -> passages holding it, with term frequencies.
        order = np.argsort(pair_terms, kind="stable")
        self._post_docs = pair_docs[order]
        self._post_tf = tf[order].astype(np.float64)
        del order
        df = np.bincount(pair_terms, minlength=len(self._terms))
        self._post_start = np.concatenate(([0], np.cumsum(df)))
        surface_counts = dict(zip(builder.words, builder.word_passages.tolist(), strict=True))
        self.stats = _CorpusStatistics(doc_len.tolist(), dict(zip(self._terms, df.tolist(), strict=True)), k1, b)
        self.idf_map: dict[str, float] = self.stats.idf
        self._idf = np.asarray([self.idf_map[t] for t in self._terms])
        length_norm = k1 * (1 - b + b * doc_len / self.stats.avgdl)
        # Each posting's BM25 term-frequency part, computed once: a question then only
        # scales and scatters it (the same expression rank-bm25 evaluates per passage).
        self._post_weight = self._post_tf * (k1 + 1) / (self._post_tf + length_norm[self._post_docs])
        del self._post_tf
        self.max_idf = lucene_idf(len(self.passages), 0)
        # Surface words (before stemming) for typo correction and word families.
        forms: dict[str, int] = {}
        for word, count in surface_counts.items():
            if not word_terms(word):
                continue
            form = word_form(word)
            for part in (form, *(p for p in form.split("-") if "-" in form and p)):
                forms[part] = forms.get(part, 0) + count
        self.known_words = frozenset(forms)
        self.speller = Speller(forms.items())
        self._by_prefix: dict[str, list[str]] = {}
        for word in sorted(forms):
            if len(word) >= 4 and word.isalpha():
                self._by_prefix.setdefault(word[:4], []).append(word)

    def __len__(self) -> int:
        return len(self.passages)

    @cached_property
    def vocabulary_size(self) -> int:
        return len(self._terms)

    def knows(self, term: str) -> bool:
        return term in self._term_ids

    def idf(self, term: str) -> float:
        """IDF of a term; an unknown term counts as rarer than any known one."""
        return self.idf_map.get(term, self.max_idf)

    def words_with_prefix(self, prefix: str) -> list[str]:
        """Known words starting with a four-letter prefix."""
        return self._by_prefix.get(prefix, [])

    def holding(self, terms: Sequence[str], positions: np.ndarray) -> np.ndarray:
        """Which of the (sorted or not) passage positions hold any of the terms, from the postings."""
        found = np.zeros(len(positions), dtype=bool)
        for term in terms:
            term_id = self._term_ids.get(term)
            if term_id is None:
                continue
            posting = self._post_docs[self._post_start[term_id]:self._post_start[term_id + 1]]
            at = np.searchsorted(posting, positions)
            found |= posting[np.minimum(at, len(posting) - 1)] == positions
        return found

    def passage_terms(self, position: int) -> frozenset[str]:
        row = self._row_terms[self._row_start[position]:self._row_start[position + 1]]
        return frozenset(self._terms[t] for t in row)

    def search(self, weighted_terms: Mapping[str, float], k: int | None = None) -> list[tuple[int, float]]:
        """Passages with a positive score, best first: (position, score).

        Equal to rank-bm25's get_scores for the same terms (weights 1), but
        only the passages in the terms' postings are touched.
        """
        acc: np.ndarray | None = None
        touched: list[np.ndarray] = []
        for term, weight in weighted_terms.items():
            term_id = self._term_ids.get(term)
            if term_id is None or weight <= 0:
                continue
            start, end = self._post_start[term_id], self._post_start[term_id + 1]
            ids = self._post_docs[start:end]
            contribution = (weight * self._idf[term_id]) * self._post_weight[start:end]
            if acc is None:
                acc = np.zeros(len(self.passages))
            acc[ids] += contribution  # ids are unique within a posting
            touched.append(ids)
        if acc is None:
            return []
        # One posting: its passages; several: the non-zero accumulator (cheaper than merging postings).
        candidates = touched[0] if len(touched) == 1 else np.flatnonzero(acc)
        values = acc[candidates]
        if k is not None and k < len(candidates):
            kth = np.partition(values, len(values) - k)[len(values) - k]
            keep = values >= kth  # every tie at the cut-off, so ties break by position as in the reference
            candidates, values = candidates[keep], values[keep]
        order = np.lexsort((candidates, -values))[:k]
        return [(int(candidates[i]), float(values[i])) for i in order]
