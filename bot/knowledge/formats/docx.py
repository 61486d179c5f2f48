"""Word .docx -> blocks, read with python-docx.

The body is walked in document order, paragraphs and tables interleaved. A paragraph's kind
comes from its style: headings (by "Heading N"/"Title" or, for renamed and localized styles,
the outline level), list items (numbering on the paragraph or its style), code (a code-like
style, or monospaced runs only). Text is taken from the runs, hyperlinks and tracked
insertions included, deletions, field codes, footnote marks and drawings left out.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from bot.knowledge.blocks import Block, ParsedDocument, ParseError

MAX_UNZIPPED = 200 * 1024 * 1024  # a larger document part is refused (a zip bomb, most likely)

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
_DOCX_TYPE = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_OTHER_TYPES = (  # .docm, .dotx, .dotm: the same body, a main part python-docx refuses by its type
    b"application/vnd.ms-word.document.macroEnabled.main+xml",
    b"application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
    b"application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
)

_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.I)
_CODE_STYLE = re.compile(r"\b(?:code|source|preformatted|verbatim|listing|macro|console|terminal)\b", re.I)
_MONO_FONT = re.compile(r"mono|courier|consol|menlo|monaco|lucida console|inconsolata|fixedsys|code", re.I)
_TYPED_BULLET = re.compile(r"^[•●▪■◦‣○►▸➢➤✓✔]\s+(?=\S)")
_SPACES = re.compile(r"\s+")
_JUNK_TITLE = re.compile(
    r"^(?:untitled\b.*|document\s*\d*|title|no title|microsoft word\s+-\s.*|.*\.(?:docx?|dotx?|pdf|odt|rtf|txt))$", re.I
)
_JUNK_AUTHOR = re.compile(
    r"^(?:user|admin(?:istrator)?|owner|author|unknown|(?:windows|microsoft office) user|python-docx)$", re.I
)
_TEMPLATE_CREATED = datetime(2013, 12, 23, 23, 15)  # python-docx's default template, not the document's date


def parse_docx(data: bytes, *, source: str = "") -> ParsedDocument:
    """The document body's blocks in reading order, and its core properties."""
    document = _open(data)
    try:
        reader = _Reader(document)
        reader.walk(document.element.body)
    except RecursionError:
        raise ParseError("the Word file is damaged: its text is nested too deeply") from None
    blocks = [block for block in reader.blocks if block.text]
    if not blocks:
        raise ParseError("the Word document is empty")
    return ParsedDocument(format="Word", blocks=blocks, meta=_meta(document, source), dropped=reader.dropped)


def _open(data: bytes):
    if data.startswith(_OLE):
        if _ENCRYPTED in data:
            raise ParseError("the Word file is password-protected")
        raise ParseError("an old Word .doc file: save it as .docx")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "word/document.xml" not in names:
                raise ParseError("the Word file is damaged or not a .docx")
            if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED:
                raise ParseError("the Word file is too large once unpacked")
            types = archive.read("[Content_Types].xml") if "[Content_Types].xml" in names else b""
        for other in _OTHER_TYPES:
            if other in types:
                data = _retyped(data, types.replace(other, _DOCX_TYPE))
                break
        import docx

        return docx.Document(io.BytesIO(data))
    except ParseError:
        raise
    except Exception:
        raise ParseError("the Word file is damaged or not a .docx") from None


def _retyped(data: bytes, types: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, types if info.filename == "[Content_Types].xml" else source.read(info))
    return out.getvalue()


def _meta(document, source: str) -> dict[str, str]:
    meta: dict[str, str] = {}
    try:
        properties = document.core_properties
        title, author, created = properties.title, properties.author, properties.created
    except Exception:
        return meta
    title = _SPACES.sub(" ", title or "").strip()
    stem = re.sub(r"\.[^.]*$", "", source.replace("\\", "/").rsplit("/", 1)[-1]).lower()
    if re.search(r"[^\W\d_]", title) and not _JUNK_TITLE.match(title) and title.lower() != stem:
        meta["title"] = title
    author = _SPACES.sub(" ", author or "").strip()
    if re.search(r"[^\W\d_]", author) and not _JUNK_AUTHOR.match(author):
        meta["author"] = author
    if created and created.replace(tzinfo=None) != _TEMPLATE_CREATED and 1990 <= created.year <= 2100:
        meta["published"] = created.date().isoformat()
    return meta


