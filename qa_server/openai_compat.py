"""POST /v1/chat/completions: the OpenAI chat-completions API, which bots and agent platforms already speak.

The last user message is the question and the one before it its context (follow-ups keep place and topic);
the region comes from `metadata.region` or a system message ("地区：宜春市", or a six-digit code). The
assistant message's `content` is the resident's reply in plain text: the quoted sentences, each followed by its
citation, then the note on which place and year they apply to. The structured citations come in `citations`,
on the message and at the top level (in the final chunk when streaming). Keys, rate limits and the answers
remembered for feedback are those of /api/v1; errors come in OpenAI's error shape (errors.openai_error_body).
"""
from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from policyqa.citations import HOTLINE

from . import presenter, schemas
from .api import library_error
from .deps import AssistantDep, RootDep, StoreDep
from .errors import openai_error_body
from .service import EVAL_HEADER, answer

MODEL = "policyqa"
MAX_REGION = 50  # as in POST /api/v1/ask


class OpenAIErrorBody(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class OpenAIError(BaseModel):
    error: OpenAIErrorBody


_ERRORS = {status: {"model": OpenAIError} for status in (400, 401, 404, 413, 422, 429, 500)}
router = APIRouter(prefix="/v1", tags=["OpenAI 兼容"], responses=_ERRORS)


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str = "text"
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: str = Field(max_length=32, description="system、user 或 assistant")
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        """The message's text; of a list of parts, the text parts joined (images and the like are not read)."""
        if isinstance(self.content, list):
            return "".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")  # temperature, max_tokens, user, …: accepted and ignored
    model: str = Field(default=MODEL, max_length=100, description="任意名称，原样返回")
    messages: list[ChatMessage] = Field(
        min_length=1, max_length=200,
        description="最后一条 user 消息是问题；之前的 user 消息是上下文；system 消息可写“地区：宜春市”")
    stream: bool = Field(default=False, description="true：按 OpenAI 的格式以 Server-Sent Events 逐段返回")
    metadata: dict[str, Any] | None = Field(default=None, description="可含 region：六位行政区划代码或地区名称")


class Citation(BaseModel):
    doc_number: str
    title: str
    section: str
    quote: str
    url: str
    citation: str = Field(description="《标题》（文号）第几条第几项")
    answer_id: str = Field(description="用于 POST /api/v1/feedback")


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    citations: list[Citation]


class Choice(BaseModel):
    index: int
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    citations: list[Citation] = Field(description="与 choices[0].message.citations 相同")


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "policyqa"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


# --- reading the conversation -------------------------------------------------------------------------------------

_REGION_SAID = re.compile(r"(?:所在地区|所在地|地区|城市|地点|region)\s*[:：=]\s*([^\s,，。;；、]+)", re.IGNORECASE)
_DIVISION_CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")


def region_of(body: ChatRequest) -> tuple[str | None, str]:
    """The region asked for, and the request field it came from (an error names it as `param`)."""
    given = (body.metadata or {}).get("region")
    if given not in (None, ""):
        return str(given).strip(), "metadata.region"
    for message in reversed(body.messages):
        if message.role in ("system", "developer"):
            text = message.text()
            said = _REGION_SAID.search(text)
            if said:
                return said.group(1), "messages"
            code = _DIVISION_CODE.search(text)
            if code:
                return code.group(0), "messages"
    return None, "messages"


# --- writing the reply ----------------------------------------------------------------------------------------------


def _after_quotes(message: str) -> str:
    # The library writes its note to stand before the quotes ("以下是…", "以下分别列出"); here it follows them.
    return message.replace("以下", "以上", 1)


def _with_hotline(message: str) -> str:
    return message if HOTLINE in message else f"{message}如有疑问请拨打医保服务热线 {HOTLINE}。"


def _block(answered: bool, message: str, answers: list[schemas.AnswerOut]) -> str:
    if not answered:
        return _with_hotline(message)
    quotes = "\n\n".join(f"{a.quote}\n——{a.citation}" for a in answers)
    return f"{quotes}\n\n{_after_quotes(message)}" if message else quotes


def reply_text(reply: schemas.AskResponse) -> str:
    """The resident's reply in plain text: one block per question, each quote followed by its citation."""
    if reply.parts:
        return "\n\n".join(f"{n}. {p.question}\n{_block(p.answered, p.message, p.answers)}"
                           for n, p in enumerate(reply.parts, 1))
    text = _block(reply.answered, reply.message, reply.answers)
    if reply.candidates:
        text += "\n可选地区：" + "、".join(f"{c.full_name or c.name}（{c.code}）" for c in reply.candidates)
    return text


def citations_of(reply: schemas.AskResponse) -> list[Citation]:
    answers = [a for p in reply.parts for a in p.answers] if reply.parts else reply.answers
    return [Citation(doc_number=a.doc_number, title=a.title, section=a.section, quote=a.quote, url=a.url,
                     citation=a.citation, answer_id=a.answer_id) for a in answers]


def _chunk(completion_id: str, created: int, model: str, delta: dict, finish: str | None = None, **extra) -> str:
    chunk = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"


def stream_events(completion: ChatCompletion) -> list[str]:
    """The completion as OpenAI's chunks: the role, the text line by line, then the end with the citations."""
    message = completion.choices[0].message
    head = (completion.id, completion.created, completion.model)
    events = [_chunk(*head, {"role": "assistant", "content": ""})]
    events += [_chunk(*head, {"content": line}) for line in message.content.splitlines(keepends=True)]
    citations = [c.model_dump() for c in message.citations]
    events.append(_chunk(*head, {}, "stop", citations=citations))
    events.append("data: [DONE]\n\n")
    return events


# --- the routes -----------------------------------------------------------------------------------------------------


def _error(status: int, code: str, message: str, param: str | None) -> JSONResponse:
    return JSONResponse(openai_error_body(status, code, message, param), status_code=status)


_STREAM = {"text/event-stream": {"schema": {"type": "string"},
                                 "example": 'data: {"object": "chat.completion.chunk", …}'}}


@router.post("/chat/completions", response_model=ChatCompletion, responses={200: {"content": _STREAM}})
async def chat_completions(body: ChatRequest, request: Request, assistant: AssistantDep, store: StoreDep,
                           root: RootDep) -> Response:
    """Answer the last user message, OpenAI-style; with `stream: true` as Server-Sent Events ending in [DONE]."""
    # On the event loop (service.answer says why).
    questions = [m.text() for m in body.messages if m.role == "user"]
    if not questions:
        return _error(422, "invalid_request", "缺少问题：对话消息里至少要有一条 role 为 user 的消息", "messages")
    region, region_param = region_of(body)
    if region is not None and len(region) > MAX_REGION:
        return _error(422, "invalid_request", f"地区不能超过 {MAX_REGION} 个字", region_param)
    previous = questions[-2] if len(questions) > 1 and len(questions[-2]) <= 500 else None
    try:
        reply = answer(assistant, store, questions[-1], region, previous_question=previous,
                       remember=EVAL_HEADER not in request.headers)
    except ValueError as e:
        refused = library_error(e)
        param = region_param if refused.code in ("unknown_region", "ambiguous_region") else "messages"
        return _error(refused.status, refused.code, refused.message, param)
    out = presenter.ask_response(reply, assistant, root)
    citations = citations_of(out)
    completion = ChatCompletion(id=f"chatcmpl-{uuid.uuid4().hex}", created=int(time.time()), model=body.model,
                                choices=[Choice(index=0, message=AssistantMessage(content=reply_text(out),
                                                                                  citations=citations))],
                                citations=citations)
    if body.stream:
        events = stream_events(completion)

        async def send():
            for event in events:
                yield event

        # X-Accel-Buffering: nginx passes the events on as they come instead of collecting the whole reply.
        return StreamingResponse(send(), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache", "x-accel-buffering": "no"})
    return Response(completion.model_dump_json(), media_type="application/json")


@router.get("/models", response_model=ModelList)
def list_models() -> ModelList:
    """The one model name, for platforms that list models before they call (any name is accepted)."""
    return ModelList(data=[ModelCard(id=MODEL)])
