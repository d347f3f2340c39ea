"""Request dependencies as Annotated aliases: the API and the pages both take what they need from here."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from policyqa import Assistant

from .feedback import FeedbackStore
from .settings import Settings
from .state import LiveState


def get_live(request: Request) -> LiveState:
    return request.app.state.live


def get_assistant(request: Request) -> Assistant:
    return request.app.state.live.assistant


def get_store(request: Request) -> FeedbackStore:
    return request.app.state.live.store


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_root(request: Request) -> str:
    """The prefix the app is mounted under ("" when it runs on its own): every link starts with it."""
    return request.scope.get("root_path", "")


LiveDep = Annotated[LiveState, Depends(get_live)]
AssistantDep = Annotated[Assistant, Depends(get_assistant)]
StoreDep = Annotated[FeedbackStore, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
RootDep = Annotated[str, Depends(get_root)]
