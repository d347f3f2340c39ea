"""Request dependencies as Annotated aliases: the API and the pages both take what they need from here."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from policyqa import Assistant

from .feedback import FeedbackStore
from .settings import Settings
from .state import LiveState

# async: FastAPI runs a plain `def` dependency in a worker thread, a thread hop per dependency per request. What
# may block (loading the index, checking it for a reload, opening the database) still runs in one.


async def get_live(request: Request) -> LiveState:
    return request.app.state.live


async def get_assistant(request: Request) -> Assistant:
    live: LiveState = request.app.state.live
    return live.assistant_at_hand() or await run_in_threadpool(lambda: live.assistant)


async def get_store(request: Request) -> FeedbackStore:
    live: LiveState = request.app.state.live
    return live.store_at_hand() or await run_in_threadpool(lambda: live.store)


async def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_root(request: Request) -> str:
    """The prefix the app is mounted under ("" when it runs on its own): every link starts with it."""
    return request.scope.get("root_path", "")


LiveDep = Annotated[LiveState, Depends(get_live)]
AssistantDep = Annotated[Assistant, Depends(get_assistant)]
StoreDep = Annotated[FeedbackStore, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
RootDep = Annotated[str, Depends(get_root)]
