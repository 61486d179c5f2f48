import math

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from bot.knowledge import load_knowledge_dir
from bot.knowledge.models import Passage
from bot.search.analysis import analyse
from bot.search.index import LuceneBM25, SearchIndex, passage_terms
from tests.conftest import BUNDLED


def passages(*texts: str) -> list[Passage]:
    return [Passage(f"d#p{i}", "d", "paragraph", t, i) for i, t in enumerate(texts, 1)]


def test_lucene_idf_stays_positive_where_okapi_gives_nothing():
    corpus = [["russia", "syria"], ["russia", "iran"], ["iran"], ["ukraine"]]
    okapi = BM25Okapi(corpus)
    lucene = LuceneBM25(corpus)
    assert okapi.idf["russia"] == 0  # in exactly half the passages: rank-bm25 issue #39
    assert lucene.idf["russia"] > 0
    assert lucene.idf["syria"] > lucene.idf["russia"] > 0
    assert math.isclose(lucene.idf["syria"], math.log(1 + (4 - 1 + 0.5) / 1.5))


def test_a_term_in_every_passage_still_ranks_a_passage_that_has_it_twice():
    index = SearchIndex(passages("Russia and Syria.", "Russia and Russia again.", "Russia, Iran."))
    ranked = index.search({"russia": 1.0})
    assert len(ranked) == 3 and all(score > 0 for _, score in ranked)
    assert ranked[0][0] == 1


def test_search_scores_equal_rank_bm25_reference():
    kb = load_knowledge_dir(BUNDLED)
    index = SearchIndex(kb.passages)
    reference_index = LuceneBM25([passage_terms(p) for p in kb.passages])
    assert index.idf_map == reference_index.idf
    for question in ["russia syria assad", "sanctions energy europe", "putin regime corrupt kleptocratic",
                     "who wrote it", "al-qaida g20"]:
        terms = [t for t in analyse(question)] + (["@author"] if "wrote" in question else [])
        reference = reference_index.get_scores(terms)
        ranked = index.search({t: 1.0 for t in terms})
        assert [i for i, _ in ranked] == [int(i) for i in np.argsort(-reference, kind="stable") if reference[i] > 0]
        for i, score in ranked:
            assert score == pytest.approx(reference[i], abs=1e-9)


def test_top_k_keeps_the_best():
    index = SearchIndex(passages(*[f"word{i} common" for i in range(20)], "common common common"))
    assert index.search({"common": 1.0}, k=1)[0][0] == 20


def test_synthetic_corpus_matches_the_reference():
    from bot.benchmark import synthetic_passages

    texts = synthetic_passages(400, seed=3)
    index = SearchIndex(passages(*texts))
    reference_index = LuceneBM25([passage_terms(p) for p in index.passages])
    for text in texts[:20]:
        terms = list(dict.fromkeys(analyse(text)[:4]))
        reference = reference_index.get_scores(terms)
        top = index.search({t: 1.0 for t in terms}, k=10)
        expected = sorted(range(len(texts)), key=lambda i: (-reference[i], i))[:10]
        assert [i for i, _ in top] == expected
        assert all(score == pytest.approx(reference[i], abs=1e-9) for i, score in top)
    assert index.passage_terms(0) == frozenset(passage_terms(index.passages[0]))


def test_unknown_terms_find_nothing():
    index = SearchIndex(passages("Russia and Syria."))
    assert index.search({"venezuela": 1.0}) == []
    assert index.idf("venezuela") == index.max_idf > index.idf("syria")
