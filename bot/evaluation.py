"""Score the engine on question sets: does the answer hold the evidence, and
does it decline what the knowledge base cannot answer?

A question set is a JSON-lines file with its knowledge directory; a manifest
(YAML or JSON) lists several. Each set is scored lexically, with the semantic
stage when it runs, and optionally beside a plain bm25s baseline over the same
passages, then all sets together ("overall": every question pooled).
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.answers import Answer
from bot.excerpts import split_sentences
from bot.knowledge.models import Passage
from bot.search.analysis import fold

QUESTION_KINDS = ("answerable", "unanswerable")
LEXICAL = "lexical"
BASELINE = "baseline (bm25s)"
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
FIGURE_ROWS = (("hit@1", "hit@1", "%"), ("hit@3", "hit@3", "%"), ("quote@1", "quote@1", "%"),
               ("abstained", "abstained", "%"), ("false abstentions", "false_abstentions", ""),
               ("answerable", "answerable", ""), ("unanswerable", "unanswerable", ""))


@dataclass(frozen=True)
class EvalQuestion:
    question: str
    kind: str
    evidence: tuple[str, ...] = ()
    earlier: tuple[str, ...] = ()  # the conversation's previous questions, oldest first (a follow-up set)


@dataclass
class EvalResult:
    answerable: int = 0
    unanswerable: int = 0
    hit1: int = 0
    hit3: int = 0
    quote1: int = 0
    abstained: int = 0
    false_abstentions: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (question, what went wrong)

    def __add__(self, other: EvalResult) -> EvalResult:
        """Two results pooled, as if their questions were one set."""
        return EvalResult(self.answerable + other.answerable, self.unanswerable + other.unanswerable,
                          self.hit1 + other.hit1, self.hit3 + other.hit3, self.quote1 + other.quote1,
                          self.abstained + other.abstained, self.false_abstentions + other.false_abstentions,
                          self.failures + other.failures)

    def by_cause(self) -> dict[str, list[str]]:
        """The failed questions grouped by what went wrong, in the order the causes first occur."""
        causes: dict[str, list[str]] = {}
        for question, why in self.failures:
            causes.setdefault(why, []).append(question)
        return causes

    def _pct(self, n: int, d: int) -> float:
        return 100.0 * n / d if d else 0.0

    @property
    def figures(self) -> dict[str, float | int]:
        return {
            "hit@1": round(self._pct(self.hit1, self.answerable), 1),
            "hit@3": round(self._pct(self.hit3, self.answerable), 1),
            "quote@1": round(self._pct(self.quote1, self.answerable), 1),
            "abstained": round(self._pct(self.abstained, self.unanswerable), 1),
            "false_abstentions": self.false_abstentions,
            "answerable": self.answerable,
            "unanswerable": self.unanswerable,
        }


def normalise(text: str) -> str:
    """Compare text as a reader would: case, quotes, dashes and spacing ignored."""
    return re.sub(r"\s+", " ", fold(text)).strip()


def load_questions(path: Path | str) -> list[EvalQuestion]:
    """Read a JSON-lines question set; a bad line is a ValueError naming its number."""
    questions = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            kind = row.get("kind", "answerable")
            if kind not in QUESTION_KINDS or not isinstance(row["question"], str):
                raise ValueError(f"kind must be one of {', '.join(QUESTION_KINDS)}")
            earlier = row.get("earlier", [])
            if not isinstance(earlier, list) or not all(isinstance(e, str) for e in earlier):
                raise ValueError("earlier must be a list of questions")
            questions.append(EvalQuestion(row["question"], kind, tuple(row.get("evidence", ())), tuple(earlier)))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{path}, line {number}: not a question ({exc})") from None
    return questions


def _contains(texts: Sequence[str], evidence: tuple[str, ...]) -> bool:
    wanted = [normalise(e) for e in evidence]
    return any(w in normalise(t) for t in texts for w in wanted)


@dataclass(frozen=True)
class Reply:
    """What scoring looks at in an answer: declined or not, the passages in rank order, the top quote."""

    answered: bool
    passages: tuple[str, ...] = ()
    quote: str = ""


def reply_of(answer: Answer | Reply) -> Reply:
    if isinstance(answer, Reply):
        return answer
    return Reply(answer.answered, tuple(e.passage.text for e in answer.excerpts),
                 answer.excerpts[0].quote if answer.excerpts else "")


def evaluate(questions: list[EvalQuestion], ask: Callable[..., Answer | Reply]) -> EvalResult:
    """Score ``ask`` on the questions; a follow-up is asked with its earlier questions (``earlier=``)."""
    result = EvalResult()
    for q in questions:
        answer = reply_of(ask(q.question, earlier=q.earlier) if q.earlier else ask(q.question))
        if q.kind == "unanswerable":
            result.unanswerable += 1
            if not answer.answered:
                result.abstained += 1
            else:
                result.failures.append((q.question, "answered an unanswerable question"))
            continue
        result.answerable += 1
        if not answer.answered:
            result.false_abstentions += 1
            result.failures.append((q.question, "declined an answerable question"))
            continue
        passages = answer.passages
        hit1 = _contains(passages[:1], q.evidence)
        hit3 = _contains(passages[:3], q.evidence)
        quote1 = _contains([answer.quote], q.evidence)
        result.hit1 += hit1
        result.hit3 += hit3
        result.quote1 += quote1
        if not hit3:
            result.failures.append((q.question, "evidence not in the top three passages"))
        elif not hit1:
            result.failures.append((q.question, "evidence not in the top passage"))
        elif not quote1:
            result.failures.append((q.question, "evidence in the top passage but not in its quote"))
    return result


# --- The bm25s baseline ------------------------------------------------------------------------------------------


class BaselineUnavailable(RuntimeError):
    """bm25s is not installed; the message is one line for the user."""


def _bm25s():
    try:
        import bm25s
        import Stemmer
    except ImportError:
        raise BaselineUnavailable("--baseline needs bm25s: pip install bm25s") from None
    return bm25s, Stemmer


def check_baseline() -> None:
    """Raise BaselineUnavailable now rather than after loading a large knowledge base."""
    _bm25s()


class Bm25sBaseline:
    """Plain bm25s (English stop words, Snowball stemmer) over the passages the project indexes.

    It answers with the best-scoring passages and quotes the sentence of the top passage that holds
    the most of the question's terms (the first of equals), and declines only when no passage
    shares a term with the question.
    """

    name = BASELINE

    def __init__(self, passages: Sequence[Passage], limit: int = 3):
        bm25s, stemmer_module = _bm25s()
        self._bm25s = bm25s
        self._stemmer = stemmer_module.Stemmer("english")
        self.texts = [p.text for p in passages]
        self.limit = limit
        self._retriever = bm25s.BM25()
        self._retriever.index(self._tokenize(self.texts, ids=True), show_progress=False)

    def _tokenize(self, texts: list[str], ids: bool = False):
        return self._bm25s.tokenize(texts, stopwords="en", stemmer=self._stemmer, return_ids=ids,
                                    show_progress=False)

    def _terms(self, text: str) -> list[str]:
        return [t for t in self._tokenize([text])[0] if t]

    def ask(self, question: str) -> Reply:
        terms = self._terms(question)
        ids = self._retriever.get_tokens_ids(terms)
        if not ids:
            return Reply(False)
        scores = self._retriever.get_scores(ids)
        top = [int(i) for i in scores.argsort()[::-1][:self.limit] if scores[i] > 0]
        if not top:
            return Reply(False)
        passages = tuple(self.texts[i] for i in top)
        return Reply(True, passages, self.best_sentence(passages[0], set(terms)))

    def best_sentence(self, text: str, terms: set[str]) -> str:
        sentences = [text[s.start:s.end] for s in split_sentences(text)] or [text]
        return max(sentences, key=lambda s: len(terms.intersection(self._terms(s))))


# --- Question sets and manifests ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalSet:
    """A question set and the knowledge directory it is asked of."""

    name: str
    questions: Path
    knowledge: Path
    install: str | None = None  # how to get the knowledge directory when it is missing


def _set_name(questions: Path) -> str:
    """A set's name from its file: the file's stem, or its folder's name for …/NAME/questions.jsonl."""
    return questions.parent.name if questions.stem == "questions" and questions.parent.name else questions.stem


