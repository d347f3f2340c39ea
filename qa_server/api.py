"""The JSON API under /api/v1."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from . import views
from .deps import EngineDep
from .errors import ApiError
from .schemas import AskRequest, AskResponse, DocumentDetail, DocumentList, ErrorResponse, SearchResults

router = APIRouter(prefix="/api/v1", responses={404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}})


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


@router.post("/ask", response_model=AskResponse)
def ask(request: AskRequest, engine: EngineDep) -> AskResponse:
    """Answer a resident's question with the clauses that answer it, best first."""
    try:
        return views.ask_response(engine, request.question, region=request.region, top_k=request.top_k)
    except views.UnknownRegion as e:
        raise ApiError(422, "unknown_region", f"参数 region 不正确：{e}") from e


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
