"""The terminal front end: `python -m bot ask|chat|add|refresh|check|eval|recommendations|sources|bench|run|sync|
stats|export|forget-server`.

Every command prints one clear line and exits non-zero on bad input; no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from dotenv import load_dotenv

from bot.answers import DEFAULT_EXCERPTS, MAX_EXCERPTS, Answer
from bot.benchmark import (
    bench_knowledge,
    bench_servers,
    bench_synthetic,
    render_server_bench,
    synthetic_passages,
    write_knowledge,
)
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
from bot.knowledge.models import KnowledgeError
from bot.knowledge.sources import fetch_document, read_file_document, refresh_directory, write_atomically
from bot.recommendations import Recommendations
from bot.render import terminal
from bot.search.semantic import semantic_installed
from bot.settings import Settings, SettingsError
from bot.store import EVERYWHERE, ForgottenGuild, Scope, Stats, StoreError, open_store


class CliError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


def _color(args: argparse.Namespace) -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and not getattr(args, "json", False)


def _knowledge_dir(args: argparse.Namespace) -> Path:
    return Path(args.knowledge) if args.knowledge else Settings.from_env().knowledge_dir


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    if args.knowledge:
        settings = Settings.from_env(knowledge_dir=Path(args.knowledge))
    return settings


def _engine(args: argparse.Namespace, *, background: bool = False) -> Engine:
    """The engine as settings describe it; a semantic model that fails to load is one warning line."""
    engine = Engine.from_settings(_settings(args), background=background)
    if engine.semantic.error:
        print(f"warning: {engine.semantic.error}; answering with lexical search", file=sys.stderr)
    return engine


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def _excerpts(value: str) -> int:
    n = int(value)
    if not 1 <= n <= MAX_EXCERPTS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_EXCERPTS}")
    return n


def recommendations_json(recs: Recommendations) -> dict:
    def cite(doc, passage) -> dict:
        return {"document": doc.id, "title": doc.title, "paragraph": passage.paragraph, "item": passage.item,
                "location": passage.location, "url": doc.url}

    return {
        "lists": [{"intro": r.intro, "document": r.document.id,
                   "items": [{"number": i.item, "text": i.text, "citation": cite(r.document, i)} for i in r.items]}
                  for r in recs.lists],
        "sentences": [{"text": s.text, "citation": cite(s.document, s.passage)} for s in recs.sentences],
    }


def cmd_ask(args: argparse.Namespace) -> int:
    engine = _engine(args)
    for n, question in enumerate(args.questions):
        answer = engine.ask(question, limit=args.excerpts)
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False))
        else:
            print(("\n" if n else "") + terminal.render_answer(answer, color=_color(args)))
    return 0


def cmd_recommendations(args: argparse.Namespace) -> int:
    recs = _engine(args).recommendations(topic=args.topic, document=args.document)
    print(json.dumps(recommendations_json(recs), ensure_ascii=False) if args.json
          else terminal.render_recommendations(recs))
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    print(terminal.render_sources(_engine(args).knowledge))
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
          f"{len(doc.body)} passages, {len(doc.sections)} sections), document {doc.id}.")
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
        sets = eval_sets(args.sets, args.knowledge, Settings.from_env().knowledge_dir)
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
                engine = Engine.from_settings(Settings.from_env(knowledge_dir=eval_set.knowledge))
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
    if args.servers:
        figures = bench_servers(args.passages or 100_000, args.servers, args.queries)
        print(json.dumps(figures) if args.json else render_server_bench(figures))
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


CHAT_HELP = """Type a question, or:
  more                 more excerpts for the last question
  full N               the whole paragraph of excerpt N
  recommendations [T]  the recommendations (about topic T)
  sources              the documents in the knowledge base
  help, quit"""


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


def _scope_text(scope: Scope) -> str:
    if scope is EVERYWHERE:
        return "all servers and direct messages"
    return "direct messages" if scope is None else f"server {scope}"


def render_stats(stats: Stats) -> str:
    """The terminal's /kb stats."""
    period = f"Last {stats.days:g} day(s), {_scope_text(stats.scope)}"
    if not stats.questions:
        return f"{period}: no questions."
    lines = [f"{period}: {stats.questions} question(s), {stats.answered} answered ({stats.answer_rate:.0%})."]
    if stats.topics:
        lines.append("Busiest topics: " + ", ".join(f"{c.label} ({c.count})" for c in stats.topics))
    if stats.documents:
        lines.append("Most cited documents: " + ", ".join(f"{c.label} ({c.count})" for c in stats.documents))
    if stats.unanswered:
        lines.append("Unanswered questions (most asked first):")
        lines += [f"  {u.count:>3}x  {u.text}  (last {u.last_asked:%Y-%m-%d %H:%M} UTC)" for u in stats.unanswered]
    votes = stats.votes_up + stats.votes_down
    lines.append(f"Feedback: {stats.votes_up} up, {stats.votes_down} down ({stats.approval:.0%} up)." if votes
                 else "Feedback: no votes.")
    if stats.voted_down:
        lines.append("Excerpts most often voted down:")
        lines += [f"  {p.down:>3} down {p.up:>3} up  {p.passage_id}" for p in stats.voted_down]
    return "\n".join(lines)


