"""One error shape for every 4xx and 5xx: {"error": {"code": str, "message": str}}, message in Chinese.

Residents and hotline staff read these messages, so a validation error names the field in Chinese words and
says what is wrong ("问题不能超过 500 个字"), never pydantic's English. A browser posting a page form gets the
same message on an HTML page instead of JSON it cannot show.
"""
from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from .feedback import StoreUnavailable

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

# Every parameter of the API and the page forms, as a resident or hotline worker would call it.
FIELD_NAMES = {
    "question": "问题",
    "previous_question": "上一个问题",
    "region": "地区",
    "top_k": "返回条数",
    "answer_id": "回答编号",
    "doc_number": "发文字号",
    "section": "条款序号",
    "helpful": "是否有帮助",
    "comment": "意见",
    "q": "关键词",
    "limit": "每页条数",
    "offset": "起始位置",
    "page": "页码",
    "level": "层级",
    "doc": "文件",
    "doc_id": "文件",
    "topic": "话题",
    "parent": "上级地区代码",
    "province": "省份",
    "city": "城市",
    "county": "县（区）",
    "large_text": "大字模式",
    "next": "返回地址",
    "fragment": "片段参数",
    "action": "操作",
    "x_admin_key": "管理密钥",
    "authorization": "访问密钥",
    "messages": "对话消息",
    "role": "消息角色",
    "content": "消息内容",
    "model": "模型名称",
    "stream": "流式输出",
    "metadata": "附加信息",
}

_LOCATIONS = ("body", "query", "path", "header", "cookie")


class ApiError(Exception):
    """An error with a code and a Chinese message, raised by handlers."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_body(code: str, message: str) -> dict:
    """The one error shape of every 4xx and 5xx."""
    return {"error": {"code": code, "message": message}}


# The OpenAI-compatible route (/v1/…) answers in OpenAI's error shape, which its clients parse; same codes, same
# Chinese messages. `type` is the class of error those clients and their docs know.
OPENAI_PREFIX = "/v1/"
_OPENAI_TYPES = {401: "authentication_error", 403: "permission_error", 404: "not_found_error",
                 429: "rate_limit_error"}


def openai_error_body(status: int, code: str, message: str, param: str | None = None) -> dict:
    """{"error": {"message", "type", "param", "code"}}, as the OpenAI API and its client packages have it."""
    kind = _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def is_openai_path(path: str, root: str = "") -> bool:
    local = path[len(root):] if root and path.startswith(root) else path
    return local.startswith(OPENAI_PREFIX)


def error_response(status: int, code: str | None = None, message: str | None = None,
                   headers: dict | None = None) -> JSONResponse:
    default_code, default_message = _DEFAULT_MESSAGES.get(status, ("error", "请求失败"))
    return JSONResponse(error_body(code or default_code, message or default_message), status_code=status,
                        headers=headers)


# --- validation errors in Chinese ---------------------------------------------------------------------------


def field_label(loc: Iterable) -> str:
    """The Chinese name of the field an error location points at; "请求内容" for the body as a whole."""
    names = [p for p in loc if isinstance(p, str) and p not in _LOCATIONS]
    if not names:
        return "请求内容"
    name = names[-1]
    return FIELD_NAMES.get(name, f"参数 {name}")


def _declared_bounds(request: Request | None, loc: tuple) -> tuple[float | None, float | None]:
    """The lower and upper bound a parameter declares (Query(ge=1, le=50), Field(ge=1, le=10)), so that one
    message can give the whole range while pydantic's error carries only the bound that was crossed."""
    route = request.scope.get("route") if request is not None else None
    dependant = getattr(route, "dependant", None)
    names = [p for p in loc if isinstance(p, str) and p not in _LOCATIONS]
    if dependant is None or not names:
        return None, None
    name, lower, upper = names[-1], None, None
    pending = [dependant]
    while pending:
        current = pending.pop()
        pending.extend(current.dependencies)
        for param in (*current.query_params, *current.path_params, *current.body_params, *current.header_params):
            infos = []
            if param.name == name or getattr(param, "alias", None) == name:
                infos.append(param.field_info)
            model_fields = getattr(getattr(param.field_info, "annotation", None), "model_fields", None)
            if isinstance(model_fields, dict) and name in model_fields:
                infos.append(model_fields[name])
            for info in infos:
                for rule in info.metadata:
                    lower = getattr(rule, "ge", lower)
                    upper = getattr(rule, "le", upper)
    return lower, upper


def _expected_choices(expected: str) -> str:
    """pydantic's "'national', 'province' or 'city'" as "national、province、city"."""
    choices = re.findall(r"'([^']*)'", expected)
    return "、".join(choices) if choices else expected


