"""One error shape for every 4xx and 5xx: {"error": {"code": str, "message": str}}, message in Chinese."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("policyqa")

_DEFAULT_MESSAGES = {
    400: ("bad_request", "请求格式不正确"),
    401: ("unauthorized", "缺少或错误的访问密钥"),
    403: ("forbidden", "没有访问权限"),
    404: ("not_found", "找不到请求的内容"),
    405: ("method_not_allowed", "不支持该请求方法"),
    413: ("payload_too_large", "请求内容过大"),
    422: ("invalid_request", "请求参数不正确"),
    429: ("rate_limited", "请求过于频繁，请稍后再试"),
    500: ("internal_error", "服务器内部错误，请稍后再试"),
    503: ("unavailable", "服务暂时不可用，请稍后再试"),
}


class ApiError(Exception):
    """An error with a code and a Chinese message, raised by handlers."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_response(status: int, code: str | None = None, message: str | None = None,
                   headers: dict | None = None) -> JSONResponse:
    default_code, default_message = _DEFAULT_MESSAGES.get(status, ("error", "请求失败"))
    return JSONResponse({"error": {"code": code or default_code, "message": message or default_message}},
                        status_code=status, headers=headers)


def _field_name(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "请求"


_ERROR_PAGE = ('<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" '
               'content="width=device-width, initial-scale=1"><title>{message}</title>'
               '<link rel="stylesheet" href="/static/app.css"></head><body><main id="main"><h1>{message}</h1>'
               '<p><a href="/">回到问答首页</a></p></main></body></html>')


def _wants_page(request: Request) -> bool:
    """A browser asking for a page outside the API gets an HTML error; everything else the JSON shape."""
    path = request.url.path
    return not path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if _wants_page(request):
            code, message = _DEFAULT_MESSAGES.get(exc.status_code, ("error", "请求失败"))
            return HTMLResponse(_ERROR_PAGE.format(message=message), status_code=exc.status_code)
        return error_response(exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        field = _field_name(tuple(first.get("loc", ())))
        return error_response(422, "invalid_request", f"参数 {field} 不正确：{first.get('msg', '格式错误')}")

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500)
