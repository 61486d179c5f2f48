"""PDF parser: layout turned into headings, paragraphs, items and code, page furniture dropped.

The PDFs are written here by a small writer (standard 14 fonts, text placed line by line), so
each test states the layout it exercises.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import pytest

from bot.knowledge.blocks import ParseError
from bot.knowledge.formats import pdf as pdf_format
from bot.knowledge.formats.pdf import parse_pdf

FONTS = {"F1": "Helvetica", "F2": "Helvetica-Bold", "F3": "Courier"}
HEIGHT = 792


@dataclass
class T:
    """A line of text: left x, baseline from the page's top, font, size."""

    x: float
    y: float
    text: str
    font: str = "F1"
    size: float = 11


def _escape(text: str) -> bytes:
    raw = text.encode("cp1252")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _rc4(key: bytes, data: bytes) -> bytes:
    s, j = list(range(256)), 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    out, i, j = bytearray(), 0, 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def make_pdf(
    pages: list[list[T]],
    *,
    info: dict[str, str] | None = None,
    outline: list[tuple[str, int, int]] | None = None,  # (title, level 1.., page index)
    image_pages: bool = False,
    password: str | None = None,  # encrypt (RC4 40-bit) with this user password
    ligature_font: bool = False,  # F4: Helvetica whose code 0x01 means U+FB01 (fi)
) -> bytes:
    """A small, valid PDF with the given lines of text on each page."""
    objects: list[tuple[bytes, bytes | None]] = []

    def add(body: bytes, stream: bytes | None = None) -> int:
        objects.append((body, stream))
        return len(objects)

    catalog = add(b"")
    pages_id = add(b"")
    fonts = {name: add(b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>" % base.encode())
             for name, base in FONTS.items()}
    if ligature_font:
        cmap = (b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /L def "
                b"1 begincodespacerange <00> <FF> endcodespacerange 1 beginbfchar <01> <FB01> endbfchar "
                b"endcmap CMapName currentdict /CMap defineresource pop end end")
        to_unicode = add(b"<< /Length %d >>" % len(cmap), cmap)
        fonts["F4"] = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode %d 0 R >>" % to_unicode)
    image = add(b"<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray "
                b"/BitsPerComponent 8 /Length 1 >>", b"\x80") if image_pages else 0
    font_dict = b" ".join(b"/%s %d 0 R" % (name.encode(), ref) for name, ref in fonts.items())
    page_ids = []
    for lines in pages:
        content = b"".join(
            b"BT /%s %g Tf 1 0 0 1 %g %g Tm (%s) Tj ET\n"
            % (line.font.encode(), line.size, line.x, HEIGHT - line.y, _escape(line.text))
            for line in lines
        )
        if image_pages:
            content += b"q 500 0 0 700 50 50 cm /Im1 Do Q\n"
        stream_id = add(b"<< /Length %d >>" % len(content), content)
        xobject = b" /XObject << /Im1 %d 0 R >>" % image if image_pages else b""
        page_ids.append(add(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 %d] /Contents %d 0 R "
            b"/Resources << /Font << %s >>%s >> >>" % (pages_id, HEIGHT, stream_id, font_dict, xobject)
        ))
    kids = b" ".join(b"%d 0 R" % ref for ref in page_ids)
    objects[pages_id - 1] = (b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(page_ids)), None)
    outline_ref = b""
    if outline:
        outline_ref = b" /Outlines %d 0 R" % _add_outline(add, objects, outline, page_ids)
    objects[catalog - 1] = (b"<< /Type /Catalog /Pages %d 0 R%s >>" % (pages_id, outline_ref), None)
    trailer = b""
    if info:
        entries = b" ".join(b"/%s (%s)" % (key.encode(), _escape(value)) for key, value in info.items())
        trailer += b" /Info %d 0 R" % add(b"<< %s >>" % entries)
    file_id = hashlib.md5(b"fixture").digest()
    if password is not None:
        objects, encrypt = _encrypt(objects, password, file_id)
        trailer += b" /Encrypt %d 0 R" % (len(objects) + 1)
        objects.append((encrypt, None))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, (body, stream) in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\n" % (number, body)
        if stream is not None:
            out += b"stream\n" + stream + b"\nendstream\n"
        out += b"endobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R%s /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, catalog, trailer, file_id.hex().encode(), file_id.hex().encode(), xref)
    return bytes(out)


