"""The MCP tools ask, search_clauses, get_document and list_documents, over stdio and streamable HTTP.

Each tool returns the record its /api/v1 twin returns (the presenter's model), so an agent gets the same fields
as a backend. Over HTTP the server is mounted at /mcp behind the same keys and limits as the API, stateless with
JSON responses: any worker process can take any request, and nothing is held between them.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Annotated, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import Field

from policyqa import Assistant

from . import presenter, schemas
from .api import library_error
from .errors import ApiError, error_body
from .feedback import FeedbackStore
from .service import answer, find_document

INSTRUCTIONS = ("城乡居民基本医疗保险政策问答。ask 回答居民的问题，并引用原文条款和发文字号；"
                "search_clauses 按关键词查条款；list_documents 列出收录的通知；get_document 取一份通知的全文。"
                "地区用六位行政区划代码（推荐）或名称。")


def _keeping_logging(make: Callable[[], MCPServer]) -> MCPServer:
    """MCPServer() calls logging.basicConfig; the server's log stays configured as uvicorn and we left it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return make()
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def build_server(assistant: Callable[[], Assistant], store: Callable[[], FeedbackStore] | None = None,
                 root: str = "") -> MCPServer:
    """The four tools over whatever index `assistant()` serves now; answers are remembered when a store is given."""
    server = _keeping_logging(lambda: MCPServer("policyqa", instructions=INSTRUCTIONS, version="0.1.0"))

    @server.tool(title="政策问答")
    def ask(
        question: Annotated[str, Field(min_length=1, max_length=500, description="居民的问题，最多 500 字")],
        region: Annotated[str | None, Field(max_length=50, description="六位行政区划代码（推荐）或地区名称")] = None,
        top_k: Annotated[int, Field(ge=1, le=10, description="最多返回几条条款")] = 3,
        previous_question: Annotated[str | None, Field(max_length=500, description="上一个问题，用于追问")] = None,
    ) -> schemas.AskResponse:
        """回答居民的医保问题：引用原文句子、条款和发文字号（与 POST /api/v1/ask 相同的记录）。"""
        current = assistant()
        try:
            if store is None:
                reply = current.ask(question, region=region, top_k=top_k, previous_question=previous_question)
            else:
                reply = answer(current, store(), question, region, top_k, previous_question)
        except ValueError as e:
            raise ToolError(library_error(e).message) from e
        return presenter.ask_response(reply, current, root)

    @server.tool(title="条款检索")
    def search_clauses(
        q: Annotated[str, Field(max_length=500, description="关键词；为空时按文件顺序列出条款")] = "",
        region: Annotated[str | None, Field(max_length=50, description="只看适用于该地的文件")] = None,
        level: Literal["national", "province", "city", "county"] | None = None,
        doc: Annotated[str | None, Field(max_length=50, description="文件 id 或发文字号")] = None,
        limit: Annotated[int, Field(ge=1, le=50)] = 10,
        offset: Annotated[int, Field(ge=0, le=100000)] = 0,
    ) -> schemas.SearchResults:
        """按关键词检索条款，可按地区、层级、文件筛选（与 GET /api/v1/search 相同的记录）。"""
        current = assistant()
        try:
            result = current.search(q, region=region, level=level, doc=doc, limit=limit, offset=offset)
        except ValueError as e:
            raise ToolError(library_error(e).message) from e
        return presenter.search_results(result, current, root)

    @server.tool(title="通知全文")
    def get_document(
        doc_id: Annotated[str, Field(min_length=1, max_length=100,
                                     description="文件 id 或发文字号，如 赣医保发〔2023〕9号")],
    ) -> schemas.DocumentDetail:
        """一份通知的全文：按顺序的条款，以及它转发、引用的文件（与 GET /api/v1/documents/{id} 相同）。"""
        current = assistant()
        try:
            record = find_document(current, doc_id)
        except ApiError as e:
            raise ToolError(e.message) from e
        return presenter.document_detail(record, current, root)

    @server.tool(title="通知列表")
    def list_documents() -> schemas.DocumentList:
        """收录的全部通知：文号、标题、发文机关、层级、地区（与 GET /api/v1/documents 相同）。"""
        current = assistant()
        return presenter.document_list(current, root)

    return server


class HttpEndpoint:
    """The ASGI endpoint at /mcp. The session manager runs inside the app's lifespan (a mounted Starlette app's own
    lifespan would never run), a fresh one each time, since a manager runs only once."""

    def __init__(self, assistant: Callable[[], Assistant], store: Callable[[], FeedbackStore]):
        self.assistant, self.store = assistant, store
        self.manager = None

    @asynccontextmanager
    async def running(self):
        server = build_server(self.assistant, self.store)
        # The endpoint sits behind API keys and a proxy whose host name we cannot know: no Host/Origin allow-list.
        server.streamable_http_app(stateless_http=True, json_response=True,
                                   transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))
        manager = server.session_manager
        async with manager.run():
            self.manager = manager
            try:
                yield
            finally:
                self.manager = None

    async def __call__(self, scope, receive, send):
        if self.manager is None:  # mounted in a host application, whose lifespan does not start ours
            from fastapi.responses import JSONResponse

            body = error_body("unavailable", "MCP 服务未启动：请单独运行 policyqa serve，或使用 policyqa mcp")
            return await JSONResponse(body, status_code=503)(scope, receive, send)
        await self.manager.handle_request(scope, receive, send)


def run_stdio(index_dir) -> None:
    """`policyqa mcp`: the tools over standard input and output, for an agent that starts us itself."""
    loaded = Assistant.load(index_dir)
    build_server(lambda: loaded).run("stdio")
