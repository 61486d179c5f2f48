"""Recommendations the articles make: bullet lists with the sentence that
introduces them, and prescriptive sentences in the prose."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.excerpts import split_sentences
from bot.knowledge.models import Document, KnowledgeBase, Passage
from bot.search.analysis import analyse

_CUE = re.compile(
    r"\b(?:should(?!n)|must(?!n)|ought to|would do well to|had better|would be (?:much |far )?better|"
    r"it is time|recommend\w*|urge\w*|steps?|measures?|ways? to)\b", re.IGNORECASE)
# "ought to" is left out of prose: "a brief look ought to convince any open-minded individual"
# predicts rather than recommends, as it mostly does in argumentative writing.
_PROSE_CUE = re.compile(
    r"\b(?:should(?!n)|must(?!n)|would do well to|had better|would be (?:much |far )?better|"
    r"it is time to|recommend\w*|urge\w*)\b", re.IGNORECASE)


@dataclass(frozen=True)
class RecommendationList:
    document: Document
    intro: str  # the sentence that introduces the list ("... would do well to ...:")
    intro_passage: Passage | None
    items: tuple[Passage, ...]


@dataclass(frozen=True)
class RecommendationSentence:
    document: Document
    passage: Passage
    text: str


@dataclass(frozen=True)
class Recommendations:
    lists: tuple[RecommendationList, ...] = ()
    sentences: tuple[RecommendationSentence, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.lists or self.sentences)

    @property
    def documents(self) -> tuple[Document, ...]:
        seen: dict[str, Document] = {}
        for rec in (*self.lists, *self.sentences):
            seen.setdefault(rec.document.id, rec.document)
        return tuple(seen.values())


def _last_sentence(text: str) -> str:
    spans = split_sentences(text)
    return text[spans[-1].start:spans[-1].end] if spans else text


def extract_recommendations(kb: KnowledgeBase) -> Recommendations:
    lists: list[RecommendationList] = []
    sentences: list[RecommendationSentence] = []
    for doc in kb.documents:
        by_id = {p.id: p for p in doc.passages}
        groups: dict[tuple[int, str | None], list[Passage]] = {}
        for p in doc.body:
            if p.kind == "list_item":
                groups.setdefault((p.paragraph, p.intro_id), []).append(p)
        intros = {intro_id for _, intro_id in groups}
        for (_, intro_id), items in groups.items():
            intro_passage = by_id.get(intro_id) if intro_id else None
            intro = _last_sentence(intro_passage.text) if intro_passage else ""
            prescriptive = _CUE.search(intro) or sum(bool(_PROSE_CUE.search(i.text)) for i in items) * 2 >= len(items)
            if prescriptive:
                lists.append(RecommendationList(doc, intro, intro_passage, tuple(items)))
        for p in doc.body:
            if p.kind != "paragraph" or not _PROSE_CUE.search(p.text):
                continue  # most paragraphs recommend nothing: skip sentence splitting for them
            spans = split_sentences(p.text)
            for n, span in enumerate(spans):
                text = p.text[span.start:span.end]
                if p.id in intros and n == len(spans) - 1:
                    continue  # the list's own introduction
                if _PROSE_CUE.search(text) and not text.rstrip("\"'”’) ").endswith("?"):
                    sentences.append(RecommendationSentence(doc, p, text))
    return Recommendations(tuple(lists), tuple(sentences))


def names_document(doc: Document, wanted: str) -> bool:
    wanted = wanted.strip().lower()
    return wanted in (doc.id, doc.title.lower()) or wanted in doc.title.lower() or wanted == str(doc.path.name).lower()


def filter_recommendations(recs: Recommendations, *, topic_terms: frozenset[str] | None = None,
                           document: str | None = None) -> Recommendations:
    """Keep one document's recommendations and/or those about a topic (analysed terms).

    A list whose introduction names the topic is kept whole; otherwise only
    its items that do, with their original numbers.
    """
    def about(text: str) -> bool:
        return topic_terms is None or bool(topic_terms & set(analyse(text)))

    lists = []
    for rec in recs.lists:
        if document and not names_document(rec.document, document):
            continue
        items = rec.items if about(rec.intro) else tuple(i for i in rec.items if about(i.text))
        if items:
            lists.append(RecommendationList(rec.document, rec.intro, rec.intro_passage, items))
    sentences = tuple(s for s in recs.sentences
                      if (not document or names_document(s.document, document)) and about(s.text))
    return Recommendations(tuple(lists), sentences)
