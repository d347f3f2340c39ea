"""Prometheus metrics: requests by route and status, latency, answered and abstained questions, index reloads.

With several worker processes (`policyqa serve --workers N`) each worker writes its values to files in
PROMETHEUS_MULTIPROC_DIR (set by `serve` to a fresh directory) and /metrics adds them up across workers, in
whichever worker takes the scrape: prometheus-client's multiprocess mode. The metric objects are module-level,
as prometheus-client expects: one set per process, whatever number of apps the process builds.
"""
from __future__ import annotations

import os
import time

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client import generate_latest as _generate_latest

from policyqa.records import Reply

REQUESTS = Counter("policyqa_http_requests", "HTTP requests by route, method and status",
                   ["route", "method", "status"])
LATENCY = Histogram("policyqa_http_request_duration_seconds", "Time from request to the end of the response",
                    ["route"], buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
QUESTIONS = Counter("policyqa_questions", "Questions asked, by whether the notices answered them",
                    ["outcome"])  # answered | abstained
RELOADS = Counter("policyqa_index_reloads", "Index reloads, by result", ["result"])  # loaded | refused
# Workers may hold different indexes for a moment during a reload: the most recent value of a live worker.
CLAUSES = Gauge("policyqa_index_clauses", "Clauses in the loaded index", multiprocess_mode="livemostrecent")
NOTICES = Gauge("policyqa_index_notices", "Notices in the loaded index", multiprocess_mode="livemostrecent")


def count_reply(reply: Reply) -> None:
    """One count per question: a message with several questions counts each of its parts."""
    for part in [p.reply for p in reply.parts] or [reply]:
        QUESTIONS.labels("answered" if part.answered else "abstained").inc()


def index_reloaded(ok: bool) -> None:
    RELOADS.labels("loaded" if ok else "refused").inc()


def index_loaded(notices: int, clauses: int) -> None:
    NOTICES.set(notices)
    CLAUSES.set(clauses)


def render() -> tuple[bytes, str]:
    """The exposition text and its content type: summed over worker processes in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return _generate_latest(registry), CONTENT_TYPE_LATEST
    return _generate_latest(REGISTRY), CONTENT_TYPE_LATEST


# Requests that never reach a route (refused by the guard, unknown paths) are counted by family, not by path.
_FAMILIES = ("/api/v1/", "/v1/", "/mcp", "/static/")


def route_label(scope) -> str:
    """The route's template (`/api/v1/documents/{doc_id}`), never the raw path, so that labels stay few."""
    template = getattr(scope.get("route"), "path", None)
    if template:
        return template
    root, path = scope.get("root_path", ""), scope.get("path", "")
    local = path[len(root):] if root and path.startswith(root) else path
    for family in _FAMILIES:
        if local.startswith(family):
            return f"{family}*" if family.endswith("/") else family
    return "unmatched"


class RequestMetrics:
    """Pure ASGI middleware, outermost, so it also counts what the guard refuses (401, 413, 429)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), 500

        async def send_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = route_label(scope)
            REQUESTS.labels(route, scope.get("method", ""), str(status)).inc()
            LATENCY.labels(route).observe(time.perf_counter() - started)
