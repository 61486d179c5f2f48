"""The terminal front end: `python -m bot ask|chat|add|refresh|check|eval|recommendations|sources|bench|run|sync|
stats|export|forget-server`.

Every command prints one clear line and exits non-zero on bad input; no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dotenv import load_dotenv

from bot.answers import DEFAULT_EXCERPTS, MAX_EXCERPTS
from bot.cli.answering import cmd_ask, cmd_chat, cmd_recommendations, cmd_sources
from bot.cli.common import CliError, excerpt_count, load_settings, positive
from bot.cli.knowledge import cmd_add, cmd_check, cmd_index, cmd_refresh
from bot.cli.measuring import cmd_bench, cmd_eval
from bot.cli.records import cmd_export, cmd_forget_server, cmd_stats, scope_argument, server_id_argument
from bot.evaluation import EVAL_HELP
from bot.knowledge.models import KnowledgeError
from bot.settings import Settings, SettingsError
from bot.store import EVERYWHERE, StoreError


def cmd_run(args: argparse.Namespace) -> int:
    from bot.discord_app.runner import run_bot  # discord.py is loaded only for the Discord bot

    return run_bot(load_settings(args))


def cmd_sync(args: argparse.Namespace) -> int:
    from bot.discord_app.runner import run_bot

    return run_bot(Settings.from_env(), mode="sync")


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
    ask.add_argument("-n", "--excerpts", type=excerpt_count, default=DEFAULT_EXCERPTS,
                     help=f"excerpts per answer (1-{MAX_EXCERPTS}, default {DEFAULT_EXCERPTS})")
    ask.set_defaults(func=cmd_ask)

    chat = sub.add_parser("chat", parents=[common], help=(
        "an interactive prompt that behaves like the bot; its questions are logged for stats and export"))
    chat.add_argument("-n", "--excerpts", type=excerpt_count, default=DEFAULT_EXCERPTS,
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

    rec = sub.add_parser("recommendations", parents=[common], help="list what the documents recommend")
    rec.add_argument("--topic", help="only recommendations about this topic (e.g. energy)")
    rec.add_argument("--document", help="only this document (id or title)")
    rec.add_argument("--json", action="store_true")
    rec.set_defaults(func=cmd_recommendations)

    bench = sub.add_parser("bench", parents=[common], help=(
        "time index build, memory, search and answers: on a synthetic base (--passages) against naive "
        "rank-bm25, or on the knowledge base"))
    bench.add_argument("--passages", type=positive, metavar="N", help="synthetic knowledge base of N passages")
    bench.add_argument("--queries", type=positive, default=200, metavar="Q", help="questions to time (200)")
    bench.add_argument("--servers", type=positive, metavar="N", help=(
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
    stats.add_argument("--days", type=positive, default=30, metavar="N", help="the last N days (30)")
    stats.add_argument("--guild", type=scope_argument, default=EVERYWHERE, metavar="ID", help=where)
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=cmd_stats)

    export = sub.add_parser("export", help="write the question log (no user ids) as CSV or JSON")
    export.add_argument("--format", choices=("csv", "json"), required=True)
    export.add_argument("--output", metavar="FILE", help="write to FILE (default: standard output)")
    export.add_argument("--guild", type=scope_argument, default=EVERYWHERE, metavar="ID", help=where)
    export.add_argument("--days", type=positive, metavar="N", help="only the last N days (default: everything kept)")
    export.set_defaults(func=cmd_export)

    forget = sub.add_parser("forget-server", help=(
        "delete a server's collection and everything kept about it (questions, votes, settings, reloads); "
        "irreversible, asks no confirmation"))
    forget.add_argument("server", type=server_id_argument, metavar="ID", help="the Discord server id")
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
