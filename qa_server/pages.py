"""The HTML pages: chat for residents, clause search, comparison and documents for staff.

Each page renders the same data as its /api/v1 twin (the library call, mapped by presenter.*), takes the
same dependencies (deps.py), and carries places as six-digit codes end to end. Every interaction
is a plain form that works with JavaScript off; the scripts in static/ only make it
smoother (fetching the same server-rendered fragments instead of reloading).
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import quote as url_quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from indexer.regions import NATIONAL_CODE
from policyqa import Assistant
from policyqa.citations import HOTLINE

from . import presenter
from .deps import AssistantDep, RootDep, StoreDep
from .errors import ApiError
from .highlight import mark_quote, mark_terms
from .service import answer, find_document

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
REGION_COOKIE = "region"
LARGE_TEXT_COOKIE = "large_text"
YEAR = 365 * 24 * 3600

SUGGESTIONS = ("城乡居民医保个人一年交多少钱？", "孩子刚出生，怎么给他参保？", "过了缴费期再补交，要等多久才能报销？",
               "在乡镇卫生院看门诊能报多少？", "生孩子住院能报销多少？", "低保户参保有补助吗？")

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.filters["mark_quote"] = mark_quote
templates.env.filters["mark_terms"] = mark_terms
templates.env.filters["urlquote"] = lambda s: url_quote(s or "")
templates.env.globals["hotline"] = HOTLINE
LEVELS = (("national", "国家"), ("province", "省级"), ("city", "市级"), ("county", "县级"))

router = APIRouter(include_in_schema=False)


def _prefs(request: Request) -> dict:
    return {"large_text": request.cookies.get(LARGE_TEXT_COOKIE) == "1", "root": request.scope.get("root_path", "")}


def _picker(assistant: Assistant, code: str | None) -> dict:
    """The three selects of the region picker, filled down to the chosen place."""
    chosen = assistant.resources.divisions.by_code.get(code or "")
    chain = [r for r in assistant.chain(chosen) if r.level != "national"][::-1] if chosen else []
    picked = {r.level: r.code for r in chain}
    # A municipality is its own city: its districts are listed under it directly.
    province = chain[0] if chain else None
    city = chain[1] if len(chain) > 1 and chain[1].level == "city" else None
    return {
        "provinces": assistant.regions_under(None),
        "cities": assistant.regions_under(province.code) if province else [],
        "counties": assistant.regions_under(city.code) if city else [],
        "picked": picked,
        "chosen": chosen,
    }


def _chosen_code(province: str, city: str, county: str) -> str | None:
    return next((c for c in (county, city, province) if c and c.isdigit() and len(c) == 6), None)


def _page(request: Request, template: str, context: dict, status: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(request, template, {**_prefs(request), **context}, status_code=status)
    return response


@router.get("/", response_class=HTMLResponse)
def chat_page(request: Request, assistant: AssistantDep) -> HTMLResponse:
    code = request.cookies.get(REGION_COOKIE)
    return _page(request, "chat.html", {"picker": _picker(assistant, code), "exchange": None,
                                        "suggestions": SUGGESTIONS, "previous_question": ""})


@router.post("/", response_class=HTMLResponse)
async def chat_ask(request: Request, assistant: AssistantDep, store: StoreDep, root: RootDep,
             question: Annotated[str, Form(max_length=500)] = "",
             province: Annotated[str, Form()] = "", city: Annotated[str, Form()] = "",
             county: Annotated[str, Form()] = "", previous_question: Annotated[str, Form(max_length=500)] = "",
             fragment: Annotated[str, Form()] = "", action: Annotated[str, Form()] = "") -> HTMLResponse:
    """Ask from the chat form; with fragment=1 only the new exchange is returned (for the script). On the event
    loop (service.answer says why)."""
    code = _chosen_code(province, city, county)
    picker = _picker(assistant, code)
    exchange = None
    if action != "region" and question.strip():
        # The picker's code goes to the library as it is: a name would be parsed again, and namesakes
        # (朝阳区 in 北京 and 长春) would be confused.
        reply = answer(assistant, store, question.strip(), code if picker["chosen"] else None,
                       previous_question=previous_question or None)
        if reply.region and reply.region.code != code and reply.region.code != NATIONAL_CODE:
            code = reply.region.code  # a place named in the question moves the picker there
            picker = _picker(assistant, code)
        exchange = {"question": question.strip(), "response": presenter.ask_response(reply, assistant, root)}
    template = "_exchange.html" if fragment == "1" else "chat.html"
    page = _page(request, template, {"picker": picker, "exchange": exchange, "suggestions": SUGGESTIONS,
                                     "previous_question": question.strip() if exchange else previous_question})
    if code:
        page.set_cookie(REGION_COOKIE, code, max_age=YEAR, samesite="lax", httponly=False)
        page.headers["X-Region-Code"] = code
    return page


@router.get("/picker/regions", response_model=None)
def picker_regions(assistant: AssistantDep, parent: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None):
    """The region picker's options for the page script: public, unlike /api/v1 when keys are set."""
    return presenter.region_options(parent, assistant)


