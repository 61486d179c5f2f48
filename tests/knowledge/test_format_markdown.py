"""Markdown parser: CommonMark read with markdown-it-py into plain blocks, no markup left in the text."""

from __future__ import annotations

import re
import textwrap

from bot.knowledge.blocks import Block
from bot.knowledge.formats.markdown import parse_markdown

MARKUP = re.compile(r"\*\*|__|`|\]\(|\]\[|</?[a-z]+[ >]|^#{1,6}\s|\|\s*-{3}|^>\s|&[a-z]+;")


def parse(source: str):
    return parse_markdown(textwrap.dedent(source).lstrip("\n"))


def kinds(source: str) -> list[tuple[str, str, int]]:
    return [(b.kind, b.text, b.level) for b in parse(source).blocks]


def test_atx_and_setext_headings_keep_their_level_and_lose_their_marks():
    assert kinds("""
        # Title #

        Setext two
        ----------

        ### Three *with* `code`

        Setext one
        ==========
        """) == [("heading", "Title", 1), ("heading", "Setext two", 2), ("heading", "Three with code", 3),
                 ("heading", "Setext one", 1)]


def test_inline_markup_is_reduced_to_the_words_a_reader_sees():
    (block,) = parse("""
        Some *emphasis*, __strong__, ~~struck~~ and `code`, a [link](http://x.org "t"), a [reference][ref],
        an ![alt *text*](pic.png), <https://fsf.org/>, <b>bold</b> tags, AT&amp;T &copy; 2024,\\
        a hard break and a\\*literal star.

        [ref]: http://example.org
        """).blocks
    assert block.text == ("Some emphasis, strong, struck and code, a link, a reference, an alt text, "
                          "https://fsf.org/, bold tags, AT&T © 2024, a hard break and a*literal star.")


def test_link_reference_definitions_and_rules_are_not_blocks():
    doc = parse("""
        Before.

        ---

        [ref]: http://example.org

        * * *

        After.
        """)
    assert [b.text for b in doc.blocks] == ["Before.", "After."]
    assert doc.dropped["horizontal rule"] == 2


def test_nested_lists_give_levels_and_items_lose_their_markers():
    assert kinds("""
        - one
          - one.a
            1. one.a.i
        - two

          second paragraph of two
        3. three
        """) == [("item", "one", 0), ("item", "one.a", 1), ("item", "one.a.i", 2),
                 ("item", "two second paragraph of two", 0), ("item", "three", 0)]


def test_a_parent_item_excludes_its_nested_list():
    blocks = parse("""
        * Parent item
          with a lazy line
          * child
        """).blocks
    assert [(b.text, b.level) for b in blocks] == [("Parent item with a lazy line", 0), ("child", 1)]


def test_fenced_and_indented_code_keep_newlines_indentation_and_language():
    blocks = parse("""
        ```python title="x.py"
        def f():
            return 1

        ```

            $ make
              install

        ~~~
        plain
        ~~~
        """).blocks
    assert [(b.kind, b.text, b.language) for b in blocks] == [
        ("code", "def f():\n    return 1", "python"),
        ("code", "$ make\n  install", ""),
        ("code", "plain", ""),
    ]


def test_block_quotes_give_their_paragraphs_and_items():
    assert kinds("""
        > Quoted *words*
        > still quoted.
        >
        > - a quoted item
        """) == [("paragraph", "Quoted words still quoted.", 0), ("item", "a quoted item", 0)]


def test_table_rows_become_header_cell_paragraphs_with_empty_cells_skipped():
    assert [b.text for b in parse("""
        | Name | Size | Note |
        |------|-----:|------|
        | `zstd` | **2.8** | fast |
        | zlib | 2.7 |  |
        """).blocks] == ["Name: zstd; Size: 2.8; Note: fast", "Name: zlib; Size: 2.7"]