def _add_outline(add, objects, outline, page_ids) -> int:
    """Bookmarks, nested by level, each pointing at the top of its page."""
    root = add(b"")
    items = [add(b"") for _ in outline]
    children: dict[int, list[int]] = {root: []}
    parents: list[int] = [root]
    for (_, level, _), item in zip(outline, items, strict=True):
        del parents[level:]
        children.setdefault(parents[-1], []).append(item)
        children[item] = []
        parents.append(item)
    parent_of = {child: parent for parent, kids in children.items() for child in kids}
    for (title, _, page), item in zip(outline, items, strict=True):
        siblings = children[parent_of[item]]
        k = siblings.index(item)
        links = b"".join([
            b" /Prev %d 0 R" % siblings[k - 1] if k else b"",
            b" /Next %d 0 R" % siblings[k + 1] if k + 1 < len(siblings) else b"",
            b" /First %d 0 R /Last %d 0 R /Count %d" % (children[item][0], children[item][-1], len(children[item]))
            if children[item] else b"",
        ])
        objects[item - 1] = (b"<< /Title (%s) /Parent %d 0 R /Dest [%d 0 R /XYZ null null null]%s >>"
                             % (_escape(title), parent_of[item], page_ids[page], links), None)
    kids = children[root]
    objects[root - 1] = (b"<< /Type /Outlines /First %d 0 R /Last %d 0 R /Count %d >>" % (kids[0], kids[-1], len(kids)),
                         None)
    return root


def _encrypt(objects, password: str, file_id: bytes):
    """Standard security handler, revision 2: RC4 with a 40-bit key (what any reader opens)."""
    owner_key = hashlib.md5((b"owner" + PAD)[:32]).digest()[:5]
    user = (password.encode() + PAD)[:32]
    owner_entry = _rc4(owner_key, user)
    permissions = -4
    key = hashlib.md5(user + owner_entry + struct.pack("<i", permissions) + file_id).digest()[:5]
    encrypted = []
    for number, (body, stream) in enumerate(objects, 1):
        if stream is not None:
            object_key = hashlib.md5(key + number.to_bytes(3, "little") + b"\0\0").digest()[:10]
            stream = _rc4(object_key, stream)
        encrypted.append((body, stream))
    encrypt = b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P %d >>" % (
        owner_entry.hex().encode(), _rc4(key, PAD).hex().encode(), permissions)
    return encrypted, encrypt


def body(y: float, *texts: str, x: float = 72, step: float = 13.2) -> list[T]:
    """Lines of body text one under the other."""
    return [T(x, y + i * step, text) for i, text in enumerate(texts)]


def kinds(document) -> list[tuple[str, str]]:
    return [(block.kind, block.text) for block in document.blocks]


def test_larger_type_becomes_headings_with_levels_and_lines_join_into_paragraphs():
    page = [
        T(72, 72, "Installing the Widget", "F2", 20),
        T(72, 110, "1.1 Requirements", "F2", 15),
        *body(135, "The widget needs a working toolchain and a few", "libraries that most systems already have."),
        *body(175, "A second paragraph starts after a vertical gap."),
    ]
    document = parse_pdf(make_pdf([page]))
    assert document.format == "PDF"
    assert kinds(document) == [
        ("heading", "Installing the Widget"),
        ("heading", "1.1 Requirements"),
        ("paragraph", "The widget needs a working toolchain and a few libraries that most systems already have."),
        ("paragraph", "A second paragraph starts after a vertical gap."),
    ]
    assert [block.level for block in document.blocks[:2]] == [1, 2]
    assert all(block.page == 1 for block in document.blocks)


def test_indented_first_line_starts_a_new_paragraph_without_a_gap():
    lines = [
        T(90, 100, "The first paragraph begins with an indented line of"),
        T(72, 113.2, "text and ends on this line, which runs to the margin all"),
        T(72, 126.4, "the way across the page."),
        T(90, 139.6, "The second paragraph is indented as well, with no extra"),
        T(72, 152.8, "space between the two paragraphs at all."),
    ]
    document = parse_pdf(make_pdf([lines]))
    assert [block.text for block in document.blocks] == [
        "The first paragraph begins with an indented line of text and ends on this line, "
        "which runs to the margin all the way across the page.",
        "The second paragraph is indented as well, with no extra space between the two paragraphs at all.",
    ]


