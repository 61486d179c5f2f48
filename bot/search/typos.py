"""Typo tolerance the way search engines do it: only for words that neither the knowledge
base nor English knows (the analyser asks bot.search.english first), against the words the
knowledge base does know, within a small edit distance."""

from __future__ import annotations

from collections.abc import Callable, Iterable


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


def _affixed(word: str, known: str) -> bool:
    """``word`` is ``known`` with two or more letters added in front or behind: another word
    ("unlicense", "relicense"), not a typo of it; the analyser's word families link suffixed forms."""
    return len(word) - len(known) >= 2 and (word.startswith(known) or word.endswith(known))


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


class Speller:
    """Corrects unknown words to the closest known word (fewest edits, then most passages).

    Candidates come from a deletion index (SymSpell's idea): a known word is
    filed under itself and each single-letter deletion of it; a question word
    looks up itself and its deletions (two levels for long words), and only
    those candidates are measured. That finds every word one edit away,
    transpositions included, and two-edit matches where at most one of the
    edits removes a letter from the known word; a lookup costs microseconds
    whatever the vocabulary size.
    """

    def __init__(self, words: Iterable[tuple[str, int]]):
        self._counts: dict[str, int] = {}
        self._index: dict[str, str | list[str]] = {}
        for word, count in words:
            if not word.isalpha() or len(word) < 4:
                continue
            self._counts[word] = count
            for key in (word, *_deletes(word)):
                filed = self._index.get(key)
                if filed is None:
                    self._index[key] = word
                elif isinstance(filed, str):
                    if filed != word:
                        self._index[key] = [filed, word]
                elif word not in filed:
                    filed.append(word)

    def _filed(self, key: str) -> list[str]:
        filed = self._index.get(key)
        return [] if filed is None else [filed] if isinstance(filed, str) else filed

    def candidates(self, word: str) -> set[str]:
        """Known words filed under the word or its deletions: the only ones worth measuring."""
        limit = max_edits(word)
        if limit == 0 or not word.isalpha():
            return set()
        probes = {word} | _deletes(word)
        if limit >= 2:
            probes |= {d for p in _deletes(word) for d in _deletes(p)}
        return {k for p in probes for k in self._filed(p)}

    def count(self, word: str) -> int:
        """Passages holding a known word (0 for an unknown one)."""
        return self._counts.get(word, 0)

    def correct(self, word: str) -> str | None:
        return closest(word, self.candidates(word), self.count)


def closest(word: str, candidates: Iterable[str], count: Callable[[str], int]) -> str | None:
    """The candidate fewest edits away, then held by the most passages, then first alphabetically.

    Split from Speller so an index of several segments can pool the candidates and counts of each.
    """
    limit = max_edits(word)
    best: tuple[int, int, str] | None = None
    for known in candidates:
        passages = count(known)
        if passages <= 0 or _affixed(word, known):
            continue
        distance = edit_distance(word, known, limit)
        if distance <= limit and (best is None or (distance, -passages, known) < best):
            best = (distance, -passages, known)
    return best[2] if best else None
