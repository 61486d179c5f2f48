from bot.engine import Engine
from tests.conftest import write


def test_bundled_list_comes_with_its_introduction(engine):
    recs = engine.recommendations()
    (rec,) = recs.lists
    assert rec.intro == "President Trump would do well to pick up where his predecessor left off:"
    assert [i.item for i in rec.items] == [1, 2, 3, 4, 5]
    assert rec.items[0].text == "Ramp up, not simply maintain, existing sanctions."
    prose = [s.text for s in recs.sentences]
    assert any(s.startswith("Trump should avoid personalizing relations") for s in prose)
    assert not any(s.endswith("?") for s in prose)


def test_topic_filter_keeps_matching_items_with_their_numbers(engine):
    recs = engine.recommendations(topic="energy")
    assert [(i.item, i.text.split()[0]) for r in recs.lists for i in r.items] == [(5, "Support")]


def test_topic_filter_tolerates_typos(engine):
    assert engine.recommendations(topic="sanctons").lists[0].items[0].item == 1


def test_document_filter(tmp_path):
    write(tmp_path, "a.md", "---\ntitle: Alpha\n---\nWe recommend these steps:\n- Cut costs.\n- Hire well.\n")
    write(tmp_path, "b.md", "---\ntitle: Beta\n---\nThe board should resign. It met on Monday.\n")
    engine = Engine.from_directory(tmp_path)
    assert [r.document.title for r in engine.recommendations(document="alpha").lists] == ["Alpha"]
    beta = engine.recommendations(document="Beta")
    assert beta.lists == () and [s.text for s in beta.sentences] == ["The board should resign."]


def test_a_list_that_recommends_nothing_is_not_a_recommendation(tmp_path):
    write(tmp_path, "facts.md", "---\ntitle: Facts\n---\nThe delegation included:\n- a diplomat\n- a general\n")
    assert not Engine.from_directory(tmp_path).recommendations()
