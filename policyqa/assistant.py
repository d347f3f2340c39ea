"""The library's one entry point, for the CLI, the web face and Python backends that embed it.

    from policyqa import Assistant

    assistant = Assistant.from_corpus("corpus", "index")   # builds the index when missing or stale
    reply = assistant.ask("孩子刚出生怎么参保", region="袁州区")
    if reply.answered:
        best = reply.answers[0]
        print(best.quote, best.notice.doc_number, best.citation)

Everything returned is a plain record (policyqa.records); nothing here knows about HTTP.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from engine import BM25Engine, Retriever
from indexer.build import build_index, index_is_stale
from indexer.models import Notice
from indexer.regions import Region
from indexer.resources import Resources

from . import answering, catalog
from .in_force import Standing, parse_as_of
from .places import children, resolve_region
from .records import Comparison, DocumentRecord, Reply, SearchResult
from .understanding import is_blank, with_context

MAX_QUESTION = 500


def _as_of(value: str | dt.date | int | None) -> dt.date | int | None:
    return value if isinstance(value, dt.date | int) else parse_as_of(value)


class Assistant:
    """Answers questions over one loaded index. Thread-safe for reading; `reloaded` gives a fresh one."""

    def __init__(self, engine: Retriever, today: Callable[[], dt.date] = dt.date.today):
        self.engine = engine
        self.today = today  # what 今年 and 去年 mean, and which year is current; injectable so tests can set it
        self.standing = Standing.of(engine.notices)  # which notices replace which
        answering.warm_up(engine)

    @classmethod
    def load(cls, index_dir: str | Path = "index", resources: Resources | None = None,
             today: Callable[[], dt.date] = dt.date.today) -> Assistant:
        """Open a built index. Raises indexer.store.IndexLoadError when it is missing, damaged or cut otherwise."""
        return cls(BM25Engine.load(Path(index_dir), resources or Resources.load()), today)

    @classmethod
    def from_corpus(cls, corpus_dir: str | Path = "corpus", index_dir: str | Path = "index") -> Assistant:
        """Build the index from `corpus_dir` first when it is missing or was built from other files."""
        if index_is_stale(Path(index_dir), Path(corpus_dir)):
            build_index(Path(corpus_dir), Path(index_dir))
        return cls.load(index_dir)

    @property
    def resources(self) -> Resources:
        return self.engine.resources

    def ask(self, question: str, region: str | None = None, top_k: int = 3,
            previous_question: str | None = None, as_of: str | dt.date | int | None = None) -> Reply:
        """The clauses that answer `question` for `region` (a six-digit code or a name), best first.

        Raises ValueError for a blank or too long question or a top_k outside 1–10, and UnknownRegion or
        AmbiguousRegion for a region that is no place or several. `as_of` (a date, a coverage year, or their text)
        answers from the notices in force then; by default, those in force now.
        """
        if is_blank(question):
            raise ValueError("问题不能为空")
        if len(question) > MAX_QUESTION:
            raise ValueError(f"问题不能超过 {MAX_QUESTION} 个字")
        if not 1 <= top_k <= 10:
            raise ValueError("返回条数须在 1 到 10 之间")
        place = resolve_region(region, self.resources.divisions)
        when = answering.When(self.today().year, _as_of(as_of), self.standing)
        return answering.ask(self.engine, with_context(question, previous_question), region=place, top_k=top_k,
                             when=when)

    def search(self, q: str = "", *, region: str | None = None, level: str | None = None, doc: str | None = None,
               limit: int = 10, offset: int = 0, as_of: str | dt.date | int | None = None) -> SearchResult:
        """Clause search over the notices in force (then, with `as_of`), filters applied before ranking.

        Raises UnknownRegion, AmbiguousRegion, UnknownDocument, ValueError (a bad `as_of`).
        """
        return catalog.search(self.engine, q, region=region, level=level, doc=doc, limit=limit, offset=offset,
                              in_force=self.in_force(as_of))

    def in_force(self, as_of: str | dt.date | int | None = None) -> list[Notice]:
        """The notices in force now, or on a date, or for a coverage year."""
        when = _as_of(as_of)
        if isinstance(when, dt.date):
            return self.standing.as_of(when)
        return self.standing.for_year(when) if isinstance(when, int) else self.standing.current()

    def replaced_by(self, notice: Notice) -> Notice | None:
        """The notice that replaces `notice`, None while it is in force."""
        return self.standing.replaced_by.get(notice.id)

    def documents(self) -> list[Notice]:
        return list(self.engine.notices)

    def document(self, key: str) -> DocumentRecord | None:
        """A notice by id or document number (any bracket style), with its clauses; None if unknown."""
        notice = self.engine.notice(key)
        return catalog.document(self.engine, notice) if notice else None

    def clause_count(self, notice: Notice) -> int:
        return self.engine.clause_count(notice)

    def compare(self, topic: str) -> Comparison:
        return catalog.compare(self.engine, topic, self.standing.current())

    def region(self, value: str | None) -> Region | None:
        """A place by code or name. Raises UnknownRegion, AmbiguousRegion."""
        return resolve_region(value, self.resources.divisions)

    def regions_under(self, parent_code: str | None) -> list[Region]:
        return children(parent_code, self.resources.divisions)

    def chain(self, region: Region) -> list[Region]:
        return self.resources.divisions.chain(region)

    def reloaded(self, index_dir: str | Path) -> Assistant:
        """The same resources over the index now in `index_dir`; this one keeps serving until swapped."""
        return Assistant(BM25Engine.load(Path(index_dir), self.resources), self.today)
