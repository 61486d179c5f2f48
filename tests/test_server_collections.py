"""Server collections on top of the shared knowledge base: one scale, no leaks."""

import pytest

from bot.engine import Engine
from bot.library import CollectionFile, Library
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
