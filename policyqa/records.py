"""What the library returns: plain records, no HTTP. The web face maps them to its schemas (qa_server/presenter.py)."""
from __future__ import annotations

from dataclasses import dataclass

from indexer.models import Clause, Notice
from indexer.regions import Region


class UnknownRegion(ValueError):
    """A region given as a parameter that is no Chinese administrative division."""


class AmbiguousRegion(ValueError):
    """A region name shared by several divisions (朝阳区: 北京 and 长春), with no way to tell which is meant."""

    def __init__(self, message: str, candidates: tuple[Region, ...]):
        super().__init__(message)
        self.candidates = candidates


class UnknownDocument(ValueError):
    """A document filter that names no notice of the index."""


@dataclass(frozen=True)
class Answer:
    """One clause that answers, the sentences of it that do, and where it comes from."""

    notice: Notice
    clause: Clause
    quote: str  # a verbatim part of clause.text
    score: float
    answer_id: str  # stable for the same question and clause: feedback is counted by it
    citation: str  # 《title》（doc_number）第三条第（四）项


@dataclass(frozen=True)
class Reply:
    """The whole reply to a message: what to say, for which place, and the clauses, best first."""

    answered: bool
    message: str
    region: Region | None
    chain: tuple[Region, ...]  # the region and its parents up to the nation
    answers: tuple[Answer, ...]
    candidates: tuple[Region, ...] = ()  # when a place named in the question could be several: which ones
    parts: tuple[ReplyPart, ...] = ()  # a message with several questions: one reply each, in order


@dataclass(frozen=True)
class ReplyPart:
    question: str  # the question as cut from the message
    reply: Reply


@dataclass(frozen=True)
class ClauseHit:
    notice: Notice
    clause: Clause
    score: float
    citation: str


@dataclass(frozen=True)
class SearchResult:
    query: str
    total: int
    limit: int
    offset: int
    hits: tuple[ClauseHit, ...]


@dataclass(frozen=True)
class DocumentRecord:
    """A notice with its clauses and its links to the other notices of the corpus."""

    notice: Notice
    clauses: tuple[Clause, ...]
    cites: tuple[Notice, ...]
    forwards: tuple[Notice, ...]
    forwarded_by: Notice | None


@dataclass(frozen=True)
class CompareCell:
    notice: Notice
    clause: Clause
    quote: str
    citation: str


@dataclass(frozen=True)
class Comparison:
    topic: str
    cells: tuple[CompareCell, ...]
    not_covered: tuple[Notice, ...]  # notices that say nothing on the topic
    topics: tuple[str, ...]  # suggested topics
