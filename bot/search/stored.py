"""The shared base's segment kept on disk and memory-mapped, so shard processes on one machine share it.

Its arrays (postings, rows, lengths: 83 MiB at 100,000 passages) are NumPy files opened with
mmap_mode="r": every process that loads them reads the same pages of the page cache instead of
holding a private copy (measured with 4 processes: 425 -> 175 MiB of proportional set size for
those arrays). The vocabulary (terms, word forms) is JSON, and the dictionaries built from it stay
private. An entry is keyed by the passages and by the code of the analysis, so a changed document or
a new analyser never reads an old entry; a missing or unreadable one is built again. Best-effort:
when nothing can be written, the segment is simply built in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

from bot.knowledge.models import Passage
from bot.search.segment import Segment, prefix_table
from bot.search.typos import Speller

log = logging.getLogger(__name__)

_ARRAYS = ("post_start", "post_docs", "post_tf", "post_len", "row_start", "row_terms", "doc_len", "df")
KEEP_ENTRIES = 2  # the newest entries kept: the one in use and the one before it (a rolling restart)


@cache
def analysis_digest() -> str:
    """A digest of the code that turns text into terms and segments: a change invalidates every entry."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in ("analysis.py", "english.py", "stopwords.py", "segment.py", "stored.py"):
        digest.update(name.encode() + b"\0" + (here / name).read_bytes())
    return digest.hexdigest()[:16]


def segment_key(passages: Sequence[Passage]) -> str:
    """What a segment's content depends on: every passage's id, text and keywords, and the analysis code."""
    digest = hashlib.sha256(analysis_digest().encode())
    for passage in passages:
        digest.update(f"{passage.id}\0{passage.text}\0{passage.keywords}\n".encode())
    return digest.hexdigest()[:32]


class SegmentStore:
    """Segments under ``directory`` (None: nothing stored), one folder each."""

    def __init__(self, directory: Path | str | None):
        self.directory = Path(directory) if directory else None

    def segment(self, passages: Sequence[Passage]) -> Segment:
        """The segment of these passages: memory-mapped from disk when stored, else built (and stored)."""
        passages = tuple(passages)
        if self.directory is None:
            return Segment.build(passages)
        folder = self.directory / segment_key(passages)
        stored = self._load(folder, passages)
        if stored is not None:
            return stored
        built = Segment.build(passages)
        if self._save(built, folder):
            return self._load(folder, passages) or built  # mapped, so this process shares the pages too
        return built

    def _load(self, folder: Path, passages: tuple[Passage, ...]) -> Segment | None:
        if not (folder / "vocabulary.json").is_file():
            return None
        try:
            arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in _ARRAYS}
            vocabulary = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
            terms, forms = vocabulary["terms"], vocabulary["forms"]
            if len(arrays["doc_len"]) != len(passages) or len(arrays["df"]) != len(terms):
                raise ValueError("entry does not match its passages")
        except (OSError, ValueError, KeyError) as exc:
            log.warning("stored index %s unreadable (%s); building it again", folder, exc)
            return None
        os.utime(folder)  # in use: kept by the pruning
        return Segment(passages, {t: i for i, t in enumerate(terms)}, terms, *(arrays[n] for n in _ARRAYS),
                       forms, Speller(forms.items()), prefix_table(forms))

    def _save(self, segment: Segment, folder: Path) -> bool:
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            temporary = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".building-"))
        except OSError as exc:
            log.warning("cannot store the index in %s (%s); keeping it in memory", folder.parent, exc)
            return False
        try:
            for name in _ARRAYS:
                np.save(temporary / f"{name}.npy", np.ascontiguousarray(getattr(segment, name)))
            (temporary / "vocabulary.json").write_text(
                json.dumps({"terms": segment.terms, "forms": segment.forms}, ensure_ascii=False), encoding="utf-8")
            os.replace(temporary, folder)
        except OSError as exc:
            shutil.rmtree(temporary, ignore_errors=True)
            if folder.is_dir():  # another process stored the same entry first
                return True
            log.warning("cannot store the index in %s (%s); keeping it in memory", folder, exc)
            return False
        self._prune()
        return True

    def _prune(self) -> None:
        """Drop all but the newest entries (a mapped file stays readable to a process still using it)."""
        if self.directory is None:
            return
        entries = sorted((p for p in self.directory.iterdir() if p.is_dir() and not p.name.startswith(".")),
                         key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP_ENTRIES:]:
            with contextlib.suppress(OSError):
                shutil.rmtree(old)
