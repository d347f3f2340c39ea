"""Data for each endpoint, built once and used by both the JSON API and the pages."""
from __future__ import annotations

import hashlib
import re
from importlib import resources

import numpy as np

from indexer import regions
from indexer.models import Notice
from indexer.regions import Region

from . import answering
from .understanding import to_simplified, with_context
from .engine import Engine
from .schemas import (AnswerOut, AskResponse, ClauseOut, DocumentDetail, DocumentLink, DocumentList,
                      DocumentSummary, RegionOut, ClauseHit, SearchResults, CompareCell, Comparison, RegionOption,
                      RegionOptions)


def document_url(notice: Notice) -> str:
    return f"/documents/{notice.id}"


def clause_anchor(clause_id: str) -> str:
    return f"clause-{clause_id}"


def _summary_fields(engine: Engine, n: Notice) -> dict:
    return dict(id=n.id, doc_number=n.doc_number, title=n.title, issuer=n.issuer, level=n.level, region=n.region,
                region_code=n.region_code, issued=n.issued, forwarded_by=n.forwarded_by,
                clause_count=engine.clause_count(n), url=document_url(n))


def _link(n: Notice) -> DocumentLink:
    return DocumentLink(id=n.id, doc_number=n.doc_number, title=n.title, url=document_url(n))


def document_list(engine: Engine) -> DocumentList:
    return DocumentList(documents=[DocumentSummary(**_summary_fields(engine, n)) for n in engine.notices])


def document_detail(engine: Engine, notice: Notice) -> DocumentDetail:
    parent = engine.notice(notice.forwarded_by) if notice.forwarded_by else None
    return DocumentDetail(
        **_summary_fields(engine, notice),
        source=notice.source,
        cites=[_link(c) for d in notice.cites if (c := engine.notice(d))],
        forwards=[_link(n) for n in engine.forwards(notice)],
        forwarded_by_link=_link(parent) if parent else None,
        clauses=[ClauseOut(id=c.id, section=c.section, heading=c.heading, text=c.text, anchor=clause_anchor(c.id))
                 for c in engine.clauses_of(notice)],
    )


def clause_url(notice: Notice, clause_id: str) -> str:
    return f"{document_url(notice)}#{clause_anchor(clause_id)}"


class UnknownRegion(ValueError):
    """The `region` given cannot be resolved to a Chinese administrative division."""


def resolve_region(value: str | None) -> Region | None:
    if value is None or not value.strip():
        return None
    region = regions.parse(value, regions.divisions())
    if region is None:
        raise UnknownRegion(f"无法识别地区“{value}”，请填写省、市或县（区）的名称，如“宜春市”“袁州区”")
    return region


def region_out(result: answering.AskResult) -> RegionOut | None:
    if result.region is None:
        return None
    return RegionOut(name=result.region.name, code=result.region.code, chain=[r.name for r in result.chain])


def answer_id(question: str, clause_id: str) -> str:
    """Stable for the same question and clause, so feedback on it can be counted together."""
    return hashlib.sha1(f"{question.strip()}\x00{clause_id}".encode("utf-8")).hexdigest()[:16]


def answer_out(a: answering.Answer, question: str) -> AnswerOut:
    return AnswerOut(answer_id=answer_id(question, a.clause.id), doc_number=a.notice.doc_number, title=a.notice.title, issuer=a.notice.issuer, level=a.notice.level,
                     region=a.notice.region, issued=a.notice.issued, section=a.clause.section, heading=a.clause.heading,
                     text=a.clause.text, quote=a.quote, score=a.score, url=clause_url(a.notice, a.clause.id))


def ask_response(engine: Engine, question: str, region: str | None = None, top_k: int = 3,
                 previous_question: str | None = None) -> AskResponse:
    """The answer to a question, as the API returns it and the chat page shows it. Raises UnknownRegion."""
    asked = with_context(question, previous_question)
    result = answering.ask(engine, asked, region=resolve_region(region), top_k=top_k)
    return AskResponse(answered=result.answered, message=result.message, region=region_out(result),
                       answers=[answer_out(a, question) for a in result.answers])


_LEVEL_WORDS = {"l1": ("第", "条"), "l2": ("第", "项"), "l3": ("第", "目"), "l4": ("第", "点")}


