"""Server collections on top of the shared knowledge base: one scale, no leaks."""

import pytest

from bot.engine import Engine, build_state
from bot.library import CollectionFile, Library
from bot.search.semantic import DEFAULT_MODEL, StackedSemanticIndex, load_semantic
from tests.conftest import BUNDLED

HARBOUR = CollectionFile("harbour.md", "---\ntitle: Harbour Works\nauthor: Port Office\n---\n"
                                       "The harbour will be dredged in the summer to let larger ferries dock.\n\n"
                                       "Russia sent no ships to the regatta this year.\n")
SECRET = CollectionFile("secret.md", "---\ntitle: Zanzibar Plans\n---\nThe zanzibar project opens a ferry line.\n")


@pytest.fixture
def library() -> Library:
    return Library(Engine.from_directory(BUNDLED))


def test_without_a_collection_a_server_uses_the_shared_engine(library):
    assert library.engine_for(1) is library.shared
    assert library.engine_for(None) is library.shared


def test_a_servers_collection_answers_with_the_shared_base_on_one_scale(library):
    report = library.update_server(1, [HARBOUR], version=1)
    assert report.documents_added == ("harbour",)
    engine = library.engine_for(1)
    assert engine.ask("when will the harbour be dredged?").excerpts[0].passage.document_id == "harbour"
    # The shared article still wins where it answers best.
    assert engine.ask("What did Russia do in Syria?").excerpts[0].passage.document_id == \
        "why-talking-to-putin-wont-work"
    assert [d.id for d in engine.knowledge.documents] == ["why-talking-to-putin-wont-work", "harbour"]


def test_another_server_never_sees_the_collection(library):
    library.update_server(1, [SECRET], version=1)
    other = library.engine_for(2)
    answer = other.ask("what about the zanzibar project?")
    assert not answer.answered
    assert "zanzibar" not in answer.corrections.values()
    assert [d.id for d in other.knowledge.documents] == ["why-talking-to-putin-wont-work"]
    assert other.passage("secret#p1") is None
    assert not other.recommendations(document="Zanzibar Plans")
    # ...and a close misspelling is not "corrected" into the other server's word.
    assert other.ask("zanzibr project").corrections == {}
    assert library.engine_for(1).ask("zanzibr project").corrections == {"zanzibr": "zanzibar"}


def test_a_document_may_not_take_a_shared_id(library):
    clash = CollectionFile("why-talking-to-putin-wont-work.md", "---\ntitle: Mine\n---\nMine.\n")
    report = library.update_server(1, [clash, HARBOUR])
    assert "shared knowledge base already has a document" in report.problems[0].reason
    assert [d.id for d in library.collection(1)] == ["harbour"]


def test_a_bad_file_is_reported_and_the_rest_serves(library):
    report = library.update_server(1, [CollectionFile("bad.md", "---\ntitle: [x\n---\nText.\n"), HARBOUR])
    assert report.problems[0].path.as_posix() == "server-1/bad.md"
    assert library.engine_for(1).ask("harbour dredged").answered


def test_emptying_a_collection_returns_to_the_shared_engine(library):
    library.update_server(1, [HARBOUR])
    report = library.update_server(1, [])
    assert report.documents_removed == ("harbour",)
    assert library.engine_for(1) is library.shared


def test_a_shared_reload_rebuilds_server_engines(library, knowledge_dir):
    library = Library(Engine.from_directory(knowledge_dir))
    library.update_server(1, [HARBOUR])
    (knowledge_dir / "solar.md").write_text("---\ntitle: Solar\n---\nSolar panels got cheaper.\n", encoding="utf-8")
    library.shared.reload()
    library.rebuild_all()
    assert library.engine_for(1).ask("solar panels").excerpts[0].passage.document_id == "solar"
    assert library.engine_for(1).ask("harbour dredged").answered


def test_forgetting_a_server(library):
    library.update_server(1, [HARBOUR])
    library.forget_server(1)
    assert library.engine_for(1) is library.shared


SOLAR = CollectionFile("solar.md", "---\ntitle: Solar\n---\nSolar panels got cheaper this year.\n")
QUESTIONS = ["when will the harbour be dredged?", "What did Russia do in Syria?", "zanzibr ferry line",
             "who wrote about the harbour?", "solar panels", "sanctions on Russia and the regatta"]


def _answers(engine: Engine) -> list[list[tuple[str, str, float]]]:
    return [[(e.passage.id, e.quote, e.score) for e in engine.ask(q).excerpts] for q in QUESTIONS]


def test_a_server_answers_as_one_engine_over_the_combined_documents(library):
    library.update_server(1, [HARBOUR, SECRET])
    server = library.engine_for(1)
    combined = Engine(build_state(server.knowledge))  # everything indexed together, from scratch
    for ours, fresh in zip(_answers(server), _answers(combined), strict=True):
        assert [(pid, quote) for pid, quote, _ in ours] == [(pid, quote) for pid, quote, _ in fresh]
        assert [s for *_, s in ours] == pytest.approx([s for *_, s in fresh], abs=1e-6)
    assert server.ask("zanzibr ferry").corrections == combined.ask("zanzibr ferry").corrections


