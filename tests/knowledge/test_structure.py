"""Documents become passages a reader recognises: sections, citations, code, metadata as fields."""

from bot.engine import Engine
from bot.knowledge import load_knowledge_dir
from bot.render.terminal import render_answer, render_check
from tests.conftest import write

HOWTO = """# Logging HOWTO

## When to use logging

Logging is a means of tracking events that happen when some software runs.

To send records to a file, call basicConfig with a filename:

```python
import logging
logging.basicConfig(filename='example.log', level=logging.DEBUG)
```

## Handlers and formatters

The library offers several kinds of components: loggers, handlers, filters and formatters.

- Loggers expose the interface that application code uses.
- Handlers deliver the records to the appropriate destination.
"""


def test_two_files_of_one_name_in_two_folders_are_two_documents(tmp_path):
    write(tmp_path, "howto/logging.md", HOWTO)
    write(tmp_path, "library/logging.md", "# logging\n\nThis module defines a flexible event logging system.\n")
    kb = load_knowledge_dir(tmp_path)
    assert sorted(d.id for d in kb.documents) == ["howto/logging", "library/logging"]
    assert kb.problems == ()
    again = load_knowledge_dir(tmp_path)
    assert [p.id for p in again.passages] == [p.id for p in kb.passages]  # stable across reloads


def test_the_first_heading_is_the_title_and_headings_are_sections_not_passages(tmp_path):
    write(tmp_path, "howto.md", HOWTO)
    (doc,) = load_knowledge_dir(tmp_path).documents
    assert doc.title == "Logging HOWTO"
    assert doc.sections == ("When to use logging", "Handlers and formatters")
    texts = [p.text for p in doc.passages]
    assert not any(t in texts for t in ("Logging HOWTO", "When to use logging", "Handlers and formatters"))
    first, second = doc.body[:2]
    assert first.section == ("When to use logging",) and first.location == "§ When to use logging, ¶1"
    assert second.paragraph == 2
    lists = [p for p in doc.body if p.section == ("Handlers and formatters",)]
    assert [p.location for p in lists] == ["§ Handlers and formatters, ¶1", "§ Handlers and formatters, ¶1, item 1",
                                           "§ Handlers and formatters, ¶1, item 2"]


def test_a_heading_s_words_find_the_passages_under_it_and_the_citation_names_the_section(tmp_path):
    write(tmp_path, "howto.md", HOWTO)
    answer = Engine.from_directory(tmp_path).ask("what are formatters and handlers?")
    assert answer.answered
    top = answer.excerpts[0]
    assert top.passage.section == ("Handlers and formatters",)
    assert top.citation.text.startswith("Logging HOWTO — § Handlers and formatters, ¶1")


def test_code_is_kept_as_code_beside_its_paragraph_and_never_quoted(tmp_path):
    write(tmp_path, "howto.md", HOWTO)
    engine = Engine.from_directory(tmp_path)
    (code,) = [p for p in engine.knowledge.passages if p.kind == "code"]
    assert code.text == "import logging\nlogging.basicConfig(filename='example.log', level=logging.DEBUG)"
    assert code.language == "python"
    answer = engine.ask("how do I send records to a file?")
    assert answer.excerpts[0].quote == "To send records to a file, call basicConfig with a filename:"
    assert answer.excerpts[0].code == code
    assert all("basicConfig(" not in e.quote for e in engine.ask("basicConfig level DEBUG example.log").excerpts)
    shown = render_answer(answer)
    assert "    │ import logging\n    │ logging.basicConfig(" in shown


ARTICLE = """---
title: Sanctions and Their Limits
author: Jane Doe
publication: Policy Review
published: 2020-03-01
url: https://example.org/sanctions
---

Sanctions are slow. The author recommends pairing them with diplomacy and trade incentives.

Gas exports give Europe leverage over its neighbours.
"""


