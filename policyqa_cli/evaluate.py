"""Scoring answers against an evaluation file, exactly as shared/eval/README.md defines the metrics.

Normalisation before comparing: all whitespace removed, [ ] read as 〔 〕.
hit@1, hit@3, strict@1 and quote@1 are shares of the questions with expectations
(an unanswered one is a miss); abstain is the share of the others left unanswered.
"""
from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


def norm(text: str | None) -> str:
    return re.sub(r"\s+", "", text or "").replace("[", "〔").replace("]", "〕")


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    region: str | None
    expect: tuple[dict, ...]
    kind: str


@dataclass
class Outcome:
    question: Question
    response: dict
    seconds: float
    hit1: bool = False
    hit3: bool = False
    strict1: bool = False
    quote1: bool = False
    abstained: bool = False


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def _share(self, attr: str, answerable: bool) -> float:
        pool = [o for o in self.outcomes if bool(o.question.expect) == answerable]
        return sum(getattr(o, attr) for o in pool) / len(pool) if pool else 0.0

    @property
    def metrics(self) -> dict[str, float]:
        return {
            "hit@1": self._share("hit1", True),
            "hit@3": self._share("hit3", True),
            "strict@1": self._share("strict1", True),
            "quote@1": self._share("quote1", True),
            "abstain": self._share("abstained", False),
            "p50_ms": statistics.median(o.seconds for o in self.outcomes) * 1000 if self.outcomes else 0.0,
        }

    def by_kind(self) -> dict[str, tuple[int, dict[str, float | None]]]:
        """(how many questions, hit@1 / quote@1 / abstain) for each kind; None where a metric has no question."""
        out = {}
        for kind in sorted({o.question.kind for o in self.outcomes}):
            part = Report([o for o in self.outcomes if o.question.kind == kind])
            answerable = any(o.question.expect for o in part.outcomes)
            unanswerable = any(not o.question.expect for o in part.outcomes)
            m = part.metrics
            out[kind] = (len(part.outcomes), {"hit@1": m["hit@1"] if answerable else None,
                                              "quote@1": m["quote@1"] if answerable else None,
                                              "abstain": m["abstain"] if unanswerable else None})
        return out

    def misses(self) -> list[Outcome]:
        return [o for o in self.outcomes if (o.question.expect and not (o.hit1 and o.quote1))
                or (not o.question.expect and not o.abstained)]


def load_questions(path: Path) -> list[Question]:
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            out.append(Question(d["id"], d["question"], d.get("region"), tuple(d.get("expect", ())), d.get("kind", "")))
    return out


def _matches(answer: dict, expectation: dict) -> bool:
    return (norm(answer.get("doc_number")) == norm(expectation["doc"])
            and norm(expectation["contains"]) in norm(answer.get("text")))


def judge(question: Question, response: dict, seconds: float) -> Outcome:
    outcome = Outcome(question, response, seconds)
    answered = bool(response.get("answered"))
    answers = response.get("answers") or []
    if not question.expect:
        outcome.abstained = not answered
        return outcome
    if not answered or not answers:
        return outcome
    first = answers[0]
    outcome.hit1 = any(_matches(first, e) for e in question.expect)
    outcome.hit3 = any(_matches(a, e) for a in answers[:3] for e in question.expect)
    outcome.strict1 = _matches(first, question.expect[0])
    outcome.quote1 = any(_matches(first, e) and norm(e["contains"]) in norm(first.get("quote"))
                         for e in question.expect)
    return outcome


def evaluate(questions: list[Question], ask: Callable[[Question], dict]) -> Report:
    report = Report()
    for q in questions:
        started = time.perf_counter()
        response = ask(q)
        report.outcomes.append(judge(q, response, time.perf_counter() - started))
    return report
