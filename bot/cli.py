"""The terminal front end: `python -m bot ask|chat|add|refresh|check|eval|recommendations|sources|bench|run|sync|
stats|export|forget-server`.

Every command prints one clear line and exits non-zero on bad input; no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import io
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from dotenv import load_dotenv

from bot.answers import DEFAULT_EXCERPTS, MAX_EXCERPTS
from bot.benchmark import bench_knowledge, bench_synthetic, synthetic_passages, write_knowledge
from bot.chat import run_chat
from bot.engine import Engine
from bot.evaluation import (
    EVAL_HELP,
    BaselineUnavailable,
    SetReport,
    check_baseline,
    eval_arguments,
    eval_sets,
    load_questions,
    render_reports,
    reports_json,
    score_set,
    skip_reason,
)
from bot.knowledge.loader import load_knowledge_dir
from bot.knowledge.models import KnowledgeBase, KnowledgeError
from bot.knowledge.sources import fetch_document, read_file_document, refresh_directory, write_atomically
from bot.recommendations import names_document
from bot.render import terminal
from bot.search.semantic import semantic_installed
from bot.settings import Settings, SettingsError
from bot.store import EVERYWHERE, ForgottenGuild, Scope, Stats, StoreError, open_store


class CliError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


def _color(args: argparse.Namespace, settings: Settings) -> bool:
    return sys.stdout.isatty() and not settings.no_color and not getattr(args, "json", False)


def _settings(args: argparse.Namespace) -> Settings:
    """Settings from the environment, with --knowledge if given; a knowledge "directory" that is a file is bad input."""
    knowledge = getattr(args, "knowledge", None)
    settings = Settings.from_env(knowledge_dir=Path(knowledge)) if knowledge else Settings.from_env()
    if settings.knowledge_dir.is_file():
        raise CliError(f"{settings.knowledge_dir} is a file, but the knowledge base is a directory of documents "
                       f"(to add this file to one: python -m bot add {settings.knowledge_dir})")
    return settings


def _warn_skipped(kb: KnowledgeBase) -> None:
    """Each file the loader could not use, with its path and why: the answers leave it out."""
    for problem in kb.problems:
        print(f"warning: skipped {problem}", file=sys.stderr)


def _engine(settings: Settings, *, background: bool = False) -> Engine:
    """The engine as settings describe it; a model that fails to load and each skipped file are one warning line."""
    engine = Engine.from_settings(settings, background=background)
    if engine.semantic.error:
        print(f"warning: {engine.semantic.error}; answering with lexical search", file=sys.stderr)
    _warn_skipped(engine.knowledge)
    return engine


def _whole_number(value: str, low: int, high: int | None = None) -> int:
    """A number argument, or a message in plain words (argparse prints it after the option's name)."""
    expected = f"a whole number from {low} to {high}" if high is not None else f"a whole number, at least {low}"
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {expected}, not {value!r}") from None
    if n < low or (high is not None and n > high):
        raise argparse.ArgumentTypeError(f"must be {expected}, not {n}")
    return n


def _positive(value: str) -> int:
    return _whole_number(value, 1)


def _excerpts(value: str) -> int:
    return _whole_number(value, 1, MAX_EXCERPTS)


def _more_hint(limit: int) -> str:
    """How `ask`, which cannot be typed into, shows more excerpts."""
    if limit < MAX_EXCERPTS:
        return f"ask again with -n {min(MAX_EXCERPTS, limit * 2)} (up to {MAX_EXCERPTS}), or page with `chat`"
    return "page through them with `python -m bot chat` and 'more'"


def cmd_ask(args: argparse.Namespace) -> int:
    if any(not q.strip() for q in args.questions):
        raise CliError("a question is empty: put the question in quotes, e.g. python -m bot ask \"What did Russia "
                       "do in Syria?\"")
    settings = _settings(args)
    engine = _engine(settings)
    for n, question in enumerate(args.questions):
        answer = engine.ask(question, limit=args.excerpts)
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False))
        else:
            print(("\n" if n else "") + terminal.render_answer(answer, color=_color(args, settings),
                                                               width=terminal.terminal_width(),
                                                               more=_more_hint(args.excerpts)))
    return 0


