"""An index of several segments answers exactly as one index built over the same passages, and as
rank-bm25 (the reference): a server's collection over the shared base, removals, merges, reloads."""

from pathlib import Path

import numpy as np
import pytest

from bot.benchmark import synthetic_passages
from bot.engine import Engine
from bot.knowledge import load_knowledge_dir
from bot.knowledge.loader import parse_document
from bot.knowledge.models import Passage
from bot.search.analysis import analyse
from bot.search.index import LuceneBM25, SearchIndex, passage_terms
from bot.search.segment import MAX_SEGMENTS, Segment
from tests.conftest import BUNDLED

HARBOUR = ("---\ntitle: Harbour Works\nauthor: Port Office\n---\n"
           "The harbour will be dredged in the summer to let larger ferries dock.\n\n"
           "Russia sent no ships to the regatta this year. Russia, Russia and the harbour.\n")
ZANZIBAR = "---\ntitle: Zanzibar Plans\n---\nThe zanzibar project opens a ferry line to the harbour.\n"
QUESTIONS = ["russia syria assad", "sanctions energy europe", "harbour ferries dock", "putin regime corrupt",
             "al-qaida g20", "zanzibar ferry line", "the summer regatta ships", "russia"]


def document(name: str, text: str):
    return parse_document(Path(name), text)


def synthetic(texts: list[str], doc: str) -> list[Passage]:
    return [Passage(f"{doc}#p{i}", doc, "paragraph", t, i) for i, t in enumerate(texts, 1)]


def assert_same_answers(ours: SearchIndex, fresh: SearchIndex, questions: list[str]) -> None:
    """Same passages, same scores (1e-6), against a freshly built index and rank-bm25 over the same passages."""
    reference = LuceneBM25([passage_terms(p) for p in fresh.passages])
    assert len(ours) == len(fresh) and ours.vocabulary_size == fresh.vocabulary_size
    assert ours.max_idf == fresh.max_idf
    for question in questions:
        terms = list(dict.fromkeys(analyse(question)))
        weights = dict.fromkeys(terms, 1.0)
        got = [(ours.passages[i].id, s) for i, s in ours.search(weights)]
        want = [(fresh.passages[i].id, s) for i, s in fresh.search(weights)]
        got_sorted = sorted(got, key=lambda h: (-round(h[1], 9), h[0]))
        want_sorted = sorted(want, key=lambda h: (-round(h[1], 9), h[0]))
        assert [pid for pid, _ in got_sorted] == [pid for pid, _ in want_sorted]
        assert [s for _, s in got_sorted] == pytest.approx([s for _, s in want_sorted], abs=1e-6)
        scores = reference.get_scores(terms)
        by_id = {p.id: float(scores[i]) for i, p in enumerate(fresh.passages)}
        assert {pid for pid, _ in got} == {pid for pid, s in by_id.items() if s > 0}
        assert all(s == pytest.approx(by_id[pid], abs=1e-6) for pid, s in got)
        top = ours.search(weights, k=3)
        assert [s for _, s in top] == pytest.approx(sorted((s for _, s in got), reverse=True)[:3], abs=1e-6)
        for term in terms:
            assert ours.knows(term) == fresh.knows(term)
            assert ours.idf(term) == pytest.approx(fresh.idf(term), abs=1e-12)
            positions = np.arange(len(ours))
            holding = {ours.passages[i].id for i in np.flatnonzero(ours.holding([term], positions))}
            assert holding == {fresh.passages[i].id for i in np.flatnonzero(fresh.holding([term], positions))}
    assert dict(ours.idf_map.items()) == pytest.approx(dict(fresh.idf_map.items()), abs=1e-12)
    assert set(ours.known_words) == set(fresh.known_words)
    for i, passage in enumerate(ours.passages):
        assert ours.passage_terms(i) == frozenset(passage_terms(passage))


@pytest.fixture(scope="module")
def shared() -> SearchIndex:
    return SearchIndex(load_knowledge_dir(BUNDLED).searchable)


def test_a_collection_over_the_shared_base_scores_as_one_combined_index(shared):
    own = [document("harbour.md", HARBOUR), document("zanzibar.md", ZANZIBAR)]
    view = shared.extended([Segment.build(d.body) for d in own])
    fresh = SearchIndex([*shared.passages, *(p for d in own for p in d.body)])
    assert view.segments[0] is shared.segments[0]  # the shared base is not copied
    assert_same_answers(view, fresh, QUESTIONS)
    # positions too: the view's order is the combined knowledge base's (shared documents first)
    assert [p.id for p in view.passages] == [p.id for p in fresh.passages]
    assert view.search({"harbour": 1.0}) == fresh.search({"harbour": 1.0})
    # corrections and word families see the collection, the shared index alone does not
    assert view.speller.correct("zanzibr") == fresh.speller.correct("zanzibr") == "zanzibar"
    assert shared.speller.correct("zanzibr") is None and "zanzibar" not in shared.known_words
    assert view.words_with_prefix("harb") == fresh.words_with_prefix("harb") == ["harbour"]