@router.post("/prefs", response_class=RedirectResponse)
def set_prefs(request: Request, large_text: Annotated[str, Form()] = "0",
              next: Annotated[str, Form()] = "/") -> RedirectResponse:
    root = request.scope.get("root_path", "")
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    target = target if target.startswith(root) else root + target
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(LARGE_TEXT_COOKIE, "1" if large_text == "1" else "0", max_age=YEAR, samesite="lax")
    return response


@router.post("/feedback")
def page_feedback(store: StoreDep, root: RootDep, helpful: Annotated[str, Form()],
                  question: Annotated[str, Form(max_length=500)], doc_number: Annotated[str, Form(max_length=64)],
                  section: Annotated[str, Form(max_length=64)] = "", fragment: Annotated[str, Form()] = "") -> Response:
    store.add_feedback(helpful=helpful == "1", question=question, doc_number=doc_number, section=section)
    if fragment == "1":
        return HTMLResponse("<span role=\"status\">谢谢您的反馈！</span>")
    return RedirectResponse(f"{root}/?thanks=1", status_code=303)


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, assistant: AssistantDep, root: RootDep,
                q: Annotated[str, Query(max_length=500)] = "",
                region: Annotated[str, Query(max_length=50)] = "", level: Annotated[str, Query(max_length=20)] = "",
                doc: Annotated[str, Query(max_length=64)] = "", page: Annotated[int, Query(ge=1, le=10000)] = 1):
    per_page = 10
    error, results = None, None
    try:
        found = assistant.search(q, region=region or None, level=level or None, doc=doc or None,
                                 limit=per_page, offset=(page - 1) * per_page)
        results = presenter.search_results(found, assistant, root)
    except ValueError as e:  # UnknownRegion, AmbiguousRegion, UnknownDocument: shown on the page
        error = str(e)
    terms = [word for word, _ in assistant.resources.tokenizer.words(q)] if q else []  # whole words: 新生儿, not 生儿
    pages = (results.total + per_page - 1) // per_page if results else 0
    return _page(request, "search.html", {
        "q": q, "region": region, "level": level, "doc": doc, "page": page, "pages": pages, "results": results,
        "error": error, "terms": terms, "documents": assistant.documents(), "levels": LEVELS,
    }, status=422 if error else 200)


@router.get("/compare", response_class=HTMLResponse)
def compare_page(request: Request, assistant: AssistantDep, root: RootDep,
                 topic: Annotated[str, Query(max_length=100)] = ""):
    return _page(request, "compare.html", {"data": presenter.comparison(assistant.compare(topic), root)})


@router.get("/documents/{doc_id}", response_class=HTMLResponse)
def document_page(doc_id: str, request: Request, assistant: AssistantDep, root: RootDep):
    try:
        record = find_document(assistant, doc_id)
    except ApiError as e:
        return _page(request, "error.html", {"message": e.message}, status=404)
    detail = presenter.document_detail(record, assistant, root)
    page = _page(request, "document.html", {"doc": detail})
    page.headers["Link"] = f'<{root}/api/v1/documents/{detail.id}>; rel="alternate"; type="application/json"'
    return page