def test_metadata_answers_questions_that_ask_for_it(tmp_path):
    write(tmp_path, "sanctions.md", ARTICLE)
    write(tmp_path, "other.md", "---\ntitle: Energy Notes\nauthor: John Roe\n---\nPipelines carry gas.\n")
    engine = Engine.from_directory(tmp_path)
    who = engine.ask("who wrote the sanctions article?")
    assert [e.quote for e in who.excerpts] == ["Author: Jane Doe"]
    assert who.excerpts[0].citation.location == "document details"
    when = engine.ask("when was Sanctions and Their Limits published?")
    assert [e.quote for e in when.excerpts] == ["Published: March 1, 2020"]
    everyone = engine.ask("who is the author?")
    assert sorted(e.quote for e in everyone.excerpts) == ["Author: Jane Doe", "Author: John Roe"]


def test_metadata_never_outranks_the_text_for_a_question_about_the_content(tmp_path):
    write(tmp_path, "sanctions.md", ARTICLE)
    engine = Engine.from_directory(tmp_path)
    recommends = engine.ask("what does the author recommend?")
    assert recommends.excerpts[0].passage.kind == "paragraph"
    assert "pairing them with diplomacy" in recommends.excerpts[0].quote
    limits = engine.ask("what are the limits of sanctions?")
    assert all(e.passage.kind != "metadata" for e in limits.excerpts)
    source = engine.ask("what is the source of Europe's leverage?")
    assert source.excerpts[0].quote.startswith("Gas exports")


def test_check_shows_each_document_s_format_title_sections_and_dropped_markup(tmp_path):
    write(tmp_path, "howto.md", HOWTO + "\n<!-- a comment -->\n")
    write(tmp_path, "old.doc", b"\xd0\xcf\x11\xe0 binary")
    kb = load_knowledge_dir(tmp_path)
    report = render_check(kb)
    assert "howto.md  [Markdown]" in report
    assert "title: Logging HOWTO" in report
    assert "id howto: 8 passages (5 searched, 1 code block, 2 document details), 2 sections" in report
    assert "sections: When to use logging; Handlers and formatters" in report
    assert "dropped as markup: comment ×1" in report
    assert f"problem: {tmp_path / 'old.doc'}: an old Word .doc file" in report


def test_page_markers_give_pdf_style_citations(tmp_path):
    write(tmp_path, "report.md", "---\ntitle: Annual Report\n---\n<!-- page 11 -->\n\nRevenue grew in spring.\n\n"
                                 "<!-- page 12 -->\n\nCosts fell sharply in autumn.\n\nStaff numbers held.\n")
    engine = Engine.from_directory(tmp_path)
    answer = engine.ask("did staff numbers change?")
    assert answer.excerpts[0].citation.text == "Annual Report — p. 12, ¶2."


def test_a_word_that_only_shares_a_stem_with_a_field_word_is_about_the_text(tmp_path):
    write(tmp_path, "ffi.md", "# Foreign Function Calls\n\nTo call a function, prepare its interface first.\n")
    engine = Engine.from_directory(tmp_path)
    call = engine.ask("how do I call a foreign function?")  # "called" asks for a title; "call" does not
    assert call.excerpts[0].passage.kind == "paragraph"
    named = engine.ask("what is the foreign function document called?")
    assert [e.quote for e in named.excerpts] == ["Title: Foreign Function Calls"]


def test_a_code_identifier_is_never_a_field_word(tmp_path):
    write(tmp_path, "main.md", "# `__main__` — Top-level code environment\n\n"
                               "When a module is run as a script, its `__name__` is set to `'__main__'`.\n")
    answer = Engine.from_directory(tmp_path).ask('what does if __name__ == "__main__" do')
    assert answer.excerpts[0].passage.kind == "paragraph"


def test_the_document_whose_title_names_what_was_asked_comes_first(tmp_path):
    write(tmp_path, "howto/logging-cookbook.md", "---\ntitle: Logging Cookbook\nauthor: Vinay Sajip\n---\nRecipes.\n")
    write(tmp_path, "howto/logging.md", "---\ntitle: Logging HOWTO\nauthor: Vinay Sajip\n---\nA tutorial.\n")
    answer = Engine.from_directory(tmp_path).ask("who wrote the logging howto docs?")
    assert [e.citation.title for e in answer.excerpts] == ["Logging HOWTO", "Logging Cookbook"]
