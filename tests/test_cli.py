"""The terminal front end, driven the way the README shows it."""

import functools
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import BUNDLED, write


def command(state_dir: Path, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess:
    """`python -m bot ARGS` from the repository's root, as a user types it (state kept in ``state_dir``)."""
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, input=stdin,
                          timeout=60, cwd=BUNDLED.parent,
                          env={"PATH": "", "NO_COLOR": "1", "PYTHONPATH": str(BUNDLED.parent), "SEMANTIC": "off",
                               "STATE_DIR": str(state_dir), **env})


@pytest.fixture
def run(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    return functools.partial(command, tmp_path / "state")


def test_quickstart_answers_in_the_terminal(run):
    result = run("ask", "What did Russia do in Syria?")
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "intervened militarily in **Syria**" in out
    assert "Why Talking to Putin Won’t Work — David Kramer, The American Interest, July 6, 2017, ¶4." in out


def test_ask_json_prints_one_object_per_question(capsys):
    assert main(["ask", "--json", "--knowledge", str(BUNDLED), "Is Russia arming the Taliban?", "bake bread"]) == 0
    lines = capsys.readouterr().out.splitlines()
    first, second = (json.loads(line) for line in lines)
    assert first["answered"] and "arming the Taliban" in first["excerpts"][0]["quote"]
    assert first["excerpts"][0]["paragraph"] == 5
    assert second == {"question": "bake bread", "answered": False, "excerpts": [], "corrections": {},
                      "message": "I couldn't find that in the knowledge base."}


def test_check_reports_problems_with_a_non_zero_exit(knowledge_dir, capsys):
    assert main(["check", "--knowledge", str(knowledge_dir)]) == 0
    assert "1 document(s), 23 passage(s)" in capsys.readouterr().out
    write(knowledge_dir, "broken.md", b"\xff\xfe\x00")
    assert main(["check", "--knowledge", str(knowledge_dir)]) == 1
    out = capsys.readouterr().out
    assert f"problem: {knowledge_dir / 'broken.md'}: binary file" in out


def test_missing_knowledge_directory_is_one_line_without_traceback(tmp_path, run):
    result = run("ask", "--knowledge", str(tmp_path / "missing"), "hello?")
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'missing'}: knowledge directory not found"


def test_knowledge_dir_comes_from_the_environment(tmp_path, monkeypatch, capsys):
    write(tmp_path, "solar.md", "---\ntitle: Solar\n---\nSolar panels got cheaper in 2020.\n")
    monkeypatch.setenv("KNOWLEDGE_DIR", str(tmp_path))
    assert main(["sources"]) == 0
    assert "Solar" in capsys.readouterr().out


def test_recommendations_json_with_topic(capsys):
    assert main(["recommendations", "--json", "--topic", "energy", "--knowledge", str(BUNDLED)]) == 0
    data = json.loads(capsys.readouterr().out)
    (item,) = data["lists"][0]["items"]
    assert item["number"] == 5 and item["citation"]["location"] == "¶8, item 5"


def test_eval_prints_the_figures(tmp_path, capsys):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"question": "Is Russia arming the Taliban?", "kind": "answerable", "evidence": ["arming the Taliban"]}\n'
        '{"question": "How do I bake bread?", "kind": "unanswerable"}\n', encoding="utf-8")
    assert main(["eval", str(questions), "--knowledge", str(BUNDLED)]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["lexical"] in rows
    for figure in (["hit@1", "100.0%"], ["hit@3", "100.0%"], ["quote@1", "100.0%"], ["abstained", "100.0%"],
                   ["false", "abstentions", "0"]):
        assert figure in rows


def test_eval_rejects_a_malformed_question_file(tmp_path, capsys):
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "ok?"}\nnot json\n', encoding="utf-8")
    assert main(["eval", str(questions), "--knowledge", str(BUNDLED)]) == 2
    assert "line 2" in capsys.readouterr().err


def test_chat_answers_and_pages_like_the_bot(run):
    result = run("chat", "-n", "1", stdin="What did Russia do in Syria?\nmore\nfull 2\nsources\nquit\n")
    assert result.returncode == 0, result.stderr
    assert "[1] “" in result.stdout and "[2] “" in result.stdout
    assert "The American Interest" in result.stdout
    assert "Traceback" not in result.stderr


def test_chat_reads_a_follow_up_with_the_questions_before_it(run):
    result = run("chat", "-n", "1", stdin="What did Russia do in Syria?\nand what about Iran?\nquit\n")
    assert result.returncode == 0, result.stderr
    follow_up = result.stdout.split("Q: and what about Iran?", 1)[1]
    searched = next(line for line in follow_up.splitlines() if "(searched:" in line)
    assert "Syria" in searched and "Iran" in searched
    assert "**Iran**" in follow_up or "Iran" in follow_up.split("[1]", 1)[1]


