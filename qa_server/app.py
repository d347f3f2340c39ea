"""The FastAPI application, made by a factory so that hosts can mount it under a prefix."""
from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from . import api, views
from .engine import Engine
from .settings import Settings, get_settings

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """The app for `settings`; the index is loaded at start-up unless an engine is given."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if getattr(app.state, "engine", None) is None:
            app.state.engine = Engine.load(settings.index_dir)
        yield

    app = FastAPI(title="policyqa", version="0.1.0", lifespan=lifespan,
                  description="城乡居民基本医疗保险政策问答：按条款引用原文与发文字号。")
    app.state.engine = engine
    app.state.settings = settings
    app.dependency_overrides[get_settings] = lambda: settings

    from .errors import install_error_handlers
    install_error_handlers(app)
    app.include_router(api.router)

    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

    @app.get("/documents/{doc_id}", response_class=HTMLResponse, include_in_schema=False)
    def document_page(doc_id: str, request: Request):
        engine = request.app.state.engine
        detail = views.document_detail(engine, api.find_notice(engine, doc_id))
        response = templates.TemplateResponse(request, "document.html", {"doc": detail})
        response.headers["Link"] = f'</api/v1/documents/{detail.id}>; rel="alternate"; type="application/json"'
        return response

    return app
