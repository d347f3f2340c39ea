"""Documents, clause search and comparison: what hotline staff look up, as plain records."""
from __future__ import annotations

from engine import Retriever
from indexer.models import Notice

from . import answering
from .citations import citation
from .places import chain_codes, resolve_region
from .records import ClauseHit, CompareCell, Comparison, DocumentRecord, SearchResult, UnknownDocument


def document(engine: Retriever, notice: Notice) -> DocumentRecord:
    parent = engine.notice(notice.forwarded_by) if notice.forwarded_by else None
    return DocumentRecord(
        notice=notice,
        clauses=tuple(engine.clauses_of(notice)),
        cites=tuple(c for d in notice.cites if (c := engine.notice(d))),
        forwards=tuple(engine.forwards(notice)),
        forwarded_by=parent,
    )


def search(engine: Retriever, query: str, *, region: str | None = None, level: str | None = None,
           doc: str | None = None, limit: int = 10, offset: int = 0,
           in_force: list[Notice] | None = None) -> SearchResult:
    """Clause search: filters first, then BM25 ranking; an empty query lists clauses in order.

    `in_force` (the notices in force) limits the search, unless `doc` names a notice: a replaced notice's
    clauses stay findable by its number. Raises UnknownRegion, AmbiguousRegion, UnknownDocument.
    """
    allowed = list(engine.notices) if doc or in_force is None else list(in_force)
    place = resolve_region(region, engine.resources.divisions)
    if place is not None:
        codes = chain_codes(place, engine.resources.divisions)
        allowed = [n for n in allowed if n.region_code in codes]
    if level:
        allowed = [n for n in allowed if n.level == level]
    if doc:
        named = engine.notice(doc)
        if named is None:
            raise UnknownDocument(f"找不到文件“{doc}”")
        allowed = [n for n in allowed if n.id == named.id]
    within = None if len(allowed) == len(engine.notices) else [n.id for n in allowed]
    if not allowed:
        return SearchResult(query=query or "", total=0, limit=limit, offset=offset, hits=())
    text = engine.resources.to_simplified(query or "").strip()
    if text:
        page = engine.search(text, within=within, limit=limit, offset=offset)
    else:
        page = engine.listing(within=within, limit=limit, offset=offset)
    hits = tuple(ClauseHit(h.notice, h.clause, round(h.score, 6), citation(h.notice, h.clause)) for h in page.hits)
    return SearchResult(query=query or "", total=page.total, limit=limit, offset=offset, hits=hits)


def compare(engine: Retriever, topic: str, in_force: list[Notice] | None = None) -> Comparison:
    """One topic across every place in the corpus: each notice in force's clause on it, cited; national first."""
    topic = (topic or "").strip()
    cells, silent = [], []
    if topic:
        for notice in (engine.notices if in_force is None else in_force):
            found = answering.best_in_notice(engine, topic, notice)
            if found is None:
                silent.append(notice)
            else:
                cells.append(CompareCell(notice, found.clause, found.quote, found.citation))
    return Comparison(topic, tuple(cells), tuple(silent), engine.resources.compare_topics)
