"""Knowledge files sent from Discord (``/kb add``) and removed from it (``/kb remove``), checked before
anything touches the knowledge directory.

A file is accepted only if the loader will take it: a plain file name (never a path, never hidden),
a document suffix, within the size limit, and content its format's parser reads (UTF-8 text with
valid front matter for the text formats). A server's collection lives in the store as text, so a
PDF, Word file or web page sent there is kept as the Markdown knowledge file made of it (pages,
sections and metadata included). Files are written atomically (``write_atomically``).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from bot.knowledge.loader import DOCUMENT_SUFFIXES, FORMATS, build_document, parse_file, size_limit, suffix_of
from bot.knowledge.models import Document, KnowledgeError

MAX_NAME_LENGTH = 80  # characters of the file name before its suffix


class UploadError(ValueError):
    """Why a file cannot go into the knowledge directory, as one sentence for the admin."""


@dataclass(frozen=True)
class CheckedUpload:
    """A file ready to be written: where, its bytes, and the document the loader will make of it."""

    name: str
    path: Path
    data: bytes
    document: Document
    replaces: bool  # a file of that name is already in the knowledge directory


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def check_size(size: int, limit: int, name: str = "") -> None:
    """Refuse a file over ``limit`` bytes (and over what the loader reads), as early as its size is known."""
    limit = min(limit, size_limit(PurePosixPath(name or "x.md")))
    if size > limit:
        raise UploadError(f"the file is too big ({_size(size)}); the limit is {_size(limit)} (`MAX_UPLOAD_BYTES`)")


def safe_file_name(raw: str) -> str:
    """The name a file is written under: lower-case letters, digits and dashes, and its suffix.

    Raises UploadError for anything that names a place rather than a file: folders (``a/b.md``),
    parents (``../x.md``), absolute paths (``/etc/x.md``, ``C:x.md``), hidden files (``.x.md``).
    """
    if not raw or not raw.strip():
        raise UploadError("the file has no name")
    if "/" in raw or "\\" in raw or PureWindowsPath(raw).drive or PurePosixPath(raw).is_absolute():
        raise UploadError(f"“{raw}” is a path: send a file name only, such as `notes.md`")
    if ".." in raw:
        raise UploadError(f"“{raw}” contains “..”: send a plain file name, such as `notes.md`")
    if raw.startswith("."):
        raise UploadError(f"“{raw}” is a hidden file name (it starts with a dot), which the bot never reads")
    if any(unicodedata.category(c) == "Cc" for c in raw):
        raise UploadError("the file name contains control characters")
    suffix = suffix_of(PurePosixPath(raw))
    if not suffix:
        raise UploadError(f"“{raw}” is not a document the bot reads: send a {', '.join(DOCUMENT_SUFFIXES)} file")
    stem = raw[:len(raw) - len(suffix)]
    text = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:MAX_NAME_LENGTH].strip("-")
    if not slug:
        raise UploadError(f"“{raw}” has no letters or digits to name the file by")
    return slug + suffix


def inside(directory: Path, path: Path) -> bool:
    """Whether ``path`` is in ``directory`` (both resolved: a link cannot lead out)."""
    try:
        path.resolve().relative_to(directory.resolve())
    except ValueError:
        return False
    return True


def check_upload(directory: Path, raw_name: str, data: bytes, *, limit: int,
                 documents: tuple[Document, ...] = (), as_text: bool = False) -> CheckedUpload:
    """Everything ``/kb add`` checks, in order; raises UploadError with the first problem found.

    ``documents`` are those being served: a new file may not take the id of another file's document.
    ``as_text``: the file goes where only text is kept (a server's collection), so a PDF, Word file
    or web page becomes the Markdown knowledge file made of it.
    """
    name = safe_file_name(raw_name)
    check_size(len(data), limit, name)
    if not data.strip():
        raise UploadError("the file is empty")
    fmt, is_text = FORMATS[suffix_of(PurePosixPath(name))]
    if is_text and b"\x00" in data:
        raise UploadError(f"that is a binary file (it contains NUL bytes), not {fmt}: send the document itself")
    if is_text:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UploadError(f"the file is not UTF-8 text (invalid byte at offset {exc.start}): save it as "
                              "UTF-8 and send it again") from None
    path = directory / name
    if not inside(directory, path):
        raise UploadError(f"`{name}` would not be inside the knowledge directory")
    try:
        parsed, front = parse_file(path, data)
        document = build_document(path, PurePosixPath(name), parsed, front, hashlib.sha256(data).hexdigest())
        if as_text and not is_text:
            from bot.knowledge.sources import document_as_markdown

            name = name[:len(name) - len(suffix_of(PurePosixPath(name)))] + ".md"
            path = directory / name
            data = document_as_markdown(parsed, document).encode("utf-8")
            parsed, front = parse_file(path, data)
            document = build_document(path, PurePosixPath(name), parsed, front, hashlib.sha256(data).hexdigest())
    except KnowledgeError as exc:
        raise UploadError(f"the file cannot be used: {exc.reason}") from None
    for other in documents:
        if other.id == document.id and other.path.resolve() != path.resolve():
            raise UploadError(f"`{name}` would be the document `{document.id}`, which `{other.path.name}` already "
                              "is: rename the file, or set another `id:` in its front matter")
    return CheckedUpload(name, path, data, document, replaces=path.exists())


def find_document(documents: tuple[Document, ...], wanted: str) -> Document | None:
    """The document ``/kb remove document:`` names: by id (what autocomplete sends), file name or title."""
    wanted = wanted.strip()
    lowered = wanted.lower()
    for match in (lambda d: d.id == wanted, lambda d: d.path.name.lower() == lowered,
                  lambda d: d.title.lower() == lowered, lambda d: d.title[:100].lower() == lowered):
        found = [d for d in documents if match(d)]
        if len(found) == 1:
            return found[0]
    return None
