"""The commands that answer: ask, chat, recommendations, sources."""

from __future__ import annotations

import argparse
import json

from bot.answers import MAX_EXCERPTS
from bot.cli.chat import run_chat
from bot.cli.common import CliError, build_engine, load_settings, use_color
from bot.recommendations import names_document
from bot.render import terminal


def _more_hint(limit: int) -> str:
    """How `ask`, which cannot be typed into, shows more excerpts."""
    if limit < MAX_EXCERPTS:
        return f"ask again with -n {min(MAX_EXCERPTS, limit * 2)} (up to {MAX_EXCERPTS}), or page with `chat`"
    return "page through them with `python -m bot chat` and 'more'"


def cmd_ask(args: argparse.Namespace) -> int:
    if any(not q.strip() for q in args.questions):
        raise CliError("a question is empty: put the question in quotes, e.g. python -m bot ask \"What did Russia "
                       "do in Syria?\"")
    settings = load_settings(args)
    engine = build_engine(settings)
    for n, question in enumerate(args.questions):
        answer = engine.ask(question, limit=args.excerpts)
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False))
        else:
            print(("\n" if n else "") + terminal.render_answer(answer, color=use_color(args, settings),
                                                               width=terminal.terminal_width(),
                                                               more=_more_hint(args.excerpts)))
    return 0


def cmd_recommendations(args: argparse.Namespace) -> int:
    engine = build_engine(load_settings(args))
    if args.document and not any(names_document(d, args.document) for d in engine.knowledge.documents):
        choices = "\n".join(f"  {d.id}: {d.title}" for d in engine.knowledge.documents)
        raise CliError(f"no document {args.document!r} in {engine.knowledge.directory}; give an id or (part of) "
                       f"a title of one of these:\n{choices}")
    recs = engine.recommendations(topic=args.topic, document=args.document)
    print(json.dumps(terminal.recommendations_json(recs), ensure_ascii=False) if args.json
          else terminal.render_recommendations(recs, width=terminal.terminal_width()))
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    print(terminal.render_sources(build_engine(load_settings(args)).knowledge))
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    engine = build_engine(settings, background=True)  # answers at once; hybrid once the embeddings are ready
    return run_chat(engine, settings, limit=args.excerpts, color=use_color(args, settings), record=not args.no_record)
