"""reStructuredText parser: plain docutils and Sphinx sources become blocks with their heading paths."""

from __future__ import annotations

import re
import textwrap
import time
from pathlib import Path

import pytest
from docutils.parsers.rst import directives, roles

from bot.knowledge.blocks import Block, ParseError
from bot.knowledge.formats.rst import parse_rst

# Two files of the Python 3.11 documentation sources as Debian's python3.11-doc ships them (PSF licence).
PYTHON_DOCS = Path(__file__).parent / "data" / "rst"


def parse(source: str):
    return parse_rst(textwrap.dedent(source).lstrip("\n"))


def texts(source: str, kind: str = "paragraph") -> list[str]:
    return [b.text for b in parse(source).blocks if b.kind == kind]


def block(blocks: list[Block], text: str) -> Block:
    return next(b for b in blocks if b.text == text)


def test_sections_become_headings_with_levels_from_nesting():
    doc = parse(
        """
        =========
        The Title
        =========

        Intro.

        First
        -----

        In first.

        Deeper
        ~~~~~~

        In deeper.

        Second
        ------

        In second.
        """
    )
    headings = [(b.text, b.level) for b in doc.blocks if b.kind == "heading"]
    assert headings == [("The Title", 1), ("First", 2), ("Deeper", 3), ("Second", 2)]
    assert block(doc.blocks, "Intro.").section == ("The Title",)
    assert block(doc.blocks, "In deeper.").section == ("The Title", "First", "Deeper")
    assert block(doc.blocks, "In second.").section == ("The Title", "Second")
    assert block(doc.blocks, "Deeper").section == ("The Title", "First", "Deeper")
    assert doc.format == "reStructuredText"
    assert "title" not in doc.meta


def test_a_lone_title_is_the_first_level_one_heading():
    doc = parse(
        """
        .. _top-label:

        Only Title
        ==========

        Text.
        """
    )
    assert doc.blocks[0] == Block("heading", "Only Title", 1, section=("Only Title",))
    assert doc.dropped["target"] == 1


def test_function_directive_is_a_heading_over_its_description_and_the_section_resumes_after_it():
    doc = parse(
        """
        Module
        ======

        Functions
        ---------

        .. function:: dumps(obj, *, skipkeys=False)

           Serialize *obj* to a string.

           :param obj: the object

        The paragraph after the function.
        """
    )
    heading = block(doc.blocks, "dumps(obj, *, skipkeys=False)")
    assert heading.kind == "heading"
    assert heading.level == 3
    assert block(doc.blocks, "Serialize obj to a string.").section == ("Module", "Functions", heading.text)
    assert block(doc.blocks, "param obj: the object").section == ("Module", "Functions", heading.text)
    assert block(doc.blocks, "The paragraph after the function.").section == ("Module", "Functions")


def test_methods_nest_under_their_class_and_several_signatures_are_joined():
    doc = parse(
        """
        Title
        =====

        .. class:: Codec(name)

           A codec.

           .. method:: encode(text)
                       encode(text, errors)

              Encode.

           After the method.
        """
    )
    assert [(b.text, b.level) for b in doc.blocks if b.kind == "heading"] == [
        ("Title", 1),
        ("Codec(name)", 2),
        ("encode(text); encode(text, errors)", 3),
    ]
    assert block(doc.blocks, "Encode.").section == ("Title", "Codec(name)", "encode(text); encode(text, errors)")
    assert block(doc.blocks, "After the method.").section == ("Title", "Codec(name)")


def test_docutils_class_directive_keeps_its_meaning_in_a_plain_document():
    doc = parse(
        """
        .. class:: special

        A styled paragraph.
        """
    )
    assert [(b.kind, b.text) for b in doc.blocks] == [("paragraph", "A styled paragraph.")]


def test_roles_are_reduced_to_the_words_a_reader_sees():
    [text] = texts(
        """
        Call :func:`os.path.join`, see :ref:`the tutorial <tut-intro>`, read :pep:`8` and :rfc:`2822#section-3`,
        use :meth:`~dict.get`, :func:`!unlinked`, :c:func:`PyList_New`, :py:class:`json.JSONEncoder`,
        :ref:`label-only`, :kbd:`Ctrl-C`, :samp:`print({x})`, :menuselection:`File --> Open`,
        :abbr:`LIFO (last-in, first-out)` and :term:`bytes-like object`.
        """
    )
    assert text == (
        "Call os.path.join, see the tutorial, read PEP 8 and RFC 2822, use get, unlinked, PyList_New, "
        "json.JSONEncoder, label only, Ctrl-C, print(x), File \N{TRIANGULAR BULLET} Open, LIFO and bytes-like object."
    )


