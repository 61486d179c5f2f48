"""PDF -> blocks, read with PDFium (pypdfium2).

A PDF has no paragraphs, only glyphs placed on pages, so the structure is rebuilt from the
layout. PDFium gives the text line by line with character boxes, font sizes and font names.
Page furniture goes: running headers and footers (a row of text apart from the body at the
height most pages have one), lone page numbers, table-of-contents pages. Paragraphs break on
vertical gaps, indentation and short sentence-ending lines; larger type, the PDF's outline and
bold stand-alone lines mark headings; bullets and numbers mark list items; monospaced lines set
apart from prose are code. Words hyphenated at a line's end are joined again.

pypdfium2 rather than pypdf: on Debian's PDF manuals it is 10-25x faster, keeps the word
spaces pypdf loses on xdvipdfmx output, and gives the boxes and font data this needs.
"""

from __future__ import annotations

import ctypes
import itertools
import re
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePath

from bot.knowledge.blocks import Block, ParsedDocument, ParseError

MAX_PAGES = 2000
MAX_SECONDS = 60.0
_LOCK = threading.Lock()  # PDFium is not thread-safe: one document at a time

_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b\ufeff\ufffe\uffff\ue000-\uf8ff]")
_SPACES = re.compile(r"[\s\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_BULLET = re.compile(r"^([•●▪■◦‣○◆◇►▸▹∙·□☐✓✔➢➤❖–—*-])\s+(?=\S)")
_STRONG_BULLETS = "•●▪■◦‣○◆►▸➢➤❖"
_NUMBER = re.compile(r"^(\(?(?:\d{1,3}|[a-zA-Z]|[ivxIVX]{2,5})[.)])\s+(?=\S)")
_WEAK_MARKER = re.compile(r"^(?:[–—*-]|\(?(?:[a-zA-Z]|[ivxIVX]{2,5})[.)])$")  # counts only where a block starts
_PAGE_NUMBER = re.compile(r"^\W*(?:page\s*)?(?:\d{1,4}|[ivxlcdm]{1,7})(?:\s*(?:of|/)\s*\d{1,4})?\W*$", re.I)
_LEADERS = re.compile(r"(?:\.\s*){4,}\s*(?:\d{1,4}|[ivxlcdm]{1,7})$|(?:\s\.){3,}", re.I)
_TOC_ENTRY = re.compile(r"\S\s*(?:\d{1,4}|[ivxlcdm]{1,7})$", re.I)
_ENDS_SENTENCE = re.compile(r"[.!?:;]['\"’”)\]]*$")
_MONO_FONT = re.compile(r"mono|courier|consol|menlo|inconsolata|typewriter|fixed|cmtt|sftt|ectt|txtt|lmtt|pcrr", re.I)
_BOLD_FONT = re.compile(r"bold|black|heavy|demi|semibold|cmbx|cmb\d|cmssbx|-b$|,b$", re.I)
_SECTION_NUMBER = re.compile(r"^(?:(?:chapter|part|appendix|section)\s+)?[\dA-Z]{1,3}(?:\.\d{1,3})*\.?$", re.I)
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_LETTERS = re.compile(r"[^\W\d_].*[^\W\d_]", re.S)  # at least two letters

_JUNK_TITLE = re.compile(
    r"^(?:untitled\b.*|document\s*\d*|title|no title|none|unknown|slide\s*\d*|presentation\s*\d*|"
    r"(?:microsoft\s+)?(?:word|powerpoint|excel)\s+-\s.*|.*\.(?:pdf|docx?|odt|rtf|txt|tex|dvi|ps|indd|pptx?|xlsx?|html?))$",
    re.I,
)
_JUNK_AUTHOR = re.compile(r"^(?:user|admin(?:istrator)?|owner|author|unknown|(?:windows|microsoft office) user)$", re.I)


@dataclass
class _Line:
    """One visual line of text on a page."""

    page: int  # 1-based
    text: str
    x0: float
    x1: float
    y: float  # baseline, in points from the top of the page
    size: float
    mono: bool
    bold: bool
    text_x: float  # where the words start after a list marker (x0 when there is none)
    hyphen: bool = False  # ends with a hyphen that may be a word broken at the line's end
    room: float = 0.0  # how far it stops short of its column's right edge
    heading: int = 0  # heading level; -1: continues the heading line before it


@dataclass
class _Block:
    kind: str
    lines: list[_Line]
    level: int = 0
    marker_x: float = 0.0
    text_x: float = 0.0


@dataclass
class _Layout:
    """Document-wide measures the rules compare against."""

    body_size: float
    pitch: dict[float, float] = field(default_factory=dict)  # font size -> usual distance between baselines
    vocabulary: set[str] = field(default_factory=set)  # words as the document writes them within lines
    compounds: set[str] = field(default_factory=set)  # hyphenated words written within lines

    def line_pitch(self, size: float) -> float:
        return self.pitch.get(_bucket(size), size * 1.2)


def parse_pdf(data: bytes, *, source: str = "") -> ParsedDocument:
    """The PDF's text as blocks; each block knows the page it starts on."""
    if b"%PDF-" not in data[:1024]:
        raise ParseError("not a PDF file")
    dropped: Counter[str] = Counter()
    with _LOCK:
        pdf = _open(data)
        try:
            meta = _meta(pdf, source)
            pages, bare = _read_pages(pdf, dropped)
            outline = _outline(pdf)
        finally:
            pdf.close()
    if not any(pages):
        if bare["images"]:
            raise ParseError("no text: the PDF holds only images (scanned?)")
        raise ParseError("no text: the PDF has no text layer")
    shown = len(pages) - bare["blank"]
    if bare["pictorial"] >= 3 and bare["pictorial"] >= 0.8 * shown:
        raise ParseError(f"no text: {bare['pictorial']} of its {shown} pages are images or drawings (scanned?)")
    layout = _Layout(_body_size([line for lines in pages for line in lines]))
    _drop_contents_pages(pages, outline, dropped)
    _drop_running_lines(pages, layout.body_size, dropped)
    lines = [line for lines in pages for line in lines]
    _measure(lines, layout)
    _mark_headings(pages, layout, outline)
    blocks = _build_blocks(lines, layout, dropped)
    if not blocks:
        raise ParseError("no text: the PDF's pages hold no readable text")
    return ParsedDocument(format="PDF", blocks=blocks, meta=meta, dropped=dropped)


def _open(data: bytes):
    """The document, trying the empty password that restricted (not secret) PDFs use."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    try:
        return pdfium.PdfDocument(data, password="")
    except pdfium.PdfiumError as error:
        code = getattr(error, "err_code", None)
        if code == raw.FPDF_ERR_PASSWORD:
            raise ParseError("the PDF is encrypted (it needs a password)") from None
        if code == raw.FPDF_ERR_SECURITY:
            raise ParseError("the PDF is encrypted with an unsupported scheme") from None
        raise ParseError("the PDF is damaged or truncated") from None
    except Exception:
        raise ParseError("the PDF is damaged or truncated") from None


def _meta(pdf, source: str) -> dict[str, str]:
    try:
        info = pdf.get_metadata_dict(skip_empty=True)
    except Exception:
        return {}
    meta: dict[str, str] = {}
    title = _norm(info.get("Title", ""))
    names = {PurePath(source).name.lower(), PurePath(source).stem.lower()} if source else set()
    if _LETTERS.search(title) and not _JUNK_TITLE.match(title) and title.lower() not in names:
        meta["title"] = title
    author = _norm(info.get("Author", ""))
    if _LETTERS.search(author) and not _JUNK_AUTHOR.match(author):
        meta["author"] = author
    published = _pdf_date(info.get("CreationDate", ""))
    if published:
        meta["published"] = published
    return meta


def _pdf_date(value: str) -> str:
    """'D:20230206120000+01'00'' -> '2023-02-06'; as much of the date as is valid."""
    match = re.match(r"^\s*(?:D:)?(\d{4})(\d{2})?(\d{2})?", value)
    if not match or not 1990 <= int(match[1]) <= 2100:
        return ""
    year, month, day = match[1], match[2], match[3]
    if not month or not 1 <= int(month) <= 12:
        return year
    if not day or not 1 <= int(day) <= 31:
        return f"{year}-{month}"
    return f"{year}-{month}-{day}"


def _outline(pdf) -> list[tuple[int, int, str]]:
    """(page index, level, title) of each bookmark: the PDF's own table of contents."""
    entries: list[tuple[int, int, str]] = []
    try:
        for item in pdf.get_toc(max_depth=8):
            dest = item.get_dest()
            index = dest.get_index() if dest is not None else None
            title = _norm(item.get_title() or "")
            if index is not None and title:
                entries.append((index, item.level + 1, title))
            if len(entries) >= 5000:
                break
    except Exception:
        return []
    return entries


def _read_pages(pdf, dropped: Counter[str]) -> tuple[list[list[_Line]], Counter[str]]:
    """Each page's lines (within the page and time limits), and a count of the pages with hardly
    any text: "pictorial" (images or drawings instead), "images", "blank" (nothing at all)."""
    total = len(pdf)
    if total > MAX_PAGES:
        dropped[f"page beyond the first {MAX_PAGES}"] += total - MAX_PAGES
    pages: list[list[_Line]] = []
    bare: Counter[str] = Counter()
    fonts: dict[str, tuple[bool, bool]] = {}
    started = time.monotonic()
    for index in range(min(total, MAX_PAGES)):
        if time.monotonic() - started > MAX_SECONDS:
            dropped[f"page past the {MAX_SECONDS:.0f} s time limit"] += min(total, MAX_PAGES) - index
            break
        try:
            page = pdf[index]
        except Exception:
            dropped["unreadable page"] += 1
            pages.append([])
            continue
        lines: list[_Line] = []
        try:
            lines = _page_lines(page, index + 1, fonts, dropped)
            if not lines:
                dropped["page without text"] += 1
            if sum(len(_WORD.findall(line.text)) for line in lines) < 10:
                images, paths = _pictures(page)
                bare["pictorial"] += images > 0 or paths > 0
                bare["images"] += images > 0
                bare["blank"] += not lines and not images and not paths
        except Exception:
            dropped["unreadable page"] += 1
        finally:
            page.close()
        pages.append(lines)
    return pages, bare


def _pictures(page) -> tuple[int, int]:
    """(images, paths) on the page: a scan is an image, text turned into outlines is paths."""
    import pypdfium2.raw as raw

    images = paths = 0
    for count, obj in enumerate(page.get_objects(max_depth=2)):
        images += obj.type == raw.FPDF_PAGEOBJ_IMAGE
        paths += obj.type == raw.FPDF_PAGEOBJ_PATH
        if count >= 2000:
            break
    return images, paths


def _page_lines(page, number: int, fonts: dict[str, tuple[bool, bool]], dropped: Counter[str]) -> list[_Line]:
    """The page's visual lines in PDFium's reading order."""
    import pypdfium2.raw as raw

    textpage = page.get_textpage()
    try:
        handle = textpage.raw
        count = raw.FPDFText_CountChars(handle)
        if count <= 0:
            return []
        text = textpage.get_text_range()
        if len(text) != count:  # PDFium's text view differs from its char list: rebuild it from the list
            text = "".join(_char(raw.FPDFText_GetUnicode(handle, i)) for i in range(count))
        height = page.get_height()
        lines: list[_Line] = []
        # PDFium ends lines with CR LF, and puts U+FFFE for a hyphen it found at a line's end
        for match in re.finditer(r"[^\r\n\ufffe]+\ufffe?", text):
            line = _make_line(handle, text, match.start(), match.end(), number, height, fonts, dropped)
            if line is not None:
                lines.append(line)
        return _merge_same_baseline(lines)
    finally:
        textpage.close()


def _char(code: int) -> str:
    return chr(code) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else " "


_BOX = [ctypes.c_double() for _ in range(4)]
_FONT_NAME = ctypes.create_string_buffer(256)
_FONT_FLAGS = ctypes.c_int()


def _make_line(handle, text: str, start: int, end: int, page: int, height: float, fonts, dropped) -> _Line | None:
    """One line's text, box, type size and style (sampled at each word's first character)."""
    import pypdfium2.raw as raw

    segment = text[start:end]
    hyphen = segment.endswith("\ufffe")
    cleaned = _norm(segment.replace("\ufffe", "-"))
    marks = [i for i in range(start, end) if not text[i].isspace() and text[i] != "\ufffe"]
    if not cleaned or not marks:
        return None
    if cleaned.endswith("\u00ad"):  # a soft hyphen shown at the line's end
        cleaned, hyphen = cleaned[:-1] + "-", True
    elif cleaned.endswith("-") and len(cleaned) > 1 and cleaned[-2].isalpha():
        hyphen = True
    cleaned = cleaned[:-1].replace("\u00ad", "") + cleaned[-1]
    angle = raw.FPDFText_GetCharAngle(handle, marks[0])
    if 0.02 < angle < 6.26:  # radians: rotated text is a watermark, a figure's axis label, a margin note
        dropped["rotated text"] += 1
        return None
    left, right, bottom, top = _BOX
    raw.FPDFText_GetCharBox(handle, marks[0], left, right, bottom, top)
    x0 = left.value
    raw.FPDFText_GetCharOrigin(handle, marks[0], left, bottom)
    baseline = height - bottom.value
    raw.FPDFText_GetCharBox(handle, marks[-1], left, right, bottom, top)
    x1 = max(right.value, x0)
    starts = [i for i in marks if i == start or text[i - 1].isspace()]
    if len(starts) > 12:
        starts = [*starts[:: len(starts) // 12 + 1], starts[-1]]
    size = statistics.median(raw.FPDFText_GetFontSize(handle, i) for i in starts)
    styles = [_font_style(handle, i, fonts) for i in starts]
    text_x = x0
    marker = _BULLET.match(cleaned) or _NUMBER.match(cleaned)
    skip = len(marker[0].replace(" ", "")) if marker else 0
    if marker and skip < len(marks):
        raw.FPDFText_GetCharBox(handle, marks[skip], left, right, bottom, top)
        text_x = left.value
        styles = styles[1:] or styles  # a bullet's own font says nothing of the line's
    mono = all(style[0] for style in styles)
    bold = all(style[1] for style in styles)
    return _Line(page, cleaned, x0, x1, baseline, size, mono, bold, text_x, hyphen)


def _font_style(handle, index: int, fonts: dict[str, tuple[bool, bool]]) -> tuple[bool, bool]:
    """(monospaced, bold) for the character's font; by flags, weight and name."""
    import pypdfium2.raw as raw

    length = raw.FPDFText_GetFontInfo(handle, index, _FONT_NAME, len(_FONT_NAME), ctypes.byref(_FONT_FLAGS))
    if length <= 0 or length > len(_FONT_NAME):
        return False, False
    name = _FONT_NAME.value.decode("latin-1")
    if name not in fonts:
        flags = _FONT_FLAGS.value
        mono = bool(flags & 1) or bool(_MONO_FONT.search(name))
        weight = raw.FPDFText_GetFontWeight(handle, index)
        bold = bool(flags & 0x40000) or weight >= 600 or bool(_BOLD_FONT.search(name))
        fonts[name] = (mono, bold)
    return fonts[name]


def _norm(text: str) -> str:
    return _SPACES.sub(" ", _INVISIBLE.sub("", text.translate(_LIGATURES))).strip()


def _merge_same_baseline(lines: list[_Line]) -> list[_Line]:
    """PDFium sometimes cuts one visual line in two (a lone bullet, a change of font)."""
    merged: list[_Line] = []
    for line in lines:
        prev = merged[-1] if merged else None
        size = max(prev.size, line.size) if prev else line.size
        if prev is None or prev.hyphen or abs(line.y - prev.y) >= 0.3 * size or not 0 <= line.x0 - prev.x1 < 3 * size:
            merged.append(line)
            continue
        text = f"{prev.text} {line.text}"
        marker = _BULLET.match(text) or _NUMBER.match(text)
        text_x = line.x0 if marker and prev.text == marker[1] else prev.text_x
        mono = line.mono if marker and prev.text == marker[1] else prev.mono and line.mono
        bold = prev.bold and line.bold
        merged[-1] = _Line(prev.page, text, prev.x0, line.x1, prev.y, size, mono, bold, text_x, line.hyphen)
    return merged


def _body_size(lines: list[_Line]) -> float:
    """The type size most of the text is set in."""
    weights: Counter[float] = Counter()
    for line in lines:
        weights[_bucket(line.size)] += len(line.text)
    return weights.most_common(1)[0][0] if weights else 10.0


def _bucket(size: float) -> float:
    return round(size * 2) / 2


def _drop_contents_pages(pages: list[list[_Line]], outline: list[tuple[int, int, str]], dropped) -> None:
    """A table of contents or an index repeats the text with page numbers: on a page made
    mostly of leader lines ("Intro . . . 3"), drop everything from its first entry on; elsewhere,
    drop a line that is a bookmark's title and a number, away from the bookmark's page."""
    titles: dict[str, set[int]] = {}
    for index, _, title in outline:
        titles.setdefault(_key(title), set()).add(index + 1)
    for lines in pages:
        leaders = sum(1 for line in lines if _LEADERS.search(line.text))
        if leaders >= 3 and leaders >= 0.3 * len(lines):
            first = next(i for i, line in enumerate(lines) if _TOC_ENTRY.search(line.text))
            dropped["table of contents line"] += len(lines) - first
            del lines[first:]
        elif titles:
            kept = [line for line in lines if not _names_bookmark(line, titles)]
            if len(kept) < len(lines):
                dropped["table of contents line"] += len(lines) - len(kept)
                lines[:] = kept


def _names_bookmark(line: _Line, titles: dict[str, set[int]]) -> bool:
    entry = re.match(r"^(.*\S)\s+(?:\d{1,4}|[ivxlcdm]{1,7})$", line.text, re.I)
    if not entry:
        return False
    key = _key(entry[1])
    pages = titles.get(key) or titles.get(re.sub(r"^[\dA-Z]{1,3}(?:\.\d{1,3})*\.?\s+", "", key, flags=re.I))
    return bool(pages) and line.page not in pages


def _drop_running_lines(pages: list[list[_Line]], body_size: float, dropped: Counter[str]) -> None:
    """Drop running headers and footers: the row of text at a page's top (bottom) edge, set
    apart from the body, at the height where many pages have such a row; and lone page numbers
    there. Twice over, for two-line headers and footers."""
    texted = sum(1 for lines in pages if lines)
    for from_top in (True, False, True, False):
        rows = [(lines, *_outer_row(lines, from_top, body_size)) for lines in pages]
        heights: Counter[int] = Counter()
        for _, row, apart in rows:
            if row and apart:
                heights.update(range(round(row[0].y) - 2, round(row[0].y) + 3))
        band, count = heights.most_common(1)[0] if heights else (0, 0)
        band_found = texted >= 2 and count >= max(2, 0.3 * texted)
        for lines, row, apart in rows:
            if not row:
                continue
            if band_found and apart and abs(row[0].y - band) <= 2.5:
                dropped["running header or footer"] += len(row)
            elif len(row) == 1 and _PAGE_NUMBER.match(row[0].text):
                dropped["page number"] += 1
            else:
                continue
            gone = {id(line) for line in row}
            lines[:] = [line for line in lines if id(line) not in gone]


def _outer_row(lines: list[_Line], from_top: bool, body_size: float) -> tuple[list[_Line], bool]:
    """The lines on the page's topmost (bottommost) baseline, and whether they stand apart:
    two lines' space or more from the rest, short, and not in heading-size type."""
    if not lines:
        return [], False
    edge = min(line.y for line in lines) if from_top else max(line.y for line in lines)
    row = [line for line in lines if abs(line.y - edge) <= 1.0]
    rest = [abs(line.y - edge) for line in lines if abs(line.y - edge) > 1.0]
    size = max(line.size for line in row)
    # Apart from a body: a page of one heading and one line of text has no header, only its text.
    has_body = any(line.size <= body_size + 0.9 for line in lines if abs(line.y - edge) > 1.0)
    apart = bool(rest) and has_body and min(rest) >= 2.0 * size and all(len(line.text) <= 150 for line in row)
    return row, apart and size <= body_size + 0.9


def _measure(lines: list[_Line], layout: _Layout) -> None:
    """Usual line spacing per type size, and the document's words (for hyphenation)."""
    gaps: dict[float, Counter[float]] = {}
    for prev, line in itertools.pairwise(lines):
        size = _bucket(line.size)
        if prev.page == line.page and _bucket(prev.size) == size and 0.9 * size < line.y - prev.y < 2.5 * size:
            gaps.setdefault(size, Counter())[round(line.y - prev.y, 1)] += 1
    layout.pitch = {size: counts.most_common(1)[0][0] for size, counts in gaps.items()}
    for line in lines:
        words = _WORD.findall(line.text)
        if line.hyphen and words:
            words = words[:-1]
        for word in words:
            layout.vocabulary.add(word.lower())
            if "-" in word:
                layout.compounds.add(word.lower())


def _mark_headings(pages: list[list[_Line]], layout: _Layout, outline: list[tuple[int, int, str]]) -> None:
    """Headings: lines the outline names on their page, short lines in larger type (levels by
    size, as the outline assigns them where it can), then bold lines standing alone."""
    by_size: dict[float, Counter[int]] = {}
    first_page = len(pages)
    for index, level, title in outline:
        line = _find_title(pages[index], title, layout.body_size) if 0 <= index < len(pages) else None
        if line is not None:
            line.heading = level
            by_size.setdefault(_bucket(line.size), Counter())[level] += 1
            first_page = min(first_page, line.page)
    size_level = {size: counts.most_common(1)[0][0] for size, counts in by_size.items()}
    # Where the outline names most headings, other large type is a heading only if bold (else a
    # figure's label, say), or on the pages before the first heading (a title page)
    trusted = len(outline) >= 3 and sum(sum(c.values()) for c in by_size.values()) >= 0.5 * len(outline)
    threshold = layout.body_size + max(0.9, 0.08 * layout.body_size)
    runs: list[list[_Line]] = []
    for lines in pages:
        run: list[_Line] = []
        for line in lines:
            big = line.size >= threshold and len(line.text) <= 150 and bool(_LETTERS.search(line.text))
            if big and run and abs(run[-1].size - line.size) < 0.5:
                run.append(line)
                continue
            runs.append(run)
            run = [line] if big else []
        runs.append(run)
    runs = [run for run in runs if 0 < len(run) <= 3]  # more lines in large type are a paragraph
    if trusted:
        runs = [r for r in runs if _bucket(r[0].size) in size_level or r[0].bold or r[0].page < first_page]
    sizes = sorted({_bucket(run[0].size) for run in runs}, reverse=True)
    for run in runs:
        size = _bucket(run[0].size)
        if size in size_level:
            level = size_level[size]
        elif size_level:
            level = 1 + max((lvl for s, lvl in size_level.items() if s > size), default=0)
        else:
            level = sizes.index(size) + 1
        for line in run:
            line.heading = line.heading or level
    deepest = max((line.heading for lines in pages for line in lines), default=0)
    for lines in pages:
        for i, line in enumerate(lines):
            if not line.heading and _stands_alone_bold(lines, i, layout):
                line.heading = min(deepest + 1, 6)


def _find_title(lines: list[_Line], title: str, body_size: float) -> _Line | None:
    """The line (or two) on the page that reads as the outline's title, with or without its number."""
    want = _key(title)
    if not want:
        return None
    for i, line in enumerate(lines):
        if line.heading or line.size < body_size - 0.5 or not _LETTERS.search(line.text):
            continue
        two = i + 1 < len(lines) and abs(lines[i + 1].size - line.size) < 0.5 and not lines[i + 1].heading
        for text in (line.text, f"{line.text} {lines[i + 1].text}" if two else ""):
            have = _key(text)
            if have and (
                have == want
                or (have.endswith(want) and _SECTION_NUMBER.match(have[: -len(want)].strip()))
                or (want.endswith(have) and _SECTION_NUMBER.match(want[: -len(have)].strip()))
            ):
                if text != line.text:
                    lines[i + 1].heading = -1
                return line
    return None


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w.\s]", " ", text.lower())).strip(" .")


def _stands_alone_bold(lines: list[_Line], i: int, layout: _Layout) -> bool:
    """A short bold line with space above and below and no sentence end: a run-in-free heading."""
    line = lines[i]
    if not line.bold or line.mono or len(line.text) > 100 or len(line.text.split()) > 12:
        return False
    if not _LETTERS.search(line.text) or line.text[:1].islower() or re.search(r"[.,;:]$", line.text):
        return False
    if _BULLET.match(line.text) or (_NUMBER.match(line.text) and not _SECTION_NUMBER.match(line.text.split()[0])):
        return False
    limit = layout.line_pitch(line.size) * 1.1
    above = lines[i - 1] if i else None
    below = lines[i + 1] if i + 1 < len(lines) else None
    return (above is None or above.heading > 0 or not 0 < line.y - above.y <= limit) and (
        below is None or not 0 < below.y - line.y <= limit or below.x0 > line.x0 + line.size
    )


def _build_blocks(lines: list[_Line], layout: _Layout, dropped: Counter[str]) -> list[Block]:
    _measure_room(lines)
    blocks: list[_Block] = []
    markers: list[float] = []  # the x of each open list level's marker
    cur: _Block | None = None
    for line in lines:
        if _LEADERS.search(line.text):
            dropped["table of contents line"] += 1
            continue
        prev = cur.lines[-1] if cur else None
        if line.heading:
            if cur and cur.kind == "heading" and (
                line.heading == -1
                or (prev.heading == line.heading and prev.page == line.page and 0 < line.y - prev.y < 2 * line.size)
            ):
                cur.lines.append(line)
                continue
            cur = _Block("heading", [line], level=max(line.heading, 1))
            blocks.append(cur)
            markers.clear()
            continue
        if cur and cur.kind == "code" and line.mono and _continues_code(prev, line, cur, layout):
            cur.lines.append(line)
            continue
        marker = _BULLET.match(line.text) or _NUMBER.match(line.text)
        if marker and (line.mono or _WEAK_MARKER.match(marker[1])) and prev and not _breaks(prev, line, cur, layout):
            marker = None
        if marker and (not line.mono or marker[1] in _STRONG_BULLETS):  # "- x" in monospace is code
            while markers and line.x0 < markers[-1] - 0.5 * line.size:
                markers.pop()
            if not markers or line.x0 > markers[-1] + 0.5 * line.size:
                markers.append(line.x0)
            cur = _Block("item", [line], level=len(markers) - 1, marker_x=line.x0, text_x=line.text_x)
            blocks.append(cur)
            continue
        if cur and cur.kind == "item" and _continues_item(prev, line, cur, layout):
            cur.lines.append(line)
            continue
        if line.mono and (prev is None or cur.kind != "paragraph" or _breaks(prev, line, cur, layout)):
            cur = _Block("code", [line])
            blocks.append(cur)
            continue
        if cur and cur.kind == "paragraph" and (not _breaks(prev, line, cur, layout) or _carries_over(prev, line)):
            cur.lines.append(line)
            continue
        host = _interrupted(blocks, line) if prev and prev.page != line.page else None
        if host is not None:  # a paragraph carried over past the previous page's footnotes
            host.lines.append(line)
            cur = host
            continue
        if markers and line.x0 <= markers[0] + 0.5 * line.size:
            markers.clear()
        cur = _Block("paragraph", [line])
        blocks.append(cur)
    return _finish(blocks, layout, dropped)


def _interrupted(blocks: list[_Block], line: _Line) -> _Block | None:
    """The paragraph ``line`` continues when only smaller type (footnotes) came between them."""
    for block in reversed(blocks):
        last = block.lines[-1]
        if last.page != line.page - 1 or last.size > line.size + 0.6:
            return None
        if abs(last.size - line.size) <= 0.6:
            return block if block.kind == "paragraph" and _carries_over(last, line) else None
    return None


def _measure_room(lines: list[_Line]) -> None:
    """How far each line stops short of its column's right edge (the widest line beside it)."""
    by_page: dict[int, list[_Line]] = {}
    for line in lines:
        by_page.setdefault(line.page, []).append(line)
    for page_lines in by_page.values():
        widest = max(line.x1 for line in page_lines)
        for line in page_lines:
            if len(page_lines) > 400:  # a dense page: the page's right edge will do
                line.room = widest - line.x1
                continue
            edge = max(
                (o.x1 for o in page_lines if o.x0 < line.x1 and o.x1 > line.x0 and o.x0 > line.x0 - 100),
                default=line.x1,
            )
            line.room = edge - line.x1


def _breaks(prev: _Line, line: _Line, cur: _Block | None, layout: _Layout) -> bool:
    """Whether ``line`` starts a new block after ``prev``: another page or column, a change of
    type size, a gap, an indented first line, or a short line that ended a sentence."""
    if prev.page != line.page or abs(prev.size - line.size) > 0.6:
        return True
    size = max(prev.size, line.size)
    gap = line.y - prev.y
    if gap < -0.5 * size or gap > layout.line_pitch(line.size) + 0.18 * size:
        return True
    first = cur is None or prev is cur.lines[0]  # a hanging indent starts after a block's first line
    if not first and prev.x0 + 0.8 * size < line.x0 < prev.x0 + 10 * size:
        return True
    rest = cur.lines[1:] if cur else []
    if rest and line.x0 < min(other.x0 for other in rest) - 0.8 * size:
        return True
    return prev.room > 3 * size and bool(_ENDS_SENTENCE.search(prev.text))


def _carries_over(prev: _Line, line: _Line) -> bool:
    """A paragraph continued on the next page or column: no sentence end, a lower-case start."""
    moved = prev.page != line.page or line.y < prev.y - 0.5 * line.size
    return (
        moved
        and abs(prev.size - line.size) < 0.6
        and not _ENDS_SENTENCE.search(prev.text)
        and (prev.hyphen or line.text[:1].islower())
    )


def _continues_item(prev: _Line, line: _Line, cur: _Block, layout: _Layout) -> bool:
    """A line under the item's words (not its marker) belongs to it; after a gap only when it
    lines up with the words, as the item's next paragraph does."""
    if line.x0 <= cur.marker_x + 0.3 * line.size or prev.page != line.page or abs(prev.size - line.size) > 0.6:
        return False
    gap = line.y - prev.y
    if 0 < gap <= layout.line_pitch(line.size) + 0.18 * line.size:
        return abs(line.x0 - cur.text_x) < 0.5 * line.size or not _breaks(prev, line, cur, layout)
    return 0 < gap < 3 * line.size and abs(line.x0 - cur.text_x) < 0.25 * line.size and not line.mono


def _continues_code(prev: _Line, line: _Line, cur: _Block, layout: _Layout) -> bool:
    gap = line.y - prev.y
    left = min(other.x0 for other in cur.lines)
    return prev.page == line.page and 0 < gap <= 4 * layout.line_pitch(line.size) and line.x0 > left - line.size


def _finish(blocks: list[_Block], layout: _Layout, dropped: Counter[str]) -> list[Block]:
    result: list[Block] = []
    for block in blocks:
        page = block.lines[0].page
        if block.kind == "code":
            result.append(Block("code", _code_text(block.lines), page=page))
            continue
        text = _join(block.lines, layout)
        if block.kind == "item":
            marker = _BULLET.match(text) or _NUMBER.match(text)
            text = text[marker.end() :] if marker else text
        if not _LETTERS.search(text):
            dropped["text without words"] += 1
            continue
        result.append(Block(block.kind, text, level=block.level, page=page))
    return result


def _join(lines: list[_Line], layout: _Layout) -> str:
    parts = [lines[0].text]
    for prev, line in itertools.pairwise(lines):
        if prev.hyphen and parts[-1].endswith("-"):
            parts[-1] = _dehyphenate(parts[-1], line.text, layout)
        else:
            parts.append(line.text)
    return " ".join(parts)


def _dehyphenate(text: str, following: str, layout: _Layout) -> str:
    """Join a word broken at a line's end. The hyphen goes when the next part starts in lower
    case, unless the document writes the hyphenated form (and never the joined one) elsewhere or
    the word is a compound anyway ("state-of-|the-art"); before a capital it stays, unless the document
    writes the joined word elsewhere ("Post-Script" -> "PostScript")."""
    head = re.search(r"([^\W\d_]+(?:-[^\W\d_]+)*)-$", text[-80:])
    tail = _WORD.match(following)
    if not head or not tail:
        return text + following
    before, after = head[1], tail[0]
    joined, hyphenated = (before + after).lower(), f"{before}-{after}".lower()
    if joined in layout.vocabulary and hyphenated not in layout.compounds:
        keep = False
    elif hyphenated in layout.compounds or "-" in before or "-" in after:
        keep = True
    else:
        keep = not after[0].islower()
    return (text if keep else text[:-1]) + following


def _code_text(lines: list[_Line]) -> str:
    """The code's lines with their indentation (from the x offsets) and blank lines (from the gaps)."""
    widths = [(line.x1 - line.x0) / len(line.text) for line in lines if len(line.text) >= 4]
    char = statistics.median(widths) if widths else lines[0].size * 0.6
    left = min(line.x0 for line in lines)
    pitch = min((b.y - a.y for a, b in itertools.pairwise(lines) if b.y > a.y), default=0.0)
    out: list[str] = []
    for i, line in enumerate(lines):
        if i and pitch:
            out += [""] * max(0, min(3, round((line.y - lines[i - 1].y) / pitch) - 1))
        out.append(" " * max(0, round((line.x0 - left) / char)) + line.text)
    return "\n".join(out)
