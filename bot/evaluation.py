"""Score the engine on a question set: does the answer hold the evidence, and
does it decline what the knowledge base cannot answer?"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.answers import Answer
from bot.search.analysis import fold

QUESTION_KINDS = ("answerable", "unanswerable")


@dataclass(frozen=True)
class EvalQuestion:
    question: str
    kind: str
    evidence: tuple[str, ...] = ()


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
            questions.append(EvalQuestion(row["question"], kind, tuple(row.get("evidence", ()))))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{path}, line {number}: not a question ({exc})") from None
    return questions


def _contains(texts: list[str], evidence: tuple[str, ...]) -> bool:
    wanted = [normalise(e) for e in evidence]
    return any(w in normalise(t) for t in texts for w in wanted)


def evaluate(questions: list[EvalQuestion], ask: Callable[[str], Answer]) -> EvalResult:
    result = EvalResult()
    for q in questions:
        answer = ask(q.question)
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
        passages = [e.passage.text for e in answer.excerpts]
        hit1 = _contains(passages[:1], q.evidence)
        hit3 = _contains(passages[:3], q.evidence)
        quote1 = _contains([answer.excerpts[0].quote], q.evidence)
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