def test_words_hyphenated_at_line_end_are_joined_but_real_compounds_keep_their_hyphen():
    lines = body(
        100,
        "This paragraph carries enough informa-",
        "tion to test the repair of a well-",
        "known problem: words broken across lines. It is a well-known",
        "problem, and non-",
        "ASCII text keeps its hyphen before a capital.",
    )
    text = parse_pdf(make_pdf([lines])).blocks[0].text
    assert "information to test" in text
    assert "a well-known problem: words" in text
    assert "non-ASCII text" in text


def test_running_headers_footers_and_page_numbers_are_dropped():
    pages = []
    for number in range(1, 5):
        pages.append([
            T(72, 40, "Widget Manual — Chapter One", size=9),
            *body(100, f"Page {number} holds its own sentence about widgets and gadgets."),
            T(300, 760, str(number), size=9),
        ])
    document = parse_pdf(make_pdf(pages))
    texts = [block.text for block in document.blocks]
    assert texts == [f"Page {n} holds its own sentence about widgets and gadgets." for n in range(1, 5)]
    assert [block.page for block in document.blocks] == [1, 2, 3, 4]
    assert document.dropped["running header or footer"] == 8


def test_a_lone_page_number_is_dropped_even_on_a_single_page():
    page = [*body(100, "Only a sentence and a page number."), T(300, 760, "iv", size=9)]
    document = parse_pdf(make_pdf([page]))
    assert kinds(document) == [("paragraph", "Only a sentence and a page number.")]
    assert document.dropped["page number"] == 1


def test_bullets_become_items_with_nesting_levels_and_continuation_lines():
    lines = [
        *body(90, "Things to check:"),
        T(72, 110, "• the power supply, which must deliver at"),
        T(82, 123.2, "least five volts"),
        T(90, 136.4, "• the fuse"),
        T(72, 149.6, "• the cable"),
        *body(175, "That is all."),
    ]
    document = parse_pdf(make_pdf([lines]))
    assert [(b.kind, b.text, b.level) for b in document.blocks] == [
        ("paragraph", "Things to check:", 0),
        ("item", "the power supply, which must deliver at least five volts", 0),
        ("item", "the fuse", 1),
        ("item", "the cable", 0),
        ("paragraph", "That is all.", 0),
    ]


def test_numbered_lines_after_a_colon_become_items():
    lines = body(100, "Follow these steps:", "1. Unpack the box.", "2. Plug it in.")
    assert kinds(parse_pdf(make_pdf([lines]))) == [
        ("paragraph", "Follow these steps:"),
        ("item", "Unpack the box."),
        ("item", "Plug it in."),
    ]


def test_monospaced_lines_set_apart_become_one_code_block_with_indentation():
    lines = [
        *body(100, "Run this:"),
        T(90, 120, "def main():", "F3", 10),
        T(114, 132, "return 42", "F3", 10),
        *body(160, "and read the result."),
    ]
    document = parse_pdf(make_pdf([lines]))
    assert kinds(document) == [
        ("paragraph", "Run this:"),
        ("code", "def main():\n    return 42"),
        ("paragraph", "and read the result."),
    ]


def test_outline_gives_heading_levels_and_drops_contents_page_entries():
    pages = [
        [T(72, 72, "Contents", "F2", 16), *body(110, "Overview 2", "Details 2")],
        [
            T(72, 72, "Overview", "F2", 11),
            *body(100, "The overview says what the thing is for."),
            T(72, 140, "Details", "F2", 11),
            *body(168, "The details say how it works."),
        ],
    ]
    document = parse_pdf(make_pdf(pages, outline=[("Overview", 1, 1), ("Details", 2, 1)]))
    assert [(b.kind, b.text, b.level, b.page) for b in document.blocks] == [
        ("heading", "Contents", 1, 1),
        ("heading", "Overview", 1, 2),
        ("paragraph", "The overview says what the thing is for.", 0, 2),
        ("heading", "Details", 2, 2),
        ("paragraph", "The details say how it works.", 0, 2),
    ]
    assert document.dropped["table of contents line"] == 2


def test_contents_lines_with_leaders_are_dropped():
    page = [
        T(72, 72, "Table of Contents", "F2", 16),
        *body(110, "1 Introduction . . . . . . . . 1", "2 Usage . . . . . . . . . . 3", "3 Limits . . . . . . . . . 7"),
    ]
    other = body(100, "Real text on the next page.")
    document = parse_pdf(make_pdf([page, other]))
    assert kinds(document) == [("heading", "Table of Contents"), ("paragraph", "Real text on the next page.")]
    assert document.dropped["table of contents line"] == 3


