"""The semantic stage (the [semantic] extra, installed in CI): hybrid answers, cache, fallbacks."""

import subprocess
import sys

import pytest

from bot.engine import Engine, build_state
from bot.knowledge import load_knowledge_dir
from bot.search.semantic import EmbeddingCache, SemanticSetup, load_semantic
from bot.settings import Settings
from tests.conftest import BUNDLED, write

CITY = ("---\ntitle: City news\n---\n"
        "The mayor resigned on Friday after the corruption scandal became public.\n\n"
        "The new library opens in March with ten thousand books. Members may borrow five at a time.\n\n"
        "Bus fares will rise by ten percent next year.\n\n"
        "Heavy snowfall closed every school in the district on Monday.\n")


@pytest.fixture(scope="module")
def encoder():
    setup = load_semantic("on", "all-MiniLM-L6-v2", None)
    assert setup.error is None, setup.error
    return setup.encoder


@pytest.fixture
def city(tmp_path):
    directory = tmp_path / "city"
    write(directory, "city.md", CITY)
    return directory


def test_installed_means_on(monkeypatch, tmp_path, city):
    monkeypatch.setenv("SEMANTIC", "auto")
    monkeypatch.setenv("KNOWLEDGE_DIR", str(city))
    engine = Engine.from_settings(Settings.from_env())
    assert engine.mode == "semantic (all-MiniLM-L6-v2)"
    assert engine.state.semantic is not None


def test_semantic_off_is_lexical(monkeypatch, city):
    monkeypatch.setenv("SEMANTIC", "off")
    monkeypatch.setenv("KNOWLEDGE_DIR", str(city))
    engine = Engine.from_settings(Settings.from_env())
    assert engine.mode == "lexical" and engine.state.semantic is None


def test_a_paraphrase_with_few_shared_words_is_answered(encoder, tmp_path, city):
    semantic = Engine.from_directory(city, SemanticSetup(encoder, EmbeddingCache(tmp_path / "e.sqlite3")))
    lexical = Engine.from_directory(city)
    question = "bus tickets price increase"
    assert not lexical.ask(question).answered
    answer = semantic.ask(question)
    assert answer.answered
    assert answer.excerpts[0].quote == "Bus fares will rise by ten percent next year."


def test_off_topic_is_still_declined(encoder, city):
    engine = Engine.from_directory(city, SemanticSetup(encoder, EmbeddingCache(None)))
    for question in ("how do I install Python on Windows?", "who won the football match?", "asdfghjkl"):
        assert not engine.ask(question).answered, question


def test_quotes_stay_exact_and_cited(encoder):
    engine = Engine.from_directory(BUNDLED, SemanticSetup(encoder, EmbeddingCache(None)))
    for question in ("did putin poison people", "is the caliphate collapsing", "Can Russia help with North Korea?"):
        answer = engine.ask(question)
        assert answer.answered
        for excerpt in answer.excerpts:
            assert excerpt.quote in excerpt.passage.text
            assert excerpt.citation.passage_id == excerpt.passage.id
    # A rhetorical question that repeats the question's words is not the answer on its own.
    assert not engine.ask("Can Russia help with North Korea?").excerpts[0].quote.endswith("?")


def test_cache_encodes_only_what_changed(encoder, tmp_path, city):
    setup = SemanticSetup(encoder, EmbeddingCache(tmp_path / "cache.sqlite3"))
    first = build_state(load_knowledge_dir(city), setup).semantic
    assert first.encoded > 0
    assert build_state(load_knowledge_dir(city), setup).semantic.encoded == 0
    write(city, "city.md", CITY.replace("ten percent", "twelve percent"))
    assert build_state(load_knowledge_dir(city), setup).semantic.encoded == 1  # one one-sentence passage


def test_reload_reuses_the_encoder_and_cache(encoder, tmp_path, city):
    engine = Engine.from_directory(city, SemanticSetup(encoder, EmbeddingCache(tmp_path / "c.sqlite3")))
    write(city, "more.md", "---\ntitle: More\n---\nThe harbour will be dredged in the summer.\n")
    assert engine.reload().documents_added == ("more",)
    assert engine.state.semantic.encoded == 2  # the new paragraph and the new "Title: More" line
    assert engine.ask("when will the harbour be dredged?").excerpts[0].passage.document_id == "more"


def test_a_model_that_cannot_load_falls_back_to_lexical(monkeypatch, city):
    setup = load_semantic("on", "/no/such/model/folder", None)
    assert setup.encoder is None and setup.error == "semantic model folder '/no/such/model/folder' not found"
    monkeypatch.setenv("SEMANTIC_MODEL", "not-a-real-model-name")
    monkeypatch.setenv("SEMANTIC", "on")
    monkeypatch.setenv("KNOWLEDGE_DIR", str(city))
    engine = Engine.from_settings(Settings.from_env())
    assert engine.mode == "lexical (semantic stage unavailable)"
    assert "not-a-real-model-name" in engine.semantic.error and "\n" not in engine.semantic.error
    assert engine.ask("when does the library open?").answered


def test_cli_warns_in_one_line_and_answers(city, tmp_path):
    env = {"PATH": "", "SEMANTIC": "on", "SEMANTIC_MODEL": str(tmp_path / "missing"), "NO_COLOR": "1",
           "PYTHONPATH": str(BUNDLED.parent), "EMBEDDING_CACHE": "off"}
    command = [sys.executable, "-m", "bot", "ask", "--knowledge", str(city), "when does the library open"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0
    assert result.stderr.strip() == (f"warning: semantic model folder '{tmp_path / 'missing'}' not found; "
                                     "answering with lexical search")
    assert "in March with ten thousand books" in result.stdout


def test_eval_and_check_show_both_modes(monkeypatch, tmp_path, capsys):
    from bot.cli import main

    monkeypatch.setenv("SEMANTIC", "auto")
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "Is Russia arming the Taliban?", "evidence": ["arming the Taliban"]}\n',
                         encoding="utf-8")
    assert main(["eval", str(questions), "--knowledge", str(BUNDLED)]) == 0
    out = capsys.readouterr().out
    assert "lexical  semantic (all-MiniLM-L6-v2)" in out
    assert main(["check", "--knowledge", str(BUNDLED)]) == 0
    assert "Search: semantic (all-MiniLM-L6-v2" in capsys.readouterr().out


def test_a_misspelt_question_is_read_for_meaning_as_corrected(encoder):
    engine = Engine.from_directory(BUNDLED, SemanticSetup(encoder, EmbeddingCache(None)))
    answer = engine.ask("syira")
    assert answer.answered and answer.corrections == {"syira": "syria"}
    assert "Syria" in answer.excerpts[0].quote
