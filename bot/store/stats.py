"""The parts of admin insight that are text analysis, not SQL: busiest topics and unanswered questions.

Backends count and join in SQL; what needs words (stems, stop words, case folding) happens here,
once, for every backend.

Busiest topics are the questions' own content words, not the documents their answers cited:
cited documents (``Stats.documents``, counted in SQL) only show what the knowledge base already
covers, while words also count what people ask and the bot cannot answer. A word counts once per
question, words are grouped by stem ("sanction", "sanctions") and shown in their most frequent form.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime

from bot.search.analysis import tokens, word_form
from bot.search.stopwords import FRAMING_WORDS
from bot.store.base import Count, UnansweredQuestion

TOPICS = 10
UNANSWERED = 10
_PUNCTUATION = re.compile(r"[^\w\s]+")


def busiest_topics(questions: Iterable[str], limit: int = TOPICS) -> tuple[Count, ...]:
    """The content words asked about most, by number of questions using them (ties: alphabetical)."""
    per_stem: Counter[str] = Counter()
    forms: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for question in questions:
        seen = set()
        for token in tokens(question):
            form = word_form(token.surface)
            if not token.terms or form in FRAMING_WORDS or form.isdigit() or (len(form) < 3 and form != "us"):
                continue
            key = token.terms[0]
            forms[key][form] += 1
            if key not in seen:
                seen.add(key)
                per_stem[key] += 1
    ranked = sorted(per_stem.items(), key=lambda item: (-item[1], forms[item[0]].most_common(1)[0][0]))
    return tuple(Count(forms[key].most_common(1)[0][0], n) for key, n in ranked[:limit])


def question_key(text: str) -> str:
    """What makes two questions "the same" in the unanswered list: case, punctuation and spacing ignored."""
    return " ".join(_PUNCTUATION.sub(" ", text.casefold()).split())


def unanswered_questions(asked: Iterable[tuple[str, datetime]], limit: int = UNANSWERED
                         ) -> tuple[UnansweredQuestion, ...]:
    """Unanswered questions, deduplicated, most asked first, then most recent; shown in their latest wording."""
    groups: dict[str, tuple[str, int, datetime]] = {}
    for text, asked_at in asked:
        key = question_key(text)
        if not key:
            continue
        latest, count, last = groups.get(key, (text, 0, asked_at))
        if asked_at >= last:
            latest, last = text, asked_at
        groups[key] = (latest, count + 1, last)
    ranked = sorted(groups.values(), key=lambda g: (-g[1], -g[2].timestamp(), g[0]))
    return tuple(UnansweredQuestion(text.strip(), count, last) for text, count, last in ranked[:limit])
