"""Converting a parsed document to a Markdown knowledge file: it reads back as the same blocks."""

from __future__ import annotations

import dataclasses
import random

import pytest

from bot.knowledge.blocks import Block, ParsedDocument
from bot.knowledge.convert import escape_text, to_markdown
from bot.knowledge.formats.markdown import parse_markdown
from bot.knowledge.frontmatter import split_front_matter

TRICKY = [
    "# not a heading", "#hashtag", "> not a quote", "- not an item", "+ plus", "* star", "1. not a list",
    "2) nor this", "123456789. long number", "---", "===", "***", "___", "- - -", "```", "~~~ tilde fence",
    "~~not struck~~", "*not emphasis*", "**not strong**", "_not em_", "__dunder__", "snake_case_name",
    "`not code`", "``double``", "[not a link](http://x.org)", "![not an image](i.png)", "[ref]: /not-a-definition",
    "[^1] not a footnote", "<https://not-an-autolink.org>", "<b>not html</b>", "<!-- not a comment -->",
    "<!-- page 3 -->", "AT&T &amp; &#35; &copy; entities", "back\\slash \\* and trailing \\", "pipe | table | row",
    "|---|---|", "(label)=", "{ref}`x`", "ends with #", "##", "a # b ##", "café ünïcödé 中文 👍", "🙂 * _ ` [ ] < >",
    "x<y>z", "!", "\\", "&", "a\u00a0b", "1.5 is a number", "e.g. and i.e.", "1)", "- ", "+", ">", "#",
]


def body_of(markdown: str) -> str:
    return split_front_matter(markdown)[1]


def round_trip(blocks: list[Block]) -> list[Block]:
    markdown = to_markdown(ParsedDocument("test", blocks), {"title": "Round trip"})
    return [dataclasses.replace(b, section=None) for b in parse_markdown(body_of(markdown)).blocks]


def test_front_matter_holds_the_metadata_in_order_quoted_as_yaml_needs():
    markdown = to_markdown(
        ParsedDocument("PDF", [Block("paragraph", "Text.")]),
        {"fetched": "2024-05-01", "url": "https://x.org/a?b=c#d", "title": "Sanctions: a “primer”",
         "published": "2017-07-06", "author": "", "source_format": "PDF", "subtitle": "- dash: first"},
    )
    meta, body, had_meta = split_front_matter(markdown)
    assert had_meta
    assert list(meta) == ["title", "subtitle", "published", "url", "fetched", "source_format"]
    assert meta["title"] == "Sanctions: a “primer”"
    assert meta["subtitle"] == "- dash: first"
    assert str(meta["published"]) == "2017-07-06"
    assert meta["url"] == "https://x.org/a?b=c#d"
    assert "“primer”" in markdown  # unicode written as itself, not escaped
    assert body.strip() == "Text."


def test_no_metadata_means_no_front_matter():
    assert to_markdown(ParsedDocument("text", [Block("paragraph", "Just text.")]), {}) == "Just text.\n"


def test_blocks_are_written_as_plain_commonmark():
    markdown = to_markdown(ParsedDocument("HTML", [
        Block("heading", "Title", 1), Block("paragraph", "Words and snake_case, AT&T, 5 * 3."),
        Block("item", "first"), Block("item", "nested", 1), Block("heading", "Code", 2),
        Block("code", "print('hi')", language="python"),
    ]), {})
    assert markdown == ("# Title\n\nWords and snake_case, AT&T, 5 \\* 3.\n\n- first\n  - nested\n\n## Code\n\n"
                        "```python\nprint('hi')\n```\n")


@pytest.mark.parametrize("text", TRICKY)
def test_markdown_like_text_reads_back_word_for_word(text):
    text = " ".join(text.split())
    blocks = [Block("heading", text, 2), Block("paragraph", text), Block("item", text), Block("item", text, 1)]
    assert round_trip(blocks) == blocks


def test_escaping_leaves_ordinary_prose_alone():
    prose = "It’s a pity—really: 3 of 4 people (75%) agree; see page 12, e.g. the U.S. view!"
    assert escape_text(prose) == prose