def unique_names(sets: Iterable[EvalSet]) -> list[EvalSet]:
    seen: dict[str, int] = {}
    unique = []
    for s in sets:
        seen[s.name] = seen.get(s.name, 0) + 1
        unique.append(s if seen[s.name] == 1 else EvalSet(f"{s.name}-{seen[s.name]}", s.questions, s.knowledge,
                                                          s.install))
    return unique


def named_set(questions: Path | str, knowledge: Path | str) -> EvalSet:
    return EvalSet(_set_name(Path(questions)), Path(questions), Path(knowledge))


def is_manifest(path: Path | str) -> bool:
    return Path(path).suffix.lower() in MANIFEST_SUFFIXES


def load_manifest(path: Path | str) -> list[EvalSet]:
    """The sets a manifest lists; paths are relative to the manifest. A bad manifest is a ValueError.

    ```yaml
    sets:
      - name: article
        questions: article/questions.jsonl
        knowledge: ../knowledge
        install: how to get the knowledge directory if it is missing (optional)
    ```
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not YAML or JSON ({str(exc).splitlines()[0]})") from None
    rows = data.get("sets") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not rows:
        raise ValueError(f"{path}: a manifest needs a non-empty list 'sets'")
    sets = []
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict) or not all(isinstance(row.get(k), str) and row[k].strip()
                                                for k in ("name", "questions", "knowledge")):
            raise ValueError(f"{path}, set {number}: needs name, questions and knowledge")
        install = row.get("install")
        if install is not None and not isinstance(install, str):
            raise ValueError(f"{path}, set {number}: install must be text")

        def where(value: str) -> Path:
            value = os.path.expanduser(value)
            return Path(os.path.normpath(path.parent / value))

        sets.append(EvalSet(row["name"], where(row["questions"]), where(row["knowledge"]), install))
    return sets


def skip_reason(eval_set: EvalSet) -> str | None:
    """Why a set cannot be scored on this machine, or None."""
    if eval_set.knowledge.is_dir():
        return None
    reason = f"knowledge directory {eval_set.knowledge} not found"
    return f"{reason} (install: {eval_set.install})" if eval_set.install else reason


EVAL_HELP = (
    "Score question sets (JSON lines: question, kind answerable|unanswerable, evidence) on their knowledge "
    "directories, lexically and with the semantic stage when it runs: hit@1, hit@3, quote@1, unanswerable "
    "questions declined, false abstentions; per set, then overall. A manifest lists sets (name, questions, "
    "knowledge, optional install hint; paths relative to it); a set whose knowledge directory is missing is skipped.")


def eval_arguments(args: argparse.Namespace) -> argparse.Namespace:
    """The rest of an eval command line (args.sets), sets and options in any order, merged with the options
    given before the first set: `SET.jsonl --knowledge DIR [SET2.jsonl --knowledge DIR2 ...]` or `MANIFEST`."""
    parser = argparse.ArgumentParser(prog="python -m bot eval", description=EVAL_HELP)
    parser.add_argument("sets", nargs="*", metavar="SET.jsonl|MANIFEST")
    parser.add_argument("--knowledge", action="append", default=[], metavar="DIR")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--baseline", action="store_true")
    rest = parser.parse_intermixed_args(args.sets)
    rest.knowledge = (args.knowledge or []) + rest.knowledge
    rest.json = rest.json or args.json
    rest.baseline = rest.baseline or args.baseline
    return rest


def eval_sets(items: Sequence[str], knowledge: Sequence[str], default: Path) -> list[EvalSet]:
    """The sets named on a command line: manifests expanded in place, and the n-th --knowledge paired with the
    n-th question file (or one --knowledge, else the default directory, for all). Bad input is a ValueError."""
    if not items:
        raise ValueError("eval needs a question set (FILE.jsonl) or a manifest (e.g. eval/sets.yaml)")
    files = [f for f in items if not is_manifest(f)]
    if knowledge and not files:
        raise ValueError("--knowledge goes with a question set (FILE.jsonl); a manifest names its own directories")
    if len(knowledge) > 1 and len(knowledge) != len(files):
        raise ValueError(f"{len(knowledge)} --knowledge for {len(files)} question sets: give one per set, in the "
                         "same order, or one for all")
    pairs = iter(knowledge if len(knowledge) > 1 else [Path(knowledge[0]) if knowledge else default] * len(files))
    sets: list[EvalSet] = []
    for item in items:
        sets.extend(load_manifest(item) if is_manifest(item) else [named_set(item, next(pairs))])
    return unique_names(sets)


# --- Reports -----------------------------------------------------------------------------------------------------


@dataclass
class SetReport:
    """One set's results by mode ("lexical", the semantic mode, the baseline), or why it was skipped."""

    eval_set: EvalSet
    questions: int = 0
    results: dict[str, EvalResult] = field(default_factory=dict)
    skipped: str | None = None
    passages: int = 0

    @property
    def main_mode(self) -> str | None:
        """The project's own best mode: the semantic stage when it ran, else lexical."""
        project = [m for m in self.results if m != BASELINE]
        return project[-1] if project else None

    def to_json(self) -> dict:
        return {
            "name": self.eval_set.name,
            "questions_file": str(self.eval_set.questions),
            "knowledge": str(self.eval_set.knowledge),
            "skipped": self.skipped,
            "questions": self.questions,
            "passages": self.passages,
            "main_mode": self.main_mode,
            "modes": {m: r.figures for m, r in self.results.items()},
            "failures": {m: r.by_cause() for m, r in self.results.items()},
        }


