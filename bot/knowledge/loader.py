"""Read the knowledge directory: every document file, whatever its format, becomes a Document.

A format's parser (bot/knowledge/formats) turns a file into blocks; this module turns blocks into
passages a reader recognises: headings become the section path of what they head (searchable
context, named in citations, never passages themselves), paragraphs are counted within their
section (within their page in a PDF), code is kept beside the paragraph it follows, and the
document's metadata becomes fields. Bad files are reported as Problems and skipped, so that one
broken upload never takes the rest of the knowledge base down with it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path, PurePath, PurePosixPath
from typing import Any

import yaml

from bot.knowledge.blocks import Block, ParsedDocument, ParseError
from bot.knowledge.frontmatter import FrontMatterError, parse_date, split_front_matter
from bot.knowledge.models import Document, KnowledgeBase, KnowledgeError, Passage, Problem
from bot.knowledge.parse_cache import ParseCache
from bot.search.analysis import acronyms

# What readers call a document or section by its initials ("GPL", "AGPL") is 3 to 6 letters long: longer ones
# measured no better on the dev sets and grow with the square of a Title Case heading's length; only the initials
# of a run's last words (how acronyms drop qualifiers) measured worse (licences hit@3 80 -> 75%).
ACRONYM_LETTERS = 6

# Suffix -> (format name, text format?). Text formats are UTF-8 and may start with YAML front matter.
FORMATS: dict[str, tuple[str, bool]] = {
    ".md": ("Markdown", True), ".markdown": ("Markdown", True),
    ".rst": ("reStructuredText", True), ".rest": ("reStructuredText", True), ".rst.txt": ("reStructuredText", True),
    ".txt": ("text", True), ".text": ("text", True),
    ".html": ("HTML", False), ".htm": ("HTML", False), ".xhtml": ("HTML", False),
    ".pdf": ("PDF", False),
    ".docx": ("Word", False),
}
DOCUMENT_SUFFIXES = tuple(FORMATS)
# Formats people send that we can name but not read: a clear reason instead of silence.
REFUSED_SUFFIXES = {
    ".doc": "an old Word .doc file: save it as .docx (Word, LibreOffice: Save as)",
    ".odt": "an OpenDocument text: save it as .docx or PDF",
    ".rtf": "a Rich Text file: save it as .docx, PDF or plain text",
}
ALIAS_FILES = ("aliases.yaml", "aliases.yml")
MAX_FILE_BYTES = 5 * 1024 * 1024  # text and web pages
MAX_BINARY_BYTES = 25 * 1024 * 1024  # PDF and Word files carry fonts and images besides their text

# How people ask for each metadata field; a question made of these and of words naming the
# document is answered from the field. Indexed with the field, never shown.
FIELD_WORDS = {
    "title": ("Title", "title titled called name headline"),
    "subtitle": ("Subtitle", "subtitle tagline strapline dek"),
    "author": ("Author", "author authors writer wrote written byline"),
    "publication": ("Publication", "publication publisher magazine journal newspaper outlet ran appeared website"),
    "published": ("Published", "published publish date day year dated"),
    "url": ("Source", "source link url original online"),
    "sections": ("Sections", "section sections chapter chapters contents headings"),
}
MAX_LISTED_SECTIONS = 25


def suffix_of(path: PurePath) -> str:
    """The document suffix of a file name, two parts long when that is what names the format
    ("library.rst.txt" is reStructuredText), else "" for a file the loader does not read."""
    name = path.name.lower()
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(suffix) and len(name) > len(suffix):
            return suffix
    return ""


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "document"


def document_id(relative: PurePath) -> str:
    """A document's id: its path under the knowledge directory without the suffix, each part a
    slug ("howto/logging.rst.txt" -> "howto/logging"). Two files of one name in two folders are two
    documents, and the id stays the same across reloads."""
    suffix = suffix_of(relative)
    parts = [*relative.parts[:-1], relative.name[:len(relative.name) - len(suffix)] if suffix else relative.stem]
    return "/".join(slugify(part) for part in parts)


def readable_name(relative: PurePath) -> str:
    """A title made from a file name, the last resort: "energy-policy.md" -> "Energy policy"."""
    suffix = suffix_of(relative)
    stem = relative.name[:len(relative.name) - len(suffix)] if suffix else relative.stem
    words = re.sub(r"[-_.]+", " ", stem).strip()
    return words[:1].upper() + words[1:] if words else relative.name


def _decode(path: PurePath, data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise KnowledgeError(path, "binary file (contains NUL bytes), expected UTF-8 text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise KnowledgeError(path, f"not UTF-8 text (invalid byte at offset {exc.start})") from None
    return text.removeprefix("\ufeff")


def _text_field(meta: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = meta.get(name)
        if value is None or value == "":
            continue
        if isinstance(value, (dict, list)):
            if name in ("author", "authors") and isinstance(value, list) and all(isinstance(v, str) for v in value):
                return ", ".join(v.strip() for v in value)
            raise FrontMatterError(f"'{name}' must be a single value")
        return " ".join(str(value).split())
    return None


def _parser(fmt: str) -> Callable[..., ParsedDocument]:
    """The parser of a format, imported when first needed (PDF and HTML libraries are slow to import)."""
    if fmt == "Markdown":
        from bot.knowledge.formats.markdown import parse_markdown
        return parse_markdown
    if fmt == "reStructuredText":
        from bot.knowledge.formats.rst import parse_rst
        return parse_rst
    if fmt == "text":
        from bot.knowledge.formats.text import parse_text
        return parse_text
    if fmt == "HTML":
        from bot.knowledge.formats.html import parse_html
        return parse_html
    if fmt == "PDF":
        from bot.knowledge.formats.pdf import parse_pdf
        return parse_pdf
    from bot.knowledge.formats.docx import parse_docx
    return parse_docx


def parse_file(path: PurePath, data: bytes, *, url: str | None = None,
               encoding: str | None = None) -> tuple[ParsedDocument, dict[str, Any]]:
    """A file's blocks and its front matter (text formats only); raise KnowledgeError if unusable.

    ``url`` and ``encoding``: where a fetched web page came from, and the charset its server named.
    """
    suffix = suffix_of(path)
    if not suffix:
        reason = REFUSED_SUFFIXES.get(path.suffix.lower())
        raise KnowledgeError(path, reason or f"not a document the bot reads ({', '.join(DOCUMENT_SUFFIXES)})")
    fmt, is_text = FORMATS[suffix]
    if not data.strip():
        raise KnowledgeError(path, "empty file")
    front: dict[str, Any] = {}
    try:
        if is_text:
            front, body, _ = split_front_matter(_decode(path, data))
            parsed = _parser(fmt)(body, source=str(path))
        elif fmt == "HTML":
            parsed = _parser(fmt)(data, source=str(path), url=url, encoding=encoding)
        else:
            parsed = _parser(fmt)(data, source=str(path))
    except KnowledgeError:
        raise
    except FrontMatterError as exc:
        raise KnowledgeError(path, str(exc)) from None
    except ParseError as exc:
        raise KnowledgeError(path, str(exc)) from None
    except RecursionError:
        raise KnowledgeError(path, f"the {fmt} is nested too deeply to read") from None
    except Exception as exc:  # a parser's library failing on input it did not expect: one file, not the base
        raise KnowledgeError(path, f"cannot read this {fmt} file ({type(exc).__name__}: {exc})") from None
    return parsed, front


def _same_title(heading: str, title: str) -> bool:
    """Whether a first heading is the document's title as declared, or its start ("Annual Report"
    heading a PDF whose metadata says "Annual Report 2023")."""
    heading, title = (" ".join(re.findall(r"\w+", t.casefold())) for t in (heading, title))
    return bool(heading) and (heading == title or title.startswith(heading + " "))


def _title(front_title: str | None, parsed: ParsedDocument, relative: PurePath) -> tuple[str, bool]:
    """The document's title, and whether its first heading is that title (then it heads no section).

    Front matter first, then what the file itself declares (HTML, PDF and Word metadata), then a
    first heading that comes before any text, the file name only as a last resort.
    """
    first = next((b for b in parsed.blocks if b.kind != "heading" or b.text.strip()), None)
    heading = first.text if first is not None and first.kind == "heading" else None
    declared = front_title or parsed.meta.get("title")
    if declared:
        return declared, heading is not None and _same_title(heading, declared)
    if heading:
        return heading, True
    return readable_name(relative), False


def _sections(blocks: list[Block], title_heading: bool) -> list[tuple[str, ...]]:
    """The heading path above each block (a heading's includes itself), the title left out."""
    paths: list[tuple[str, ...]] = []
    stack: list[tuple[int, str]] = []
    root: str | None = None
    for i, block in enumerate(blocks):
        if block.section is not None:
            path = block.section
        else:
            if block.kind == "heading":
                while stack and stack[-1][0] >= block.level:
                    stack.pop()
                stack.append((block.level, block.text))
            path = tuple(text for _, text in stack)
        if i == 0 and title_heading and block.kind == "heading":
            root = block.text
        if root is not None and path and path[0] == root:
            path = path[1:]
        paths.append(path)
    return paths


def _passages(doc_id: str, blocks: list[Block], paths: list[tuple[str, ...]],
              title: str = "") -> tuple[list[Passage], list[str]]:
    """Passages from blocks, numbered as a reader counts; and the section headings in order."""
    passages: list[Passage] = []
    headings: list[str] = []
    count = 0  # paragraphs in the document: the stable part of passage ids
    code_count = 0
    paragraph = 0  # within the section (or the page)
    item = 0
    place: tuple[tuple[str, ...], int | None] | None = None
    intro: Passage | None = None  # the paragraph a following list hangs from
    previous = None
    # What readers call the document or a section: "GPL" for the GNU General Public License.
    names = sorted(acronyms(title, shortest=3, longest=ACRONYM_LETTERS))
    for block, section in zip(blocks, paths, strict=True):
        if block.kind == "heading":
            if section and block.text.strip():
                headings.append(" › ".join(section))
            previous = "heading"
            intro = None
            continue
        text = block.text if block.kind == "code" else " ".join(block.text.split())
        if not text.strip():
            continue
        here = (section, block.page)
        if here != place:  # a new section (or a PDF's new page) starts counting again
            paragraph, intro, previous, place = 0, None, None, here
        keywords = " ".join((title, *names, *section,
                             *sorted({a for h in section for a in acronyms(h, shortest=3, longest=ACRONYM_LETTERS)})))
        if block.kind == "code":
            code_count += 1
            passages.append(Passage(f"{doc_id}#code{code_count}", doc_id, "code", text, paragraph, section=section,
                                    page=block.page, language=block.language))
            continue  # a code block does not interrupt the list or paragraph around it
        if block.kind == "paragraph":
            count += 1
            paragraph += 1
            item = 0
            passage = Passage(f"{doc_id}#p{count}", doc_id, "paragraph", text, paragraph, section=section,
                              keywords=keywords, page=block.page)
            intro = passage
        else:
            if previous != "item":
                item = 0
                if intro is None or previous != "paragraph":
                    count += 1  # a list with no introducing paragraph counts as one
                    paragraph += 1
                    intro = None
            item += 1
            passage = Passage(f"{doc_id}#p{count}.{item}", doc_id, "list_item", text, paragraph, item=item,
                              intro_id=intro.id if intro else None, section=section, keywords=keywords,
                              page=block.page)
        passages.append(passage)
        previous = block.kind
    return passages, headings


def _published(front: dict[str, Any], parsed: ParsedDocument):
    raw = front.get("published", front.get("date"))
    if raw not in (None, ""):
        return parse_date(raw)  # front matter is the admin's word: a bad date is an error
    declared = parsed.meta.get("published")
    if declared:
        try:
            return parse_date(declared)
        except FrontMatterError:
            return None  # a page's own date in a form we cannot read is left out, not fatal
    return None


def build_document(path: Path, relative: PurePath, parsed: ParsedDocument, front: dict[str, Any],
                   checksum: str) -> Document:
    """Turn a parsed file into a Document with its passages and metadata fields."""
    try:
        title, title_heading = _title(_text_field(front, "title"), parsed, relative)
        published = _published(front, parsed)
        doc_id = "/".join(slugify(p) for p in str(_text_field(front, "id", "slug")).split("/")) \
            if _text_field(front, "id", "slug") else document_id(relative)
        declared = parsed.meta
        fields = {
            "title": title,
            "subtitle": _text_field(front, "subtitle") or declared.get("subtitle"),
            "author": _text_field(front, "author", "authors", "byline") or declared.get("author"),
            "publication": _text_field(front, "publication", "publisher", "source_name") or declared.get("publication"),
            "url": _text_field(front, "url", "source", "link") or declared.get("url"),
        }
    except FrontMatterError as exc:
        raise KnowledgeError(path, str(exc)) from None
    blocks = parsed.blocks
    passages, headings = _passages(doc_id, blocks, _sections(blocks, title_heading), fields["title"])
    if not any(p.searchable for p in passages):
        raise KnowledgeError(path, "no text" + (" after the front matter" if front else "")
                             + (" (only code)" if passages else ""))
    doc = Document(id=doc_id, title=fields["title"], path=path, passages=(), subtitle=fields["subtitle"],
                   author=fields["author"], publication=fields["publication"], published=published,
                   url=fields["url"], checksum=checksum, format=parsed.format, sections=tuple(headings),
                   dropped=tuple(sorted(Counter(parsed.dropped).items())))
    listed = [h.rsplit(" › ", 1)[-1] for h in headings]
    values = dict(fields, published=doc.published_text,
                  sections="; ".join(listed[:MAX_LISTED_SECTIONS]) + ("; …" if len(listed) > MAX_LISTED_SECTIONS
                                                                      else "") if listed else None)
    metadata = [Passage(f"{doc_id}#{name}", doc_id, "metadata", f"{label}: {values[name]}", 0)
                for name, (label, _) in FIELD_WORDS.items() if values.get(name)]
    return dataclasses.replace(doc, passages=tuple(metadata + passages))


# What the last load of a directory parsed, by format and checksum: a reload parses only the files
# that changed (reStructuredText and PDF parsing cost tens of milliseconds a file).
_parsed: dict[tuple[str, str], tuple[ParsedDocument, dict[str, Any]]] = {}


def parse_document(path: Path, data: bytes | str, *, relative: PurePath | None = None, url: str | None = None,
                   cache: dict[tuple[str, str], tuple[ParsedDocument, dict[str, Any]]] | None = None,
                   disk: ParseCache | None = None) -> Document:
    """Turn one file's content into a Document; raise KnowledgeError if it cannot be used.

    ``relative`` is the file's path under the knowledge directory (its id); by default its name.
    ``cache`` maps (suffix, checksum) to parsed files, read and filled in; ``disk`` keeps them
    between runs.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    checksum = hashlib.sha256(raw).hexdigest()
    key = (suffix_of(path), checksum)
    found = cache.get(key) if cache is not None and url is None else None
    if found is None and disk is not None and url is None:
        found = disk.get(*key)
    if found is None:
        found = parse_file(path, raw, url=url)
        if disk is not None and url is None:
            disk.put(*key, *found)
    if cache is not None and url is None:
        cache[key] = found
    parsed, front = found
    return build_document(path, relative or PurePosixPath(path.name), parsed, front, checksum)


def load_aliases(path: Path) -> dict[str, tuple[str, ...]]:
    """``word: [other, words]`` lines; a question word also searches its aliases."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeError(path, f"cannot read aliases: {exc}") from None
    except yaml.YAMLError as exc:
        raise KnowledgeError(path, f"aliases are not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise KnowledgeError(path, "aliases must be 'word: [alias, alias]' lines")
    aliases: dict[str, tuple[str, ...]] = {}
    for key, value in data.items():
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, (str, int)) for v in values):
            raise KnowledgeError(path, f"aliases for {key!r} must be words or a list of words")
        aliases[str(key).strip().lower()] = tuple(str(v).strip() for v in values if str(v).strip())
    return aliases


