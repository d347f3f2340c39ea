"""The JSON API under /api/v1."""
from __future__ import annotations

from typing import Annotated, Literal

import hmac

from fastapi import APIRouter, Header, Query, Request, Response

from indexer.store import IndexLoadError

from . import views
from .deps import EngineDep, StoreDep
from .errors import ApiError
from .schemas import (AskRequest, AskResponse, Comparison, DocumentDetail, DocumentList, ErrorResponse, FeedbackRequest,
                      FeedbackStored, RegionOptions, SearchResults)

_ERRORS = {status: {"model": ErrorResponse} for status in (400, 401, 404, 413, 422, 429, 500)}
router = APIRouter(prefix="/api/v1", responses=_ERRORS)


def find_notice(engine, doc_id: str):
    notice = engine.notice(doc_id)
    if notice is None:
        raise ApiError(404, "document_not_found", f"找不到文件“{doc_id}”")
    return notice


@router.get("/documents", response_model=DocumentList)
def list_documents(engine: EngineDep) -> DocumentList:
    """Every notice in the index."""
    return views.document_list(engine)


@router.get("/documents/{doc_id}", response_model=DocumentDetail)
def get_document(doc_id: str, engine: EngineDep) -> DocumentDetail:
    """One notice with its clauses in order; `doc_id` is its id or its document number."""
    return views.document_detail(engine, find_notice(engine, doc_id))


def answer(engine, store, question: str, region: str | None, top_k: int = 3, previous_question: str | None = None):
    """Answer and log the question when the notices don't cover it (text and time only)."""
    try:
        response = views.ask_response(engine, question, region=region, top_k=top_k, previous_question=previous_question)
    except views.UnknownRegion as e:
        raise ApiError(422, "unknown_region", f"参数 region 不正确：{e}") from e
    if not response.answered:
        store.log_unanswered(question)
    return response


def as_json(model) -> Response:
    """The model serialized once: FastAPI would validate a returned model against response_model again."""
    return Response(model.model_dump_json(), media_type="application/json")


@router.post("/ask", response_model=AskResponse)
def ask(request: AskRequest, engine: EngineDep, store: StoreDep) -> Response:
    """Answer a resident's question with the clauses that answer it, best first."""
    return as_json(answer(engine, store, request.question, request.region, request.top_k, request.previous_question))


@router.post("/feedback", response_model=FeedbackStored, status_code=201)
def give_feedback(request: FeedbackRequest, store: StoreDep) -> FeedbackStored:
    """Mark an answer helpful or not, by its answer_id or by the question and doc_number."""
    stored = store.add_feedback(helpful=request.helpful, comment=request.comment, answer_id=request.answer_id,
                                question=request.question, doc_number=request.doc_number, section=request.section)
    return FeedbackStored(id=stored)


@router.get("/search", response_model=SearchResults)
def search(
    engine: EngineDep,
    q: Annotated[str, Query(max_length=500, description="关键词；为空时按文件顺序列出条款")] = "",
    region: Annotated[str | None, Query(max_length=50, description="地区：只看适用于该地的文件（县→市→省→全国）")] = None,
    level: Annotated[Literal["national", "province", "city", "county"] | None, Query()] = None,
    doc: Annotated[str | None, Query(max_length=50, description="文件 id 或发文字号")] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    offset: Annotated[int, Query(ge=0, le=100000)] = 0,
) -> SearchResults:
    """Clause search for hotline staff, with filters applied before ranking and a total count."""
    try:
        return views.search_page(engine, q, region=region, level=level, doc=doc, limit=limit, offset=offset)
    except views.UnknownRegion as e:
        raise ApiError(422, "unknown_region", f"参数 region 不正确：{e}") from e
    except views.UnknownDocument as e:
        raise ApiError(422, "unknown_document", f"参数 doc 不正确：{e}") from e


@router.get("/compare", response_model=Comparison)
def compare(engine: EngineDep, topic: Annotated[str, Query(max_length=100)] = "") -> Comparison:
    """One topic across every place in the corpus, each cell cited."""
    return views.comparison(engine, topic)


@router.get("/regions", response_model=RegionOptions)
def region_children(parent: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None) -> RegionOptions:
    """The provinces, or the divisions under `parent` (a six-digit code): the region picker's options."""
    return views.region_options(parent)


@router.post("/admin/reload", responses={409: {"model": ErrorResponse}})
def reload_index(request: Request, x_admin_key: Annotated[str | None, Header()] = None,
                 authorization: Annotated[str | None, Header()] = None) -> dict:
    """Load the rebuilt index; requests in flight finish on the old one. A damaged index is refused."""
    expected = request.app.state.settings.admin_key
    offered = x_admin_key or (authorization[7:].strip() if (authorization or "")[:7].lower() == "bearer " else "")
    if not expected:
        raise ApiError(404, "not_found", "未启用重新加载（未设置 POLICYQA_ADMIN_KEY）")
    if not offered or not hmac.compare_digest(offered.encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "缺少或错误的管理密钥")
    try:
        engine = request.app.state.live.reload()
    except IndexLoadError as e:
        raise ApiError(409, "index_refused", f"新索引无法加载，继续使用原索引：{e}") from e
    return {"reloaded": True, "notices": len(engine.notices), "clauses": len(engine.index.clauses)}
