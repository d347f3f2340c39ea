"""uvicorn's HTTP protocols with our limits, answering what they refuse in our error shape.

A request uvicorn cannot parse never reaches the app, so errors.py cannot word it: uvicorn itself sends
"400 Invalid HTTP request received." as text/plain. These subclasses send the same 400, closing the
connection as uvicorn does, but with {"error": {"code", "message"}} and a Chinese message, like every other
error of the service.

uvicorn (with httptools) also puts no bound on a request's head: httptools keeps a header value growing
until its line ends, so 200 MB of headers cost 200 MB, and a client that sends its head one byte at a time
holds a connection for ever (the keep-alive timer restarts on every byte). The httptools protocol here
counts the bytes and lines of the head as they arrive (431 past the limits), gives the head and the body
each a deadline (408, then the connection is closed), and closes a connection that never sends a byte.

When the worker is full (shedding.py), it also answers an API request 503 itself, before the app, and reads
a connection that asks again before its Retry-After only when that time is up.

`server_options(settings)` is what both start paths (`policyqa serve` and its workers) give uvicorn.
"""
from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import dataclass

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .errors import error_body
from .settings import Settings
from .shedding import OVERLOADED_MESSAGE, PEER_CLOSED, RETRY_AFTER_SECONDS, STATE_KEY, UNSHED

BAD_REQUEST_MESSAGE = "请求格式不正确：不是有效的 HTTP 请求"


def _encoded(code: str, message: str) -> bytes:
    return json.dumps(error_body(code, message), ensure_ascii=False, separators=(",", ":")).encode()


def _headers(body: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]