def validation_message(error: dict, request: Request | None = None) -> str:
    """One pydantic error as a Chinese sentence naming the field."""
    kind = error.get("type", "")
    loc = tuple(error.get("loc", ()))
    ctx = error.get("ctx") or {}
    label = field_label(loc)
    if kind == "json_invalid":
        return "请求内容不是有效的 JSON"
    if kind == "value_error":
        # Our own validators already speak Chinese; pydantic only puts its English prefix in front.
        message = str(error.get("msg", ""))
        return message.removeprefix("Value error, ").strip() or f"{label}不正确"
    if kind == "missing":
        return f"缺少{label}"
    if kind == "string_too_short":
        minimum = ctx.get("min_length", 1)
        return f"{label}不能为空" if minimum <= 1 else f"{label}至少 {minimum} 个字"
    if kind == "string_too_long":
        return f"{label}不能超过 {ctx.get('max_length')} 个字"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        lower, upper = _declared_bounds(request, loc)
        if lower is not None and upper is not None:
            return f"{label}须在 {lower} 到 {upper} 之间"
        if kind == "greater_than_equal":
            return f"{label}不能小于 {ctx.get('ge')}"
        if kind == "less_than_equal":
            return f"{label}不能大于 {ctx.get('le')}"
        if kind == "greater_than":
            return f"{label}须大于 {ctx.get('gt')}"
        return f"{label}须小于 {ctx.get('lt')}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{label}须为整数"
    if kind in ("float_parsing", "float_type", "decimal_parsing"):
        return f"{label}须为数字"
    if kind in ("bool_parsing", "bool_type"):
        return f"{label}须为 true 或 false"
    if kind in ("string_type", "string_unicode"):
        return f"{label}须为文字"
    if kind == "string_pattern_mismatch":
        if ctx.get("pattern") in (r"^\d{6}$", r"\d{6}"):
            return f"{label}须为六位数字"
        return f"{label}格式不正确"
    if kind in ("literal_error", "enum"):
        return f"{label}须为以下之一：{_expected_choices(str(ctx.get('expected', '')))}"
    if kind in ("model_attributes_type", "dict_type", "model_type"):
        return "请求内容须为 JSON 对象" if label == "请求内容" else f"{label}格式不正确"
    if kind == "extra_forbidden":
        return f"不支持的参数：{'.'.join(str(p) for p in loc if p not in _LOCATIONS)}"
    return f"{label}不正确"


def validation_messages(errors: Iterable[dict], request: Request | None = None) -> str:
    """Every distinct problem of one request, joined, so a client can fix them all at once."""
    messages: list[str] = []
    for error in errors:
        message = validation_message(error, request)
        if message not in messages:
            messages.append(message)
    return "；".join(messages[:5]) or _DEFAULT_MESSAGES[422][1]


# --- a page for browsers, JSON for everyone else --------------------------------------------------------------

_ERROR_PAGE = ('<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" '
               'content="width=device-width, initial-scale=1"><title>{message}</title>'
               '<link rel="stylesheet" href="{root}/static/app.css"></head><body><main id="main"><h1>{message}</h1>'
               '{hint}<p><a href="{root}/">回到问答首页</a></p></main></body></html>')
_FIX_AND_RETRY = (400, 413, 422)  # what was sent can be mended on the page before

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def error_page(message: str, root: str = "", status: int = 422) -> str:
    """The HTML error page; its stylesheet and home link follow the prefix the app is mounted under."""
    hint = "<p>请返回上一页修改后再试。</p>" if status in _FIX_AND_RETRY else ""
    return _ERROR_PAGE.format(message=html.escape(message), root=html.escape(root), hint=hint)


def wants_page(path: str, root: str, accept: str, content_type: str) -> bool:
    """A page request outside the API, from a browser (Accept: text/html) or a plain form post, is answered
    with an HTML page; API paths and every other client get the JSON shape."""
    local = path[len(root):] if root and path.startswith(root) else path
    if local.startswith(("/api/", OPENAI_PREFIX, "/mcp")):  # machine-facing routes: never an HTML page
        return False
    return "text/html" in accept.lower() or content_type.lower().startswith(_FORM_TYPES)


def _wants_page(request: Request) -> bool:
    return wants_page(request.url.path, request.scope.get("root_path", ""), request.headers.get("accept", ""),
                      request.headers.get("content-type", ""))


def _respond(request: Request, status: int, code: str | None = None, message: str | None = None,
             headers: dict | None = None) -> Response:
    if _wants_page(request):
        text = message or _DEFAULT_MESSAGES.get(status, ("error", "请求失败"))[1]
        return HTMLResponse(error_page(text, request.scope.get("root_path", ""), status), status_code=status,
                            headers=headers)
    if is_openai_path(request.url.path, request.scope.get("root_path", "")):
        default_code, default_message = _DEFAULT_MESSAGES.get(status, ("error", "请求失败"))
        return JSONResponse(openai_error_body(status, code or default_code, message or default_message),
                            status_code=status, headers=headers)
    return error_response(status, code, message, headers)


def error_for(scope, status: int, code: str | None = None, message: str | None = None,
              headers: dict | None = None) -> Response:
    """The error response for an ASGI scope, for middleware that have no Request: the same page or shape."""
    return _respond(Request(scope), status, code, message, headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return _respond(request, exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(StoreUnavailable)
    async def store_unavailable(request: Request, exc: StoreUnavailable) -> Response:
        # The API gets 503 in the error shape, a page form the same message on a page; try again shortly.
        return _respond(request, 503, "store_unavailable", str(exc), {"Retry-After": "30"})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # exc.detail is Starlette's English ("Not Found"): the status's Chinese message is shown instead.
        return _respond(request, exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return _respond(request, 422, "invalid_request", validation_messages(exc.errors(), request))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return _respond(request, 500)
