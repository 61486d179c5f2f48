"""`python -m bot eval` across question sets: manifests, several sets on the command line, per-set and
overall figures, skipped sets, and the bm25s baseline beside the project."""

import json
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.evaluation import (
    BASELINE,
    Bm25sBaseline,
    EvalQuestion,
    EvalResult,
    EvalSet,
    Reply,
    evaluate,
    load_manifest,
    overall,
)
from bot.knowledge.models import Passage
from tests.conftest import write

LIBRARY = ("---\ntitle: City library\n---\n"
           "The new library opens in March with ten thousand books.\n\n"
           "Members may borrow five books at a time.\n")
GARDEN = ("---\ntitle: Garden notes\n---\n"
          "Tomatoes need six hours of sun every day.\n\n"
          "Water the roses early in the morning.\n")


def lines(*rows: dict) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


@pytest.fixture
def sets(tmp_path: Path) -> Path:
    """Two small sets and a manifest listing them with a third whose knowledge directory is missing.

    library: 3 answerable (2 with their evidence in the knowledge base, 1 whose evidence is not), 1 unanswerable.
    garden: 1 answerable, 1 unanswerable.
    """
    write(tmp_path / "library" / "knowledge", "library.md", LIBRARY)
    write(tmp_path / "garden" / "knowledge", "garden.md", GARDEN)
    write(tmp_path / "library", "questions.jsonl", lines(
        {"question": "when does the new library open?", "evidence": ["opens in March"]},
        {"question": "how many books can members borrow?", "evidence": ["borrow five books at a time"]},
        {"question": "how many books does the library have?", "evidence": ["twenty thousand volumes"]},
        {"question": "who won the football world cup?", "kind": "unanswerable"}))
    write(tmp_path / "garden", "questions.jsonl", lines(
        {"question": "how much sun do tomatoes need", "evidence": ["six hours of sun"]},
        {"question": "what is the capital of Peru?", "kind": "unanswerable"}))
    write(tmp_path / "docs", "questions.jsonl", lines({"question": "what is len?", "evidence": ["length"]}))
    write(tmp_path, "sets.yaml", (
        "sets:\n"
        "  - {name: library, questions: library/questions.jsonl, knowledge: library/knowledge}\n"
        "  - {name: garden, questions: garden/questions.jsonl, knowledge: garden/knowledge}\n"
        "  - name: docs\n"
        "    questions: docs/questions.jsonl\n"
        "    knowledge: docs/missing\n"
        "    install: apt-get install some-docs\n"))
    return tmp_path


