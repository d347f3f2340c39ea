"""The FastAPI application, made by a factory so that hosts can mount it under a prefix."""
from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import asynccontextmanager, suppress
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from policyqa import Assistant

from . import api, health, openai_compat, pages
from .errors import install_error_handlers
from .guard import Guard
from .http_rules import ErrorBoundary, HeadAsGet
from .mcp_server import HttpEndpoint
from .metrics import RequestMetrics
from .same_origin import SameOriginForms
from .settings import Settings, get_settings
from .shedding import Shedder
from .state import LiveState

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
log = logging.getLogger("policyqa")


def _reload_on_sighup(live: LiveState) -> None:
    """SIGHUP loads the rebuilt index, off the event loop; a damaged one is logged and the old one kept."""
    loop = asyncio.get_running_loop()

    def reload() -> None:
        try:
            live.reload()
        except Exception as e:  # noqa: BLE001 — a signal handler must never take the server down
            log.error("SIGHUP: new index refused, still serving the old one: %s", e)

    # Not the main thread, or no signals here: then no reload on SIGHUP.
    with suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(None, reload))


def create_app(settings: Settings | None = None, assistant: Assistant | None = None) -> FastAPI:
    """The app for `settings`; the index is loaded at start-up unless an assistant is given."""
    settings = settings or get_settings()

    live = LiveState(settings, assistant=assistant)
    mcp = HttpEndpoint(lambda: live.assistant, lambda: live.store)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        import anyio.to_thread

        # The routes that do not answer (answering runs on the loop: service.answer) run in these threads; the
        # work is CPU-bound and holds the GIL: a few threads queue requests fairly, forty would make them fight.
        anyio.to_thread.current_default_thread_limiter().total_tokens = max(1, settings.threads)
        live.warm_up()  # when run on its own: the first requests should not wait for loading
        _reload_on_sighup(live)
        async with mcp.running():  # the /mcp session manager: a mounted sub-app's own lifespan would not run
            yield
        live.close()

    # No /docs or /redoc: they load scripts from a CDN, which the pages' policy forbids; /openapi.json stays.
    app = FastAPI(title="policyqa", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="城乡居民基本医疗保险政策问答：按条款引用原文与发文字号。")
    app.state.live = live
    app.state.settings = settings  # routes read it through deps.SettingsDep; no dependency_overrides entry, which
    # would make FastAPI work out every dependency's signature again on every request

    install_error_handlers(app)
    app.include_router(api.router)
    app.include_router(openai_compat.router)
    app.include_router(health.router)
    app.add_route("/mcp", mcp, methods=["GET", "POST", "DELETE"], include_in_schema=False)

    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    # Outermost last: Guard → ErrorBoundary → HeadAsGet → SameOriginForms → Shedder → the routes.
    app.add_middleware(Shedder, settings=settings)
    app.add_middleware(SameOriginForms)
    app.add_middleware(HeadAsGet)
    app.add_middleware(ErrorBoundary)
    app.add_middleware(Guard, settings=settings)
    app.add_middleware(RequestMetrics)  # outermost: counts what the guard refuses too

    return app


def app_from_environment() -> FastAPI:
    """The factory uvicorn workers call: settings from POLICYQA_* variables (`policyqa serve --workers N`)."""
    return create_app(Settings())
