"""Cross-site form posts to the pages are refused: another site cannot make a visitor's browser post here.

The page forms (/, /feedback, /prefs) need no login, so there is no session to steal, but a form on another
site could still post a question or feedback in a visitor's name, or change their preferences. Browsers
send `Origin` with every POST (and `Referer` unless told not to); a post whose origin is another host is
refused with 403. A post with neither header is not a browser's cross-site form (curl, a backend) and goes
through, as does everything under the machine-facing routes, which keys protect.

Only the requests a browser sends cross-site without asking first are checked: a form post
(application/x-www-form-urlencoded, multipart/form-data, text/plain) or a body without a type. A JSON post
from another site needs a CORS preflight, which this service never grants.

The origin is compared with the Host the request was sent to, or with an X-Forwarded-Host set by a proxy in
front; a cross-site form cannot set either header, so neither lets an attacker through. The scheme is not
compared: behind a proxy that ends TLS the app sees http while the browser says https.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from .errors import error_for

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
MACHINE_ROUTES = ("/api/", "/v1/", "/mcp")  # JSON for programs, behind keys: not the pages' forms
_SIMPLE_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain", "")
_DEFAULT_PORTS = {"http": 80, "https": 443}
REFUSED_MESSAGE = "拒绝来自其他网站的表单提交，请在本站页面上提交"


def _host_port(authority: str, scheme: str) -> tuple[str, int | None] | None:
    """("example.cn", 443) from "example.cn" or "Example.CN:443"; a missing port is the scheme's default."""
    try:
        parts = urlsplit(f"//{authority.strip()}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname.lower(), port if port is not None else _DEFAULT_PORTS.get(scheme)


def same_origin(headers: dict[str, str]) -> bool:
    """Whether the page that sent this request is on the host it was sent to (True when the browser says
    nothing about where it came from)."""
    source = headers.get("origin") or headers.get("referer")
    if not source:
        return True
    if source == "null":  # a sandboxed frame, a data: URL, a file: page: never one of ours
        return False
    try:
        sent_from = urlsplit(source)
    except ValueError:
        return False
    if sent_from.scheme not in _DEFAULT_PORTS or not sent_from.netloc:
        return False
    origin = _host_port(sent_from.netloc.rpartition("@")[2], sent_from.scheme)
    # A Host without a port is on the browser's scheme's default port (the scheme behind a proxy may differ).
    targets = [headers.get("host", ""), *headers.get("x-forwarded-host", "").split(",")]
    return any(origin == _host_port(target, sent_from.scheme) for target in targets if target.strip())


class SameOriginForms:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            root, path = scope.get("root_path", ""), scope.get("path", "")
            local = path[len(root):] if root and path.startswith(root) else path
            if not local.startswith(MACHINE_ROUTES):
                headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
                media_type = headers.get("content-type", "").split(";")[0].strip().lower()
                if media_type in _SIMPLE_TYPES and not same_origin(headers):
                    return await error_for(scope, 403, "cross_site_form", REFUSED_MESSAGE)(scope, receive, send)
        await self.app(scope, receive, send)
