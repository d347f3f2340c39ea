"""One ASGI middleware for what every request passes: size limit, API keys, rate limit, security headers.

Pure ASGI (not BaseHTTPMiddleware) so it adds no task per request and can stop an
oversized body while it is still arriving.
"""
from __future__ import annotations

import hmac
import json
import math
import re
import time
from dataclasses import dataclass, field

from .errors import error_body, error_page, is_openai_path, openai_error_body, wants_page
from .limits import shared_counter
from .settings import Settings

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
KEYED = ("/api/", "/v1/", "/mcp")  # what needs a key when keys are set; pages stay public
UNLIMITED = ("/static/", "/healthz", "/readyz", "/metrics")  # load balancers and scrapers are not rate limited


@dataclass(frozen=True)
class RateLimit:
    requests: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> RateLimit | None:
        """"60/minute", "10/second", "1000/hour", "5/30second"; empty means no limit."""
        if not text.strip():
            return None
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*", text)
        if not m or int(m.group(1)) < 1:
            raise ValueError(f"POLICYQA_RATE_LIMIT must look like 60/minute, not {text!r}")
        return cls(int(m.group(1)), int(m.group(2) or 1) * _UNITS[m.group(3)])


@dataclass
class FixedWindowCounter:
    """Requests per identity in fixed windows; in memory, so per worker process (see README)."""

    limit: RateLimit
    counts: dict[tuple[str, int], int] = field(default_factory=dict)

    def hit(self, identity: str, now: float) -> float | None:
        """None if allowed, else seconds until the window resets."""
        window = int(now // self.limit.seconds)
        key = (identity, window)
        count = self.counts.get(key, 0) + 1
        self.counts[key] = count
        if len(self.counts) > 100_000:  # forget windows that are over
            self.counts = {k: v for k, v in self.counts.items() if k[1] >= window}
        if count > self.limit.requests:
            return (window + 1) * self.limit.seconds - now
        return None


def _error_body(code: str, message: str) -> bytes:
    return json.dumps(error_body(code, message), ensure_ascii=False).encode("utf-8")


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer TOKEN` header, "" when there is none."""
    value = authorization or ""
    return value[7:].strip() if value[:7].lower() == "bearer " else ""


class Guard:
    def __init__(self, app, settings: Settings):
        self.app = app
        self.settings = settings
        self.keys = [k.encode("utf-8") for k in settings.api_key_list]
        limit = RateLimit.parse(settings.rate_limit)
        self.counter = shared_counter(FixedWindowCounter(limit), settings.redis_url) if limit else None
        csp = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
               f"base-uri 'self'; form-action 'self'; frame-ancestors {settings.frame_ancestors}")
        self.headers = [(b"content-security-policy", csp.encode()), (b"x-content-type-options", b"nosniff"),
                        (b"referrer-policy", b"same-origin")]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        local = path[len(root):] if root and path.startswith(root) else path

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", [])) + self.headers}
            await send(message)

        # A form posted from a page (too large, too often) gets a page a browser can show, like errors.py does.
        page = wants_page(path, root, headers.get("accept", ""), headers.get("content-type", ""))

        async def reply(status: int, code: str, message: str, extra: list | None = None):
            if page:
                body, content_type = error_page(message, root, status).encode("utf-8"), b"text/html; charset=utf-8"
            else:
                body, content_type = _error_body(code, message), b"application/json; charset=utf-8"
                if is_openai_path(path, root):
                    body = json.dumps(openai_error_body(status, code, message), ensure_ascii=False).encode("utf-8")
            await send_with_headers({"type": "http.response.start", "status": status, "headers": [
                (b"content-type", content_type), (b"content-length", str(len(body)).encode())] + (extra or [])})
            await send({"type": "http.response.body", "body": body})

        too_large = f"请求内容过大（最多 {self.settings.max_body_bytes} 字节）"
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.settings.max_body_bytes):
            return await reply(413, "payload_too_large", too_large)

        is_api = local.startswith(KEYED)
        identity = None
        if is_api and self.keys and not local.startswith("/api/v1/admin/"):
            identity = self._key_of(headers)
            if identity is None:
                return await reply(401, "unauthorized",
                                   "缺少或错误的访问密钥：请在 Authorization: Bearer 或 X-API-Key 中提供",
                                   [(b"www-authenticate", b'Bearer realm="policyqa"')])
        if self.counter and not local.startswith(UNLIMITED):
            who = identity or "addr:" + (scope.get("client") or ("unknown",))[0]
            wait = self.counter.hit(who, time.time())  # wall clock: windows line up across workers and replicas
            if wait is not None:
                return await reply(429, "rate_limited", "请求过于频繁，请稍后再试",
                                   [(b"retry-after", str(max(1, math.ceil(wait))).encode())])

        received = 0
        started = refused = False

        async def limited_receive():
            # Past the limit we answer 413 ourselves and tell the app the client left, so whatever it does
            # with the half-read body (FastAPI would make it a 400) is never sent.
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.settings.max_body_bytes and not refused:
                    refused = True
                    if not started:
                        await reply(413, "payload_too_large", too_large)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message):
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send_with_headers(message)

        await self.app(scope, limited_receive, tracking_send)

    def _key_of(self, headers: dict[str, str]) -> str | None:
        """The matching key's label, comparing against every key in constant time."""
        offered = headers.get("x-api-key") or bearer_token(headers.get("authorization"))
        if not offered:
            return None
        candidate = offered.encode("utf-8")
        match = None
        for n, key in enumerate(self.keys):
            if hmac.compare_digest(candidate, key) and match is None:
                match = f"key:{n}"
        return match
