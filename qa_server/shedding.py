"""Load shedding: a bound on the requests a worker holds, a fast 503 beyond it, no answer for a client that left.

Answering is CPU-bound and a worker answers one question at a time, on its event loop. Without a bound every
request that arrives waits its turn: at 1024 connections a reply took seconds, and the worker went on
answering questions whose clients had long given up. Here a request whose body has arrived joins a
first-come queue; it gets 503 with Retry-After at once instead when the queue is full: `POLICYQA_MAX_IN_FLIGHT`
requests waiting or being answered, or a wait longer than `POLICYQA_QUEUE_TARGET_MS` at the pace the queue
moves now (the pace is what adapts the bound to a larger index or a busier machine). When its turn comes, a
request whose client has disconnected is dropped without being answered.

The queue is here, in front of the app, so that the check comes right before the work: the body is read
first (a slow upload holds no place; the protocol's body timeout bounds it), and a request leaves the queue as
soon as its response starts (a long response, a stream, holds no place either). One more request than there
are threads (`POLICYQA_THREADS`, for the routes that do not answer) is let into the app, so that the next one
is ready the moment the one before is done. Each admitted request first lets the loop turn once: the
answering routes run on the loop without a pause, and without that turn the requests that came with one
would never be counted as waiting, nor a client's disconnect be read before its answer.

Refusing costs the event loop, which every admitted request needs (answers run on it), so an API request is
refused earlier still, by the HTTP protocol before the app (http_protocol.py), and a connection that asks
again before its Retry-After is read again only when that time is up.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from .errors import error_for
from .settings import Settings

log = logging.getLogger("policyqa")

# Probes, scrapers and static files cost next to nothing and must answer even when the worker is full.
UNSHED = ("/static/", "/healthz", "/readyz", "/metrics")
OVERLOADED_MESSAGE = "服务繁忙，请稍后再试"
RETRY_AFTER_SECONDS = 1
STATE_KEY = "policyqa.shedder"
PEER_CLOSED = "policyqa.peer_closed"  # a scope extension: () -> whether the client has closed the connection


async def client_left(scope, receive) -> bool:
    """Whether the client has disconnected, without waiting. Our HTTP protocol asks the socket itself
    (`PEER_CLOSED` in the scope's extensions, http_protocol.py). Otherwise: once the body is read, the server's
    receive only returns when the client goes; its coroutine is stepped once by hand: it finishes at once with
    `http.disconnect` when the client has gone, and is closed where it would wait. (A cancelled scope does the
    same, as Starlette's Request.is_disconnected does, at several times the cost on every answered request.)"""
    peer_closed = scope.get("extensions", {}).get(PEER_CLOSED)
    if peer_closed is not None and peer_closed():
        return True
    step = receive().__await__()
    try:
        step.send(None)
    except StopIteration as done:
        return done.value["type"] == "http.disconnect"
    step.close()  # it waits for a message that may never come: not gone
    return False


class Shedder:
    def __init__(self, app, settings: Settings):
        self.app = app
        self.max_in_flight = max(1, settings.max_in_flight)
        self.slots = max(1, settings.threads) + 1
        self.in_flight = 0  # in the queue or inside the app
        self.busy = 0
        self.waiting: deque[asyncio.Future] = deque()
        self.shed = self.dropped = 0
        self.queue_target = settings.queue_target_ms / 1000
        self.pace = 0.0  # seconds between turns while requests wait (moving average): how fast the queue moves now
        self._last_turn: float | None = None  # when the last place was handed to a waiting request
        self._reported = (0.0, 0, 0)  # when the last summary was logged, and the counts then

    @property
    def full(self) -> bool:
        """No room: the bound is reached, or the requests already waiting would take longer than the queue
        target to get their turn at the pace the worker answers now (slower when it is busy refusing others)."""
        return self.in_flight >= self.max_in_flight or len(self.waiting) * self.pace > self.queue_target

    def refused(self) -> None:
        """Count a request refused with 503 (here or, before it reached the app, by the HTTP protocol)."""
        self.shed += 1
        self._report()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan" and isinstance(scope.get("state"), dict):
            # The server's state for this app: our HTTP protocol finds the shedder there and refuses API
            # requests when it is full before they cost anything more than their parsing (http_protocol.py).
            scope["state"][STATE_KEY] = self
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        root = scope.get("root_path", "")
        path = scope.get("path", "")
        if (path[len(root):] if root and path.startswith(root) else path).startswith(UNSHED):
            return await self.app(scope, receive, send)

        body = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left, or the guard refused the body (413)
                return
            body.append(message)
            if not message.get("more_body", False):
                break

        if self.full:
            self.refused()
            response = error_for(scope, 503, "overloaded", OVERLOADED_MESSAGE,
                                 {"Retry-After": str(RETRY_AFTER_SECONDS)})
            return await response(scope, receive, send)

        self.in_flight += 1
        try:
            await self._acquire()
        except BaseException:
            self.in_flight -= 1
            raise
        holding = counted = True

        async def replay():
            return body.pop(0) if body else await receive()

        async def leave_queue_on_start(message):
            # The work is done once the response starts: the next request may begin while this one is sent.
            nonlocal holding, counted
            if message["type"] == "http.response.start":
                if holding:
                    holding = False
                    self._release()
                if counted:
                    counted = False
                    self.in_flight -= 1
            await send(message)

        try:
            # One turn of the event loop before the check: it reads what has arrived meanwhile, a client's
            # disconnect among it, and counts the requests that came with this one (which a route answering on
            # the loop would otherwise never let queue, nor be refused).
            await asyncio.sleep(0)
            if await client_left(scope, receive):
                self.dropped += 1
                self._report()
                return
            await self.app(scope, replay, leave_queue_on_start)
        finally:
            if holding:
                self._release()
            if counted:
                self.in_flight -= 1

    # --- a first-come queue of `slots` places, which a cancelled waiter leaves cleanly ---

    async def _acquire(self) -> None:
        if self.busy < self.slots and not self.waiting:
            self.busy += 1
            return
        turn = asyncio.get_running_loop().create_future()
        self.waiting.append(turn)
        try:
            await turn  # _release hands its place over: busy stays counted
        except BaseException:
            if turn.done() and not turn.cancelled():
                self._release()  # handed a place while being cancelled: pass it on
            else:
                self.waiting.remove(turn)
            raise

    def _release(self) -> None:
        while self.waiting:
            turn = self.waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                now = time.monotonic()
                if self._last_turn is not None:  # a busy stretch: the time between turns is the queue's pace
                    gap = now - self._last_turn
                    self.pace = gap if not self.pace else 0.95 * self.pace + 0.05 * gap
                self._last_turn = now if self.waiting else None
                return
        self._last_turn = None
        self.busy -= 1

    def _report(self) -> None:
        """One line every ten seconds at most: under overload, one per request would flood the log."""
        then, shed, dropped = self._reported
        now = time.monotonic()
        if now - then >= 10:
            log.warning("load shedding: %d requests refused with 503, %d dropped unanswered as their clients had "
                        "left, since the last report (%d and %d in all)", self.shed - shed, self.dropped - dropped,
                        self.shed, self.dropped)
            self._reported = (now, self.shed, self.dropped)
