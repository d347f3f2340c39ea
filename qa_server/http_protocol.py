"""uvicorn's HTTP protocols, answering a malformed request in our error shape instead of English plain text.

A request uvicorn cannot parse never reaches the app, so errors.py cannot word it: uvicorn itself sends
"400 Invalid HTTP request received." as text/plain. These subclasses send the same 400, closing the
connection as uvicorn does, but with {"error": {"code", "message"}} and a Chinese message, like every other
error of the service. Pass AutoHTTPProtocol as `http=` wherever uvicorn is started.
"""
from __future__ import annotations

import asyncio
import json

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .errors import error_body

BAD_REQUEST_MESSAGE = "请求格式不正确：不是有效的 HTTP 请求"
_BODY = json.dumps(error_body("bad_request", BAD_REQUEST_MESSAGE), ensure_ascii=False, separators=(",", ":")).encode()
_HEADERS = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(_BODY)).encode()),
            (b"connection", b"close")]


class JsonH11Protocol(H11Protocol):
    def send_400_response(self, msg: str) -> None:  # msg: uvicorn's English, already logged by the caller
        for event in (h11.Response(status_code=400, headers=_HEADERS, reason=b"Bad Request"), h11.Data(data=_BODY),
                      h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()


AutoHTTPProtocol: type[asyncio.Protocol] = JsonH11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools is optional in uvicorn; h11 is what uvicorn falls back on too
    pass
else:
    class JsonHttpToolsProtocol(HttpToolsProtocol):
        def send_400_response(self, msg: str) -> None:  # msg: uvicorn's English, already logged by the caller
            content = [b"HTTP/1.1 400 Bad Request\r\n"]
            for name, value in [*self.server_state.default_headers, *_HEADERS]:
                content += [name, b": ", value, b"\r\n"]
            content += [b"\r\n", _BODY]
            self.transport.write(b"".join(content))
            self.transport.close()

    AutoHTTPProtocol = JsonHttpToolsProtocol