_BODY = _encoded("bad_request", BAD_REQUEST_MESSAGE)
_HEADERS = _headers(_BODY)
_REASONS = {400: b"Bad Request", 408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


@dataclass(frozen=True)
class ProtocolLimits:
    max_header_bytes: int = 32 * 1024
    max_headers: int = 100
    header_timeout: float = 10.0
    body_timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ProtocolLimits:
        return cls(settings.max_header_bytes, settings.max_headers, settings.header_timeout_seconds,
                   settings.body_timeout_seconds)

    def too_large_message(self) -> str:
        return f"请求头过大（最多 {self.max_header_bytes} 字节、{self.max_headers} 行）"


class JsonH11Protocol(H11Protocol):
    """The fallback when httptools is missing; its head is bounded by h11_max_incomplete_event_size."""

    def send_400_response(self, msg: str) -> None:  # msg: uvicorn's English, already logged by the caller
        for event in (h11.Response(status_code=400, headers=_HEADERS, reason=b"Bad Request"), h11.Data(data=_BODY),
                      h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()


AutoHTTPProtocol: type[asyncio.Protocol] = JsonH11Protocol


_OVERLOADED_BODY = _encoded("overloaded", OVERLOADED_MESSAGE)
_OVERLOADED_HEAD = b"".join([
    b"content-type: application/json; charset=utf-8\r\n",
    b"content-length: %d\r\n" % len(_OVERLOADED_BODY),
    b"retry-after: %d\r\n" % RETRY_AFTER_SECONDS,
    b"x-content-type-options: nosniff\r\n"])


class _Answered:
    """Stands for the request-response cycle of a request answered by the protocol itself: its body, still
    arriving, is parsed and dropped (uvicorn drops the body of a cycle whose response is complete)."""

    response_started = response_complete = True

    class message_event:  # noqa: N801 — what connection_lost sets on a cycle
        @staticmethod
        def set() -> None:
            pass


class _Refused(Exception):
    """Raised inside a parser callback to stop parsing; the refusal to send is in `_refusal`."""


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools is optional in uvicorn; h11 is what uvicorn falls back on too
    pass
else:
    class JsonHttpToolsProtocol(HttpToolsProtocol):
        limits = ProtocolLimits()

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._reading_head = True  # between the end of one request and the end of the next one's headers
            self._head_bytes = 0
            self._header_lines = 0
            self._head_timer: asyncio.TimerHandle | None = None
            self._body_timer: asyncio.TimerHandle | None = None
            self._refusal: tuple[int, bytes] | None = None
            self._last_shed = float("-inf")  # when this connection last got a 503 from _shed_early

        # --- connection ---

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            # A connection that never sends a byte is held by nothing else: uvicorn's keep-alive timer only
            # starts after a response.
            self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_timed_out)

        def connection_lost(self, exc: Exception | None) -> None:
            for timer in (self._head_timer, self._body_timer):
                if timer is not None:
                    timer.cancel()
            self._head_timer = self._body_timer = None
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._reading_head:
                if self._head_timer is None:  # the first byte of the next request on a kept-alive connection
                    self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_timed_out)
                self._head_bytes += len(data)
            super().data_received(data)
            # Still in the head after this chunk: every byte counted so far is head. The chunk that completes
            # the head is measured exactly in on_headers_complete (it may carry body bytes too).
            if self._reading_head and self._head_bytes > self.limits.max_header_bytes \
                    and not self.transport.is_closing():
                self.logger.warning("Request head over %d bytes refused.", self.limits.max_header_bytes)
                self._send_error(431, _encoded("headers_too_large", self.limits.too_large_message()))

        # --- parser callbacks ---

        def on_message_begin(self) -> None:
            self._header_lines = 0
            super().on_message_begin()

        def on_header(self, name: bytes, value: bytes) -> None:
            self._header_lines += 1
            if self._header_lines > self.limits.max_headers:
                self._refuse(431, _encoded("headers_too_large", self.limits.too_large_message()))
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._reading_head = False
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None
            size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
            if size > self.limits.max_header_bytes:
                self._refuse(431, _encoded("headers_too_large", self.limits.too_large_message()))
            if self._shed_early():
                return
            self.scope.setdefault("extensions", {})[PEER_CLOSED] = self._peer_closed
            super().on_headers_complete()
            self._body_timer = self.loop.call_later(self.limits.body_timeout, self._body_timed_out)

        def _peer_closed(self) -> bool:
            """Whether the client has closed the connection, asked of the socket itself: the event loop reads a
            connection's end only in its next turn, after the requests that came with it may have been answered.
            (A client that half-closes counts as gone, as uvicorn counts it.)"""
            if self.transport.is_closing():
                return True
            pseudo = self.transport.get_extra_info("socket")
            if pseudo is None:
                return False
            sock = socket.socket(pseudo.family, pseudo.type, 0, pseudo.fileno())  # borrowed: detached below
            try:
                return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
            except BlockingIOError:
                return False  # open, nothing more sent
            except OSError:
                return True  # reset
            finally:
                sock.detach()

        def on_message_complete(self) -> None:
            if self._body_timer is not None:
                self._body_timer.cancel()
                self._body_timer = None
            super().on_message_complete()
            self._reading_head, self._head_bytes = True, 0

        def _shed_early(self) -> bool:
            """A JSON API request while the worker is full gets its 503 here, without the app: under overload, the
            app's middleware would spend on each refusal a good part of what an answer costs, on the event loop
            that the admitted requests need for every step."""
            shedder = self.app_state.get(STATE_KEY)
            if shedder is None or not shedder.full or (self.cycle is not None and not self.cycle.response_complete):
                return False  # not full, or a pipelined request behind one still being answered: uvicorn queues it
            path = self.url.partition(b"?")[0].decode("latin-1")
            if not path.startswith(self.root_path + "/api/") or path.startswith(UNSHED):
                return False
            shedder.refused()
            # A client waiting for "100 Continue" may or may not send its body now: the connection cannot go on.
            keep_alive = (self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
                          and not self.expect_100_continue)
            head = [b"HTTP/1.1 503 Service Unavailable\r\n"]
            head += [b"%s: %s\r\n" % header for header in self.server_state.default_headers]
            head += [_OVERLOADED_HEAD, b"" if keep_alive else b"connection: close\r\n", b"\r\n", _OVERLOADED_BODY]
            self.transport.write(b"".join(head))
            self.cycle = _Answered()
            self._body_timer = self.loop.call_later(self.limits.body_timeout, self._body_timed_out)
            if not keep_alive:
                self.transport.close()
                return True
            self.on_response_complete()  # what uvicorn does after a response: the keep-alive timer
            now = self.loop.time()
            if now - self._last_shed < RETRY_AFTER_SECONDS:
                # Asked again before the Retry-After it was given: this connection is read again when that time
                # is up. Answering such clients at once would keep the event loop busy refusing them, and the
                # admitted requests, which need the loop at every step, would wait.
                self.flow.pause_reading()
                self.loop.call_later(RETRY_AFTER_SECONDS, self._resume_after_pause)
            self._last_shed = now
            return True

        def _resume_after_pause(self) -> None:
            if not self.transport.is_closing():
                self.flow.resume_reading()

        # --- refusing ---

        def _refuse(self, status: int, body: bytes) -> None:
            # httptools turns an exception in a callback into HttpParserCallbackError, which uvicorn answers
            # with send_400_response: that sends this refusal instead.
            self._refusal = (status, body)
            raise _Refused

        def send_400_response(self, msg: str) -> None:  # msg: uvicorn's English, already logged by the caller
            status, body = self._refusal or (400, _BODY)
            self._send_error(status, body)

        def _send_error(self, status: int, body: bytes) -> None:
            content = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status])]
            for name, value in [*self.server_state.default_headers, *_headers(body)]:
                content += [name, b": ", value, b"\r\n"]
            content += [b"\r\n", body]
            self.transport.write(b"".join(content))
            cycle = self.cycle
            if cycle is not None and not cycle.response_complete:
                # The app may still be waiting for this request's body: it learns the client is gone, and
                # whatever it sends now is dropped.
                cycle.disconnected = True
                cycle.message_event.set()
            self.transport.close()

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self.transport.is_closing():
                return
            if self._head_bytes:
                self.logger.warning("Request head not received within %g s.", self.limits.header_timeout)
                self._send_error(408, _encoded("request_timeout", "请求头发送超时，连接已关闭"))
            else:
                self.transport.close()  # nothing was asked: nothing to answer

        def _body_timed_out(self) -> None:
            self._body_timer = None
            if self.transport.is_closing():
                return
            if self.cycle is not None and not self.cycle.response_started:
                self.logger.warning("Request body not received within %g s.", self.limits.body_timeout)
                self._send_error(408, _encoded("request_timeout", "请求内容发送超时，连接已关闭"))
            else:  # answered already (e.g. 413 before the body): the rest of the body is not waited for
                self.transport.close()

    AutoHTTPProtocol = JsonHttpToolsProtocol


def http_protocol(settings: Settings) -> type[asyncio.Protocol]:
    """The protocol class for uvicorn's `http=`, carrying the limits of `settings`."""
    limits = ProtocolLimits.from_settings(settings)
    return type(AutoHTTPProtocol.__name__, (AutoHTTPProtocol,), {"limits": limits})


def server_options(settings: Settings) -> dict:
    """uvicorn's options from our settings, the same in both start paths.

    uvicorn trusts X-Forwarded-For from 127.0.0.1 unless told otherwise (or its FORWARDED_ALLOW_IPS says
    so), which would let anyone on the machine, or a local proxy that does not set the header, choose the
    address the rate limit counts: forwarded headers are read only from POLICYQA_FORWARDED_ALLOW_IPS.
    """
    trusted = ",".join(part.strip() for part in settings.forwarded_allow_ips.split(",") if part.strip())
    options = {"http": http_protocol(settings), "server_header": False, "proxy_headers": bool(trusted),
               "timeout_keep_alive": settings.keep_alive_seconds,
               "h11_max_incomplete_event_size": settings.max_header_bytes}
    if trusted:
        options["forwarded_allow_ips"] = trusted
    return options