def overall(reports: Sequence[SetReport]) -> dict[str, EvalResult]:
    """Every mode's results with the questions of all the sets scored in that mode pooled."""
    pooled: dict[str, EvalResult] = {}
    for report in reports:
        for mode, result in report.results.items():
            pooled[mode] = pooled[mode] + result if mode in pooled else result + EvalResult()
    project = [m for m in pooled if m != BASELINE]
    return {m: pooled[m] for m in [*project, *([BASELINE] if BASELINE in pooled else [])]}


def figures_table(results: dict[str, EvalResult]) -> list[str]:
    """The figures, one row each, one column per mode."""
    width = max(len(m) for m in results) + 2
    lines = [f"{'':20}" + "".join(f"{m:>{width}}" for m in results)]
    for label, key, unit in FIGURE_ROWS:
        lines.append(f"{label:20}" + "".join(f"{str(r.figures[key]) + unit:>{width}}" for r in results.values()))
    return lines


def failures_by_cause(result: EvalResult, indent: str = "  ") -> list[str]:
    lines = []
    for cause, questions in result.by_cause().items():
        lines.append(f"{indent}{cause} ({len(questions)}):")
        lines.extend(f"{indent}  - {q!r}" for q in questions)
    return lines


def render_reports(reports: Sequence[SetReport]) -> str:
    """Per set: what was scored, its failures by cause (the project's best mode) and its figures;
    then, with more than one set scored, the figures over all of them."""
    lines: list[str] = []
    scored = [r for r in reports if r.skipped is None]
    for report in reports:
        s = report.eval_set
        if lines:
            lines.append("")
        if report.skipped is not None:
            lines.append(f"== {s.name}: skipped: {report.skipped}")
            continue
        any_result = next(iter(report.results.values()))
        lines.append(f"== {s.name}: {s.questions} on {s.knowledge} ({report.passages:,} searched passages)")
        lines.append(f"{report.questions} questions ({any_result.answerable} answerable, "
                     f"{any_result.unanswerable} unanswerable)")
        main = report.main_mode
        if main and report.results[main].failures:
            lines.append(f"failures ({main}), by cause:")
            lines.extend(failures_by_cause(report.results[main]))
        lines.extend(figures_table(report.results))
    if len(scored) > 1:
        pooled = overall(scored)
        lines.append("")
        skipped = len(reports) - len(scored)
        lines.append(f"== overall: {len(scored)} sets, {sum(r.questions for r in scored)} questions pooled"
                     + (f" ({skipped} skipped)" if skipped else ""))
        lines.extend(figures_table(pooled))
        partial = [m for m in pooled if sum(m in r.results for r in scored) < len(scored)]
        if partial:
            lines.append(f"(not every set was scored in: {', '.join(partial)})")
    return "\n".join(lines)