def test_every_server_shares_the_one_shared_index(library):
    library.update_server(1, [HARBOUR])
    library.update_server(2, [SECRET])
    shared = library.shared.state
    for guild in (1, 2):
        state = library.engine_for(guild).state
        assert state.index.segments[0] is shared.index.segments[0]
        assert state.recommendations.lists[:len(shared.recommendations.lists)] == shared.recommendations.lists
        assert sum(len(s) for s in state.index.segments[1:]) == (2 if guild == 1 else 1)


def test_adding_a_document_indexes_only_that_document(library):
    library.update_server(1, [HARBOUR, SECRET])
    before = library.engine_for(1)
    own = before.state.index.segments[1:]
    report = library.update_server(1, [HARBOUR, SECRET, SOLAR])
    assert report.documents_added == ("solar",)
    after = library.engine_for(1).state.index
    assert after.segments[1:-1] == own and [p.document_id for p in after.segments[-1].passages] == ["solar"]
    assert library.engine_for(1).ask("solar panels").excerpts[0].passage.document_id == "solar"
    # an unchanged collection costs nothing: the same engine serves on
    library.update_server(1, [HARBOUR, SECRET, SOLAR], version=2)
    assert library.engine_for(1).state.index is after and library.version(1) == 2
    # a removal is marked in its segment, not re-indexed
    library.update_server(1, [HARBOUR, SOLAR])
    removed = library.engine_for(1)
    assert removed.state.index.segments[-1] is after.segments[-1]
    assert not removed.ask("zanzibar project").answered
    assert removed.ask("zanzibr project").corrections == {}


def test_a_shared_reload_reuses_the_servers_own_segments(knowledge_dir):
    library = Library(Engine.from_directory(knowledge_dir))
    library.update_server(1, [HARBOUR])
    own = library.engine_for(1).state.index.segments[1:]
    (knowledge_dir / "wind.md").write_text("---\ntitle: Wind\n---\nWind turbines got taller.\n", encoding="utf-8")
    library.shared.reload()
    library.rebuild_all()
    index = library.engine_for(1).state.index
    assert index.segments[-len(own):] == own
    assert index.base is library.shared.state.index
    assert library.engine_for(1).ask("wind turbines").excerpts[0].passage.document_id == "wind"


@pytest.mark.parametrize("background", [False, True])
def test_a_server_embeds_only_its_own_documents(tmp_path, background):
    setup = load_semantic("on", DEFAULT_MODEL, tmp_path / "embeddings.sqlite3")
    assert setup.error is None, setup.error
    library = Library(Engine.from_directory(BUNDLED, setup, background=background))
    library.shared.wait_for_embeddings()
    library.update_server(1, [HARBOUR])
    server = library.engine_for(1)
    server.wait_for_embeddings()
    dense = server.state.semantic
    assert isinstance(dense, StackedSemanticIndex) and dense.base is library.shared.state.semantic
    assert len(dense.own.passages) == 2 and len(dense.own.about) == 2  # its paragraphs; "Title", "Author"
    assert server.mode == library.shared.mode == "semantic (bge-small-en-v1.5)"
    combined = Engine(build_state(server.knowledge, setup), setup)  # every vector from the cache
    for question in QUESTIONS[:4]:
        ours, fresh = server.ask(question), combined.ask(question)
        assert [e.passage.id for e in ours.excerpts] == [e.passage.id for e in fresh.excerpts]
        assert [e.score for e in ours.excerpts] == pytest.approx([e.score for e in fresh.excerpts], abs=1e-6)


def test_a_passage_reference_resolves_in_what_the_server_is_answered_from_only(tmp_path):
    """A button's short reference finds a server's own passage there, and nowhere else; the shared base's
    passages everywhere."""
    from bot.engine import Engine
    from bot.library import CollectionFile, Library, passage_ref
    from bot.search.semantic import lexical_only
    from tests.conftest import write

    write(tmp_path, "shared.md", "# Shared\n\nThe shared base says the sky is blue.\n")
    library = Library(Engine.from_directory(tmp_path, lexical_only()))
    library.update_server(1, [CollectionFile("own.md", "# Own\n\nOnly server one knows the grass is green.\n")])
    own = next(p for d in library.collection(1) for p in d.passages if "grass" in p.text)
    shared = next(p for p in library.shared.knowledge.searchable if "sky" in p.text)
    assert library.find_passage(1, passage_ref(own.id))[1] == own
    assert library.find_passage(2, passage_ref(own.id)) is None
    assert library.find_passage(None, passage_ref(own.id)) is None
    assert library.find_passage(2, passage_ref(shared.id))[1] == shared
    assert library.find_passage(1, "0" * 12) is None
