"""Embeds stay within Discord's limits, trim at sentence or word boundaries, and keep user text inert."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.discord_app.autocomplete import document_choices
from bot.engine import Engine, ReloadReport
from bot.excerpts import Span
from bot.knowledge.models import Document, KnowledgeBase, Passage, Problem
from bot.recommendations import RecommendationList, Recommendations, RecommendationSentence
from bot.render.admin_embeds import reload_embed
from bot.render.answer_embeds import answer_embed, recommendations_embeds, sources_embeds
from bot.render.discord_text import escape, fit, join_within, trim, unescape
from bot.render.titles import keeps_question, question_from_title, question_title

SENTENCES = "Russia intervened in Syria. It did so to prop up Assad. The strikes hit civilians and convoys."


# Discord's numbers (https://discord.com/developers/docs/resources/message#embed-object-embed-limits), written
# out here rather than imported: a wrong constant in the code must not pass its own check.
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL_LIMIT = 6000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELDS_PER_EMBED = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
AUTHOR_NAME_LIMIT = 256
CHOICE_LIMIT = 100  # an autocomplete choice's name and value


def embed_characters(embed) -> int:
    """What Discord counts towards the 6,000 characters of a message: titles, descriptions, field names and
    values, footer texts and author names."""
    return (len(embed.title or "") + len(embed.description or "") + len(embed.footer.text or "")
            + len(embed.author.name or "") + sum(len(f.name) + len(f.value) for f in embed.fields))


def assert_within_limits(embeds) -> None:
    assert len(embeds) <= EMBEDS_PER_MESSAGE
    assert sum(embed_characters(e) for e in embeds) <= EMBED_TOTAL_LIMIT
    for embed in embeds:
        assert len(embed.title or "") <= TITLE_LIMIT
        assert len(embed.description or "") <= DESCRIPTION_LIMIT
        assert len(embed.footer.text or "") <= FOOTER_LIMIT
        assert len(embed.author.name or "") <= AUTHOR_NAME_LIMIT
        assert len(embed.fields) <= FIELDS_PER_EMBED
        for field in embed.fields:
            assert 0 < len(field.name) <= FIELD_NAME_LIMIT and 0 < len(field.value) <= FIELD_VALUE_LIMIT


def test_short_text_is_left_alone():
    assert trim(SENTENCES, len(SENTENCES)) == SENTENCES


def test_trimming_prefers_a_sentence_boundary():
    assert trim(SENTENCES, 70) == "Russia intervened in Syria. It did so to prop up Assad. …"


def test_trimming_falls_back_to_a_word_boundary():
    text = "The strikes hit moderate opposition forces, civilians and humanitarian convoys"
    assert trim(text, 50) == "The strikes hit moderate opposition forces…"  # no dangling comma


def test_one_endless_word_is_cut():
    assert trim("x" * 6000, 256) == "x" * 255 + "…"


@pytest.mark.parametrize("limit", [1, 2, 3, 10, 57, 100, 256, 1024])
def test_trimmed_text_never_exceeds_the_limit(limit):
    for text in (SENTENCES * 40, "word " * 900, "x" * 5000, "Syria?" * 700):
        assert len(trim(text, limit)) <= limit
        assert len(fit(text, limit)) <= limit


def test_escaping_makes_markdown_and_mentions_inert_and_is_reversible():
    text = ("**bold** _it_ `code` ||spoiler|| [link](http://x) \\ @everyone @here <@123456789012345678> "
            "<@&123456789012345678>")
    escaped = escape(text)
    assert "**bold**" not in escaped and "\\*\\*bold\\*\\*" in escaped
    assert "@everyone" not in escaped and "@here" not in escaped and "<@123456789012345678>" not in escaped
    assert "<@&123456789012345678>" not in escaped
    assert unescape(escaped) == text


@pytest.mark.parametrize("line", ["# heading", "> quote", "- item", "1. item", "-# subtext"])
def test_line_start_markers_are_escaped(line):
    escaped = escape(line)
    assert escaped != line and unescape(escaped) == line


@pytest.mark.parametrize("limit", [20, 100, 1024, 4096])
def test_lists_keep_whole_lines_and_say_how_many_were_left_out(limit):
    for width in (5, 33, 400, 5000):
        lines = [f"{n}:" + "x" * width for n in range(60)]
        joined = join_within(lines, limit, "… and {n} more")
        assert len(joined) <= limit
        kept = [line for line in joined.split("\n") if not line.startswith("…")]
        assert all(line in lines for line in kept)
        if len(kept) < len(lines):
            assert joined.endswith(f"… and {len(lines) - len(kept)} more")


def test_highlights_are_bold_and_trimming_never_splits_them():
    quote = "Russia intervened militarily in Syria in late Sept 2015, to prop up the *Assad* regime."
    spans = (Span(0, 6), Span(32, 37))
    assert fit(quote, 500, spans) == ("**Russia** intervened militarily in **Syria** in late Sept 2015, "
                                      "to prop up the \\*Assad\\* regime.")
    for limit in range(5, 120):
        shown = fit(quote, limit, spans)
        assert len(shown) <= limit
        assert shown.count("**") % 2 == 0


def test_a_question_survives_the_title_unless_trimmed():
    question = "What did *Russia* do in @everyone's __Syria__?"
    assert question_from_title(question_title(question)) == question
    assert keeps_question(question)
    long = "What did Russia do in Syria? " * 20
    assert len(question_title(long)) <= TITLE_LIMIT and question_title(long).endswith("…")
    assert not keeps_question(long)


def _long_answer(engine: Engine, quote_length: int, count: int):
    answer = engine.ask("What did Russia do in Syria?", limit=1)
    excerpt = answer.excerpts[0]
    excerpts = tuple(dataclasses.replace(excerpt, quote=("Russia bombed Syria. " * 1000)[:quote_length],
                                         citation=dataclasses.replace(excerpt.citation, number=n + 1))
                     for n in range(count))
    return dataclasses.replace(answer, excerpts=excerpts, question="Why? " * 1200)


def test_an_answer_with_ten_huge_excerpts_fits_one_message(engine):
    embed = answer_embed(_long_answer(engine, 5000, 10))
    assert_within_limits([embed])
    assert embed.description.count("**[") == 10  # every excerpt keeps a share
    assert embed.title.endswith("…")


def test_one_huge_excerpt_is_trimmed_at_a_boundary(engine):
    embed = answer_embed(_long_answer(engine, 9000, 1))
    assert_within_limits([embed])
    assert embed.description.endswith("Syria. …”")


def _document(n: int, title: str = "A title") -> Document:
    passages = tuple(Passage(f"doc-{n}#p{i}", f"doc-{n}", "paragraph", "We should act now. " * 30, i, )
                     for i in range(1, 4))
    return Document(f"doc-{n}", f"{title} {n}", Path(f"doc-{n}.md"), passages, author="Ann Author" * 10,
                    publication="The Review", url=f"https://example.org/{n}")


def test_many_recommendation_lists_stay_within_one_message():
    docs = [_document(n, "Long title " * 30) for n in range(40)]
    lists = tuple(RecommendationList(d, "We recommend: " * 50, None, d.passages) for d in docs)
    sentences = tuple(RecommendationSentence(d, d.passages[0], "It should act. " * 40) for d in docs)
    embeds = recommendations_embeds(Recommendations(lists, sentences))
    assert_within_limits(embeds)
    assert embeds[-1].description.startswith("… and ") and "narrow the recommendations" in embeds[-1].description


def test_many_sources_stay_within_one_message():
    kb = KnowledgeBase(Path("knowledge"), tuple(_document(n, "Long title " * 30) for n in range(120)))
    embeds = sources_embeds(kb)
    assert_within_limits(embeds)
    assert "more documents" in embeds[-1].description


def test_a_reload_with_many_skipped_files_stays_within_limits():
    problems = tuple(Problem(Path(f"knowledge/file-{n}.md"), "not UTF-8 text (invalid byte at offset 0)")
                     for n in range(200))
    embed = reload_embed(ReloadReport(error="no usable document found", problems=problems), Path("knowledge"))
    assert_within_limits([embed])
    assert "`file-0.md`: not UTF-8 text" in embed.fields[0].value
    assert embed.fields[0].value.endswith("more files")


def test_document_choices_fit_discords_limits():
    docs = [_document(n, "A very long title " * 20) for n in range(40)]
    choices = document_choices(docs, "very long")
    assert len(choices) == 25
    assert all(len(c.name) <= CHOICE_LIMIT and len(c.value) <= CHOICE_LIMIT for c in choices)
    assert document_choices(docs, "doc-7")[0].value == "doc-7"
    assert document_choices(docs, "nothing like it") == []


def test_code_after_a_quote_is_a_code_block_that_cannot_break_out_and_fits(tmp_path):
    code = "\n".join(f"print('line {n}')  # ``` not a fence" for n in range(200))
    (tmp_path / "guide.md").write_text(f"# Guide\n\nPrint each line like this:\n\n```python\n{code}\n```\n",
                                       encoding="utf-8")
    answer = Engine.from_directory(tmp_path).ask("how do I print each line?", limit=10)
    embed = answer_embed(answer)
    assert_within_limits([embed])
    description = embed.description
    assert description.startswith("**[1]** “**Print** each **line** like this:”\n```python\nprint('line 0')")
    assert description.count("```") == 2  # the code's own backticks cannot close the block early
    assert description.endswith("…\n```")
