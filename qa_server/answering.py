"""Answering a question: the clauses that answer it, with the sentences to quote."""
from __future__ import annotations

from dataclasses import dataclass

from indexer.models import Clause, Notice

from .engine import Engine, Hit

HOTLINE = "12393"
NOT_COVERED = (f"抱歉，现有的医保政策文件里没有找到这个问题的答案。这里能回答的是城乡居民医保的缴费、参保、报销待遇等问题。"
               f"其他问题请拨打医保服务热线 {HOTLINE} 咨询。")


@dataclass(frozen=True)
class Answer:
    notice: Notice
    clause: Clause
    quote: str
    score: float


@dataclass(frozen=True)
class AskResult:
    answered: bool
    message: str
    answers: tuple[Answer, ...]


def best_quote(engine: Engine, clause: Clause, question: str) -> str:
    """The sentence of `clause` that shares the most (idf-weighted) terms with the question."""
    terms = set(engine.query_terms(question))
    idf = engine.index.idf
    vocabulary = engine.index.vocabulary

    def weight(sentence: str) -> float:
        ids = {vocabulary[t] for t in engine.tokenizer.tokens(sentence) if t in vocabulary}
        return sum(float(idf[i]) for i in ids & terms)

    return max(clause.sentences, key=weight, default=clause.text)


def ask(engine: Engine, question: str, region: str | None = None, top_k: int = 3) -> AskResult:
    page = engine.search(question, limit=top_k)
    if not page.hits:
        return AskResult(False, NOT_COVERED, ())
    answers = tuple(Answer(h.notice, h.clause, best_quote(engine, h.clause, question), h.score) for h in page.hits)
    return AskResult(True, "以下是政策文件中的相关规定。", answers)


def hit_answer(engine: Engine, hit: Hit, question: str) -> Answer:
    return Answer(hit.notice, hit.clause, best_quote(engine, hit.clause, question), hit.score)
