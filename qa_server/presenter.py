"""Library records → the API's response models, for JSON and HTML alike (one mapping, used by both).

URLs follow the prefix the app is mounted under (`root`), so links work the same in a host application.
"""
from __future__ import annotations

from indexer.models import Clause, Notice
from indexer.regions import Region
from policyqa import Assistant
from policyqa.records import Comparison, DocumentRecord, Reply, SearchResult

from . import schemas


def document_url(notice: Notice, root: str = "") -> str:
    return f"{root}/documents/{notice.id}"


def clause_anchor(clause_id: str) -> str:
    return f"clause-{clause_id}"


def clause_url(notice: Notice, clause: Clause, root: str = "") -> str:
    return f"{document_url(notice, root)}#{clause_anchor(clause.id)}"


def _standing(notice: Notice, assistant: Assistant, root: str) -> dict:
    """The notice's coverage year, and whether (and by what) it has been replaced."""
    newer = assistant.replaced_by(notice)
    return dict(coverage_year=notice.coverage_year, in_force=newer is None,
                replaced_by=_link(newer, root) if newer else None)


def _cited(notice: Notice, clause: Clause, assistant: Assistant, root: str) -> dict:
    return dict(doc_number=notice.doc_number, title=notice.title, issuer=notice.issuer, level=notice.level,
                region=notice.region, issued=notice.issued, section=clause.section, heading=clause.heading,
                text=clause.text, **_standing(notice, assistant, root))


def region_out(region: Region, assistant: Assistant) -> schemas.RegionOut:
    chain = assistant.chain(region)
    return schemas.RegionOut(name=region.name, code=region.code, chain=[r.name for r in chain],
                             full_name=assistant.resources.divisions.full_name(region) or region.name)


def _answers(reply: Reply, assistant: Assistant, root: str) -> list[schemas.AnswerOut]:
    return [schemas.AnswerOut(**_cited(a.notice, a.clause, assistant, root), quote=a.quote, score=a.score,
                              answer_id=a.answer_id, citation=a.citation, url=clause_url(a.notice, a.clause, root))
            for a in reply.answers]


def ask_response(reply: Reply, assistant: Assistant, root: str = "") -> schemas.AskResponse:
    return schemas.AskResponse(
        answered=reply.answered,
        message=reply.message,
        region=region_out(reply.region, assistant) if reply.region else None,
        candidates=[region_out(r, assistant) for r in reply.candidates],
        answers=_answers(reply, assistant, root),
        parts=[schemas.AskPart(question=p.question, answered=p.reply.answered, message=p.reply.message,
                               answers=_answers(p.reply, assistant, root)) for p in reply.parts],
    )


def document_summary(notice: Notice, assistant: Assistant, root: str = "") -> schemas.DocumentSummary:
    return schemas.DocumentSummary(
        id=notice.id, doc_number=notice.doc_number, title=notice.title, issuer=notice.issuer, level=notice.level,
        region=notice.region, region_code=notice.region_code, issued=notice.issued, forwarded_by=notice.forwarded_by,
        effective=notice.effective, repeals=list(notice.repeals), clause_count=assistant.clause_count(notice),
        url=document_url(notice, root), **_standing(notice, assistant, root))


def document_list(assistant: Assistant, root: str = "") -> schemas.DocumentList:
    return schemas.DocumentList(documents=[document_summary(n, assistant, root) for n in assistant.documents()])


def _link(n: Notice, root: str) -> schemas.DocumentLink:
    return schemas.DocumentLink(id=n.id, doc_number=n.doc_number, title=n.title, url=document_url(n, root))


def document_detail(record: DocumentRecord, assistant: Assistant, root: str = "") -> schemas.DocumentDetail:
    notice = record.notice
    return schemas.DocumentDetail(
        **document_summary(notice, assistant, root).model_dump(),
        source=notice.source,
        cites=[_link(c, root) for c in record.cites],
        forwards=[_link(n, root) for n in record.forwards],
        forwarded_by_link=_link(record.forwarded_by, root) if record.forwarded_by else None,
        clauses=[schemas.ClauseOut(id=c.id, section=c.section, heading=c.heading, text=c.text,
                                   anchor=clause_anchor(c.id)) for c in record.clauses],
    )


def search_results(result: SearchResult, assistant: Assistant, root: str = "") -> schemas.SearchResults:
    return schemas.SearchResults(query=result.query, total=result.total, limit=result.limit, offset=result.offset,
                                 results=[schemas.ClauseHit(**_cited(h.notice, h.clause, assistant, root),
                                                            id=h.clause.id,
                                                            doc_id=h.notice.id, score=h.score,
                                                            url=clause_url(h.notice, h.clause, root),
                                                            citation=h.citation) for h in result.hits])


def comparison(data: Comparison, root: str = "") -> schemas.Comparison:
    return schemas.Comparison(
        topic=data.topic,
        cells=[schemas.CompareCell(coverage_year=c.notice.coverage_year, region=c.notice.region, level=c.notice.level,
                                   doc_number=c.notice.doc_number,
                                   title=c.notice.title, section=c.clause.section, heading=c.clause.heading,
                                   quote=c.quote, text=c.clause.text, url=clause_url(c.notice, c.clause, root),
                                   citation=c.citation) for c in data.cells],
        not_covered=[f"{n.region}（{n.doc_number}）" for n in data.not_covered],
        topics=list(data.topics),
    )


def region_options(parent: str | None, assistant: Assistant) -> schemas.RegionOptions:
    return schemas.RegionOptions(parent=parent, regions=[
        schemas.RegionOption(code=r.code, name=r.name, level=r.level) for r in assistant.regions_under(parent)])