def cmd_stats(args: argparse.Namespace) -> int:
    async def read() -> Stats:
        store = await open_store(Settings.from_env(), read_only=True)
        try:
            return await store.stats(args.guild, days=args.days)
        finally:
            await store.close()

    stats = asyncio.run(read())
    print(json.dumps(stats.to_json(), ensure_ascii=False) if args.json else render_stats(stats))
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


def render_forgotten(forgotten: ForgottenGuild) -> str:
    counts = {"document(s) of its collection": forgotten.documents, "question(s)": forgotten.questions,
              "vote(s)": forgotten.votes, "reload record(s)": forgotten.reloads, "settings": forgotten.settings}
    if not any(counts.values()):
        return f"Server {forgotten.guild_id}: nothing was kept about it, nothing deleted."
    return f"Forgot server {forgotten.guild_id}: deleted " + ", ".join(
        f"{count} {what}" if what != "settings" else "its settings" for what, count in counts.items() if count) + "."


def cmd_forget_server(args: argparse.Namespace) -> int:
    settings = Settings.from_env()

    async def forget() -> ForgottenGuild:
        # First a read-only look: a database that is missing, damaged, unreachable or of another schema
        # version is one line, and nothing is created or changed.
        check = await open_store(settings, read_only=True)
        await check.close()
        # Forgetting hashes no user id: a placeholder salt, so no salt file is read or made.
        store = await open_store(Settings.from_env(hash_salt="forget-server"))
        try:
            return await store.forget_guild(args.server)
        finally:
            await store.close()

    print(render_forgotten(asyncio.run(forget())))
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    """Compute the embeddings of the knowledge base now (the bot then starts hybrid at once)."""
    settings = _settings(args)
    engine = _engine(args)
    if engine.state.semantic is None:
        raise CliError(f"the semantic stage is off: {_planned_mode(settings)}")
    dense = engine.state.semantic
    print(f"Semantic index ready: {len(dense.passages):,} passages, {len(dense.sentences):,} sentences "
          f"({dense.encoded:,} texts encoded now, the rest from {settings.embedding_cache or 'no cache'}); "
          f"model {dense.model}.")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    engine = _engine(args, background=True)  # answers at once; hybrid as soon as the embeddings are ready
    color = _color(args)
    kb = engine.knowledge
    print(f"Knowledge base: {len(kb.documents)} document(s), {len(kb.passages)} passages; ranking: {engine.mode}. "
          "Ask a question ('help' for commands, 'quit' to leave).")
    last: Answer | None = None
    while True:
        try:
            line = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        word, _, rest = line.partition(" ")
        command = word.lower().lstrip("/")
        if not line:
            continue
        if command in ("quit", "exit", "q"):
            return 0
        if command == "help":
            print(CHAT_HELP)
        elif command == "sources":
            print(terminal.render_sources(engine.knowledge))
        elif command == "recommendations":
            print(terminal.render_recommendations(engine.recommendations(topic=rest or None)))
        elif command == "more" and not rest:
            if last is None or not last.has_more:
                print("No more excerpts.")
            else:
                last = engine.ask(last.question, limit=args.excerpts, offset=last.offset + len(last.excerpts))
                print(terminal.render_answer(last, color=color))
        elif command == "full" and rest.strip().isdigit():
            numbers = {e.citation.number: e for e in last.excerpts} if last else {}
            excerpt = numbers.get(int(rest))
            print(f"{excerpt.passage.text}\n    {excerpt.citation.text}" if excerpt else "No such excerpt.")
        else:
            last = engine.ask(line, limit=args.excerpts)
            print(terminal.render_answer(last, color=color))


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

    chat = sub.add_parser("chat", parents=[common], help="an interactive prompt that behaves like the bot")
    chat.add_argument("-n", "--excerpts", type=_excerpts, default=DEFAULT_EXCERPTS)
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
    bench.add_argument("--servers", type=_positive, metavar="N", help=(
        "N servers with a collection of 3 documents each on the synthetic base (--passages, 100,000 by default): "
        "memory and build per server, and other BM25 engines side by side"))
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
    except (KnowledgeError, StoreError) as exc:
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