def knowledge_files(directory: Path) -> list[Path]:
    """Files under the directory that look like documents (or documents we refuse by name), hidden
    files and folders left out, in a stable order."""
    return sorted(
        p for p in directory.rglob("*")
        if (suffix_of(p) or p.suffix.lower() in REFUSED_SUFFIXES) and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(directory).parts)
    )


def size_limit(path: PurePath) -> int:
    suffix = suffix_of(path)
    return MAX_FILE_BYTES if not suffix or FORMATS[suffix][1] or FORMATS[suffix][0] == "HTML" else MAX_BINARY_BYTES


def read_file(path: Path) -> bytes:
    """A document file's bytes, within its format's size limit; raise KnowledgeError if it cannot be read."""
    try:
        size = path.stat().st_size
        if size > size_limit(path):
            raise KnowledgeError(path, f"file too large ({size:,} bytes; limit {size_limit(path):,})")
        return path.read_bytes()
    except OSError as exc:
        raise KnowledgeError(path, f"cannot read: {exc.strerror or exc}") from None


def load_knowledge_dir(directory: Path | str, *, require_documents: bool = True,
                       parse_cache: ParseCache | None = None) -> KnowledgeBase:
    """Load every document under ``directory``; bad files become Problems.

    ``parse_cache`` keeps parsed files on disk, so the next run parses only what changed.

    Raises KnowledgeError when the directory is missing or (with
    ``require_documents``) when no usable document is found.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise KnowledgeError(directory, "knowledge directory not found")
    global _parsed
    documents: list[Document] = []
    problems: list[Problem] = []
    seen: dict[str, Path] = {}
    previous, parsed = _parsed, {}
    for path in knowledge_files(directory):
        try:
            data = read_file(path)
            key = (suffix_of(path), hashlib.sha256(data).hexdigest())
            if key in previous:
                parsed[key] = previous[key]
            doc = parse_document(path, data, relative=path.relative_to(directory), cache=parsed, disk=parse_cache)
            if doc.id in seen:
                raise KnowledgeError(path, f"duplicate document id {doc.id!r} (also used by {seen[doc.id]})")
        except KnowledgeError as exc:
            problems.append(Problem(exc.path, exc.reason))
            continue
        seen[doc.id] = path
        documents.append(doc)
    _parsed = parsed  # only what this directory holds now is kept
    aliases: dict[str, tuple[str, ...]] = {}
    for name in ALIAS_FILES:
        if (directory / name).is_file():
            try:
                aliases.update(load_aliases(directory / name))
            except KnowledgeError as exc:
                problems.append(Problem(exc.path, exc.reason))
    if require_documents and not documents:
        detail = f" ({len(problems)} file(s) skipped)" if problems else ""
        raise KnowledgeError(directory, f"no usable document found{detail}", tuple(problems))
    return KnowledgeBase(directory, tuple(documents), tuple(problems), aliases)
