"""Plain-text parser: the habits of hard-wrapped text (underlines, bullets, indented commands) become blocks."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from bot.knowledge.blocks import ParseError
from bot.knowledge.formats.text import parse_text

LICENSES = Path(__file__).parent / "data" / "text"  # the GPL-3 as Debian installs it


def parse(source: str):
    return parse_text(textwrap.dedent(source).lstrip("\n"))


def kinds(source: str) -> list[tuple[str, str, int]]:
    return [(b.kind, b.text, b.level) for b in parse(source).blocks]


def test_hard_wrapped_lines_of_a_paragraph_are_joined():
    assert kinds("""
        Some text that was wrapped
        at a narrow width,   with  spaces.

          An indented first line
        and the rest of its paragraph.
        """) == [("paragraph", "Some text that was wrapped at a narrow width, with spaces.", 0),
                 ("paragraph", "An indented first line and the rest of its paragraph.", 0)]


def test_underlined_lines_are_headings_with_level_by_underline():
    assert kinds("""
        Release Notes
        =============

        Updates since 1.0
        -----------------

        Text under it.
        """) == [("heading", "Release Notes", 1), ("heading", "Updates since 1.0", 2),
                 ("paragraph", "Text under it.", 0)]


def test_a_long_rule_under_a_short_line_is_a_separator_not_an_underline():
    doc = parse("""
        Closing words of the text.
        ------------------------------------------------------------------

        More.
        """)
    assert [(b.kind, b.text) for b in doc.blocks] == [("paragraph", "Closing words of the text."),
                                                     ("paragraph", "More.")]
    assert doc.dropped["rule"] == 1


def test_the_first_line_standing_alone_is_the_title():
    assert kinds("Sanctions Explained\n\nSanctions are economic measures.\n\nThey work slowly.\n") == [
        ("heading", "Sanctions Explained", 1), ("paragraph", "Sanctions are economic measures.", 0),
        ("paragraph", "They work slowly.", 0)]
    assert kinds("Europe should diversify its energy supplies. Gas is political.\n") == [
        ("paragraph", "Europe should diversify its energy supplies. Gas is political.", 0)]


def test_standalone_numbered_caps_and_title_lines_are_headings_but_one_line_prose_is_not():
    assert kinds("""
        Opening paragraph of the licence.

        TERMS AND CONDITIONS

          0. Definitions.

          "This License" refers to version 3.

        2.1. Removal of the unversioned packages

        Text of section 2.1.

        Backward compatibility notes

        This is a one-line paragraph of prose.

        Another sentence follows it.

        To inform the library about your function, use

        More text.
        """) == [
        ("paragraph", "Opening paragraph of the licence.", 0),
        ("heading", "TERMS AND CONDITIONS", 2),
        ("heading", "0. Definitions.", 2),
        ("paragraph", '"This License" refers to version 3.', 0),
        ("heading", "2.1. Removal of the unversioned packages", 3),
        ("paragraph", "Text of section 2.1.", 0),
        ("heading", "Backward compatibility notes", 2),
        ("paragraph", "This is a one-line paragraph of prose.", 0),
        ("paragraph", "Another sentence follows it.", 0),
        ("paragraph", "To inform the library about your function, use", 0),
        ("paragraph", "More text.", 0),
    ]


def test_centred_lines_open_the_document_as_its_title():
    blocks = parse("""
                            GNU GENERAL PUBLIC LICENSE
                               Version 3, 29 June 2007

         Everyone is permitted to copy and distribute verbatim copies
         of this license document, but changing it is not allowed.

                                    Preamble

          The GNU General Public License is a free, copyleft license.
        """).blocks
    assert [(b.kind, b.text, b.level) for b in blocks][:3] == [
        ("heading", "GNU GENERAL PUBLIC LICENSE", 1), ("paragraph", "Version 3, 29 June 2007", 0),
        ("paragraph", "Everyone is permitted to copy and distribute verbatim copies of this license document, "
                      "but changing it is not allowed.", 0)]
    assert ("heading", "Preamble", 2) in [(b.kind, b.text, b.level) for b in blocks]


def test_bullets_and_enumerators_are_items_without_markers_and_wrapped_lines_join():
    assert kinds("""
        We envisage three kinds:
         * Explicit triggers.  These can be
           activated by any program.
         * File triggers.
           - nested under file triggers

        Conditions:

            a) The work must carry prominent notices
            stating that you modified it.

            b) The work must carry notices that it is
            released under section
            7.  This requirement modifies section 4.
        """) == [
        ("paragraph", "We envisage three kinds:", 0),
        ("item", "Explicit triggers. These can be activated by any program.", 0),
        ("item", "File triggers.", 0),
        ("item", "nested under file triggers", 1),
        ("paragraph", "Conditions:", 0),
        ("item", "The work must carry prominent notices stating that you modified it.", 0),
        ("item", "The work must carry notices that it is released under section 7. This requirement modifies "
                 "section 4.", 0),
    ]


def test_an_enumerator_wrapped_to_the_start_of_a_line_stays_in_its_sentence():
    assert kinds("""
          Developers protect your rights with two steps:
        (1) assert copyright on the software, and (2) offer you this License
        giving you legal permission to copy it.
        """) == [("paragraph", "Developers protect your rights with two steps: (1) assert copyright on the "
                               "software, and (2) offer you this License giving you legal permission to copy it.", 0)]


def test_numbered_lines_in_a_block_are_items_when_they_follow_in_sequence():
    assert [(b.kind, b.text) for b in parse("""
        Packages in Debian should use Python 3.
          1. Applications should use Python 3 and must not be packaged for
             Python 2 as well.
          2. Python libraries need to support Python 3.
        """).blocks] == [("paragraph", "Packages in Debian should use Python 3."),
                         ("item", "Applications should use Python 3 and must not be packaged for Python 2 as well."),
                         ("item", "Python libraries need to support Python 3.")]


def test_indented_commands_are_code_but_indented_prose_is_a_paragraph():
    blocks = parse("""
        Bash builds with gcc by default.

        To compile, type

        \tCC=cc ./configure
        \tmake install

        Then add this notice:

            This program is free software: you can redistribute it and/or modify
            it under the terms of the GNU General Public License as published by
            the Free Software Foundation.

        Bug reports go to:

        \tbug-bash@gnu.org
        """).blocks
    assert [(b.kind, b.text) for b in blocks] == [
        ("paragraph", "Bash builds with gcc by default."),
        ("paragraph", "To compile, type"),
        ("code", "CC=cc ./configure\nmake install"),
        ("paragraph", "Then add this notice:"),
        ("paragraph", "This program is free software: you can redistribute it and/or modify it under the terms of "
                      "the GNU General Public License as published by the Free Software Foundation."),
        ("paragraph", "Bug reports go to:"),
        ("paragraph", "bug-bash@gnu.org"),
    ]


def test_code_split_by_blank_lines_stays_one_block_with_its_indentation():
    (intro, code) = parse("""
        The function:

            int f(int x)
            {
                if (x > 1)
                    return x;

                return 0;
            }
        """).blocks
    assert intro.text == "The function:"
    assert code.kind == "code"
    assert code.text == "int f(int x)\n{\n    if (x > 1)\n        return x;\n\n    return 0;\n}"


def test_a_shell_session_is_code_even_without_indentation():
    blocks = parse("""
        For example:

        $ fakeroot -s backup.environ
        # mkdir backup
        """).blocks
    assert blocks[-1].kind == "code"
    assert blocks[-1].text == "$ fakeroot -s backup.environ\n# mkdir backup"


def test_form_feeds_and_separator_runs_are_dropped():
    doc = parse("First page text.\n\f\nSecond page text.\n\n* * * * *\n\n-------- Original README --------\n\nEnd.\n")
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("paragraph", "First page text."), ("paragraph", "Second page text."),
        ("heading", "Original README"), ("paragraph", "End.")]
    assert doc.dropped["rule"] == 1


def test_text_in_a_comment_box_loses_the_box():
    blocks = parse("""
        ************************************************************************
        *                                                                      *
        *  6. Disclaimer of Warranty                                           *
        *  -------------------------                                           *
        *                                                                      *
        *  Covered Software is provided under this License on an "as is"       *
        *  basis, without warranty of any kind.                                *
        *                                                                      *
        ************************************************************************
        """).blocks
    assert [(b.kind, b.text) for b in blocks] == [
        ("heading", "6. Disclaimer of Warranty"),
        ("paragraph", 'Covered Software is provided under this License on an "as is" basis, without warranty of '
                      "any kind.")]


def test_pipe_tables_become_header_cell_paragraphs():
    assert [b.text for b in parse("""
        Reserved uids:

          uid   | name       | description
          ------+------------+-------------
          63434 | netplan    | netplan
          64000 | ftn        |
        """).blocks] == ["Reserved uids:", "uid: 63434; name: netplan; description: netplan",
                         "uid: 64000; name: ftn"]


def test_terminal_escapes_and_overstrikes_are_removed():
    doc = parse_text("\x1b[1mman-db\x1b[0m uses b\x08bo\x08ol\x08ld and _\x08u_\x08n_\x08d_\x08e_\x08r text.\n")
    assert [b.text for b in doc.blocks] == ["man-db uses bold and under text."]
    assert doc.dropped["terminal escape"] == 10


def test_a_lone_dot_line_separates_paragraphs():
    assert [b.text for b in parse("License: GPL-3+\n This is free software.\n .\n No warranty.\n").blocks] == [
        "License: GPL-3+ This is free software.", "No warranty."]


def test_blank_text_gives_no_blocks_and_binary_text_is_refused():
    assert parse_text("\n\n   \n-----\n").blocks == []
    with pytest.raises(ParseError, match="binary"):
        parse_text("abc\x00def")


def test_hostile_input_is_read_quickly():
    doc = parse_text("".join(f"{i % 999}. x\n" for i in range(20000)) + "a " * 50000 + "\n" + "-a=" * 10000)
    assert len(doc.blocks) > 1000


def test_the_gpl_3_as_installed_has_its_sections_as_headings_and_no_markup():
    blocks = parse_text((LICENSES / "GPL-3").read_text(encoding="utf-8")).blocks
    headings = [b.text for b in blocks if b.kind == "heading"]
    assert headings[:3] == ["GNU GENERAL PUBLIC LICENSE", "Preamble", "TERMS AND CONDITIONS"]
    assert [h for h in headings if re.match(r"\d+\. ", h)] == [f"{n}. {t}" for n, t in enumerate([
        "Definitions.", "Source Code.", "Basic Permissions.",
        "Protecting Users' Legal Rights From Anti-Circumvention Law.", "Conveying Verbatim Copies.",
        "Conveying Modified Source Versions.", "Conveying Non-Source Forms.", "Additional Terms.", "Termination.",
        "Acceptance Not Required for Having Copies.", "Automatic Licensing of Downstream Recipients.", "Patents.",
        "No Surrender of Others' Freedom.", "Use with the GNU Affero General Public License.",
        "Revised Versions of this License.", "Disclaimer of Warranty.", "Limitation of Liability.",
        "Interpretation of Sections 15 and 16."])]
    items = [b.text for b in blocks if b.kind == "item"]
    assert "The work must carry prominent notices stating that you modified it, and giving a relevant date." in items
    for block in blocks:
        assert not re.search(r"={3}|-{4}|\s{2}", block.text), block