@pytest.mark.parametrize("args", [["ask"], ["nonsense"], ["ask", "-n", "99", "q"]])
def test_bad_arguments_exit_with_usage(args, run):
    result = run(*args)
    assert result.returncode == 2 and "usage:" in result.stderr and "Traceback" not in result.stderr


def test_ask_says_how_to_see_more_excerpts_where_nothing_can_be_typed(run):
    result = run("ask", "-n", "2", "Putin")
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("(more excerpts: ask again with -n 4 (up to 10), or page with `chat`)")
    assert "type 'more'" not in result.stdout
    most = run("ask", "-n", "10", "Putin")
    assert most.stdout.rstrip().endswith("(more excerpts: page through them with `python -m bot chat` and 'more')")


@pytest.mark.parametrize("question", ["", "   "])
def test_an_empty_question_is_bad_input(run, question):
    result = run("ask", "What did Russia do in Syria?", question)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: a question is empty: put the question in quotes")


@pytest.mark.parametrize(("value", "said"), [("abc", "must be a whole number from 1 to 10, not 'abc'"),
                                             ("0", "must be a whole number from 1 to 10, not 0")])
def test_a_bad_number_of_excerpts_is_said_in_plain_words(run, value, said):
    result = run("ask", "-n", value, "Putin")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == f"python -m bot ask: error: argument -n/--excerpts: {said}"
    assert "_excerpts" not in result.stderr


def test_sources_check_chat_and_bench_count_the_same_passages(run):
    sources, check = run("sources"), run("check")
    chat = run("chat", "--no-record", stdin="quit\n")
    assert json.loads(run("bench", "--json").stdout)["passages"] == 23
    counted = "23 passages (17 searched, 6 document details)"
    assert f"id why-talking-to-putin-wont-work, {counted}," in sources.stdout
    assert f"id why-talking-to-putin-wont-work: {counted}, 0 sections" in check.stdout
    assert "1 document(s), 23 passage(s)" in check.stdout
    assert chat.stdout.startswith("Knowledge base: 1 document(s), 23 passages;")


def test_a_file_given_as_the_knowledge_directory_is_named_as_a_file(run):
    result = run("ask", "--knowledge", "README.md", "what is this?")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == ("error: README.md is a file, but the knowledge base is a directory of documents "
                             "(to add this file to one: python -m bot add README.md)\n")


def test_a_skipped_file_is_named_with_its_reason(knowledge_dir, tmp_path, run):
    write(knowledge_dir, "broken.md", b"\xff\xfe\x00")
    result = run("ask", "--knowledge", str(knowledge_dir), "What did Russia do in Syria?")
    assert result.returncode == 0 and "intervened militarily" in " ".join(result.stdout.split())
    reason = "binary file (contains NUL bytes), expected UTF-8 text"
    assert result.stderr == f"warning: skipped {knowledge_dir / 'broken.md'}: {reason}\n"
    only_broken = tmp_path / "only-broken"
    write(only_broken, "broken.md", b"\xff\xfe\x00")
    result = run("sources", "--knowledge", str(only_broken))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"error: {only_broken}: no usable document found (1 file(s) skipped)",
                                          f"  skipped {only_broken / 'broken.md'}: {reason}"]


def test_recommendations_of_an_unknown_document_list_the_documents(run):
    result = run("recommendations", "--document", "nope")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: no document 'nope' in knowledge; give an id or (part of) a title of one of these:",
        "  why-talking-to-putin-wont-work: Why Talking to Putin Won’t Work"]
    assert "Russia" in run("recommendations", "--document", "talking to putin").stdout


def test_the_readmes_example_is_what_ask_prints(tmp_path):
    """The README shows the default install's output (semantic); lexically, the first two excerpts are the same."""
    readme = (BUNDLED.parent / "README.md").read_text(encoding="utf-8")
    shown = readme.split("What the first command prints:\n\n```\n", 1)[1].split("\n```", 1)[0]
    result = command(tmp_path / "state", "ask", "What did Russia do in Syria?", SEMANTIC="auto",
                     EMBEDDING_CACHE=str(tmp_path / "embeddings.sqlite3"))
    assert result.returncode == 0, result.stderr
    if result.stderr:  # the model could not load here: lexical answers, said in one line
        assert result.stderr.startswith("warning: ") and result.stderr.count("\n") == 1
        assert result.stdout.split("[3] ")[0] == shown.split("[3] ")[0]
    else:
        assert result.stdout.rstrip("\n") == shown
