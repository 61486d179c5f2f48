"""Admin insight and the export: what /kb stats and `python -m bot export` are built from (both backends)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from bot.store import DOWN, EVERYWHERE, UP, Count, PassageVotes, Store
from bot.store.stats import busiest_topics, question_key, unanswered_questions
from tests.store.conftest import NOW, Clock, ask, flushed

GUILD, OTHER = 1, 2
RAW_USER = 555000111222333444


async def asked_in_a_month(store: Store, clock: Clock) -> dict[str, str]:
    """A month of questions in one server, plus one elsewhere, one in DMs and one too old to count."""
    ids = {
        "syria": ask(store, "What did Russia do in Syria?", passage_ids=("putin#p4", "putin#p6"),
                     at=clock.back(days=3), user_id=RAW_USER),
        "sanctions": ask(store, "Sanctions on Russia?", passage_ids=("putin#p6", "energy#p1"), at=clock.back(days=2)),
        "china 1": ask(store, "what about china", answered=False, passage_ids=(), at=clock.back(days=20)),
        "china 2": ask(store, "What about China?", answered=False, passage_ids=(), at=clock.back(days=1)),
        "football": ask(store, "Who won the football?", answered=False, passage_ids=(), at=clock.back(days=10)),
        "other server": ask(store, "Is Russia arming the Taliban?", passage_ids=("putin#p5",), guild_id=OTHER,
                            at=clock.back(days=1)),
        "dm": ask(store, "Who wrote the article?", passage_ids=("putin#author",), guild_id=None,
                  at=clock.back(days=1)),
        "too old": ask(store, "What about Iran?", answered=False, passage_ids=(), at=clock.back(days=40)),
    }
    for voter, vote in ((1, DOWN), (2, DOWN), (3, UP)):
        store.record_feedback(ids["syria"], voter, vote)
    store.record_feedback(ids["sanctions"], 1, DOWN)
    store.record_feedback(ids["other server"], 1, DOWN)
    await flushed(store)
    return ids


async def test_stats_for_a_server(open_store, clock):
    store = await open_store()
    await asked_in_a_month(store, clock)
    stats = await store.stats(GUILD, days=30)

    assert (stats.since, stats.until, stats.days) == (clock.back(days=30), NOW, 30)
    assert (stats.questions, stats.answered, stats.answer_rate) == (5, 2, 0.4)
    assert stats.topics == (Count("china", 2), Count("russia", 2), Count("football", 1), Count("sanctions", 1),
                            Count("syria", 1))
    assert stats.documents == (Count("putin", 2), Count("energy", 1))
    assert [(u.text, u.count, u.last_asked) for u in stats.unanswered] == [
        ("What about China?", 2, clock.back(days=1)), ("Who won the football?", 1, clock.back(days=10))]
    assert (stats.votes_up, stats.votes_down, stats.approval) == (1, 3, 0.25)
    assert stats.voted_down == (PassageVotes("putin#p6", 3, 1), PassageVotes("putin#p4", 2, 1),
                                PassageVotes("energy#p1", 1, 0))
    assert stats.voted_down[2].document_id == "energy"


async def test_stats_never_mix_servers(open_store, clock):
    store = await open_store()
    await asked_in_a_month(store, clock)
    other = await store.stats(OTHER, days=30)
    assert (other.questions, other.votes_down, [c.label for c in other.documents]) == (1, 1, ["putin"])
    assert [p.passage_id for p in other.voted_down] == ["putin#p5"]
    direct = await store.stats(None, days=30)
    assert (direct.questions, direct.votes_down, direct.unanswered) == (1, 0, ())
    everywhere = await store.stats(EVERYWHERE, days=30)
    assert (everywhere.questions, everywhere.votes_down) == (7, 4)
    assert (await store.stats(EVERYWHERE, days=60)).questions == 8
    nobody = await store.stats(999, days=30)
    assert (nobody.questions, nobody.answer_rate, nobody.approval, nobody.topics) == (0, None, None, ())


async def test_stats_json_is_plain_json(open_store, clock):
    store = await open_store()
    await asked_in_a_month(store, clock)
    data = json.loads(json.dumps((await store.stats(GUILD, days=30)).to_json()))
    assert data["scope"] == "1" and data["answer_rate"] == 0.4
    assert data["unanswered"][0] == {"question": "What about China?", "count": 2,
                                     "last_asked": clock.back(days=1).isoformat()}
    assert data["votes"] == {"up": 1, "down": 3, "approval": 0.25}
    assert data["voted_down"][0] == {"passage": "putin#p6", "document": "putin", "down": 3, "up": 1}


def test_topics_group_word_forms_and_skip_question_words():
    topics = busiest_topics(["What sanctions did the US impose?", "Are the sanctions working?",
                             "sanction relief", "What does the article say about Syria in 2015?"])
    assert topics[0] == Count("sanctions", 3)
    labels = [c.label for c in topics]
    assert "us" in labels and "syria" in labels
    assert not {"what", "article", "say", "2015", "the"} & set(labels)


def test_unanswered_questions_are_grouped_ignoring_case_punctuation_and_spacing():
    assert question_key("  What about   CHINA?! ") == question_key("what about china") == "what about china"
    rows = [("what about china", NOW.replace(day=1)), ("What about China?", NOW.replace(day=3)),
            ("Football?", NOW.replace(day=8)), ("?!", NOW)]
    found = unanswered_questions(rows)
    assert [(u.text, u.count) for u in found] == [("What about China?", 2), ("Football?", 1)]
    assert unanswered_questions(rows, limit=1)[0].last_asked == NOW.replace(day=3)


async def test_export_csv_parses_back_without_user_ids(open_store, clock):
    store = await open_store()
    ids = await asked_in_a_month(store, clock)
    out = io.StringIO()
    assert await store.export(out, "csv", GUILD, days=30) == 5
    text = out.getvalue()
    assert str(RAW_USER) not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["id"] for row in rows] == [ids[k] for k in ("china 1", "football", "syria", "sanctions", "china 2")]
    syria = rows[2]
    assert syria == {"id": ids["syria"], "asked_at": clock.back(days=3).isoformat(), "guild_id": "1",
                     "channel_id": "10", "asker_hash": store.hash_user(RAW_USER),
                     "question": "What did Russia do in Syria?", "answered": "true",
                     "passage_ids": "putin#p4 putin#p6", "latency_ms": "12", "votes_up": "1", "votes_down": "2"}
    assert rows[0]["answered"] == "false" and rows[0]["passage_ids"] == ""


async def test_export_json_parses_back(open_store, clock):
    store = await open_store()
    ids = await asked_in_a_month(store, clock)
    out = io.StringIO()
    assert await store.export(out, "json", EVERYWHERE) == 8
    rows = json.loads(out.getvalue())
    assert len(rows) == 8 and rows[0]["id"] == ids["too old"]
    dm = next(row for row in rows if row["id"] == ids["dm"])
    assert (dm["guild_id"], dm["channel_id"], dm["passage_ids"], dm["answered"]) == (None, None, ["putin#author"], True)
    assert json.loads(await export_text(store, "json", 12345)) == []
    assert (await export_text(store, "csv", 12345)).splitlines() == [
        "id,asked_at,guild_id,channel_id,asker_hash,question,answered,passage_ids,latency_ms,votes_up,votes_down"]


async def export_text(store: Store, format: str, scope: int) -> str:
    out = io.StringIO()
    await store.export(out, format, scope)  # type: ignore[arg-type]
    return out.getvalue()


async def test_export_rejects_an_unknown_format(open_store):
    store = await open_store()
    with pytest.raises(ValueError, match="csv or json"):
        await store.export(io.StringIO(), "xml", EVERYWHERE)  # type: ignore[arg-type]
