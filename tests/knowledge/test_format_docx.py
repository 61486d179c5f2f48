"""Word parser: body order with tables in place, heading/list/code styles, core properties, refusals."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

import pytest
from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt

from bot.knowledge.blocks import ParseError
from bot.knowledge.formats.docx import parse_docx


def save(document) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def kinds(parsed) -> list[tuple[str, str, int]]:
    return [(block.kind, block.text, block.level) for block in parsed.blocks]


def add_hyperlink(paragraph, text: str, url: str) -> None:
    """python-docx writes no hyperlinks itself: the w:hyperlink element Word writes."""
    rel = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rel)
    run = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.text = text
    run.append(t)
    link.append(run)
    paragraph._p.append(link)


def test_headings_paragraphs_lists_and_table_in_body_order():
    document = Document()
    document.add_heading("Widget Guide", level=0)  # the "Title" style
    document.add_heading("Setting up", level=1)
    document.add_paragraph("Unpack the widget   and\tread this first.")
    document.add_paragraph("Check the parts:")
    document.add_paragraph("the power supply", style="List Bullet")
    document.add_paragraph("the fuse", style="List Bullet 2")
    document.add_paragraph("Plug it in.", style="List Number")
    table = document.add_table(rows=3, cols=2)
    for index, cells in enumerate([("Part", "Count"), ("Screw", "4"), ("Nut", "")]):
        for cell, text in zip(table.rows[index].cells, cells, strict=True):
            cell.paragraphs[0].add_run(text).bold = index == 0
    document.add_heading("Using it", level=2)
    document.add_paragraph("Press the button.")
    parsed = parse_docx(save(document))
    assert parsed.format == "Word"
    assert kinds(parsed) == [
        ("heading", "Widget Guide", 1),
        ("heading", "Setting up", 1),
        ("paragraph", "Unpack the widget and read this first.", 0),
        ("paragraph", "Check the parts:", 0),
        ("item", "the power supply", 0),
        ("item", "the fuse", 1),
        ("item", "Plug it in.", 0),
        ("paragraph", "Part: Screw; Count: 4", 0),
        ("paragraph", "Part: Nut", 0),
        ("heading", "Using it", 2),
        ("paragraph", "Press the button.", 0),
    ]
    assert all(block.page is None for block in parsed.blocks)


def test_table_without_a_header_row_joins_cells_and_one_column_table_reads_as_body():
    document = Document()
    table = document.add_table(rows=2, cols=3)
    for row, cells in zip(table.rows, [("a", "b", "c"), ("d", "", "f")], strict=True):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    box = document.add_table(rows=1, cols=1)
    box.cell(0, 0).text = "A note set in a box."
    assert kinds(parse_docx(save(document))) == [
        ("paragraph", "a; b; c", 0),
        ("paragraph", "d; f", 0),
        ("paragraph", "A note set in a box.", 0),
    ]


def test_hyperlink_text_is_kept_in_place():
    document = Document()
    paragraph = document.add_paragraph("See ")
    add_hyperlink(paragraph, "the manual", "https://example.org/manual")
    paragraph.add_run(" for details.")
    assert parse_docx(save(document)).blocks[0].text == "See the manual for details."


def test_code_style_and_monospaced_paragraphs_become_code_with_lines_kept():
    document = Document()
    document.add_paragraph("Run this:")
    code = document.styles.add_style("Code", WD_STYLE_TYPE.PARAGRAPH)
    code.font.name = "Consolas"
    document.add_paragraph("def main():", style="Code")
    document.add_paragraph("    return 42", style="Code")
    document.add_paragraph("", style="Code")
    document.add_paragraph("main()", style="Code")
    document.add_paragraph("or type")
    document.add_paragraph().add_run("pip install widget").font.name = "Courier New"
    mixed = document.add_paragraph("Call ")
    mixed.add_run("main()").font.name = "Courier New"
    mixed.add_run(" to start.")
    assert kinds(parse_docx(save(document))) == [
        ("paragraph", "Run this:", 0),
        ("code", "def main():\n    return 42\n\nmain()", 0),
        ("paragraph", "or type", 0),
        ("code", "pip install widget", 0),
        ("paragraph", "Call main() to start.", 0),
    ]


def test_a_document_typed_in_a_monospaced_font_is_prose():
    document = Document()
    document.styles["Normal"].font.name = "Courier New"
    for n in range(5):
        document.add_paragraph(f"Sentence number {n} of a typewritten letter.")
    assert {block.kind for block in parse_docx(save(document)).blocks} == {"paragraph"}


def test_renamed_heading_style_is_recognised_by_its_outline_level():
    document = Document()
    style = document.styles.add_style("Chapitre", WD_STYLE_TYPE.PARAGRAPH)
    style.font.size = Pt(18)
    p_pr = style.element.get_or_add_pPr()
    outline = OxmlElement("w:outlineLvl")
    outline.set(qn("w:val"), "1")
    p_pr.append(outline)
    document.add_paragraph("Deuxième partie", style="Chapitre")
    document.add_paragraph("Le texte.")
    assert kinds(parse_docx(save(document)))[0] == ("heading", "Deuxième partie", 2)


def test_a_style_based_on_title_is_no_heading_unless_it_has_an_outline_level():
    document = Document()
    tagline = document.styles.add_style("Tagline", WD_STYLE_TYPE.PARAGRAPH)
    tagline.base_style = document.styles["Title"]
    document.add_paragraph("Widgets", style="Title")
    document.add_paragraph("and how to love them", style="Tagline")
    assert kinds(parse_docx(save(document))) == [
        ("heading", "Widgets", 1),
        ("paragraph", "and how to love them", 0),
    ]


def test_tracked_deletions_field_codes_and_images_are_left_out():
    document = Document()
    paragraph = document.add_paragraph("Kept ")
    deleted = OxmlElement("w:del")
    run = OxmlElement("w:r")
    gone = OxmlElement("w:delText")
    gone.text = "removed words "
    run.append(gone)
    deleted.append(run)
    paragraph._p.append(deleted)
    field = paragraph.add_run()
    instr = OxmlElement("w:instrText")
    instr.text = " PAGE \\* MERGEFORMAT "
    field._r.append(instr)
    paragraph.add_run("text.")
    picture = document.add_paragraph().add_run()._r
    picture.append(OxmlElement("w:drawing"))
    parsed = parse_docx(save(document))
    assert kinds(parsed) == [("paragraph", "Kept text.", 0)]
    assert parsed.dropped["image or text box"] == 1


def test_table_of_contents_paragraphs_are_dropped():
    document = Document()
    toc = document.styles.add_style("TOC 1", WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("Introduction\t1", style=toc)
    document.add_heading("Introduction", level=1)
    parsed = parse_docx(save(document))
    assert kinds(parsed) == [("heading", "Introduction", 1)]
    assert parsed.dropped["table of contents"] == 1


def test_core_properties_become_meta_and_template_defaults_do_not():
    document = Document()
    document.add_paragraph("Body.")
    assert parse_docx(save(document)).meta == {}  # python-docx's own author and date are not the document's
    document.core_properties.title = "Widget Handbook"
    document.core_properties.author = "Ada Lovelace"
    document.core_properties.created = datetime(2021, 5, 4, 10, 0)
    assert parse_docx(save(document)).meta == {
        "title": "Widget Handbook", "author": "Ada Lovelace", "published": "2021-05-04",
    }
    document.core_properties.title = "Microsoft Word - handbook.docx"
    assert "title" not in parse_docx(save(document)).meta


def test_macro_enabled_document_is_read_like_a_docx():
    """python-docx refuses a .docm by its content type alone; the body is the same."""
    document = Document()
    document.add_paragraph("Macros aside, this is text.")
    source = io.BytesIO(save(document))
    out = io.BytesIO()
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
                                    b"application/vnd.ms-word.document.macroEnabled.main+xml")
            zout.writestr(info, data)
    assert b"macroEnabled" in zipfile.ZipFile(io.BytesIO(out.getvalue())).read("[Content_Types].xml")
    assert parse_docx(out.getvalue()).blocks[0].text == "Macros aside, this is text."


def test_empty_document_is_refused():
    with pytest.raises(ParseError, match="empty"):
        parse_docx(save(Document()))


def test_old_doc_and_password_protected_files_are_refused_with_reasons():
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
    with pytest.raises(ParseError, match=r"old Word \.doc file: save it as \.docx"):
        parse_docx(ole + "WordDocument".encode("utf-16-le"))
    with pytest.raises(ParseError, match="password-protected"):
        parse_docx(ole + "EncryptedPackage".encode("utf-16-le"))


def test_damaged_or_foreign_files_are_refused():
    for data in (b"not a zip at all", save(Document())[:300], _zip({"content.xml": b"<office/>"})):
        with pytest.raises(ParseError, match=r"damaged or not a \.docx"):
            parse_docx(data)
    broken = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document"})
    with pytest.raises(ParseError, match=r"damaged or not a \.docx"):
        parse_docx(broken)


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()
