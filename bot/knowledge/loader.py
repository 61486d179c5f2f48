"""Read the knowledge directory: every Markdown and text file becomes a Document.

Bad files are reported as Problems and skipped so that one broken upload never
takes the rest of the knowledge base down with it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.frontmatter import FrontMatterError, parse_date, split_front_matter
from bot.knowledge.markdown import split_blocks, strip_inline_markdown
from bot.knowledge.models import Document, KnowledgeBase, KnowledgeError, Passage, Problem

DOCUMENT_SUFFIXES = (".md", ".markdown", ".txt")
ALIAS_FILES = ("aliases.yaml", "aliases.yml")
MAX_FILE_BYTES = 5 * 1024 * 1024

# How people ask for each metadata field; indexed with the field, never shown.
FIELD_WORDS = {
    "title": ("Title", "title titled called name headline"),
    "subtitle": ("Subtitle", "subtitle tagline strapline dek"),
    "author": ("Author", "author writer wrote written byline"),
    "publication": ("Publication", "publication publisher magazine journal newspaper outlet ran appeared website"),
    "published": ("Published", "published publish date day year dated"),
    "url": ("Source", "source link url original online web"),
}


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "document"


def _decode(path: Path, data: bytes) -> str:
    if not data.strip():
        raise KnowledgeError(path, "empty file")
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
            raise FrontMatterError(f"'{name}' must be a single value")
        return str(value).strip()
    return None


def _plain_title(body: str) -> tuple[str | None, str]:
    """A plain-text file's first line is its title when it stands alone and is short."""
    lines = body.lstrip("\n").splitlines()
    if len(lines) >= 2 and not lines[1].strip() and 0 < len(lines[0].strip()) <= 120 \
            and not lines[0].rstrip().endswith((".", ":", "?", "!")):
        return lines[0].strip(), "\n".join(lines[2:])
    return None, body


def parse_document(path: Path, text: str) -> Document:
    """Turn one file's text into a Document; raise KnowledgeError if it cannot be used."""
    try:
        meta, body, has_meta = split_front_matter(text)
    except FrontMatterError as exc:
        raise KnowledgeError(path, str(exc)) from None
    markdown = path.suffix.lower() in (".md", ".markdown")
    try:
        title = _text_field(meta, "title")
        if title is None and not has_meta:
            title, body = _plain_title(body)
        if title is None:
            title = path.stem.replace("-", " ").replace("_", " ").strip().capitalize()
        published_raw = meta.get("published", meta.get("date"))
        published = parse_date(published_raw) if published_raw not in (None, "") else None
        doc_id = slugify(_text_field(meta, "id", "slug") or path.stem)
        fields = {
            "title": strip_inline_markdown(title) if markdown else title,
            "subtitle": _text_field(meta, "subtitle"),
            "author": _text_field(meta, "author", "authors", "byline"),
            "publication": _text_field(meta, "publication", "publisher", "source_name"),
            "url": _text_field(meta, "url", "source", "link"),
        }
    except FrontMatterError as exc:
        raise KnowledgeError(path, str(exc)) from None

    passages: list[Passage] = []
    paragraph = 0
    item = 0
    intro: Passage | None = None  # the paragraph a following list hangs from
    section: str | None = None
    previous_kind = None
    for block in split_blocks(body, markdown=markdown):
        if block.kind == "heading":
            section, intro, previous_kind = block.text, None, "heading"
            continue
        if block.kind == "paragraph":
            paragraph += 1
            item = 0
            passage = Passage(f"{doc_id}#p{paragraph}", doc_id, "paragraph", block.text, paragraph,
                              section=section)
            intro = passage
        else:
            if previous_kind != "item":
                item = 0
                if intro is None or previous_kind != "paragraph":
                    paragraph += 1  # a list with no introducing paragraph counts as one
                    intro = None
            item += 1
            passage = Passage(f"{doc_id}#p{paragraph}.{item}", doc_id, "list_item", block.text, paragraph,
                              item=item, intro_id=intro.id if intro else None, section=section)
        passages.append(passage)
        previous_kind = block.kind
    if not passages:
        raise KnowledgeError(path, "no text after the front matter" if has_meta else "no text")

    values = dict(fields, published=None)
    doc = Document(id=doc_id, title=fields["title"], path=path, passages=(), subtitle=fields["subtitle"],
                   author=fields["author"], publication=fields["publication"], published=published,
                   url=fields["url"], checksum=hashlib.sha256(text.encode()).hexdigest())
    values["published"] = doc.published_text
    metadata = [
        # The title goes along so "who wrote the energy article?" finds this document's author.
        Passage(f"{doc_id}#{name}", doc_id, "metadata", f"{label}: {values[name]}", 0,
                keywords=f"{words} {fields['title']}")
        for name, (label, words) in FIELD_WORDS.items()
        if values.get(name)
    ]
    return dataclasses.replace(doc, passages=tuple(metadata + passages))


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
    """Document files under the directory, hidden files and folders left out, in a stable order."""
    return sorted(
        p for p in directory.rglob("*")
        if p.suffix.lower() in DOCUMENT_SUFFIXES and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(directory).parts)
    )


def load_knowledge_dir(directory: Path | str, *, require_documents: bool = True) -> KnowledgeBase:
    """Load every document under ``directory``; bad files become Problems.

    Raises KnowledgeError when the directory is missing or (with
    ``require_documents``) when no usable document is found.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise KnowledgeError(directory, "knowledge directory not found")
    documents: list[Document] = []
    problems: list[Problem] = []
    seen: dict[str, Path] = {}
    for path in knowledge_files(directory):
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise KnowledgeError(path, f"file too large ({size:,} bytes; limit {MAX_FILE_BYTES:,})")
            doc = parse_document(path, _decode(path, path.read_bytes()))
            if doc.id in seen:
                raise KnowledgeError(path, f"duplicate document id {doc.id!r} (also used by {seen[doc.id]})")
        except KnowledgeError as exc:
            problems.append(Problem(exc.path, exc.reason))
            continue
        except OSError as exc:
            problems.append(Problem(path, f"cannot read: {exc.strerror or exc}"))
            continue
        seen[doc.id] = path
        documents.append(doc)
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