def test_code_gets_a_fence_longer_than_any_backtick_run_inside():
    code = "echo ```\n````\nx = `y`"
    markdown = to_markdown(ParsedDocument("text", [Block("code", code, language="sh")]), {})
    assert markdown.startswith("`````sh\n")
    assert round_trip([Block("code", code, language="sh")]) == [Block("code", code, language="sh")]


def test_a_language_with_a_backtick_or_escapes_survives_in_a_tilde_fence():
    blocks = [Block("code", "a\n~~~\nb", language="we`ird"), Block("code", "x", language="c\\d&amp;")]
    assert round_trip(blocks) == blocks


def test_page_markers_are_written_when_the_page_changes_and_read_back():
    blocks = [Block("heading", "Intro", 1, page=1), Block("paragraph", "On one.", page=1),
              Block("paragraph", "On two.", page=2), Block("item", "item on two", page=2),
              Block("item", "nested on three", 1, page=3), Block("item", "deeper on three", 2, page=3),
              Block("item", "back out on four", 0, page=4), Block("code", "code\n  on five", page=5)]
    markdown = to_markdown(ParsedDocument("PDF", blocks), {"title": "T"})
    assert markdown.count("<!-- page ") == 5
    assert round_trip(blocks) == blocks


def test_item_levels_without_parents_read_back_at_their_level():
    blocks = [Block("paragraph", "Intro."), Block("item", "starts deep", 2), Block("item", "then top"),
              Block("item", "then middle", 1), Block("code", "x"), Block("item", "deep after code", 2)]
    assert round_trip(blocks) == blocks


def test_empty_blocks_are_left_out():
    assert round_trip([Block("paragraph", "  "), Block("paragraph", "Kept.")]) == [Block("paragraph", "Kept.")]


PIECES = [*"*_`[]()<>&#!|\\~-+=.:;'\"{}^$%@/ \t",
    "&amp;", "&#35;", "&copy;", "<b>", "</b>", "<!--", "-->", "http://x.org", "<http://x.org>", "1.", "2)",
    "- ", "* ", "+ ", "> ", "# ", "```", "~~~", "~~", "**", "__", "[a](b)", "![i](j)", "[x]: /u", "[^1]",
    "{ref}`x`", "(t)=", "é", "中文", "👍", "word", "snake_case", "\u00a0", "---", "===", "|---|", "<year>", "\n",
]
LANGUAGES = ["", "python", "c++", "shell-session", "a&amp;b", "x\\y", "`q", "{note}"]


def _random_text(rng: random.Random, pieces: int) -> str:
    return " ".join("".join(rng.choice(PIECES) for _ in range(rng.randint(1, pieces))).split())


def _random_code(rng: random.Random) -> str:
    lines = ["".join(rng.choice([*PIECES[:-1], "    ", "````"]) for _ in range(rng.randint(0, 6)))
             for _ in range(rng.randint(1, 4))]
    code = "\n".join(line.rstrip() for line in lines).strip("\n")
    return code if code.strip() else "pass"


def _random_blocks(rng: random.Random) -> list[Block]:
    page = rng.choice([None, 1])
    blocks = []
    for _ in range(rng.randint(1, 10)):
        if page is not None and rng.random() < 0.3:
            page += rng.randint(1, 3)
        kind = rng.choice(["heading", "paragraph", "item", "item", "code"])
        if kind == "heading":
            block = Block("heading", _random_text(rng, 8), rng.randint(1, 6), page)
        elif kind == "paragraph":
            block = Block("paragraph", _random_text(rng, 12), 0, page)
        elif kind == "item":
            block = Block("item", _random_text(rng, 10), rng.randint(0, 2), page)
        else:
            block = Block("code", _random_code(rng), 0, page, rng.choice(LANGUAGES))
        if block.text.strip():
            blocks.append(block)
    return blocks or [Block("paragraph", "x", 0, page)]


@pytest.mark.parametrize("seed", range(6))
def test_random_documents_of_tricky_text_round_trip(seed):
    rng = random.Random(seed)
    for _ in range(60):
        blocks = _random_blocks(rng)
        assert round_trip(blocks) == blocks
