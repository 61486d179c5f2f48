"""The commands that measure: eval (answer quality) and bench (speed, RSS)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from bot.benchmark import (
    bench_knowledge,
    bench_servers,
    bench_synthetic,
    render_server_bench,
    synthetic_passages,
    write_knowledge,
)
from bot.cli.common import CliError, load_settings
from bot.engine import Engine
from bot.evaluation import (
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
from bot.knowledge.models import KnowledgeError
from bot.settings import Settings


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
    if args.servers:
        figures = bench_servers(args.passages or 100_000, args.servers, args.queries)
        print(json.dumps(figures) if args.json else render_server_bench(figures))
        return 0
    if args.passages:
        figures = bench_synthetic(args.passages, args.queries, loop_probe=not args.no_loop_probe)
    else:
        figures = bench_knowledge(load_settings(args))
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:26} {value}")
    return 0