@dataclass
class _Style:
    """What the parser needs of a style, with the styles it is based on folded in."""

    name: str  # as Word shows it, lower case ("heading 1")
    names: tuple[str, ...]  # its own name and those of the styles it is based on
    heading: int  # 1-9 by its name ("heading N", "title") or its outline level; 0: none
    outline: int  # outline level 0-8 (its own or inherited), 9: body text
    numbering: list  # w:numPr elements, nearest first
    mono: bool | None  # whether its font is monospaced; None: it names no font


class _Reader:
    """Walks the body's XML, turning paragraphs and tables into blocks."""

    def __init__(self, document) -> None:
        self.styles = _styles(document.styles.element)
        defaults = [s for s in document.styles.element.iterchildren(f"{_W}style")
                    if s.get(f"{_W}type") == "paragraph" and s.get(f"{_W}default") in ("1", "true", "on")]
        self.default_style = self.styles.get(defaults[0].get(f"{_W}styleId")) if defaults else None
        self.blocks: list[Block] = []
        self.dropped: Counter[str] = Counter()
        self.in_code = False  # the last block is code that the next code paragraph continues
        self.blank_lines = 0  # empty paragraphs seen inside that code
        self.mono_body = self._mostly_mono(document.element.body)

    def walk(self, container) -> None:
        for child in container.iterchildren():
            if child.tag == f"{_W}p":
                self.paragraph(child)
            elif child.tag == f"{_W}tbl":
                self.table(child)
            elif child.tag == f"{_W}sdt":  # a content control: a table of contents, or plain content
                gallery = child.find(f"{_W}sdtPr/{_W}docPartObj/{_W}docPartGallery")
                if gallery is not None and "contents" in (gallery.get(f"{_W}val") or "").lower():
                    self.dropped["table of contents"] += 1
                    continue
                content = child.find(f"{_W}sdtContent")
                if content is not None:
                    self.walk(content)
            elif child.tag in (f"{_W}customXml", f"{_W}ins"):
                self.walk(child)

    def paragraph(self, p) -> None:
        style = self._style(p)
        name = style.name if style is not None else ""
        if name.startswith("toc "):
            self.dropped["table of contents"] += 1
            return
        raw, mono = self._text(p, style)
        text = _SPACES.sub(" ", raw).strip()
        if not text:
            self.blank_lines += self.in_code
            return
        level = self._heading_level(p, style)
        if level:
            self.in_code, self.blank_lines = False, 0
            self.blocks.append(Block("heading", text, level=level))
            return
        if self._is_code(style, mono):
            code = raw.strip("\n").rstrip()
            if self.in_code:
                self.blocks[-1] = Block("code", self.blocks[-1].text + "\n" * (1 + self.blank_lines) + code)
            else:
                self.blocks.append(Block("code", code))
            self.in_code, self.blank_lines = True, 0
            return
        self.in_code, self.blank_lines = False, 0
        list_level = self._list_level(p, style)
        if list_level is None and _TYPED_BULLET.match(text):
            text, list_level = _TYPED_BULLET.sub("", text), 0
        if list_level is not None:
            self.blocks.append(Block("item", text, level=list_level))
        elif name.startswith("list continue") and self.blocks and self.blocks[-1].kind == "item":
            last = self.blocks[-1]
            self.blocks[-1] = Block("item", f"{last.text} {text}", level=last.level)
        else:
            self.blocks.append(Block("paragraph", text))

    def table(self, tbl) -> None:
        """One paragraph per body row ("Header: cell; ..."); a one-column table's cells are read as body."""
        self.in_code, self.blank_lines = False, 0
        rows = tbl.findall(f"{_W}tr")
        grid = [[self._cell_text(tc) for tc in row.findall(f"{_W}tc")] for row in rows]
        if not grid:
            return
        if max(len(cells) for cells in grid) == 1:
            for row in rows:
                for tc in row.findall(f"{_W}tc"):
                    self.walk(tc)
            return
        header = grid[0] if len(grid) > 1 and self._has_header(tbl, rows[0]) else None
        for cells in grid[1:] if header else grid:
            if header:
                parts = [f"{head}: {cell}" if head else cell for head, cell in zip(header, cells, strict=False) if cell]
            else:
                parts = [cell for cell in cells if cell]
            if parts:
                self.blocks.append(Block("paragraph", "; ".join(parts)))

    def _cell_text(self, tc) -> str:
        texts = [self._text(p, self._style(p))[0] for p in tc.iter(f"{_W}p")]
        return _SPACES.sub(" ", " ".join(texts)).strip()

    def _has_header(self, tbl, first_row) -> bool:
        """A header row: marked to repeat on each page, set in bold, or styled as a first row."""
        if first_row.find(f"{_W}trPr/{_W}tblHeader") is not None:
            return True
        runs = [r for r in first_row.iter(f"{_W}r") if "".join(t.text or "" for t in r.iter(f"{_W}t")).strip()]
        if runs and all(_bold(r) for r in runs):
            return True
        look = tbl.find(f"{_W}tblPr/{_W}tblLook")
        style = tbl.find(f"{_W}tblPr/{_W}tblStyle")
        styled = style is not None and (style.get(f"{_W}val") or "") not in ("", "TableGrid", "TableNormal")
        if not styled or look is None:
            return False
        legacy = look.get(f"{_W}val") or "0"  # Word 2007 wrote the flags as a hex bit mask
        return look.get(f"{_W}firstRow") in ("1", "true", "on") or (
            re.fullmatch(r"[0-9A-Fa-f]{1,4}", legacy) is not None and bool(int(legacy, 16) & 0x20)
        )

    def _text(self, p, style: _Style | None) -> tuple[str, bool]:
        """The paragraph's visible text, and whether all of it is set in a monospaced font."""
        parts: list[str] = []
        fonts: list[bool] = []
        self._collect(p, parts, fonts, bool(style and style.mono))
        return "".join(parts), bool(fonts) and all(fonts)

    def _collect(self, element, parts: list[str], fonts: list[bool], paragraph_mono: bool) -> None:
        for child in element.iterchildren():
            tag = child.tag
            if tag == f"{_W}r":
                self._run(child, parts, fonts, paragraph_mono)
            elif tag in (f"{_W}del", f"{_W}moveFrom", f"{_W}pPr", f"{_W}sdtPr", f"{_W}rPr"):
                continue
            elif tag == f"{_M}t":  # an equation's text
                parts.append(child.text or "")
            elif tag == f"{_MC}AlternateContent" or tag == f"{_W}pict":
                self.dropped["image or text box"] += 1
            elif isinstance(tag, str):  # hyperlinks, insertions, smart tags, simple fields, content controls
                self._collect(child, parts, fonts, paragraph_mono)

    def _run(self, run, parts: list[str], fonts: list[bool], paragraph_mono: bool) -> None:
        mono = self._run_mono(run, paragraph_mono)
        for child in run.iterchildren():
            tag = child.tag
            if tag == f"{_W}t":
                parts.append(child.text or "")
                if (child.text or "").strip():
                    fonts.append(mono)
            elif tag == f"{_W}tab":
                parts.append("\t")
            elif tag in (f"{_W}br", f"{_W}cr"):
                if child.get(f"{_W}type") not in ("page", "column"):
                    parts.append("\n")
            elif tag == f"{_W}noBreakHyphen":
                parts.append("-")
            elif tag in (f"{_W}drawing", f"{_W}object", f"{_W}pict", f"{_MC}AlternateContent"):
                self.dropped["image or text box"] += 1
            elif tag in (f"{_W}footnoteReference", f"{_W}endnoteReference"):
                self.dropped["footnote reference"] += 1

    def _style(self, p) -> _Style | None:
        style_id = p.find(f"{_W}pPr/{_W}pStyle")
        if style_id is not None:
            style = self.styles.get(style_id.get(f"{_W}val"))
            if style is not None:
                return style
        return self.default_style

    def _heading_level(self, p, style: _Style | None) -> int:
        """The style's heading level; else the paragraph's own outline level (0-8 -> 1-9)."""
        if style is not None and style.heading:
            return style.heading
        level = p.find(f"{_W}pPr/{_W}outlineLvl")
        value = level.get(f"{_W}val") if level is not None else None
        return int(value) + 1 if value is not None and value.isdigit() and int(value) < 9 else 0

    def _list_level(self, p, style: _Style | None) -> int | None:
        """The nesting depth of a numbered or bulleted paragraph, None when it is not one."""
        own = p.find(f"{_W}pPr/{_W}numPr")
        sources = ([own] if own is not None else []) + (style.numbering if style else [])
        if not sources:
            return None
        num_id = next((s.find(f"{_W}numId") for s in sources if s.find(f"{_W}numId") is not None), None)
        if num_id is not None and num_id.get(f"{_W}val") == "0":
            return None
        ilvl = next((s.find(f"{_W}ilvl") for s in sources if s.find(f"{_W}ilvl") is not None), None)
        level = int(ilvl.get(f"{_W}val")) if ilvl is not None and (ilvl.get(f"{_W}val") or "").isdigit() else 0
        numbered_style = re.match(r"^list (?:bullet|number)\s+([2-9])$", style.name if style else "")
        return max(level, int(numbered_style[1]) - 1) if numbered_style else level

    def _is_code(self, style: _Style | None, mono: bool) -> bool:
        return bool(style and any(_CODE_STYLE.search(name) for name in style.names)) or (mono and not self.mono_body)

    def _run_mono(self, run, paragraph_mono: bool) -> bool:
        font = _font_name(run.find(f"{_W}rPr/{_W}rFonts"))
        if font:
            return bool(_MONO_FONT.search(font))
        char_style = run.find(f"{_W}rPr/{_W}rStyle")
        style = self.styles.get(char_style.get(f"{_W}val")) if char_style is not None else None
        if style is not None and (style.mono or any(_CODE_STYLE.search(name) for name in style.names)):
            return True
        if style is not None and style.mono is False:
            return False
        return paragraph_mono

    def _mostly_mono(self, body) -> bool:
        """A document typed in a monospaced font throughout: its paragraphs are not code."""
        mono = total = 0
        for p in body.iter(f"{_W}p"):
            style = self._style(p)
            if style is not None and any(_CODE_STYLE.search(name) for name in style.names):
                continue
            fonts = [
                self._run_mono(run, bool(style and style.mono))
                for run in p.iter(f"{_W}r")
                if any((t.text or "").strip() for t in run.iterchildren(f"{_W}t"))
            ]
            if fonts:
                total += 1
                mono += all(fonts)
        return total >= 4 and mono > 0.5 * total


