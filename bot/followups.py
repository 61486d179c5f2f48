"""Follow-up questions: what "and what about Iran?" or "why?" means after earlier questions.

A conversation (a thread, a chat) is read in order. Each question either starts a topic of its own
or continues the one before: it continues when it names no topic of its own ("why?", "tell me
more"), opens like a continuation ("and …", "what about …") or refers back ("does it …", "what did
they …"). A follow-up is searched with the topic's words added at a lower weight (CONTEXT_WEIGHT in
bot/search/query.py); a question that starts a new topic is searched alone, so the old topic cannot
pull its answer away. Discord-free: the bot only passes the earlier questions in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.search.query import Query, QueryAnalyser, QueryWord, clean_question

MAX_EARLIER = 5  # the questions read before this one: a conversation's topic rarely reaches further back
MAX_TOPIC_WORDS = 3  # carried over at most, the most recent question's first
MAX_OWN_WORDS_REFERRING = 2  # a longer question that says "it" has named what it means itself

# Openings that continue the previous question rather than start a new one.
_CONTINUES = re.compile(r"^(and|also|but|so|then|or|plus|what about|how about|what else|what if|is that|was that|"
                        r"does that|did that)\b|\b(then|instead)\W*$")
# Words that point back at something named earlier.
# ("that", "there" and "one" are left out: "a licence that allows…" names its own topic.)
_REFERS_BACK = re.compile(r"\b(it|its|they|them|their|theirs|he|him|his|she|her|this|these|those)\b")


@dataclass(frozen=True)
class FollowUp:
    """How a question was read: the query searched, and the topic words it took from earlier questions."""

    query: Query
    carried: tuple[str, ...] = ()  # the earlier words added, as they were written ("Russia", "Syria")
    own: tuple[str, ...] = ()  # this question's own topic words, as written

    @property
    def searched(self) -> tuple[str, ...]:
        """What the answer says it searched when earlier words were added: those first, then the question's."""
        return (*self.carried, *self.own) if self.carried else ()


def continues(question: str, query: Query) -> bool:
    """Whether a question continues the conversation's topic rather than starting its own.

    A word that points back only counts in a short question: "how do I get my MPL rights back after I
    violated it" names its whole topic, and "it" is the licence it names.
    """
    text = clean_question(question).lower()
    own = [w for w in query.content_words if not w.framing]
    refers_back = bool(_REFERS_BACK.search(text))
    if not own:  # "why?", "tell me more"; but "who is the author?" asks its own question
        return refers_back or not query.fields
    return bool(_CONTINUES.search(text)) or (len(own) <= MAX_OWN_WORDS_REFERRING and refers_back)


def topic_words(analyser: QueryAnalyser, query: Query) -> list[QueryWord]:
    """The words of a question that carry its topic on: known, not framing, not asking for a field; names
    first, then the rarest ("Russia", "Syria" before "do"; "warranty" before "programs")."""
    words = [w for w in query.words if w.known and not w.framing and not w.field and not w.context
             and (w.name or len(w.word) > 2)]
    return sorted(words, key=lambda w: (not w.name, -max(analyser.index.idf(t) for t in w.terms)))


def written(word: QueryWord, text: str) -> str:
    """A word as the question wrote it ("Russia", "GPL"), else as analysed."""
    found = re.search(rf"(?<!\w){re.escape(word.word)}(?!\w)", text, re.IGNORECASE)
    return found.group(0) if found else word.word


def read_followup(analyser: QueryAnalyser, question: str, earlier: Sequence[str] = ()) -> FollowUp:
    """The query for ``question`` asked after ``earlier`` (oldest first): with the topic's words when it
    continues it, alone when it starts a new one."""
    query = analyser.analyse(question)
    topic: list[tuple[QueryWord, str]] = []
    for previous in earlier[-MAX_EARLIER:]:
        analysed = analyser.analyse(previous)
        own = [(w, written(w, previous)) for w in topic_words(analyser, analysed)[:MAX_TOPIC_WORDS]]
        kept = topic if continues(previous, analysed) else []
        topic = _unique([*own, *kept])[:MAX_TOPIC_WORDS]
    if not topic or not continues(question, query):
        return FollowUp(query)
    with_topic = analyser.with_context(query, [w for w, _ in topic])
    carried = tuple(shown for w, shown in topic if any(c.context and c.word == w.word for c in with_topic.words))
    if not carried:
        return FollowUp(query)
    own = tuple(written(w, question) for w in query.content_words if not w.framing)
    return FollowUp(with_topic, carried, own)


def _unique(words: list[tuple[QueryWord, str]]) -> list[tuple[QueryWord, str]]:
    seen: set[str] = set()
    unique = []
    for word, shown in words:
        if word.word not in seen:
            seen.add(word.word)
            unique.append((word, shown))
    return unique
