"""What every terminal command shares: its errors, settings, engine and argument types."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.answers import MAX_EXCERPTS
from bot.engine import Engine
from bot.knowledge.models import KnowledgeBase
from bot.search.semantic import semantic_installed
from bot.settings import Settings


class CliError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


def use_color(args: argparse.Namespace, settings: Settings) -> bool:
    return sys.stdout.isatty() and not settings.no_color and not getattr(args, "json", False)


def load_settings(args: argparse.Namespace) -> Settings:
    """Settings from the environment, with --knowledge if given; a knowledge "directory" that is a file is bad input."""
    knowledge = getattr(args, "knowledge", None)
    settings = Settings.from_env(knowledge_dir=Path(knowledge)) if knowledge else Settings.from_env()
    if settings.knowledge_dir.is_file():
        raise CliError(f"{settings.knowledge_dir} is a file, but the knowledge base is a directory of documents "
                       f"(to add this file to one: python -m bot add {settings.knowledge_dir})")
    return settings


def warn_skipped(kb: KnowledgeBase) -> None:
    """Each file the loader could not use, with its path and why: the answers leave it out."""
    for problem in kb.problems:
        print(f"warning: skipped {problem}", file=sys.stderr)


def build_engine(settings: Settings, *, background: bool = False) -> Engine:
    """The engine as settings describe it; a model that fails to load and each skipped file are one warning line."""
    engine = Engine.from_settings(settings, background=background)
    if engine.semantic.error:
        print(f"warning: {engine.semantic.error}; answering with lexical search", file=sys.stderr)
    warn_skipped(engine.knowledge)
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


def positive(value: str) -> int:
    return _whole_number(value, 1)


def excerpt_count(value: str) -> int:
    return _whole_number(value, 1, MAX_EXCERPTS)


def planned_mode(settings: Settings) -> str:
    """Which ranking `ask` and the bot will use, without loading a model."""
    if settings.semantic == "off":
        return "lexical (SEMANTIC=off)"
    if not semantic_installed():
        return "lexical (the semantic stage is not installed: pip install .)"
    return f"semantic ({settings.semantic_model}; lexical if the model cannot be loaded)"
