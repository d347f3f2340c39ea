"""Two rules of HTTP the framework leaves to us: HEAD works wherever GET does, and a 500 keeps the connection.

FastAPI routes answer only the methods they name, so HEAD on a page or an API route was a 405. Here a
HEAD request is served as GET and the body is dropped, keeping the headers (Content-Length among them) that
GET would send.

Starlette answers an unhandled error with the app's 500 handler and then raises it again, so that the
server logs it; uvicorn, seeing an error after a response was sent, closes the connection, and a client
reusing it mid-stream fails. Here the error is logged and answered with the one error shape (or page), and
the request ends normally: the connection stays open. An error after the response has started is still
raised, since only closing the connection tells the client that the response was cut short.
"""
from __future__ import annotations

import logging

from starlette.requests import ClientDisconnect

from .errors import error_for

log = logging.getLogger("policyqa")


class HeadAsGet:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)

        async def without_body(message):
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)


class ErrorBoundary:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def watching(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watching)
        except ClientDisconnect:  # the client left while sending its body: nobody to answer
            return
        except Exception as exc:
            if started:
                raise
            log.exception("unhandled error", exc_info=exc)
            await error_for(scope, 500)(scope, receive, send)