def _styles(root) -> dict[str, _Style]:
    """Every style by id, resolved along its basedOn chain."""
    raw = {element.get(f"{_W}styleId"): element for element in root.iterchildren(f"{_W}style")}
    resolved: dict[str, _Style] = {}

    def resolve(style_id: str, depth: int = 0) -> _Style | None:
        if style_id in resolved or style_id not in raw or depth > 20:
            return resolved.get(style_id)
        element = raw[style_id]
        name_element = element.find(f"{_W}name")
        name = (name_element.get(f"{_W}val") if name_element is not None else style_id) or ""
        name = _SPACES.sub(" ", name).strip().lower()
        based = element.find(f"{_W}basedOn")
        base = resolve(based.get(f"{_W}val"), depth + 1) if based is not None else None
        outline_element = element.find(f"{_W}pPr/{_W}outlineLvl")
        value = outline_element.get(f"{_W}val") if outline_element is not None else None
        outline = int(value) if value is not None and value.isdigit() else (base.outline if base else 9)
        match = _HEADING_STYLE.match(name)
        heading = int(match[1]) if match else 1 if name == "title" else outline + 1 if outline < 9 else 0
        numbering = element.find(f"{_W}pPr/{_W}numPr")
        font = _font_name(element.find(f"{_W}rPr/{_W}rFonts"))
        resolved[style_id] = _Style(
            name=name,
            names=(name, *(base.names if base else ())),
            heading=heading,
            outline=outline,
            numbering=([numbering] if numbering is not None else []) + (base.numbering if base else []),
            mono=bool(_MONO_FONT.search(font)) if font else (base.mono if base else None),
        )
        return resolved[style_id]

    for style_id in raw:
        resolve(style_id)
    return resolved


def _bold(run) -> bool:
    bold = run.find(f"{_W}rPr/{_W}b")
    return bold is not None and bold.get(f"{_W}val") not in ("0", "false", "off")


def _font_name(fonts) -> str:
    if fonts is None:
        return ""
    return fonts.get(f"{_W}ascii") or fonts.get(f"{_W}hAnsi") or fonts.get(f"{_W}cs") or ""
