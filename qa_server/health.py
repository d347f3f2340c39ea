"""/healthz, /readyz and /metrics: for load balancers, Kubernetes probes and Prometheus. No key, no rate limit."""
from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from . import metrics
from .deps import LiveDep

router = APIRouter(include_in_schema=False)


def _plain(value):
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


@router.get("/healthz")
def healthz() -> dict:
    """The process is alive and answers HTTP; says nothing about the index."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(live: LiveDep) -> Response:
    """200 while an index is loaded and serving; 503 while the first one loads, or after a reload was refused."""
    # Not `live.assistant` before the first load: a probe must not wait for it. After it, yes: that also looks for
    # a rebuilt index, so readiness follows the index on disk even when no question comes in.
    assistant = live.assistant if live.current is not None else None
    status = live.status
    index_version = _plain(getattr(live, "index_version", None))  # when the state records index versions
    fallback = _plain(getattr(live, "fallback", None))
    if assistant is None:
        return JSONResponse({"status": "loading", "message": "索引正在加载，请稍后"}, status_code=503)
    documents = assistant.documents()
    manifest = getattr(assistant.engine, "manifest", None) or {}
    index = {"format": manifest.get("format"), "format_version": manifest.get("version"),
             "created": manifest.get("created"), "version": index_version, "fallback": fallback,
             "notices": len(documents), "clauses": sum(map(assistant.clause_count, documents))}
    if status.refused:
        return JSONResponse({"status": "reload_refused", "message": f"新索引无法加载，仍在使用原索引：{status.refused}",
                             "index": index}, status_code=503)
    return JSONResponse({"status": "ready", "index": index})


@router.get("/metrics")
def prometheus_metrics(live: LiveDep) -> Response:
    """Prometheus text format, summed across worker processes."""
    assistant = live.current
    if assistant is not None:
        documents = assistant.documents()
        metrics.index_loaded(len(documents), sum(map(assistant.clause_count, documents)))
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
