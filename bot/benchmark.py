"""Timing figures anyone can rerun: `python -m bot bench`."""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.engine import Engine
from bot.excerpts import split_sentences
from bot.settings import Settings


@dataclass(frozen=True)
class Latency:
    p50_ms: float
    p99_ms: float
    count: int


def peak_rss_mib() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_calls(call: Callable[[str], object], questions: Sequence[str], rounds: int = 3) -> Latency:
    for question in questions[:5]:  # warm caches and lazy imports
        call(question)
    samples = []
    for _ in range(rounds):
        for question in questions:
            start = time.perf_counter()
            call(question)
            samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return Latency(statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))],
                   len(samples))


def questions_from(engine: Engine, limit: int = 60) -> list[str]:
    """Deterministic questions made of the knowledge base's own words: the first words of its sentences."""
    questions = []
    for passage in engine.knowledge.passages:
        for span in split_sentences(passage.text):
            words = passage.text[span.start:span.end].split()[:8]
            if len(words) >= 4:
                questions.append(" ".join(words) + "?")
    step = max(1, len(questions) // limit)
    return questions[::step][:limit]


def bench_knowledge(settings: Settings) -> dict[str, object]:
    """Start-up, memory and answer latency on a real knowledge directory, in the configured mode."""
    start = time.perf_counter()
    engine = Engine.from_settings(settings)
    startup = time.perf_counter() - start
    questions = questions_from(engine)
    answer = time_calls(engine.ask, questions)
    return {
        "mode": engine.mode,
        "documents": len(engine.knowledge.documents),
        "passages": len(engine.knowledge.passages),
        "startup_s": round(startup, 2),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "answer_p50_ms": round(answer.p50_ms, 2),
        "answer_p99_ms": round(answer.p99_ms, 2),
        "questions": answer.count,
    }