def test_unknown_directive_keeps_its_content_and_an_empty_one_is_counted():
    doc = parse(
        """
        .. frobnicate:: some argument
           :option: value

           Content that survives.

        .. autoclass:: pkg.Thing

        .. blankthing:: nothing here
        """
    )
    assert [b.text for b in doc.blocks] == ["Content that survives."]
    assert doc.dropped["directive autoclass"] == 1
    assert doc.dropped["directive blankthing"] == 1


def test_literal_blocks_doctests_and_code_directives_are_code():
    doc = parse(
        """
        Example::

            x = 1
              indented

        >>> 1 + 1
        2

        .. code-block:: python
           :emphasize-lines: 1

           print("hi")

        .. productionlist:: grammar
           atom: `identifier` | `literal`
        """
    )
    assert doc.blocks[0] == Block("paragraph", "Example:", section=())
    code = [(b.text, b.language) for b in doc.blocks if b.kind == "code"]
    assert code == [
        ("x = 1\n  indented", ""),
        (">>> 1 + 1\n2", "pycon"),
        ('print("hi")', "python"),
        ("atom: identifier | literal", ""),
    ]


def test_labels_comments_index_and_toctree_are_not_blocks_but_counted():
    doc = parse(
        """
        .. _label:

        .. a comment

        .. index:: single: thing

        .. toctree::
           :maxdepth: 2

           intro
           usage

        .. highlight:: python3

        Words.
        """
    )
    assert [b.text for b in doc.blocks] == ["Words."]
    assert doc.dropped["comment"] == 1
    assert doc.dropped["directive index"] == 1
    assert doc.dropped["directive toctree"] == 1
    assert doc.dropped["directive highlight"] == 1


def test_table_rows_become_header_cell_paragraphs():
    grid = texts(
        """
        +--------+----------+
        | Name   | Meaning  |
        +========+==========+
        | ``<``  | less     |
        +--------+----------+
        | ``==`` |          |
        +--------+----------+
        """
    )
    assert grid == ["Name: <; Meaning: less", "Name: =="]
    listed = texts(
        """
        .. list-table::
           :header-rows: 1

           * - Option
             - Effect
           * - ``-v``
             - verbose
        """
    )
    assert listed == ["Option: -v; Effect: verbose"]
    headless = texts(
        """
        ===  ===
        a    b
        c    d
        ===  ===
        """
    )
    assert headless == ["a; b", "c; d"]


def test_version_notes_and_admonitions_are_paragraphs():
    found = texts(
        """
        .. versionadded:: 3.2

        .. versionchanged:: 3.4
           Accepts *bytes*.

        .. deprecated-removed:: 3.11 3.13
           Use another module.

        .. note::

           A note.

        .. seealso:: Module :mod:`json`
           Its documentation.

        .. availability:: Unix.
        """
    )
    assert found == [
        "New in version 3.2.",
        "Changed in version 3.4: Accepts bytes.",
        "Deprecated since version 3.11, will be removed in version 3.13: Use another module.",
        "A note.",
        "Module json Its documentation.",
        "Availability: Unix.",
    ]


def test_lists_definitions_fields_and_options_read_as_plain_text():
    doc = parse(
        """
        * First item,
          wrapped.

          Its second paragraph.

          - nested

        term
           Its definition.

        :Parameter x: the x value

        -v, --verbose  Talk more.
        """
    )
    assert [(b.kind, b.text, b.level) for b in doc.blocks] == [
        ("item", "First item, wrapped. Its second paragraph.", 0),
        ("item", "nested", 1),
        ("paragraph", "term: Its definition.", 0),
        ("paragraph", "Parameter x: the x value", 0),
        ("paragraph", "-v, --verbose: Talk more.", 0),
    ]


