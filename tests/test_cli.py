"""The terminal front end, driven the way the README shows it."""

import json
import subprocess
import sys

import pytest

from bot.cli import main
from tests.conftest import BUNDLED, write


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, input=stdin,
                          timeout=60, cwd=BUNDLED.parent,
                          env={"PATH": "", "NO_COLOR": "1", "PYTHONPATH": str(BUNDLED.parent), "SEMANTIC": "off"})


def test_quickstart_answers_in_the_terminal():
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


def test_missing_knowledge_directory_is_one_line_without_traceback(tmp_path):
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


def test_chat_answers_and_pages_like_the_bot():
    result = run("chat", "-n", "1", stdin="What did Russia do in Syria?\nmore\nfull 2\nsources\nquit\n")
    assert result.returncode == 0, result.stderr
    assert "[1] “" in result.stdout and "[2] “" in result.stdout
    assert "The American Interest" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [["ask"], ["nonsense"], ["ask", "-n", "99", "q"]])
def test_bad_arguments_exit_with_usage(args):
    result = run(*args)
    assert result.returncode == 2 and "usage:" in result.stderr and "Traceback" not in result.stderr
