"""The shared base's index kept on disk and memory-mapped: read back, it answers as the one built in memory."""

import numpy as np

from bot.engine import Engine
from bot.knowledge import load_knowledge_dir
from bot.knowledge.models import Passage
from bot.search.analysis import analyse
from bot.search.index import SearchIndex
from bot.search.segment import Segment
from bot.search.stored import SegmentStore, segment_key
from bot.settings import Settings
from tests.conftest import BUNDLED

QUESTIONS = [dict.fromkeys(analyse(q), 1.0) for q in ("russia syria", "sanctions energy europe", "putin", "al-qaida")]


def test_a_stored_segment_is_read_back_memory_mapped_and_answers_the_same(tmp_path):
    passages = load_knowledge_dir(BUNDLED).searchable
    store = SegmentStore(tmp_path / "index")
    first = store.segment(passages)
    second = SegmentStore(tmp_path / "index").segment(passages)
    assert isinstance(second.post_docs, np.memmap) and isinstance(first.post_docs, np.memmap)
    stored, fresh = SearchIndex.from_segments([second]), SearchIndex(passages)
    for weights in QUESTIONS:
        assert stored.search(weights) == fresh.search(weights) != []
    assert stored.idf_map == fresh.idf_map and set(stored.known_words) == set(fresh.known_words)
    assert stored.speller.correct("ukrane") == fresh.speller.correct("ukrane") == "ukraine"
    assert stored.words_with_prefix("russ") == fresh.words_with_prefix("russ")
    assert [p.name for p in (tmp_path / "index").iterdir()] == [segment_key(passages)]


def test_other_passages_never_read_an_entry_and_old_entries_are_pruned(tmp_path):
    store = SegmentStore(tmp_path)
    texts = ["Russia and Syria.", "Iran and Iraq.", "Mali and Chad.", "Peru and Chile."]
    keys = []
    for n in range(4):
        passages = [Passage(f"d#p{i}", "d", "paragraph", t, i) for i, t in enumerate(texts[n:] + texts[:n])]
        segment = store.segment(passages)
        assert segment.passages[0].text == texts[n % 4] and len(segment.passages) == 4
        keys.append(segment_key(passages))
    assert len(set(keys)) == 4
    assert len([p for p in tmp_path.iterdir() if not p.name.startswith(".")]) == 2


def test_an_unreadable_entry_is_built_again(tmp_path):
    passages = [Passage("d#p1", "d", "paragraph", "Russia and Syria.", 1)]
    store = SegmentStore(tmp_path)
    store.segment(passages)
    (tmp_path / segment_key(passages) / "post_docs.npy").write_bytes(b"not numpy")
    segment = SegmentStore(tmp_path).segment(passages)
    assert isinstance(segment, Segment) and SearchIndex.from_segments([segment]).search({"russia": 1.0})


def test_the_engine_keeps_its_index_in_the_state_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("KNOWLEDGE_DIR", str(BUNDLED))
    settings = Settings.from_env()
    first, second = Engine.from_settings(settings), Engine.from_settings(settings)
    assert isinstance(second.state.index.segments[0].post_docs, np.memmap)
    assert (settings.state_dir / "index").is_dir()
    assert second.ask("What did Russia do in Syria?") == first.ask("What did Russia do in Syria?")
