"""The JSON API under /api/v1: library calls in, presenter models out."""
from __future__ import annotations

import hmac
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response

from indexer.store import IndexLoadError
from policyqa import AmbiguousRegion, UnknownDocument, UnknownRegion

from . import presenter
from .deps import AssistantDep, LiveDep, RootDep, SettingsDep, StoreDep
from .errors import ApiError
from .feedback import UnknownAnswer
from .guard import bearer_token
from .schemas import (
    AskRequest,
    AskResponse,
    Comparison,
    DocumentDetail,
    DocumentList,
    ErrorResponse,
    FeedbackRequest,
    FeedbackStored,
    RegionOptions,
    SearchResults,
)
from .service import EVAL_HEADER, answer, find_document

_ERRORS = {status: {"model": ErrorResponse} for status in (400, 401, 404, 413, 422, 429, 500)}
router = APIRouter(prefix="/api/v1", responses=_ERRORS)

def library_error(e: ValueError) -> ApiError:
    """A library error as the API reports it: 422 with a code and the library's Chinese message."""
    if isinstance(e, UnknownRegion):
        return ApiError(422, "unknown_region", f"地区不正确：{e}")
    if isinstance(e, AmbiguousRegion):
        return ApiError(422, "ambiguous_region", f"地区不明确：{e}")
    if isinstance(e, UnknownDocument):
        return ApiError(422, "unknown_document", f"文件不正确：{e}")
    return ApiError(422, "invalid_request", str(e))


def as_json(model) -> Response:
    """The model serialized once: FastAPI would validate a returned model against response_model again."""
    return Response(model.model_dump_json(), media_type="application/json")


@router.get("/documents", response_model=DocumentList)
def list_documents(assistant: AssistantDep, root: RootDep) -> Response:
    """Every notice in the index."""
    return as_json(presenter.document_list(assistant, root))


@router.get("/documents/{doc_id}", response_model=DocumentDetail)
def get_document(doc_id: str, assistant: AssistantDep, root: RootDep) -> Response:
    """One notice with its clauses in order; `doc_id` is its id or its document number."""
    return as_json(presenter.document_detail(find_document(assistant, doc_id), assistant, root))


@router.post("/ask", response_model=AskResponse)
async def ask(body: AskRequest, request: Request, assistant: AssistantDep, store: StoreDep,
              root: RootDep) -> Response:
    """Answer a resident's question with the clauses that answer it, best first."""
    # On the event loop (service.answer says why).
    try:
        reply = answer(assistant, store, body.question, body.region, body.top_k, body.previous_question,
                       remember=EVAL_HEADER not in request.headers, as_of=body.as_of)
    except ValueError as e:
        raise library_error(e) from e
    return as_json(presenter.ask_response(reply, assistant, root))


@router.post("/feedback", response_model=FeedbackStored, status_code=201,
             responses={404: {"model": ErrorResponse}, 503: {"model": ErrorResponse}})
def give_feedback(body: FeedbackRequest, store: StoreDep) -> FeedbackStored:
    """Mark an answer helpful or not, by its answer_id or by the question and doc_number; 503 (store_unavailable)
    when the database cannot take it now (qa_server/errors.py answers StoreUnavailable)."""
    try:
        stored = store.add_feedback(helpful=body.helpful, comment=body.comment, answer_id=body.answer_id,
                                    question=body.question, doc_number=body.doc_number, section=body.section)
    except UnknownAnswer as e:
        raise ApiError(404, "answer_not_found", str(e)) from e
    return FeedbackStored(id=stored)


@router.get("/search", response_model=SearchResults)
def search(
    assistant: AssistantDep,
    root: RootDep,
    q: Annotated[str, Query(max_length=500, description="关键词；为空时按文件顺序列出条款")] = "",
    region: Annotated[
        str | None, Query(max_length=50, description="地区代码或名称：只看适用于该地的文件（县→市→省→全国）")
    ] = None,
    level: Annotated[Literal["national", "province", "city", "county"] | None, Query()] = None,
    doc: Annotated[str | None, Query(max_length=50, description="文件 id 或发文字号")] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    offset: Annotated[int, Query(ge=0, le=100000)] = 0,
    as_of: Annotated[
        str | None, Query(max_length=10, description="哪一天（2023-10-01）或哪个年度（2024）的现行文件")
    ] = None,
) -> Response:
    """Clause search for hotline staff over the notices in force, filters applied before ranking, with a total."""
    try:
        result = assistant.search(q, region=region, level=level, doc=doc, limit=limit, offset=offset, as_of=as_of)
    except ValueError as e:
        raise library_error(e) from e
    return as_json(presenter.search_results(result, assistant, root))


@router.get("/compare", response_model=Comparison)
def compare(assistant: AssistantDep, root: RootDep, topic: Annotated[str, Query(max_length=100)] = "") -> Response:
    """One topic across every place in the corpus, each cell cited."""
    return as_json(presenter.comparison(assistant.compare(topic), root))


@router.get("/regions", response_model=RegionOptions)
def region_children(assistant: AssistantDep,
                    parent: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None) -> RegionOptions:
    """The provinces, or the divisions under `parent` (a six-digit code): the region picker's options."""
    return presenter.region_options(parent, assistant)


@router.post("/admin/reload", responses={409: {"model": ErrorResponse}})
def reload_index(live: LiveDep, settings: SettingsDep, x_admin_key: Annotated[str | None, Header()] = None,
                 authorization: Annotated[str | None, Header()] = None) -> dict:
    """Load the rebuilt index; requests in flight finish on the old one. A damaged index is refused."""
    expected = settings.admin_key
    offered = x_admin_key or bearer_token(authorization)
    if not expected:
        raise ApiError(404, "not_found", "未启用重新加载（未设置 POLICYQA_ADMIN_KEY）")
    if not offered or not hmac.compare_digest(offered.encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "缺少或错误的管理密钥")
    try:
        assistant = live.reload()
    except IndexLoadError as e:
        raise ApiError(409, "index_refused", f"新索引无法加载，继续使用原索引：{e}") from e
    documents = assistant.documents()
    return {"reloaded": True, "notices": len(documents), "clauses": sum(map(assistant.clause_count, documents))}
