from datetime import date
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeError, load_knowledge_dir
from tests.conftest import ARTICLE, BUNDLED, write

# The raw text the bundled article was made from, as scraped.
SEED = Path(__file__).resolve().parent / "data" / "seed-why-talking-to-putin-wont-work.txt"


def test_bundled_article_has_its_metadata():
    kb = load_knowledge_dir(BUNDLED)
    (doc,) = kb.documents
    assert doc.id == "why-talking-to-putin-wont-work"
    assert doc.title == "Why Talking to Putin Won’t Work"
    assert doc.subtitle == "The Eternal Return"
    assert doc.author == "David Kramer"
    assert doc.publication == "The American Interest"
    assert doc.published == date(2017, 7, 6)
    assert doc.url == "http://havel.fiu.edu/news/2017/why-talking-to-putin-wont-work/"
    assert kb.problems == ()


def test_bundled_article_counts_paragraphs_as_a_reader_would():
    doc = load_knowledge_dir(BUNDLED).documents[0]
    paragraphs = [p for p in doc.body if p.kind == "paragraph"]
    assert [p.paragraph for p in paragraphs] == list(range(1, 13))
    assert paragraphs[0].text.startswith("It’s a pity")
    assert paragraphs[-1].text.startswith("David Kramer is a Senior Fellow")  # "Image " artefact gone
    items = [p for p in doc.body if p.kind == "list_item"]
    assert [p.item for p in items] == [1, 2, 3, 4, 5]
    intro = doc.passages[[p.id for p in doc.passages].index(items[0].intro_id)]
    assert intro.text.endswith("pick up where his predecessor left off:")
    assert {p.paragraph for p in items} == {intro.paragraph}
    assert items[0].id == f"{doc.id}#p{intro.paragraph}.1"


def test_bundled_article_keeps_every_word_of_the_seed():
    raw = SEED.read_text(encoding="utf-8").replace("Image David Kramer", "David Kramer").replace("•", "")
    body = " ".join(p.text for p in load_knowledge_dir(BUNDLED).documents[0].body)
    words = raw.split()
    start = words.index("It’s")
    assert body.split() == words[start:]


def test_plain_text_takes_its_title_from_the_first_line(tmp_path):
    write(tmp_path, "notes.txt", "Sanctions Explained\n\nSanctions are economic measures.\n\nThey work slowly.\n")
    (doc,) = load_knowledge_dir(tmp_path).documents
    assert doc.title == "Sanctions Explained"
    assert [p.text for p in doc.body] == ["Sanctions are economic measures.", "They work slowly."]


def test_plain_text_without_a_title_line_is_named_after_its_file(tmp_path):
    write(tmp_path, "energy-policy.txt", "Europe should diversify its energy supplies. Gas is political.\n")
    (doc,) = load_knowledge_dir(tmp_path).documents
    assert doc.title == "Energy policy"
    assert doc.id == "energy-policy"


def test_markdown_headings_lists_and_inline_marks(tmp_path):
    write(tmp_path, "a.md", "---\ntitle: A\n---\n# Section one\n\nRead **this** and [that](http://x.y).\n"
                            "Next steps:\n- first item\n  continues here\n- second item\n\nAfter the list.\n")
    doc = load_knowledge_dir(tmp_path).documents[0]
    body = doc.body
    assert body[0].text == "Read this and that. Next steps:"
    assert body[0].section == ("Section one",)
    assert [(p.kind, p.text) for p in body[1:3]] == [("list_item", "first item continues here"),
                                                      ("list_item", "second item")]
    assert body[1].intro_id == body[0].id
    assert body[3].paragraph == 2


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("latin1.md", "caf\xe9 au lait".encode("latin-1"), "not UTF-8"),
    ("image.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "binary"),
    ("empty.md", "   \n\n", "empty"),
    ("open.md", "---\ntitle: Open\n\nNo closing fence.\n", "no closing '---'"),
    ("yaml.md", "---\ntitle: [unclosed\n---\nText.\n", "not valid YAML"),
    ("list.md", "---\n- a\n- b\n---\nText.\n", "key: value"),
    ("date.md", "---\ntitle: D\npublished: someday\n---\nText.\n", "cannot read the date"),
    ("nobody.md", "---\ntitle: Nothing\n---\n\n", "no text after the front matter"),
])
def test_a_bad_file_is_reported_with_its_reason_and_the_rest_loads(knowledge_dir, name, content, reason):
    bad = write(knowledge_dir, name, content)
    kb = load_knowledge_dir(knowledge_dir)
    assert [d.path.name for d in kb.documents] == [ARTICLE]
    (problem,) = kb.problems
    assert problem.path == bad
    assert reason in problem.reason
    assert str(bad) in str(problem)


def test_duplicate_document_ids_keep_the_first(knowledge_dir):
    write(knowledge_dir, "zz-copy.md", "---\nid: why-talking-to-putin-wont-work\ntitle: Copy\n---\nText.\n")
    kb = load_knowledge_dir(knowledge_dir)
    assert [d.title for d in kb.documents] == ["Why Talking to Putin Won’t Work"]
    assert "duplicate document id" in kb.problems[0].reason


def test_no_usable_document_is_a_clear_error(tmp_path):
    write(tmp_path, "bad.md", b"\x00\x01")
    with pytest.raises(KnowledgeError, match="no usable document") as info:
        load_knowledge_dir(tmp_path)
    assert len(info.value.problems) == 1


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(KnowledgeError, match="not found"):
        load_knowledge_dir(tmp_path / "nope")


def test_aliases_are_read_and_a_bad_alias_file_is_reported(knowledge_dir):
    assert load_knowledge_dir(knowledge_dir).aliases["kremlin"] == ("moscow", "russia", "putin")
    write(knowledge_dir, "aliases.yaml", "kremlin: [moscow\n")
    kb = load_knowledge_dir(knowledge_dir)
    assert kb.aliases == {}
    assert kb.problems[0].path.name == "aliases.yaml"


def test_hidden_files_are_ignored(knowledge_dir):
    write(knowledge_dir, ".draft.md", b"\x00")
    write(knowledge_dir, ".git/notes.md", "Not a document.")
    kb = load_knowledge_dir(knowledge_dir)
    assert len(kb.documents) == 1 and kb.problems == ()
