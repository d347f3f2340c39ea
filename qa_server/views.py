"""Data for each endpoint, built once and used by both the JSON API and the pages."""
from __future__ import annotations

from indexer.models import Notice

from . import answering
from .engine import Engine
from .schemas import (AnswerOut, AskResponse, ClauseOut, DocumentDetail, DocumentLink, DocumentList,
                      DocumentSummary)


def document_url(notice: Notice) -> str:
    return f"/documents/{notice.id}"


def clause_anchor(clause_id: str) -> str:
    return f"clause-{clause_id}"


def _summary_fields(n: Notice) -> dict:
    return dict(id=n.id, doc_number=n.doc_number, title=n.title, issuer=n.issuer, level=n.level, region=n.region,
                region_code=n.region_code, issued=n.issued, forwarded_by=n.forwarded_by,
                clause_count=len(n.clauses), url=document_url(n))


def _link(n: Notice) -> DocumentLink:
    return DocumentLink(id=n.id, doc_number=n.doc_number, title=n.title, url=document_url(n))


def document_list(engine: Engine) -> DocumentList:
    return DocumentList(documents=[DocumentSummary(**_summary_fields(n)) for n in engine.notices])


def document_detail(engine: Engine, notice: Notice) -> DocumentDetail:
    parent = engine.notice(notice.forwarded_by) if notice.forwarded_by else None
    return DocumentDetail(
        **_summary_fields(notice),
        source=notice.source,
        cites=[_link(c) for d in notice.cites if (c := engine.notice(d))],
        forwards=[_link(n) for n in engine.forwards(notice)],
        forwarded_by_link=_link(parent) if parent else None,
        clauses=[ClauseOut(id=c.id, section=c.section, heading=c.heading, text=c.text, anchor=clause_anchor(c.id))
                 for c in notice.clauses],
    )


def clause_url(notice: Notice, clause_id: str) -> str:
    return f"{document_url(notice)}#{clause_anchor(clause_id)}"


def ask_response(engine: Engine, question: str, region: str | None = None, top_k: int = 3) -> AskResponse:
    result = answering.ask(engine, question, region=region, top_k=top_k)
    return AskResponse(
        answered=result.answered,
        message=result.message,
        region=None,
        answers=[AnswerOut(doc_number=a.notice.doc_number, title=a.notice.title, issuer=a.notice.issuer,
                           level=a.notice.level, region=a.notice.region, issued=a.notice.issued,
                           section=a.clause.section, heading=a.clause.heading, text=a.clause.text, quote=a.quote,
                           score=round(a.score, 6), url=clause_url(a.notice, a.clause.id))
                 for a in result.answers],
    )
