"""Follow-up questions read with the conversation's earlier ones (bot/followups.py), and the follow-up
eval set scored with and without them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.engine import Engine
from bot.evaluation import ALONE, LEXICAL, load_questions
from bot.followups import continues, read_followup
from tests.conftest import BUNDLED

SYRIA = "What did Russia do in Syria?"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_directory(BUNDLED)


def test_a_follow_up_is_searched_with_the_earlier_topic_and_says_so(engine: Engine) -> None:
    answer = engine.ask("and what about Iran?", earlier=[SYRIA])
    assert answer.answered
    assert set(answer.searched) == {"Russia", "Syria", "Iran"}
    assert answer.searched[-1] == "Iran"  # the earlier words first, then what is asked now
    assert "sells Iran advanced missile defense systems" in answer.excerpts[0].passage.text


def test_why_alone_is_not_a_question_but_after_one_it_is(engine: Engine) -> None:
    assert not engine.ask("why?").answered
    answer = engine.ask("why?", earlier=[SYRIA])
    assert answer.answered and set(answer.searched) == {"Russia", "Syria"}
    assert "prop up that country’s murderous Assad regime" in answer.excerpts[0].passage.text


def test_a_new_topic_is_not_read_with_the_old_one(engine: Engine) -> None:
    alone = engine.ask("Where is the G20 summit?")
    after = engine.ask("Where is the G20 summit?", earlier=[SYRIA])
    assert after.searched == ()
    assert [e.passage.id for e in after.excerpts] == [e.passage.id for e in alone.excerpts]


def test_a_field_question_after_another_topic_is_its_own(engine: Engine) -> None:
    answer = engine.ask("Who is the author of the article?", earlier=[SYRIA])
    assert answer.searched == () and "David Kramer" in answer.excerpts[0].quote


def test_a_follow_up_about_what_the_base_never_names_is_declined(engine: Engine) -> None:
    answer = engine.ask("and what about Venezuela?", earlier=[SYRIA])
    assert not answer.answered
    assert "Venezuela" in answer.searched  # the decline says what it looked for


def test_a_topic_carries_through_a_chain_of_follow_ups_and_stops_at_a_new_one(engine: Engine) -> None:
    chained = read_followup(engine.state.analyser, "why?", [SYRIA, "and what about Iran?"])
    assert {"Iran", "Russia", "Syria"} <= set(chained.carried)
    restarted = read_followup(engine.state.analyser, "why?", [SYRIA, "Where is the G20 summit?"])
    assert "Syria" not in restarted.carried and "G20" in restarted.carried


@pytest.mark.parametrize(("question", "follows"), [
    ("why?", True), ("and in Georgia?", True), ("does it do the same in Europe?", True),
    ("who pays for repairs then?", True), ("Who is the author?", False),
    ("Should the US give weapons to Ukraine?", False),
    ("how do i get my mpl rights back after i violated it", False),  # long: "it" is what it names
])
def test_what_continues_a_conversation(engine: Engine, question: str, follows: bool) -> None:
    assert continues(question, engine.state.analyser.analyse(question)) is follows


def test_the_follow_up_sets_carry_their_earlier_questions() -> None:
    questions = load_questions(REPO / "eval" / "followups" / "article-followups.jsonl")
    assert questions and all(q.earlier for q in questions)


def test_eval_scores_a_follow_up_set_with_and_without_the_earlier_questions(tmp_path: Path, capsys) -> None:
    rows = [{"earlier": [SYRIA], "question": "why?", "kind": "answerable",
             "evidence": ["prop up that country's murderous Assad regime"]},
            {"earlier": [SYRIA], "question": "and what about Iran?", "kind": "answerable",
             "evidence": ["sells Iran advanced missile defense systems"]}]
    questions = tmp_path / "followups.jsonl"
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert main(["eval", str(questions), "--knowledge", str(BUNDLED), "--json"]) == 0
    modes = json.loads(capsys.readouterr().out)["modes"]
    assert modes[LEXICAL]["hit@1"] == 100.0
    assert modes[f"{LEXICAL}, {ALONE}"]["false_abstentions"] == 1  # "why?" alone asks nothing


def test_a_bad_earlier_field_names_its_line(tmp_path: Path) -> None:
    questions = tmp_path / "bad.jsonl"
    questions.write_text(json.dumps({"question": "why?", "earlier": "not a list"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1"):
        load_questions(questions)
