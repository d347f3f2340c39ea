"""Request dependencies as Annotated aliases."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .engine import Engine
from .feedback import FeedbackStore


def get_engine(request: Request) -> Engine:
    return request.app.state.live.engine


def get_store(request: Request) -> FeedbackStore:
    return request.app.state.live.store


EngineDep = Annotated[Engine, Depends(get_engine)]
StoreDep = Annotated[FeedbackStore, Depends(get_store)]
