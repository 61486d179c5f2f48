"""Timing figures anyone can rerun: `python -m bot bench`."""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.engine import Engine
from bot.excerpts import split_sentences
from bot.library import CollectionFile
from bot.settings import Settings


@dataclass(frozen=True)
class Latency:
    p50_ms: float
    p99_ms: float
    count: int


def peak_rss_mib() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_calls(call: Callable[[Any], object], questions: Sequence[Any], rounds: int = 3) -> Latency:
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


# --- Synthetic knowledge bases -------------------------------------------------------------

_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"] + ["ka", "lo", "ri", "en", "ar", "ol"]


def synthetic_word(rank: int) -> str:
    """A pronounceable made-up word for a vocabulary rank: deterministic, distinct per rank."""
    syllables = []
    n = rank + 1
    while n:
        n, digit = divmod(n, len(_SYLLABLES))
        syllables.append(_SYLLABLES[digit])
    return "".join(syllables)


def synthetic_passages(count: int, seed: int = 7, vocabulary: int | None = None) -> list[str]:
    """Paragraphs of 20-180 words (log-normal, median ~70) from a Zipf-like vocabulary, in sentences."""
    import numpy as np

    rng = np.random.default_rng(seed)
    vocabulary = vocabulary or max(2_000, min(200_000, count // 2))
    ranks = np.arange(1, vocabulary + 1)
    weights = 1.0 / ranks ** 1.07
    weights /= weights.sum()
    words = [synthetic_word(i) for i in range(vocabulary)]
    lengths = np.clip(rng.lognormal(np.log(70), 0.5, size=count).astype(int), 20, 180)
    drawn = rng.choice(vocabulary, size=int(lengths.sum()), p=weights)
    passages, position = [], 0
    for length in lengths:
        chunk = [words[i] for i in drawn[position:position + length]]
        position += length
        sentences, start = [], 0
        while start < len(chunk):
            end = start + int(rng.integers(8, 25))
            sentence = chunk[start:end]
            sentences.append(sentence[0].capitalize() + " " + " ".join(sentence[1:]) + ".")
            start = end
        passages.append(" ".join(sentences))
    return passages


def synthetic_questions(texts: Sequence[str], count: int, seed: int = 11) -> list[str]:
    """Questions of 2-4 words taken from random passages; one in ten has a typo, one in ten an unknown word."""
    import numpy as np

    from bot.search.analysis import index_words, word_terms

    rng = np.random.default_rng(seed)
    questions = []
    while len(questions) < count:
        words = [w for w in index_words(texts[int(rng.integers(len(texts)))]) if word_terms(w)]
        if len(words) < 4:
            continue
        picked = [words[int(i)] for i in rng.choice(len(words), size=int(rng.integers(2, 5)), replace=False)]
        roll = rng.random()
        if roll < 0.1:
            long_words = [i for i, w in enumerate(picked) if len(w) >= 6]
            if long_words:
                i = long_words[0]
                w = picked[i]
                picked[i] = w[:2] + w[3] + w[2] + w[4:]  # a transposition
        elif roll < 0.2:
            picked.append("quixotry")
        questions.append("what about " + " ".join(picked) + "?")
    return questions


def _knowledge_base(texts: Sequence[str], per_document: int = 100):
    """Documents of ``per_document`` passages each, as the loader would make them."""
    from pathlib import Path

    from bot.knowledge.models import Document, KnowledgeBase, Passage

    documents = []
    for d, start in enumerate(range(0, len(texts), per_document)):
        doc_id = f"synthetic-{d:05d}"
        passages = tuple(Passage(f"{doc_id}#p{i}", doc_id, "paragraph", text, i)
                         for i, text in enumerate(texts[start:start + per_document], 1))
        documents.append(Document(doc_id, f"Synthetic {d}", Path(f"{doc_id}.md"), passages))
    return KnowledgeBase(Path("synthetic"), tuple(documents))


def write_knowledge(directory, texts: Sequence[str], per_document: int = 100) -> int:
    """Write the synthetic base as Markdown knowledge files; returns the number of files."""
    from pathlib import Path

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = 0
    for d, start in enumerate(range(0, len(texts), per_document)):
        body = "\n\n".join(texts[start:start + per_document])
        (directory / f"synthetic-{d:05d}.md").write_text(
            f"---\ntitle: Synthetic {d}\nauthor: Bench Mark\npublished: 2024-01-01\n---\n\n{body}\n", encoding="utf-8")
        files += 1
    return files


async def _loop_stall_during(work: Callable[[], object], interval: float = 0.005) -> tuple[float, float]:
    """Run ``work`` in a thread (as the bot does) while a probe measures how late the event loop wakes."""
    import asyncio

    worst = 0.0
    done = asyncio.Event()

    async def probe() -> None:
        nonlocal worst
        loop = asyncio.get_running_loop()
        while not done.is_set():
            start = loop.time()
            await asyncio.sleep(interval)
            worst = max(worst, loop.time() - start - interval)

    task = asyncio.create_task(probe())
    start = time.perf_counter()
    await asyncio.to_thread(work)
    elapsed = time.perf_counter() - start
    done.set()
    await task
    return worst * 1000, elapsed


def bench_synthetic(passages: int, queries: int, reference_queries: int = 50, seed: int = 7,
                    loop_probe: bool = True) -> dict[str, object]:
    """Index build, memory, search and answer latency at scale, against naive rank-bm25."""
    import asyncio

    import numpy as np

    from bot.engine import build_state
    from bot.search.index import LuceneBM25, passage_terms

    texts = synthetic_passages(passages, seed)
    questions = synthetic_questions(texts, queries)
    kb = _knowledge_base(texts)
    start = time.perf_counter()
    state = build_state(kb)
    build = time.perf_counter() - start
    rss = peak_rss_mib()
    engine = Engine(state)
    analyse = state.analyser.analyse
    search = time_calls(lambda q: state.index.search(analyse(q).weights, k=50), questions)
    answer = time_calls(engine.ask, questions)
    stall = elapsed = None
    if loop_probe:
        stall, elapsed = asyncio.run(_loop_stall_during(lambda: build_state(kb)))

    # The naive reference: rank-bm25 with the same variant and parameters, get_scores over every passage.
    reference = LuceneBM25([passage_terms(p) for p in state.index.passages])
    subset = questions[:reference_queries]
    identical = 0
    samples = []
    for question in subset:
        terms = list(analyse(question).weights)
        t0 = time.perf_counter()
        scores = reference.get_scores(terms)
        top = np.argsort(-scores, kind="stable")[:10]
        samples.append((time.perf_counter() - t0) * 1000)
        expected = [int(i) for i in top if scores[i] > 0]
        ours = state.index.search(dict.fromkeys(terms, 1.0), k=10)
        identical += ([i for i, _ in ours] == expected
                      and all(abs(s - scores[i]) <= 1e-9 for i, s in ours))
    naive_p50 = statistics.median(samples)
    return {
        "passages": passages,
        "queries": len(questions),
        "index_build_s": round(build, 2),
        "peak_rss_mib": round(rss, 1),
        "search_p50_ms": round(search.p50_ms, 3),
        "search_p99_ms": round(search.p99_ms, 3),
        "answer_p50_ms": round(answer.p50_ms, 3),
        "answer_p99_ms": round(answer.p99_ms, 3),
        "naive_rank_bm25_p50_ms": round(naive_p50, 3),
        "answer_speedup_p50": round(naive_p50 / answer.p50_ms, 1),
        "identical_to_reference": f"{identical}/{len(subset)}",
        "reload_loop_stall_max_ms": None if stall is None else round(stall, 1),
        "reload_in_thread_s": None if elapsed is None else round(elapsed, 2),
    }


def current_rss_mib() -> float:
    """Resident memory of this process now (Linux /proc; elsewhere the peak)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return peak_rss_mib()
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def synthetic_collection(server: int, texts: Sequence[str], documents: int = 3) -> list[CollectionFile]:
    """A server's collection: ``documents`` Markdown files of the given passages, with a word of its own."""
    per_document = max(1, len(texts) // documents)
    files = []
    for d in range(documents):
        body = "\n\n".join(texts[d * per_document:(d + 1) * per_document])
        files.append(CollectionFile(f"notes-{d}.md", f"---\ntitle: Server {server} notes {d}\n---\n\n"
                                                      f"{body}\n\nOur {synthetic_word(900_000 + server)} rules.\n"))
    return files


def _timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _same_hits(ours: Sequence[tuple[int, float]], theirs: Sequence[tuple[int, float]], tolerance: float) -> bool:
    return [i for i, _ in ours] == [i for i, _ in theirs] and all(
        abs(a - b) <= tolerance for (_, a), (_, b) in zip(ours, theirs, strict=True))


def bench_servers(passages: int, servers: int, queries: int = 200, seed: int = 7, compare: int = 50,
                  baselines: bool = True) -> dict[str, object]:
    """Many servers, each with a collection of 3 documents, on one shared base: memory and build per
    server, adding a document, search latency, answers against one combined index, and other engines.

    The shared state's build and memory include topics and recommendations; the engines' table
    gives the lexical index alone, beside the others built over the same terms.
    """
    import gc

    from bot.engine import build_state
    from bot.library import Library
    from bot.search.baselines import available_baselines
    from bot.search.index import SearchIndex, passage_terms

    texts = synthetic_passages(passages, seed)
    vocabulary = max(2_000, min(200_000, passages // 2))
    own_texts = synthetic_passages(9 * (servers + 1), seed + 1, vocabulary=vocabulary)
    questions = synthetic_questions(texts, queries)
    kb = _knowledge_base(texts)
    gc.collect()
    before = current_rss_mib()
    start = time.perf_counter()
    state = build_state(kb)
    shared_build = time.perf_counter() - start
    gc.collect()
    shared_mib = current_rss_mib() - before
    before = current_rss_mib()  # the lexical index alone, for the engines' table (the state stays alive)
    start = time.perf_counter()
    index = SearchIndex(kb.searchable)
    index_build = time.perf_counter() - start
    gc.collect()
    index_mib = current_rss_mib() - before
    del index
    engine = Engine(state)
    weights = [state.analyser.analyse(q).weights for q in questions]
    search = time_calls(lambda w: state.index.search(w, k=50), weights)
    answer = time_calls(engine.ask, questions)

    library = Library(engine)
    gc.collect()
    before = current_rss_mib()
    builds = [_timed(lambda g=g: library.update_server(g, synthetic_collection(g, own_texts[9 * g:9 * g + 9])))
              for g in range(servers)]
    gc.collect()
    growth = (current_rss_mib() - before) / max(servers, 1)
    files = synthetic_collection(0, own_texts[:9])
    extra = CollectionFile("added.md", "---\ntitle: Added\n---\n\n" + "\n\n".join(own_texts[-9:-6]) + "\n")
    add_document = _timed(lambda: library.update_server(0, [*files, extra]))
    server = library.engine_for(0)
    server_questions = questions[:queries // 2] + synthetic_questions(own_texts[:9] + own_texts[-9:-6], queries // 2)
    server_weights = [server.state.analyser.analyse(q).weights for q in server_questions]
    server_search = time_calls(lambda w: server.state.index.search(w, k=50), server_weights)
    server_answer = time_calls(server.ask, server_questions)

    # One index built from scratch over what server 0 sees, and rank-bm25 over the same passages.
    combined = SearchIndex(server.knowledge.searchable)
    sample = server_weights[:compare // 2] + server_weights[-compare // 2:]
    identical = sum(_same_hits([(server.state.index.passages[i].id, s) for i, s in server.state.index.search(w, k=10)],
                               [(combined.passages[i].id, s) for i, s in combined.search(w, k=10)], 1e-6)
                    for w in sample)

    table = [_engine_row("this project (segments)", index_build, index_mib, state.index, weights[:compare], None)]
    if baselines:
        corpus = [passage_terms(p) for p in state.index.passages]
        for make in available_baselines():
            gc.collect()
            before = current_rss_mib()
            start = time.perf_counter()
            other = make(corpus)
            build = time.perf_counter() - start
            gc.collect()
            table.append(_engine_row(make.name, build, current_rss_mib() - before, other, weights[:compare],
                                     state.index))
            del other
    return {
        "passages": passages,
        "servers": servers,
        "shared_build_s": round(shared_build, 2),
        "shared_state_mib": round(shared_mib, 1),
        "search_p50_ms": round(search.p50_ms, 3),
        "search_p99_ms": round(search.p99_ms, 3),
        "answer_p50_ms": round(answer.p50_ms, 3),
        "answer_p99_ms": round(answer.p99_ms, 3),
        "server_build_p50_s": round(statistics.median(builds), 3),
        "server_build_p99_s": round(sorted(builds)[int(len(builds) * 0.99)], 3),
        "server_build_max_s": round(max(builds), 3),
        "memory_per_server_mib": round(growth, 3),
        "memory_1000_servers_gib": round(growth * 1000 / 1024, 2),
        "add_document_s": round(add_document, 3),
        "server_search_p50_ms": round(server_search.p50_ms, 3),
        "server_search_p99_ms": round(server_search.p99_ms, 3),
        "server_answer_p50_ms": round(server_answer.p50_ms, 3),
        "identical_to_combined_index": f"{identical}/{len(sample)}",
        "engines": table,
    }


def _engine_row(name: str, build: float, mib: float, engine, weights: Sequence[Mapping[str, float]],
                reference) -> dict[str, object]:
    """Build time, memory, query latency (top 10, terms weighted 1); against ours, how many top 10s hold
    the same passages in the same order, and the largest score difference."""
    queries = [list(w) for w in weights]
    if reference is None:
        latency = time_calls(lambda q: engine.search(dict.fromkeys(q, 1.0), k=10), queries)
        same, difference = None, None
    else:
        latency = time_calls(lambda q: engine.search(q, 10), queries)
        same, difference = 0, 0.0
        for q in queries:
            theirs, ours = engine.search(q, 10), reference.search(dict.fromkeys(q, 1.0), k=10)
            same += [i for i, _ in theirs] == [i for i, _ in ours]
            difference = max([difference] + [abs(a - b) for (_, a), (_, b) in zip(theirs, ours, strict=False)])
    return {"engine": name, "build_s": round(build, 2), "memory_mib": round(mib, 1),
            "query_p50_ms": round(latency.p50_ms, 3), "query_p99_ms": round(latency.p99_ms, 3),
            "same_top10": None if same is None else f"{same}/{len(queries)}",
            "max_score_difference": None if difference is None else f"{difference:.1e}"}


def render_server_bench(figures: Mapping[str, object]) -> str:
    """The figures, then the engines side by side as a Markdown table."""
    lines = [f"{key:30} {value}" for key, value in figures.items() if key != "engines"]
    lines += ["", "| engine | build s | memory MiB | query p50 ms | query p99 ms | same top 10 as ours | "
                  "largest score difference |", "|---|---|---|---|---|---|---|"]
    for row in figures["engines"]:  # type: ignore[union-attr]
        lines.append(f"| {row['engine']} | {row['build_s']} | {row['memory_mib']} | {row['query_p50_ms']} | "
                     f"{row['query_p99_ms']} | {row['same_top10'] or '—'} | {row['max_score_difference'] or '—'} |")
    return "\n".join(lines)
