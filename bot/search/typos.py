"""Typo tolerance the way search engines do it: only for words the knowledge base
does not know, against the words it does, within a small edit distance."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable


def max_edits(word: str) -> int:
    """Edits allowed for a word of this length.

    Short words get none (too many false friends: "cup" -> "cut"), 5-7 letters
    one, 8 or more two, as Elasticsearch's AUTO fuzziness does (shifted one
    letter up, which kept "bread" and "water" from turning into article words
    on the dev set while "syira", "ukrane" and "qaeda" still correct).
    """
    n = len(word)
    if n <= 4:
        return 0
    return 1 if n <= 7 else 2


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance, or limit+1 once it exceeds limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    if a == b:
        return 0
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        best = current[0]
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
            best = min(best, value)
        if best > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


class Speller:
    """Corrects unknown words to the closest known word (fewest edits, then most passages)."""

    def __init__(self, words: Iterable[tuple[str, int]]):
        self._by_length: dict[int, list[tuple[str, int]]] = defaultdict(list)
        for word, count in words:
            if word.isalpha():
                self._by_length[len(word)].append((word, count))

    def correct(self, word: str) -> str | None:
        limit = max_edits(word)
        if limit == 0 or not word.isalpha():
            return None
        best: tuple[int, int, str] | None = None
        for length in range(len(word) - limit, len(word) + limit + 1):
            for known, count in self._by_length.get(length, ()):
                distance = edit_distance(word, known, limit)
                if distance <= limit and (best is None or (distance, -count) < best[:2]):
                    best = (distance, -count, known)
        return best[2] if best else None