def cmd_recommendations(args: argparse.Namespace) -> int:
    engine = _engine(_settings(args))
    if args.document and not any(names_document(d, args.document) for d in engine.knowledge.documents):
        choices = "\n".join(f"  {d.id}: {d.title}" for d in engine.knowledge.documents)
        raise CliError(f"no document {args.document!r} in {engine.knowledge.directory}; give an id or (part of) "
                       f"a title of one of these:\n{choices}")
    recs = engine.recommendations(topic=args.topic, document=args.document)
    print(json.dumps(terminal.recommendations_json(recs), ensure_ascii=False) if args.json
          else terminal.render_recommendations(recs, width=terminal.terminal_width()))
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    print(terminal.render_sources(_engine(_settings(args)).knowledge))
    return 0


def _planned_mode(settings: Settings) -> str:
    """Which ranking `ask` and the bot will use, without loading a model."""
    if settings.semantic == "off":
        return "lexical (SEMANTIC=off)"
    if not semantic_installed():
        return "lexical (the semantic stage is not installed: pip install .)"
    return f"semantic ({settings.semantic_model}; lexical if the model cannot be loaded)"


def cmd_check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    kb = load_knowledge_dir(settings.knowledge_dir, require_documents=False)
    print(terminal.render_check(kb))
    print(f"Search: {_planned_mode(settings)}")
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
    settings = _settings(args)
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
    settings = _settings(args)
    if not settings.knowledge_dir.is_dir():
        raise KnowledgeError(settings.knowledge_dir, "knowledge directory not found")
    report = asyncio.run(refresh_directory(settings.knowledge_dir, max_bytes=settings.max_upload_bytes,
                                           allow_private=True, timeout=settings.fetch_timeout))
    print(terminal.render_refresh(report))
    return 1 if report.failed else 0


