"""Documents added from outside the knowledge directory: a local file, or a web page by URL.

A URL becomes a Markdown knowledge file with front matter: the page's title, author, date and
canonical URL, plus ``fetched_from`` (the address to fetch again) and ``fetched`` (when). The loader
reads it like any other file, and ``refresh`` fetches every such file again and rewrites the ones
whose text changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from bot.knowledge.blocks import ParsedDocument
from bot.knowledge.frontmatter import FrontMatterError, split_front_matter
from bot.knowledge.loader import (
    build_document,
    parse_document,
    parse_file,
    read_file,
    slugify,
    suffix_of,
)
from bot.knowledge.models import Document, KnowledgeError

MAX_NAME_LENGTH = 80
META_KEYS = ("title", "subtitle", "author", "publication", "published", "url")


@dataclass(frozen=True)
class NewDocument:
    """A document ready to be written into a knowledge directory: its file name, bytes, and what
    the loader will make of them."""

    name: str
    data: bytes
    document: Document


@dataclass(frozen=True)
class RefreshReport:
    changed: tuple[str, ...] = ()  # file names rewritten
    unchanged: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()  # (file name, reason)


def _title_from_url(url: str) -> str:
    path = unquote(urlsplit(url).path).rstrip("/")
    last = path.rsplit("/", 1)[-1]
    last = re.sub(r"\.[a-z0-9]{1,5}$", "", last, flags=re.I)
    words = re.sub(r"[-_.+]+", " ", last).strip()
    return words[:1].upper() + words[1:] if words else urlsplit(url).hostname or "Web page"


def file_name_for(title: str, suffix: str = ".md") -> str:
    return slugify(title)[:MAX_NAME_LENGTH].strip("-") + suffix


def page_to_markdown(parsed: ParsedDocument, front: dict, fetched_from: str, final_url: str,
                     fetched: datetime | None = None) -> str:
    """A fetched document as a knowledge file: its metadata (front matter of a fetched Markdown file
    first, then what the page declares, then the URL), and its blocks."""
    meta: dict[str, str] = {}
    for key in META_KEYS:
        value = front.get(key) if front.get(key) not in (None, "") else parsed.meta.get(key)
        if value not in (None, ""):
            meta[key] = str(value)
    if "title" not in meta:
        first = next((b for b in parsed.blocks if b.text.strip()), None)
        meta["title"] = first.text if first is not None and first.kind == "heading" else _title_from_url(final_url)
    meta.setdefault("url", final_url)
    meta["fetched_from"] = fetched_from
    meta["fetched"] = (fetched or datetime.now(UTC)).replace(microsecond=0).isoformat()
    from bot.knowledge.convert import to_markdown

    return to_markdown(parsed, meta)


def document_as_markdown(parsed: ParsedDocument, document: Document) -> str:
    """A document of any format as a Markdown knowledge file, its metadata in the front matter."""
    from bot.knowledge.convert import to_markdown

    meta = {"title": document.title, "subtitle": document.subtitle, "author": document.author,
            "publication": document.publication,
            "published": document.published.isoformat() if document.published else None, "url": document.url,
            "source_format": document.format}
    return to_markdown(parsed, {k: v for k, v in meta.items() if v})


async def fetch_document(url: str, *, max_bytes: int, allow_private: bool = False,
                         timeout: float = 20.0) -> NewDocument:
    """Fetch a page or document and turn it into a Markdown knowledge file; raise KnowledgeError
    (with the URL and the reason) when it cannot be fetched or holds no usable text."""
    from bot.knowledge.fetch import FetchError, fetch_url  # aiohttp: loaded only when a URL is fetched

    try:
        fetched = await fetch_url(url, max_bytes=max_bytes, timeout=timeout, allow_private=allow_private)
    except FetchError as exc:
        raise KnowledgeError(url, exc.reason) from None
    source = PurePosixPath("page" + fetched.suffix)

    def convert() -> NewDocument:
        parsed, front = parse_file(source, fetched.data, url=fetched.url, encoding=fetched.charset or None)
        text = page_to_markdown(parsed, front, url, fetched.url)
        parsed_back, front_back = parse_file(PurePosixPath("page.md"), text.encode("utf-8"))
        name = file_name_for(str(front_back.get("title") or "page"))
        document = build_document(Path(name), PurePosixPath(name), parsed_back, front_back, "")
        return NewDocument(name, text.encode("utf-8"), document)

    try:
        return await asyncio.to_thread(convert)
    except KnowledgeError as exc:
        raise KnowledgeError(url, exc.reason) from None


def read_file_document(path: Path) -> NewDocument:
    """A local file to copy into the knowledge directory as it is, once the loader has read it."""
    data = read_file(path)
    suffix = suffix_of(path)  # "" for a file the loader refuses: parse_document says why
    stem = path.name[:len(path.name) - len(suffix)] if suffix else path.stem
    name = slugify(stem)[:MAX_NAME_LENGTH].strip("-") + suffix
    return NewDocument(name, data, parse_document(path, data, relative=PurePosixPath(name)))


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a knowledge file is for reading
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def fetched_from(text: str) -> str | None:
    """The URL a knowledge file was fetched from (its front matter's ``fetched_from``), if any."""
    try:
        front, _, _ = split_front_matter(text)
    except FrontMatterError:
        return None
    value = front.get("fetched_from")
    return str(value) if value else None


def _without_fetch_time(text: str) -> str:
    return re.sub(r"(?m)^fetched: .*$", "", text, count=1)


async def refresh_texts(files: dict[str, str], *, max_bytes: int, allow_private: bool = False,
                        timeout: float = 20.0) -> tuple[RefreshReport, dict[str, bytes]]:
    """Fetch again every file (name -> text) that came from a URL; the report, and the new content of
    the files whose text changed. A fetch that fails keeps the old file."""
    changed: dict[str, bytes] = {}
    unchanged: list[str] = []
    failed: list[tuple[str, str]] = []
    for name, old in sorted(files.items()):
        url = fetched_from(old)
        if url is None:
            continue
        try:
            new = await fetch_document(url, max_bytes=max_bytes, allow_private=allow_private, timeout=timeout)
        except KnowledgeError as exc:
            failed.append((name, exc.reason))
            continue
        if _without_fetch_time(old) == _without_fetch_time(new.data.decode("utf-8")):
            unchanged.append(name)
        else:
            changed[name] = new.data
    return RefreshReport(tuple(changed), tuple(unchanged), tuple(failed)), changed


def _url_documents(directory: Path) -> dict[str, str]:
    found = {}
    for path in sorted(directory.rglob("*.md")):
        if any(part.startswith(".") for part in path.relative_to(directory).parts):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if fetched_from(text):
            found[str(path.relative_to(directory))] = text
    return found


async def refresh_directory(directory: Path, *, max_bytes: int, allow_private: bool = False,
                            timeout: float = 20.0) -> RefreshReport:
    """Fetch every URL document of a knowledge directory again; rewrite those whose text changed."""
    files = await asyncio.to_thread(_url_documents, directory)
    report, changed = await refresh_texts(files, max_bytes=max_bytes, allow_private=allow_private, timeout=timeout)
    for name, data in changed.items():
        await asyncio.to_thread(write_atomically, directory / name, data)
    return report