def section_words(section: str) -> str:
    """三、（四） → 第三条第（四）项: how a clause is read out in a citation."""
    parts = re.findall(r"第[一二三四五六七八九十百零〇两]+条|[一二三四五六七八九十百]+、|（[一二三四五六七八九十]+）|\d+\.|（\d+）", section)
    out = []
    for part in parts:
        if part.startswith("第"):
            out.append(part)
        elif part.endswith("、"):
            out.append(f"第{part[:-1]}条")
        elif part.endswith("."):
            out.append(f"第{part[:-1]}目")
        elif part[1].isdigit():
            out.append(f"第{part}点")
        else:
            out.append(f"第{part}项")
    return "".join(out)


def citation(notice: Notice, clause) -> str:
    """《title》（doc_number）第三条第（四）项 — what hotline staff read out or paste."""
    where = section_words(clause.section) if clause.section else "正文"
    return f"《{notice.title}》（{notice.doc_number}）{where}"


class UnknownDocument(ValueError):
    """The `doc` filter names no notice of the index."""


def search_page(engine: Engine, q: str, *, region: str | None = None, level: str | None = None,
                doc: str | None = None, limit: int = 10, offset: int = 0) -> SearchResults:
    """Clause search for staff: filters first, then BM25 ranking; an empty query lists clauses in order."""
    allowed = list(engine.notices)
    place = resolve_region(region)
    if place is not None:
        codes = {r.code for r in regions.divisions().chain(place)}
        allowed = [n for n in allowed if n.region_code in codes]
    if level:
        allowed = [n for n in allowed if n.level == level]
    if doc:
        named = engine.notice(doc)
        if named is None:
            raise UnknownDocument(f"找不到文件“{doc}”")
        allowed = [n for n in allowed if n.id == named.id]
    rows = np.zeros(len(engine.index.notices), dtype=bool)
    rows[[engine.notice_row(n) for n in allowed]] = True
    mask = rows[engine.index.clause_notice]
    text = to_simplified(q or "").strip()
    if text:
        page = engine.search(text, mask=mask, limit=limit, offset=offset)
        total, hits = page.total, [(h.clause, h.notice, h.score) for h in page.hits]
    else:
        rows = np.flatnonzero(mask)
        total = len(rows)
        hits = [(engine.index.clauses[int(r)], engine.index.notices[int(engine.index.clause_notice[r])], 0.0)
                for r in rows[offset:offset + limit]]
    return SearchResults(query=q or "", total=total, limit=limit, offset=offset, results=[
        ClauseHit(id=c.id, doc_id=n.id, doc_number=n.doc_number, title=n.title, issuer=n.issuer, level=n.level,
                  region=n.region, issued=n.issued, section=c.section, heading=c.heading, text=c.text,
                  score=round(score, 6), url=clause_url(n, c.id), citation=citation(n, c))
        for c, n, score in hits])


def compare_topics() -> list[str]:
    text = resources.files("indexer").joinpath("data/compare_topics.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def comparison(engine: Engine, topic: str) -> Comparison:
    """One topic across every place in the corpus: each notice's clause on it, cited; national first."""
    topic = (topic or "").strip()
    cells, silent = [], []
    if topic:
        for notice in engine.notices:
            found = answering.best_in_notice(engine, topic, notice)
            if found is None:
                silent.append(f"{notice.region}（{notice.doc_number}）")
                continue
            c = found.clause
            cells.append(CompareCell(region=notice.region, level=notice.level, doc_number=notice.doc_number,
                                     title=notice.title, section=c.section, heading=c.heading, quote=found.quote,
                                     text=c.text, url=clause_url(notice, c.id), citation=citation(notice, c)))
    return Comparison(topic=topic, cells=cells, not_covered=silent, topics=compare_topics())


def region_options(parent: str | None) -> RegionOptions:
    """The divisions under `parent` (a code), or the provinces: what the region picker offers."""
    table = regions.divisions()
    parent_code = parent or regions.NATIONAL_CODE
    children = [r for r in table.by_code.values() if r.parent_code == parent_code and r.code != parent_code]
    # A municipality's districts sit under a placeholder prefecture (市辖区): list them directly.
    flattened = []
    for r in sorted(children, key=lambda r: r.code):
        if r.name in regions.PLACEHOLDERS:
            flattened += sorted((c for c in table.by_code.values() if c.parent_code == r.code), key=lambda c: c.code)
        else:
            flattened.append(r)
    return RegionOptions(parent=parent, regions=[RegionOption(code=r.code, name=r.name, level=r.level) for r in flattened])
