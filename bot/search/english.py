"""Is a word ordinary English? Only a word that is not (and that the knowledge base does not know)
is a candidate typo: "worth", "project" and "counts" are real words, not "north", "protect", "courts".

The word list is the English spelling dictionary that ships inside the symspellpy package (MIT):
82,765 words (82,834 lines) kept only if in both SCOWL (a spell-checker word list, so no common
misspellings) and Google Books' 1-grams (so no obscure entries), inflections and British spellings
included. Measured against other sources on 282 common misspellings, 219 ordinary words
(inflections, British spellings) and codespell's 62,877 misspellings with their 16,484
corrections: it accepts 1 of the 282 ("calender", a real word) and 0.16% of codespell's
misspellings, most of them archaic or rare real words ("connexion", "despatch"), and knows
96.8% of the ordinary words (86% of codespell's corrections, which lean technical). wordfreq
knows more words but its list holds the misspellings people type (222 of the 282 at any
frequency, 24 at Zipf 2.5, recall 96% there) and takes 3 s and 70 MB to load; english-words'
web2 lacks inflections ("counts", "patents"), its gcide list is GPL; pyspellchecker's list lacks
British spellings ("colour", "centre").

The file (1.3 MB) is read once per process, on first use: about 0.03 s, 8.5 MB held. Without
the package every unknown word is a candidate typo, as before.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Callable
from pathlib import Path

PACKAGE = "symspellpy"
WORD_LIST = "frequency_dictionary_en_82_765.txt"

log = logging.getLogger(__name__)

_words: frozenset[str] | None = None
_lock = threading.Lock()


def _word_list_path() -> Path | None:
    """The dictionary file inside the package, found without importing the package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / WORD_LIST
        if path.is_file():
            return path
    return None


def _load() -> frozenset[str]:
    path = _word_list_path()
    if path is None:
        log.warning("English word list not found (install %s): every unknown word may be corrected", PACKAGE)
        return frozenset()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("English word list unreadable (%s): every unknown word may be corrected", exc)
        return frozenset()
    return frozenset(text.split()[::2])  # "word count" lines


def english_words() -> frozenset[str]:
    """The English words (lower case), loaded on first use, once per process."""
    global _words
    if _words is None:
        with _lock:
            if _words is None:
                _words = _load()
    return _words


def is_english(word: str) -> bool:
    """Whether a folded word (lower case, as the analyser sees it) is an English word."""
    return word in english_words()



_VOWELS = frozenset("aeiouy")

# British and American spellings of one word: (British, American) endings, each followed by one
# of the inflection tails listed, after a stem that passes the check. "colour"/"color",
# "licence"/"license", "centre"/"center", "organise"/"organize", "travelled"/"traveled",
# "catalogue"/"catalog", "programme"/"program", "judgement"/"judgment". The stem checks keep
# different words apart: "scored"/"scoured" (no vowel before "our"), "filled"/"filed" (a short
# stem before "ll"), "outer"/"outre" and "charters"/"chartres" ("u" or "r" before "ter").
_SPELLINGS: tuple[tuple[str, str, tuple[str, ...], Callable[[str], bool]], ...] = (
    ("our", "or", ("", "s", "ed", "ing", "ite", "ites", "able", "ably", "ful", "less", "er", "ers"),
     lambda stem: any(c in _VOWELS for c in stem)),
    ("is", "iz", ("e", "es", "ed", "ing", "er", "ers", "ation", "ations"), lambda stem: len(stem) >= 3),
    ("ys", "yz", ("e", "es", "ed", "ing", "er", "ers"), lambda stem: len(stem) >= 3),
    ("enc", "ens", ("e", "es", "ed", "ing"), lambda stem: len(stem) >= 3),
    ("tre", "ter", ("", "s"), lambda stem: len(stem) >= 2 and stem[-1] not in "ru"),
    ("ogue", "og", ("", "s"), lambda stem: len(stem) >= 3),
    ("ll", "l", ("ed", "ing", "er", "ers", "or", "ors"), lambda stem: len(stem) >= 4 and stem[-1] in "ae"),
    ("amme", "am", ("", "s"), lambda stem: len(stem) >= 2),
    ("ement", "ment", ("", "s"), lambda stem: len(stem) >= 3),
)


def spelling_variants(word: str) -> tuple[str, ...]:
    """The other (British or American) spellings of an English word that are English words too:
    "licence" -> ("license",), "color" -> ("colour",). The same word spelt another way, so that a
    knowledge base that spells it the other way still answers it."""
    words = english_words()
    if len(word) < 5 or word not in words:
        return ()
    found: list[str] = []
    for british, american, tails, stem_ok in _SPELLINGS:
        for tail in tails:
            for this, other in ((british, american), (american, british)):
                if word.endswith(this + tail):
                    stem = word[:len(word) - len(this + tail)]
                    if stem_ok(stem):
                        found.append(stem + other + tail)
    return tuple(dict.fromkeys(v for v in found if v != word and v in words))
