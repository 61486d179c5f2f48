"""The commands that look after the knowledge directory: check, add, refresh, index."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.cli.common import CliError, build_engine, load_settings, planned_mode
from bot.knowledge.loader import load_knowledge_dir
from bot.knowledge.models import KnowledgeError
from bot.knowledge.sources import fetch_document, read_file_document, refresh_directory, write_atomically
from bot.render import terminal


def cmd_check(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    kb = load_knowledge_dir(settings.knowledge_dir, require_documents=False)
    print(terminal.render_check(kb))
    print(f"Search: {planned_mode(settings)}")
    if not kb.documents:
        print(f"error: {kb.directory}: no usable document found", file=sys.stderr)
        return 1
    return 1 if kb.problems else 0


def _is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def cmd_add(args: argparse.Namespace) -> int:
    """Add a file or a web page to the knowledge directory: checked by the loader first, never half written.

    The terminal is the operator's own: unlike /kb add url: from Discord, it may fetch from the
    machine's private network (an intranet wiki, a local server).
    """
    settings = load_settings(args)
    directory = settings.knowledge_dir
    if not directory.is_dir():
        raise KnowledgeError(directory, "knowledge directory not found")
    if _is_url(args.source):
        new = asyncio.run(fetch_document(args.source, max_bytes=settings.max_upload_bytes, allow_private=True,
                                         timeout=settings.fetch_timeout))
    elif "://" in args.source:
        raise CliError(f"{args.source}: only http:// and https:// addresses can be fetched")
    else:
        new = read_file_document(Path(args.source))
    target = directory / new.name
    existing = {d.id: d for d in load_knowledge_dir(directory, require_documents=False).documents}
    other = existing.get(new.document.id)
    if other is not None and other.path.resolve() != target.resolve():
        raise CliError(f"{new.name} would be the document {new.document.id!r}, which {other.path} already is")
    verb = "Replaced" if target.exists() else "Added"
    write_atomically(target, new.data)
    doc = new.document
    print(f"{verb} {target}: “{doc.title}” ({doc.format if not _is_url(args.source) else 'web page'}, "
          f"{terminal.count_passages(doc)}, {len(doc.sections)} sections), document {doc.id}.")
    return 0


def cmd_refresh(args: argparse.Namespace) -> int:
    """Fetch every document that came from a URL again and rewrite the ones whose text changed."""
    settings = load_settings(args)
    if not settings.knowledge_dir.is_dir():
        raise KnowledgeError(settings.knowledge_dir, "knowledge directory not found")
    report = asyncio.run(refresh_directory(settings.knowledge_dir, max_bytes=settings.max_upload_bytes,
                                           allow_private=True, timeout=settings.fetch_timeout))
    print(terminal.render_refresh(report))
    return 1 if report.failed else 0


def cmd_index(args: argparse.Namespace) -> int:
    """Compute the embeddings of the knowledge base now (the bot then starts hybrid at once)."""
    settings = load_settings(args)
    engine = build_engine(settings)
    if engine.state.semantic is None:
        if engine.semantic.error:  # the warning has said why
            raise CliError("the semantic stage cannot run: nothing to index")
        raise CliError(f"the semantic stage is off: {planned_mode(settings)}")
    dense = engine.state.semantic
    print(f"Semantic index ready: {len(dense.passages):,} searched passages, {len(dense.sentences):,} sentences "
          f"({dense.encoded:,} texts encoded now, the rest from {settings.embedding_cache or 'no cache'}); "
          f"model {dense.model}.")
    return 0
