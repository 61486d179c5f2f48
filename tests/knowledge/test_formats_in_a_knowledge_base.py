"""Every format dropped into a knowledge directory answers with clean quotes and citations a reader can follow."""

from __future__ import annotations

import io
import re

import docx

from bot.cli import main
from bot.engine import Engine
from bot.knowledge import load_knowledge_dir
from tests.conftest import write
from tests.knowledge.test_format_pdf import T, body, make_pdf

MARKUP = re.compile(r"``|:(?:func|class|ref):|^\.\. |^#+ |\*\*|\]\(|</?[a-z]+>|={3,}|^(Title|Author|Source):")

RST = """\
:tocdepth: 2

=================
Packaging Guide
=================

.. _intro:

Installing
==========

Use :command:`pip` to install a package from the :ref:`index <pypi>`::

   pip install requests

.. function:: install(name, *, upgrade=False)

   Install the package called *name*; with ``upgrade`` true, replace an older version.

.. index:: single: uninstall

Removing
========

A package is removed with ``pip uninstall`` followed by its name.
"""

HTML = b"""<!doctype html><html><head><title>Tide Tables | Harbour Office</title>
<meta property="og:site_name" content="Harbour Office"><meta name="author" content="Mia Wong">
<link rel="canonical" href="https://harbour.example/tides"></head><body>
<nav><a href="/">Home</a><a href="/ferries">Ferries</a></nav><main><h1>Tide Tables</h1>
<h2>Spring tides</h2><p>Spring tides raise the harbour water by up to four metres twice a month.</p>
<script>var tracking = 1;</script></main><footer>Contact the harbour office.</footer></body></html>"""


def word_document() -> bytes:
    document = docx.Document()
    document.core_properties.title = "Staff Handbook"
    document.core_properties.author = "People Team"
    document.add_heading("Staff Handbook", 0)
    document.add_heading("Holidays", 1)
    document.add_paragraph("Every employee receives twenty-eight days of paid holiday a year.")
    document.add_heading("Expenses", 1)
    document.add_paragraph("Receipts must be submitted within thirty days.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pdf_report() -> bytes:
    pages = [
        [T(72, 72, "Annual Report", "F2", 20), *body(120, "The year began with record rainfall in the north.")],
        [T(72, 72, "Finances", "F2", 16), *body(120, "Revenue grew by nine percent while costs held steady.")],
    ]
    return make_pdf(pages, info={"Title": "Annual Report 2023", "Author": "The Board"})


def knowledge_base(tmp_path):
    write(tmp_path, "guides/packaging.rst", RST)
    write(tmp_path, "web/tides.html", HTML)
    write(tmp_path, "handbook.docx", word_document())
    write(tmp_path, "report.pdf", pdf_report())
    write(tmp_path, "notes.txt", "Meeting Notes\n\nThe new ferry timetable starts in\nMay and runs every hour.\n")
    return tmp_path


def test_every_format_loads_with_its_title_and_nothing_is_skipped(tmp_path):
    kb = load_knowledge_dir(knowledge_base(tmp_path))
    assert kb.problems == ()
    found = {d.id: (d.format, d.title) for d in kb.documents}
    assert found == {
        "guides/packaging": ("reStructuredText", "Packaging Guide"),
        "web/tides": ("HTML", "Tide Tables"),
        "handbook": ("Word", "Staff Handbook"),
        "report": ("PDF", "Annual Report 2023"),
        "notes": ("text", "Meeting Notes"),
    }
    for passage in kb.searchable:
        assert not MARKUP.search(passage.text), passage


def test_answers_quote_clean_text_and_cite_section_and_page(tmp_path):
    engine = Engine.from_directory(knowledge_base(tmp_path))
    cases = {
        "how do I remove a package?": ("A package is removed with pip uninstall followed by its name.",
                                       "Packaging Guide — § Removing, ¶1."),
        "how high do spring tides raise the harbour water?": (
            "Spring tides raise the harbour water by up to four metres twice a month.",
            "Tide Tables — Mia Wong, Harbour Office, § Spring tides, ¶1. https://harbour.example/tides"),
        "how many days of paid holiday do employees get?": (
            "Every employee receives twenty-eight days of paid holiday a year.",
            "Staff Handbook — People Team, § Holidays, ¶1."),
        "how much did revenue grow?": ("Revenue grew by nine percent while costs held steady.",
                                       "Annual Report 2023 — The Board, § Finances, p. 2, ¶1."),
        "when does the new ferry timetable start?": ("The new ferry timetable starts in May and runs every hour.",
                                                     "Meeting Notes — ¶1."),
    }
    for question, (quote, citation) in cases.items():
        top = engine.ask(question).excerpts[0]
        assert (top.quote, top.citation.text) == (quote, citation), question


def test_a_described_function_is_a_section_and_its_code_is_shown_not_quoted(tmp_path):
    engine = Engine.from_directory(knowledge_base(tmp_path))
    top = engine.ask("how do I upgrade an older version when installing?").excerpts[0]
    assert top.quote == "Install the package called name; with upgrade true, replace an older version."
    assert top.passage.section == ("Installing", "install(name, *, upgrade=False)")
    command = engine.ask("how do I install a package from the index?").excerpts[0]
    assert command.quote == "Use pip to install a package from the index:"
    assert command.code is not None and command.code.text == "pip install requests"


def test_check_reports_each_format_and_what_it_dropped(tmp_path, capsys):
    knowledge_base(tmp_path)
    write(tmp_path, "scan.pdf", b"%PDF-1.4 not really")
    assert main(["check", "--knowledge", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "packaging.rst  [reStructuredText]" in out and "report.pdf  [PDF]" in out
    assert "sections: Installing; install(name, *, upgrade=False); Removing" in out
    assert "2 pages" in out
    assert re.search(r"dropped as markup: .*directive index ×1", out)
    assert f"problem: {tmp_path / 'scan.pdf'}: the PDF is damaged or truncated" in out
