"""Parsed files kept on disk between runs, so a restart does not parse the knowledge base again.

Parsing is the slow part of loading a large documentation set (docutils: ~27 s for the Python
docs); the result depends only on a file's bytes and the parsers' code. Entries are JSON, keyed by
the file's format and checksum and by a digest of the parsers' own source, so a new version of a
parser never reads an old entry. The cache is best-effort: an unreadable entry is parsed again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

from bot.knowledge.blocks import Block, ParsedDocument

log = logging.getLogger(__name__)


@cache
def parsers_digest() -> str:
    """A digest of the code that turns files into blocks: any change to it invalidates every entry."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted([here / "blocks.py", here / "frontmatter.py", *(here / "formats").glob("*.py")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _encode(parsed: ParsedDocument, front: dict[str, Any]) -> str:
    blocks = [[b.kind, b.text, b.level, b.page, b.language, list(b.section) if b.section is not None else None]
              for b in parsed.blocks]
    return json.dumps({"format": parsed.format, "blocks": blocks, "meta": parsed.meta,
                       "dropped": dict(parsed.dropped), "front": front}, ensure_ascii=False, default=str)


def _decode(text: str) -> tuple[ParsedDocument, dict[str, Any]]:
    data = json.loads(text)
    blocks = [Block(kind, text, level, page, language, tuple(section) if section is not None else None)
              for kind, text, level, page, language, section in data["blocks"]]
    return ParsedDocument(data["format"], blocks, data["meta"], Counter(data["dropped"])), data["front"]


class ParseCache:
    """Parsed files under ``directory`` (None: no cache), one JSON file an entry."""

    def __init__(self, directory: Path | str | None):
        self.directory = Path(directory) if directory else None

    def _path(self, suffix: str, checksum: str) -> Path | None:
        if self.directory is None:
            return None
        return self.directory / parsers_digest() / f"{checksum}{suffix}.json"

    def get(self, suffix: str, checksum: str) -> tuple[ParsedDocument, dict[str, Any]] | None:
        path = self._path(suffix, checksum)
        if path is None or not path.is_file():
            return None
        try:
            return _decode(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.debug("parse cache entry %s unreadable (%s): parsing again", path, exc)
            return None

    def put(self, suffix: str, checksum: str, parsed: ParsedDocument, front: dict[str, Any]) -> None:
        path = self._path(suffix, checksum)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(_encode(parsed, front))
            os.replace(temporary, path)
        except OSError as exc:
            log.debug("parse cache %s not written (%s)", path, exc)
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(temporary)