def run_json(capsys, *argv: str) -> dict:
    assert main(["eval", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_manifest_resolves_paths_from_its_folder(sets):
    library, garden, docs = load_manifest(sets / "sets.yaml")
    assert (library.name, library.questions, library.knowledge) == (
        "library", sets / "library" / "questions.jsonl", sets / "library" / "knowledge")
    assert garden.knowledge == sets / "garden" / "knowledge"
    assert docs.install == "apt-get install some-docs"


def test_per_set_and_overall_figures(sets, capsys):
    data = run_json(capsys, str(sets / "sets.yaml"))
    library, garden, _docs = data["sets"]
    assert library["modes"]["lexical"] == {"hit@1": 66.7, "hit@3": 66.7, "quote@1": 66.7, "abstained": 100.0,
                                           "false_abstentions": 0, "answerable": 3, "unanswerable": 1}
    assert library["failures"]["lexical"] == {
        "evidence not in the top three passages": ["how many books does the library have?"]}
    assert garden["modes"]["lexical"] == {"hit@1": 100.0, "hit@3": 100.0, "quote@1": 100.0, "abstained": 100.0,
                                          "false_abstentions": 0, "answerable": 1, "unanswerable": 1}
    assert garden["failures"]["lexical"] == {}
    # Overall pools the questions of the sets scored: 3 of 4 answerable found, both unanswerable declined.
    assert data["overall"]["sets"] == 2 and data["overall"]["questions"] == 6
    assert data["overall"]["modes"]["lexical"] == {"hit@1": 75.0, "hit@3": 75.0, "quote@1": 75.0,
                                                   "abstained": 100.0, "false_abstentions": 0,
                                                   "answerable": 4, "unanswerable": 2}
    # The single-set keys stay, for the pooled figures of the project's own mode.
    assert data["figures"] == data["overall"]["modes"]["lexical"]
    assert data["failures"] == [["how many books does the library have?", "evidence not in the top three passages"]]


def test_a_missing_knowledge_directory_is_skipped_with_its_reason(sets, capsys):
    data = run_json(capsys, str(sets / "sets.yaml"))
    docs = data["sets"][2]
    assert docs["name"] == "docs" and docs["modes"] == {}
    assert docs["skipped"] == f"knowledge directory {sets / 'docs' / 'missing'} not found " \
                              "(install: apt-get install some-docs)"
    assert main(["eval", str(sets / "sets.yaml")]) == 0
    out = capsys.readouterr().out
    assert f"== docs: skipped: knowledge directory {sets / 'docs' / 'missing'} not found" in out
    assert "== overall: 2 sets, 6 questions pooled (1 skipped)" in out


def test_only_skipped_sets_exit_non_zero(sets, capsys):
    write(sets, "docs.yaml", "sets:\n  - {name: docs, questions: docs/questions.jsonl, knowledge: docs/missing}\n")
    assert main(["eval", str(sets / "docs.yaml")]) == 1
    assert "== docs: skipped" in capsys.readouterr().out


def test_sets_on_the_command_line_pair_with_their_knowledge(sets, capsys):
    library, garden = sets / "library", sets / "garden"
    data = run_json(capsys, str(library / "questions.jsonl"), "--knowledge", str(library / "knowledge"),
                    str(garden / "questions.jsonl"), "--knowledge", str(garden / "knowledge"))
    assert [s["name"] for s in data["sets"]] == ["library", "garden"]
    assert data["overall"]["modes"]["lexical"]["hit@1"] == 75.0
    # Options may come first; one --knowledge serves every set.
    data = run_json(capsys, "--knowledge", str(library / "knowledge"), str(library / "questions.jsonl"))
    assert [s["name"] for s in data["sets"]] == ["library"] and data["figures"]["hit@1"] == 66.7


def test_the_text_report_shows_each_set_its_failures_and_overall(sets, capsys):
    assert main(["eval", str(sets / "sets.yaml")]) == 0
    out = capsys.readouterr().out
    library = out[out.index("== library"):out.index("== garden")]
    assert "4 questions (3 answerable, 1 unanswerable)" in library
    assert "failures (lexical), by cause:\n  evidence not in the top three passages (1):\n" \
           "    - 'how many books does the library have?'" in library
    rows = [line.split() for line in out[out.index("== overall"):].splitlines()]
    assert ["hit@1", "75.0%"] in rows and ["abstained", "100.0%"] in rows and ["answerable", "4"] in rows


def test_bad_command_lines_are_one_line_errors(sets, capsys):
    library, garden = sets / "library" / "questions.jsonl", sets / "garden" / "questions.jsonl"
    assert main(["eval", str(library), str(garden), "--knowledge", "a", "--knowledge", "b", "--knowledge", "c"]) == 2
    assert "3 --knowledge for 2 question sets" in capsys.readouterr().err
    assert main(["eval", str(sets / "sets.yaml"), "--knowledge", "a"]) == 2
    assert "a manifest names its own" in capsys.readouterr().err
    write(sets, "bad.yaml", "sets:\n  - {name: x}\n")
    assert main(["eval", str(sets / "bad.yaml")]) == 2
    assert "set 1: needs name, questions and knowledge" in capsys.readouterr().err
    assert main(["eval"]) == 2


def test_baseline_column_beside_the_project(sets, capsys):
    pytest.importorskip("bm25s")  # the test extra installs it
    data = run_json(capsys, str(sets / "sets.yaml"), "--baseline")
    library = data["sets"][0]
    assert list(library["modes"]) == ["lexical", BASELINE]
    # bm25s finds the same two answers; it declines the football question only because no passage shares a term.
    assert library["modes"][BASELINE] == {"hit@1": 66.7, "hit@3": 66.7, "quote@1": 66.7, "abstained": 100.0,
                                          "false_abstentions": 0, "answerable": 3, "unanswerable": 1}
    assert list(data["overall"]["modes"]) == ["lexical", BASELINE]
    assert main(["eval", str(sets / "sets.yaml"), "--baseline"]) == 0
    header = next(line for line in capsys.readouterr().out.splitlines() if line.lstrip().startswith("lexical"))
    assert header.split() == ["lexical", "baseline", "(bm25s)"]


def test_baseline_quotes_the_sentence_with_most_question_terms_and_declines_without_a_match():
    pytest.importorskip("bm25s")
    passages = [Passage(f"d:{i}", "d", "paragraph", text, i) for i, text in enumerate((
        "The library opens in March. Members borrow books there. Books may be borrowed five at a time.",
        "Bus fares rise next year."), 1)]
    baseline = Bm25sBaseline(passages)
    reply = baseline.ask("how many books may members borrow?")
    assert reply.answered and reply.passages == (passages[0].text,)
    assert reply.quote == "Members borrow books there."  # members, borrow, books: three terms; the next has two
    assert baseline.ask("the of and") == Reply(False)  # stop words only
    assert baseline.ask("quantum chromodynamics") == Reply(False)


def test_baseline_without_bm25s_is_one_line(sets, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "bm25s", None)
    assert main(["eval", str(sets / "sets.yaml"), "--baseline"]) == 2
    assert capsys.readouterr().err.strip() == "error: --baseline needs bm25s: pip install bm25s"


def test_overall_pools_counts_not_percentages():
    questions = [EvalQuestion("q1", "answerable", ("yes",)), EvalQuestion("q2", "unanswerable")]
    one = evaluate(questions, lambda q: Reply(True, ("yes",), "yes") if q == "q1" else Reply(False))
    two = evaluate(questions[:1] * 3, lambda q: Reply(False))
    from bot.evaluation import SetReport

    pooled = overall([SetReport(EvalSet("a", Path("a"), Path("a")), 2, {"lexical": one}),
                      SetReport(EvalSet("b", Path("b"), Path("b")), 3, {"lexical": two})])["lexical"]
    assert isinstance(pooled, EvalResult)
    assert pooled.figures == {"hit@1": 25.0, "hit@3": 25.0, "quote@1": 25.0, "abstained": 100.0,
                              "false_abstentions": 3, "answerable": 4, "unanswerable": 1}