def test_synthetic_segments_match_a_combined_index_and_rank_bm25():
    texts = synthetic_passages(600, seed=5)
    base = SearchIndex(synthetic(texts[:500], "base"))
    view = base.extended([Segment.build(synthetic(texts[500 + 20 * n:520 + 20 * n], f"own{n}")) for n in range(5)])
    fresh = SearchIndex([*base.passages, *(p for s in view.segments[1:] for p in s.passages)])
    questions = [" ".join(list(dict.fromkeys(analyse(t)))[:4]) for t in texts[480:600:7]]
    assert_same_answers(view, fresh, questions)
    for word in ("zabakaro", "kodaruma", "bebebe"):
        assert view.speller.correct(word) == fresh.speller.correct(word)


def test_a_removed_document_is_marked_then_merged_away():
    texts = synthetic_passages(300, seed=9)
    docs = [synthetic(texts[i:i + 30], f"doc{i // 30}") for i in range(0, 300, 30)]
    index = SearchIndex([p for d in docs for p in d])
    smaller = index.updated(["doc3", "doc7"], [])
    assert smaller.segments[0].deleted is not None and smaller.segments[0].post_docs is index.segments[0].post_docs
    rest = [p for n, d in enumerate(docs) if n not in (3, 7) for p in d]
    questions = [" ".join(list(dict.fromkeys(analyse(t)))[:3]) for t in texts[::11]]
    assert_same_answers(smaller, SearchIndex(rest), questions)
    assert not any(p.document_id in ("doc3", "doc7") for p in smaller.passages)
    # past half deleted, the segment is rebuilt from what is left
    merged = smaller.updated([f"doc{n}" for n in (0, 1, 2, 4)], [])
    assert merged.segments[0].deleted is None and len(merged) == 120
    assert_same_answers(merged, SearchIndex([p for n in (5, 6, 8, 9) for p in docs[n]]), questions)


def test_a_word_only_a_removed_document_held_is_forgotten():
    index = SearchIndex(synthetic(["Russia and Syria.", "The zanzibar project."], "a")
                        + synthetic(["Russia, Iran."], "b"))
    without = index.updated(["a"], synthetic(["Russia again."], "c"))
    assert not without.knows("zanzibar") and "zanzibar" not in without.known_words
    assert without.speller.correct("zanzibr") is None and without.words_with_prefix("zanz") == []
    assert without.search({"zanzibar": 1.0}) == []
    assert sorted(without.passages[i].id for i, _ in without.search({"russia": 1.0})) == ["b#p1", "c#p1"]


def test_many_small_additions_are_merged_into_few_segments():
    texts = synthetic_passages(200, seed=2)
    index = SearchIndex(synthetic(texts[:100], "base"))
    for n in range(25):
        index = index.updated([], synthetic(texts[100 + 4 * n:104 + 4 * n], f"add{n}"))
    assert len(index.segments) <= MAX_SEGMENTS + 1 and index.segments[0].passages[0].document_id == "base"
    questions = [" ".join(list(dict.fromkeys(analyse(t)))[:3]) for t in texts[::9]]
    assert_same_answers(index, SearchIndex([*index.passages]), questions)


def test_a_reload_indexes_only_what_changed(knowledge_dir):
    engine = Engine.from_directory(knowledge_dir)
    before = engine.state
    engine.reload()  # nothing changed: nothing is rebuilt
    assert engine.state.index is before.index and engine.state.recommendations is before.recommendations
    (knowledge_dir / "solar.md").write_text("---\ntitle: Solar\n---\nSolar panels got cheaper.\n", encoding="utf-8")
    report = engine.reload()
    assert report.documents_added == ("solar",)
    index = engine.state.index
    assert index.segments[0].passages is before.index.segments[0].passages  # the article is not indexed again
    assert engine.ask("solar panels").excerpts[0].passage.document_id == "solar"
    assert_same_answers(index, SearchIndex(engine.knowledge.searchable), [*QUESTIONS, "solar panels cheaper"])
    (knowledge_dir / "solar.md").unlink()
    engine.reload()
    assert not engine.ask("solar panels").answered
    assert_same_answers(engine.state.index, SearchIndex(engine.knowledge.searchable), QUESTIONS)