def test_html_blocks_give_their_visible_text_and_drop_comments():
    doc = parse("""
        <p align="center"><img src="logo.png" alt="Logo"></p>

        <!-- a note to editors -->

        <div>
        <h2>Install</h2>
        <p>Run the <b>installer</b> &amp; wait.</p>
        <ul><li>first</li><li>second</li></ul>
        <script>alert("x")</script>
        </div>

        <table><tr><th>Key</th><th>Value</th></tr><tr><td>a</td><td>1</td></tr></table>
        """)
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "Install"), ("paragraph", "Run the installer & wait."), ("item", "first"),
        ("item", "second"), ("paragraph", "Key: a; Value: 1"),
    ]
    assert doc.dropped["comment"] == 1
    assert doc.dropped["image"] == 1


def test_page_marker_comments_set_the_page_of_the_blocks_after_them():
    doc = parse("""
        Before any page.

        <!-- page 3 -->

        # On three

        Still three. <!--page 4--> Then the marker inside this paragraph

        On four.

        <!--   PAGE 12   -->
        - on twelve
          <!-- page 13 -->
          - nested on thirteen
        """)
    assert [(b.text, b.page) for b in doc.blocks] == [
        ("Before any page.", None), ("On three", 3), ("Still three. Then the marker inside this paragraph", 3),
        ("On four.", 4), ("on twelve", 12), ("nested on thirteen", 13),
    ]
    assert doc.dropped["comment"] == 0


def test_placeholders_that_look_like_tags_stay_text():
    (block,) = parse("Copyright (C) <year> <name of author>, see <b>this</b>.\n").blocks
    assert block.text == "Copyright (C) <year> <name of author>, see this."


def test_footnote_marks_are_removed_and_definitions_keep_their_words():
    doc = parse("""
        Kernel 4.18[^1] or later.

        [^1]: Older kernels may work.
        """)
    assert [b.text for b in doc.blocks] == ["Kernel 4.18 or later.", "Older kernels may work."]
    assert doc.dropped["footnote mark"] == 2


def test_an_image_alone_is_not_a_paragraph_but_alt_text_inside_prose_is_kept():
    doc = parse("""
        [![Build Status](b.svg)](ci) [![Coverage](c.svg)](cov)

        The logo ![a fox](fox.png) is orange.
        """)
    assert [b.text for b in doc.blocks] == ["The logo a fox is orange."]
    assert doc.dropped["image"] == 3


def test_myst_directives_roles_and_targets_leave_no_markup():
    doc = parse("""
        (install-target)=
        # Install

        See {ref}`the guide <guide>` and {pep}`8`.

        ```{note}
        A note with **words**.
        ```

        ```{toctree}
        page
        ```

        ```{code-block} shell
        pip install x
        ```
        """)
    assert [(b.kind, b.text, b.language) for b in doc.blocks] == [
        ("heading", "Install", ""), ("paragraph", "See the guide and 8.", ""),
        ("paragraph", "A note with words.", ""), ("code", "pip install x", "shell"),
    ]
    assert doc.dropped["directive toctree"] == 1


def test_entities_and_escapes_are_decoded():
    (block,) = parse(r"\# not a heading \<b> &lt;tag&gt; &#35; \[^1]" + "\n").blocks
    assert block.text == "# not a heading <b> <tag> # [^1]"


def test_no_markup_survives_in_a_document_using_every_construct():
    doc = parse("""
        # **Title** with `code`

        Text with *em*, **strong**, [link](u), ![img](i), <span>span</span>, <br> and `code`.

        | A | B |
        |---|---|
        | *x* | [y](z) |

        > quote with **bold**

        1. item with [link][r]

        [r]: http://r
        """)
    for block in doc.blocks:
        assert not MARKUP.search(block.text), block


def test_markdown_without_text_gives_no_blocks_for_the_loader_to_report():
    doc = parse_markdown("\n\n---\n\n<!-- nothing -->\n\n![logo](logo.png)\n")
    assert doc.blocks == []
    assert doc.dropped == {"horizontal rule": 1, "comment": 1, "image": 1}


def test_hostile_input_is_read_quickly_not_hung():
    doc = parse_markdown("<div>\n" + '<a b="' * 3000 + "\n\n" + ">" * 100 + " deep\n" + "*a" * 3000)
    assert doc.blocks


def test_blocks_carry_no_page_or_section_without_markers():
    (block,) = parse("Just text.\n").blocks
    assert block == Block("paragraph", "Just text.")