def test_paragraph_carried_over_to_the_next_page_is_joined():
    pages = [
        body(700, "A sentence that does not end on this page but goes", "on and on"),
        body(100, "until the next page, where it ends."),
    ]
    document = parse_pdf(make_pdf(pages))
    assert [(b.text, b.page) for b in document.blocks] == [
        ("A sentence that does not end on this page but goes on and on until the next page, where it ends.", 1),
    ]


def test_two_columns_read_column_by_column_and_a_paragraph_carries_over():
    left = [T(72, 100 + i * 13.2, text, size=10) for i, text in enumerate([
        "The left column starts the text with a sentence",
        "that runs over two lines.",
        "Then a second paragraph that does not end",
        "in the left column but goes",
    ])]
    left[2].x = 84  # an indented first line
    right = [T(320, 100 + i * 13.2, text, size=10) for i, text in enumerate([
        "on at the top of the right column, where it",
        "ends with a full stop.",
    ])]
    document = parse_pdf(make_pdf([left + right]))
    assert [block.text for block in document.blocks] == [
        "The left column starts the text with a sentence that runs over two lines.",
        "Then a second paragraph that does not end in the left column but goes on at the top of the right column, "
        "where it ends with a full stop.",
    ]


def test_metadata_from_the_document_info_with_junk_titles_ignored():
    lines = body(100, "Some text.")
    document = parse_pdf(make_pdf([lines], info={
        "Title": "Widget Handbook", "Author": "Ada Lovelace", "CreationDate": "D:20230206120000+01'00'",
    }))
    assert document.meta == {"title": "Widget Handbook", "author": "Ada Lovelace", "published": "2023-02-06"}
    junk = parse_pdf(make_pdf([lines], info={"Title": "Microsoft Word - handbook.docx", "Author": "user"}))
    assert junk.meta == {}
    named = parse_pdf(make_pdf([lines], info={"Title": "handbook"}), source="docs/handbook.pdf")
    assert "title" not in named.meta


def test_ligatures_are_spelled_out():
    page = [T(72, 100, "An of\x01ce and a \x01le.", "F4")]
    assert parse_pdf(make_pdf([page], ligature_font=True)).blocks[0].text == "An office and a file."


def test_a_pdf_with_an_empty_user_password_opens():
    document = parse_pdf(make_pdf([body(100, "Restricted but readable.")], password=""))
    assert kinds(document) == [("paragraph", "Restricted but readable.")]


def test_encrypted_pdf_is_refused_with_a_reason():
    with pytest.raises(ParseError, match="encrypted"):
        parse_pdf(make_pdf([body(100, "Secret.")], password="secret"))


def test_image_only_pdf_is_refused_as_scanned():
    with pytest.raises(ParseError, match=r"no text: the PDF holds only images \(scanned\?\)"):
        parse_pdf(make_pdf([[], []], image_pages=True))


def test_pdf_without_any_text_is_refused():
    with pytest.raises(ParseError, match="no text"):
        parse_pdf(make_pdf([[]]))


def test_not_a_pdf_and_damaged_pdf_are_refused():
    with pytest.raises(ParseError, match="not a PDF"):
        parse_pdf(b"PK\x03\x04 this is a zip file")
    with pytest.raises(ParseError, match="damaged"):
        parse_pdf(b"%PDF-1.7\n" + bytes(range(256)) * 4)


def test_truncated_pdf_fails_cleanly_or_keeps_what_it_can_read():
    data = make_pdf([body(100, "First page text."), body(100, "Second page text.")])
    for cut in (len(data) // 3, len(data) // 2, len(data) - 40):
        try:
            document = parse_pdf(data[:cut])
        except ParseError:
            continue
        assert all(block.text for block in document.blocks)


def test_pages_beyond_the_limit_are_counted_as_dropped(monkeypatch):
    monkeypatch.setattr(pdf_format, "MAX_PAGES", 2)
    document = parse_pdf(make_pdf([body(100, f"Text of page {n}.") for n in range(1, 4)]))
    assert [block.text for block in document.blocks] == ["Text of page 1.", "Text of page 2."]
    assert document.dropped["page beyond the first 2"] == 1