def cmd_eval(args: argparse.Namespace) -> int:
    try:
        args = eval_arguments(args)
        settings = Settings.from_env()
        sets = eval_sets(args.sets, args.knowledge, settings.knowledge_dir)
    except OSError as exc:
        raise CliError(f"cannot read {exc.filename}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    questions = {}
    for eval_set in sets:  # every file read before any knowledge base is loaded: a typo fails at once
        try:
            questions[eval_set.name] = load_questions(eval_set.questions)
        except OSError as exc:
            raise CliError(f"cannot read {eval_set.questions}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise CliError(str(exc)) from None
    if args.baseline:
        try:
            check_baseline()
        except BaselineUnavailable as exc:
            raise CliError(str(exc)) from None
    reports, warned = [], set()
    for eval_set in sets:
        reason = skip_reason(eval_set)
        if reason is None:
            if sys.stderr.isatty():
                print(f"scoring {eval_set.name} ({eval_set.knowledge}) ...", file=sys.stderr)
            try:
                engine = Engine.from_settings(dataclasses.replace(settings, knowledge_dir=eval_set.knowledge))
            except KnowledgeError as exc:
                reason = str(exc)
        if reason is not None:
            reports.append(SetReport(eval_set, len(questions[eval_set.name]), skipped=reason))
            continue
        if engine.semantic.error and engine.semantic.error not in warned:
            warned.add(engine.semantic.error)
            print(f"warning: {engine.semantic.error}; answering with lexical search", file=sys.stderr)
        reports.append(score_set(eval_set, questions[eval_set.name], engine, baseline=args.baseline))
    print(json.dumps(reports_json(reports), ensure_ascii=False) if args.json else render_reports(reports))
    return 0 if any(r.skipped is None for r in reports) else 1


def cmd_bench(args: argparse.Namespace) -> int:
    if args.write_knowledge:
        if not args.passages:
            raise CliError("--write-knowledge needs --passages N")
        files = write_knowledge(args.write_knowledge, synthetic_passages(args.passages))
        print(f"wrote {args.passages:,} passages in {files:,} files to {args.write_knowledge}")
        return 0
    if args.passages:
        figures = bench_synthetic(args.passages, args.queries, loop_probe=not args.no_loop_probe)
    else:
        figures = bench_knowledge(_settings(args))
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:26} {value}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from bot.discord_app.runner import run_bot  # discord.py is loaded only for the Discord bot

    return run_bot(_settings(args))


def cmd_sync(args: argparse.Namespace) -> int:
    from bot.discord_app.runner import run_bot

    return run_bot(Settings.from_env(), mode="sync")


def _scope(value: str) -> Scope:
    """--guild: a server id, or "dm" for direct messages."""
    if value.strip().lower() in ("dm", "dms"):
        return None
    if not value.strip().isdigit():
        raise argparse.ArgumentTypeError("must be a server id or dm")
    return int(value)


def cmd_stats(args: argparse.Namespace) -> int:
    async def read() -> Stats:
        store = await open_store(Settings.from_env(), read_only=True)
        try:
            return await store.stats(args.guild, days=args.days)
        finally:
            await store.close()

    stats = asyncio.run(read())
    print(json.dumps(stats.to_json(), ensure_ascii=False) if args.json else terminal.render_stats(stats))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    async def export(out: io.StringIO) -> int:
        store = await open_store(Settings.from_env(), read_only=True)
        try:
            return await store.export(out, args.format, args.guild, days=args.days)
        finally:
            await store.close()

    out = io.StringIO()  # the whole export first: a database error leaves no file behind
    count = asyncio.run(export(out))
    if not args.output or args.output == "-":
        sys.stdout.write(out.getvalue())
        return 0
    target = Path(args.output)
    partial = target.with_name(f".{target.name}.partial")  # renamed when complete: never half a file
    try:
        partial.write_text(out.getvalue(), encoding="utf-8")
        os.replace(partial, target)
    except OSError as exc:
        if partial.exists():
            partial.unlink()
        raise CliError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    print(f"Wrote {count} question(s) to {args.output}")
    return 0


def _server_id(value: str) -> int:
    """forget-server's ID: a Discord server id (a positive whole number)."""
    value = value.strip()
    if not value.isdigit() or int(value) == 0:
        raise argparse.ArgumentTypeError(f"must be a Discord server id (a whole number), not {value!r}")
    return int(value)


def cmd_forget_server(args: argparse.Namespace) -> int:
    settings = Settings.from_env()

    async def forget() -> ForgottenGuild:
        # First a read-only look: a database that is missing, damaged, unreachable or of another schema
        # version is one line, and nothing is created or changed.
        check = await open_store(settings, read_only=True)
        await check.close()
        # Forgetting hashes no user id: a placeholder salt, so no salt file is read or made.
        store = await open_store(dataclasses.replace(settings, hash_salt="forget-server"))
        try:
            return await store.forget_guild(args.server)
        finally:
            await store.close()

    print(terminal.render_forgotten(asyncio.run(forget())))
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    """Compute the embeddings of the knowledge base now (the bot then starts hybrid at once)."""
    settings = _settings(args)
    engine = _engine(settings)
    if engine.state.semantic is None:
        if engine.semantic.error:  # the warning has said why
            raise CliError("the semantic stage cannot run: nothing to index")
        raise CliError(f"the semantic stage is off: {_planned_mode(settings)}")
    dense = engine.state.semantic
    print(f"Semantic index ready: {len(dense.passages):,} searched passages, {len(dense.sentences):,} sentences "
          f"({dense.encoded:,} texts encoded now, the rest from {settings.embedding_cache or 'no cache'}); "
          f"model {dense.model}.")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    settings = _settings(args)
    engine = _engine(settings, background=True)  # answers at once; hybrid once the embeddings are ready
    return run_chat(engine, settings, limit=args.excerpts, color=_color(args, settings), record=not args.no_record)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=(
        "Answer questions about a knowledge base of articles with quoted, cited excerpts."))
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--knowledge", metavar="DIR",
                        help="knowledge directory (default: $KNOWLEDGE_DIR or knowledge/)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = sub.add_parser("ask", parents=[common], help="answer questions in the terminal")
    ask.add_argument("questions", nargs="+", metavar="QUESTION")
    ask.add_argument("--json", action="store_true", help="one JSON object per question per line")
    ask.add_argument("-n", "--excerpts", type=_excerpts, default=DEFAULT_EXCERPTS,
                     help=f"excerpts per answer (1-{MAX_EXCERPTS}, default {DEFAULT_EXCERPTS})")
    ask.set_defaults(func=cmd_ask)

    chat = sub.add_parser("chat", parents=[common], help=(
        "an interactive prompt that behaves like the bot; its questions are logged for stats and export"))
    chat.add_argument("-n", "--excerpts", type=_excerpts, default=DEFAULT_EXCERPTS,
                      help=f"excerpts per answer (1-{MAX_EXCERPTS}, default {DEFAULT_EXCERPTS})")
    chat.add_argument("--no-record", action="store_true", help="do not log the questions in the bot's store")
    chat.set_defaults(func=cmd_chat)

    add = sub.add_parser("add", parents=[common], help=(
        "add a document (a file, or a web page or document by http(s) URL) to the knowledge directory"))
    add.add_argument("source", metavar="SOURCE", help="a file path or an http(s) URL")
    add.set_defaults(func=cmd_add)

    refresh = sub.add_parser("refresh", parents=[common], help=(
        "fetch the documents added by URL again and update those that changed"))
    refresh.set_defaults(func=cmd_refresh)

    index = sub.add_parser("index", parents=[common], help=(
        "compute the semantic stage's embeddings now, with progress (the bot and chat otherwise build them in "
        "the background, answering lexically meanwhile)"))
    index.set_defaults(func=cmd_index)

    check = sub.add_parser("check", parents=[common], help="validate the knowledge directory")
    check.set_defaults(func=cmd_check)

    ev = sub.add_parser("eval", help="score question sets, each on its knowledge directory", description=EVAL_HELP)
    ev.add_argument("--knowledge", action="append", metavar="DIR", help=(
        "the knowledge directory of a question set: the n-th goes with the n-th set, or one with all "
        "(default: $KNOWLEDGE_DIR or knowledge/)"))
    ev.add_argument("--json", action="store_true", help="print the figures and failures as JSON")
    ev.add_argument("--baseline", action="store_true", help=(
        "score plain bm25s (stop words, stemmer) on the same passages beside the project (needs bm25s)"))
    ev.add_argument("sets", nargs=argparse.REMAINDER, metavar="SET.jsonl [--knowledge DIR] ... | MANIFEST",
                    help="JSON-lines question sets and/or manifests (.yaml, .yml or .json) listing sets")
    ev.set_defaults(func=cmd_eval)

    rec = sub.add_parser("recommendations", parents=[common], help="list the articles' recommendations")
    rec.add_argument("--topic", help="only recommendations about this topic (e.g. energy)")
    rec.add_argument("--document", help="only this document (id or title)")
    rec.add_argument("--json", action="store_true")
    rec.set_defaults(func=cmd_recommendations)

    bench = sub.add_parser("bench", parents=[common], help=(
        "time index build, memory, search and answers: on a synthetic base (--passages) against naive "
        "rank-bm25, or on the knowledge base"))
    bench.add_argument("--passages", type=_positive, metavar="N", help="synthetic knowledge base of N passages")
    bench.add_argument("--queries", type=_positive, default=200, metavar="Q", help="questions to time (200)")
    bench.add_argument("--write-knowledge", metavar="DIR", help="write the synthetic base as knowledge files")
    bench.add_argument("--no-loop-probe", action="store_true", help="skip timing the event loop during a reload")
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(func=cmd_bench)

    src = sub.add_parser("sources", parents=[common], help="list the documents in the knowledge base")
    src.set_defaults(func=cmd_sources)

    run = sub.add_parser("run", parents=[common], help="run the Discord bot (settings from the environment or .env)")
    run.set_defaults(func=cmd_run)

    sync = sub.add_parser("sync", help="register the bot's slash commands with Discord now, then exit")
    sync.set_defaults(func=cmd_sync)

    where = "server id, or dm for direct messages (default: all)"
    stats = sub.add_parser("stats", help="questions, answer rate, topics, unanswered questions and feedback")
    stats.add_argument("--days", type=_positive, default=30, metavar="N", help="the last N days (30)")
    stats.add_argument("--guild", type=_scope, default=EVERYWHERE, metavar="ID", help=where)
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=cmd_stats)

    export = sub.add_parser("export", help="write the question log (no user ids) as CSV or JSON")
    export.add_argument("--format", choices=("csv", "json"), required=True)
    export.add_argument("--output", metavar="FILE", help="write to FILE (default: standard output)")
    export.add_argument("--guild", type=_scope, default=EVERYWHERE, metavar="ID", help=where)
    export.add_argument("--days", type=_positive, metavar="N", help="only the last N days (default: everything kept)")
    export.set_defaults(func=cmd_export)

    forget = sub.add_parser("forget-server", help=(
        "delete a server's collection and everything kept about it (questions, votes, settings, reloads); "
        "irreversible, asks no confirmation"))
    forget.add_argument("server", type=_server_id, metavar="ID", help="the Discord server id")
    forget.set_defaults(func=cmd_forget_server)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    load_dotenv(override=False)
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KnowledgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        for problem in exc.problems:  # why each file was left out, not only how many
            print(f"  skipped {problem}", file=sys.stderr)
        return 1
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (CliError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (`| head`): nothing left to say
        return 0