def reports_json(reports: Sequence[SetReport]) -> dict:
    """Per set and overall. The top-level "figures", "modes" and "failures" keep the single-set form
    (the project's best mode; with several sets, pooled)."""
    scored = [r for r in reports if r.skipped is None]
    pooled = overall(scored)
    main = next((r.main_mode for r in reversed(scored) if r.main_mode), None)
    main_result = pooled.get(main) if main else None
    return {
        "figures": main_result.figures if main_result else None,
        "modes": {m: r.figures for m, r in pooled.items()},
        "failures": main_result.failures if main_result else [],
        "sets": [r.to_json() for r in reports],
        "overall": {"sets": len(scored), "questions": sum(r.questions for r in scored),
                    "modes": {m: r.figures for m, r in pooled.items()},
                    "failures": {m: r.by_cause() for m, r in pooled.items()}},
    }


def score_set(eval_set: EvalSet, questions: list[EvalQuestion], engine, baseline: bool = False) -> SetReport:
    """Score one set on an engine already loaded with its knowledge directory: lexically, with the
    engine's semantic stage when it has one, and with the bm25s baseline if asked."""
    from bot.engine import Engine, build_state  # the engine imports nothing from here; keep it that way

    state = engine.state
    report = SetReport(eval_set, len(questions), passages=len(state.index.passages))
    modes = {LEXICAL: Engine(build_state(engine.knowledge)).ask if state.semantic is not None else engine.ask}
    if state.semantic is not None:
        modes[engine.mode] = engine.ask
    followups = any(q.earlier for q in questions)
    for mode, ask in modes.items():
        if followups:  # first, so the bot's own reading (with the earlier questions) stays the main mode
            report.results[f"{mode}, {ALONE}"] = evaluate(questions, _alone(ask))
        report.results[mode] = evaluate(questions, ask)
    if baseline:
        report.results[BASELINE] = evaluate(questions, _alone(Bm25sBaseline(state.index.passages).ask))
    return report


ALONE = "question alone"  # a follow-up set scored without the earlier questions, for comparison


def _alone(ask: Callable[[str], Answer | Reply]) -> Callable[..., Answer | Reply]:
    return lambda question, earlier=(): ask(question)