def test_footnote_references_and_substitutions_leave_no_markup():
    doc = parse(
        """
        Python |version| is described [#]_ here |name|.

        .. |name| replace:: *today*

        .. [#] The footnote body.
        """
    )
    assert [b.text for b in doc.blocks] == ["Python is described here today.", "The footnote body."]
    assert doc.dropped["footnote reference"] == 1
    assert doc.dropped["undefined substitution"] == 1


def test_rubric_heads_what_follows_it_in_its_section():
    doc = parse(
        """
        Title
        =====

        Before.

        .. rubric:: Footnotes

        After.
        """
    )
    assert block(doc.blocks, "Footnotes") == Block("heading", "Footnotes", 2, section=("Title", "Footnotes"))
    assert block(doc.blocks, "Before.").section == ("Title",)
    assert block(doc.blocks, "After.").section == ("Title", "Footnotes")


def test_bibliographic_fields_fill_meta_and_are_not_blocks():
    doc = parse(
        """
        :tocdepth: 2

        Report
        ======

        :Author: Ada Lovelace
        :Date: 2021-03-04

        Body.
        """
    )
    assert doc.meta == {"author": "Ada Lovelace", "published": "2021-03-04"}
    assert [b.text for b in doc.blocks] == ["Report", "Body."]


def test_malformed_markup_still_yields_the_text():
    doc = parse(
        """
        A
        =

        B
        ~

        C
        -

        Text in C.

        D
        =

        E skips a level
        ---------------

        Text under E, with *unclosed emphasis and ``literal.

        Short
        ==

        Text after.
        """
    )
    assert [(b.kind, b.text) for b in doc.blocks if b.section and b.section[0] == "D"] == [
        ("heading", "D"),
        ("heading", "E skips a level"),
        ("paragraph", "Text under E, with unclosed emphasis and literal."),
        ("paragraph", "Short"),
        ("paragraph", "Text after."),
    ]
    assert block(doc.blocks, "Text under E, with unclosed emphasis and literal.").section == ("D", "E skips a level")
    assert doc.dropped["malformed title"] == 2


def test_include_and_raw_never_read_files(tmp_path: Path):
    secret = tmp_path / "secret.rst"
    secret.write_text("TOP SECRET WORDS\n", encoding="utf-8")
    doc = parse(
        f"""
        .. include:: {secret}

        .. literalinclude:: {secret}

        .. raw:: html
           :file: {secret}

        Visible.
        """
    )
    assert [b.text for b in doc.blocks] == ["Visible."]
    assert doc.dropped["directive include"] == 1
    assert doc.dropped["directive literalinclude"] == 1


def test_docutils_registries_are_left_as_they_were():
    before = (dict(directives._directives), dict(roles._roles))
    parse(
        """
        .. default-role:: math

        .. role:: custom

        .. function:: f()

        :func:`f` and `x`.
        """
    )
    assert (dict(directives._directives), dict(roles._roles)) == before
    [text] = texts("`plain` text")
    assert text == "plain text"


@pytest.mark.parametrize("source", ["", "   \n\n", ".. just a comment\n", ".. _label:\n\n.. index:: x\n"])
def test_a_file_without_text_is_a_parse_error(source: str):
    with pytest.raises(ParseError):
        parse_rst(source)


def test_hostile_unclosed_markup_is_refused_quickly():
    started = time.perf_counter()
    with pytest.raises(ParseError):
        parse_rst(textwrap.fill("*a " * 20_000, 78))
    assert time.perf_counter() - started < 2


def test_deep_nesting_is_a_parse_error_not_a_crash():
    source = "".join(" " * depth + "x\n\n" for depth in range(600))
    with pytest.raises(ParseError):
        parse_rst(source)


def test_python_docs_prose_holds_no_markup():
    markup = re.compile(r"``|:(?:func|class|meth|ref|mod|exc|attr|data|term|pep):|^\.\. |\|version\||([=~^-])\1{3,}")
    for name in ("json.rst.txt", "controlflow.rst.txt"):
        doc = parse_rst((PYTHON_DOCS / name).read_text(encoding="utf-8"), source=name)
        assert doc.blocks[0].kind == "heading"
        assert doc.blocks[0].level == 1
        for b in doc.blocks:
            assert b.section is not None
            if b.kind != "code":
                assert not markup.search(b.text), (name, b.text)
                assert not b.text.endswith("::"), (name, b.text)
