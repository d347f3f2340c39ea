"""Load shedding: a full worker answers 503 at once (our shape, Retry-After), admitted requests are answered, and
a request whose client has gone is dropped before it is answered."""
import asyncio
import json
import os
import signal
import socket
import sqlite3
import threading
import time
import uuid

import httpx
import pytest

from indexer.build import build_index
from qa_server.settings import Settings
from qa_server.shedding import Shedder
from tests.conftest import CORPUS, ROOT, assert_error_shape, run_async, start_server

ASK = {"question": "新生儿怎么参保", "region": "宜春市"}


# --- the middleware in process, around an app that holds every request until told to go on --------------------


class Held:
    """An ASGI app that answers only when released (a probe at once), counting the requests it started on."""

    def __init__(self):
        self.go = asyncio.Event()
        self.started = 0

    async def __call__(self, scope, receive, send):
        if scope["path"] != "/healthz":
            self.started += 1
            await self.go.wait()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"answered"})


def test_past_the_bound_a_request_gets_503_at_once_in_our_shape_or_as_a_page():
    async def scenario():
        held = Held()
        app = Shedder(held, Settings(max_in_flight=3, threads=1))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            admitted = [asyncio.create_task(client.post("/api/v1/ask", json=ASK)) for _ in range(3)]
            await asyncio.sleep(0.05)
            assert held.started == 2, "one more than there are threads is let in; the third waits its turn"
            started = time.monotonic()
            refused = await client.post("/api/v1/ask", json=ASK)
            page = await client.get("/search?q=新生儿", headers={"Accept": "text/html"})
            assert time.monotonic() - started < 0.5
            probe = await client.get("/healthz")  # never shed: it costs nothing and says the worker lives
            held.go.set()
            answers = await asyncio.gather(*admitted)
        return refused, page, probe, answers

    held_refused, page, probe, answers = run_async(scenario())
    error = assert_error_shape(held_refused, 503)
    assert error["code"] == "overloaded" and held_refused.headers["retry-after"] == "1"
    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
    assert "服务繁忙" in page.text and page.headers["retry-after"] == "1"
    assert probe.status_code == 200
    assert [a.status_code for a in answers] == [200, 200, 200]


def test_the_bound_follows_how_fast_the_queue_moves():
    shedder = Shedder(Held(), Settings(max_in_flight=100, queue_target_ms=150, threads=1))
    shedder.in_flight, shedder.pace = 20, 0.010
    shedder.waiting.extend(object() for _ in range(14))
    assert not shedder.full, "14 waiting at 10 ms a turn: 140 ms"
    shedder.waiting.extend([object(), object()])
    assert shedder.full, "16 waiting: 160 ms, longer than the target"
    shedder.waiting.clear()
    shedder.in_flight = 100
    assert shedder.full, "the bound holds whatever the pace"


# --- a real server ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    out = tmp_path_factory.mktemp("shedding") / "index"
    build_index(CORPUS, out)
    return out


@pytest.fixture
def crowded(index, tmp_path):
    proc, url = start_server("--index", str(index), "--corpus", str(CORPUS), env={
        "POLICYQA_MAX_IN_FLIGHT": "4", "POLICYQA_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}"})
    yield proc, url
    proc.terminate()
    proc.wait(timeout=10)


def _request(url: str, question: str) -> bytes:
    body = json.dumps({"question": question}, ensure_ascii=False).encode()
    host = url.removeprefix("http://")
    return (f"POST /api/v1/ask HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def test_a_crowd_gets_answers_and_fast_503s_never_timeouts(crowded):
    _, url = crowded
    results, lock = [], threading.Lock()
    barrier = threading.Barrier(48)

    def client():
        with httpx.Client(timeout=10) as c:
            barrier.wait()
            for _ in range(5):
                started = time.monotonic()
                response = c.post(f"{url}/api/v1/ask", json=ASK)
                with lock:
                    results.append((response, time.monotonic() - started))

    threads = [threading.Thread(target=client) for _ in range(48)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = [r.status_code for r, _ in results]
    assert len(results) == 48 * 5 and set(statuses) <= {200, 503}
    assert statuses.count(200) >= 5 and statuses.count(503) >= 20
    for response, took in results:
        if response.status_code == 200:
            assert response.json()["answered"]
        else:
            assert assert_error_shape(response, 503)["code"] == "overloaded"
            assert response.headers["retry-after"] == "1"
            assert took < 1.5, "a 503 comes at once (or, asked again too early, when its Retry-After is up)"
    assert httpx.post(f"{url}/api/v1/ask", json=ASK, timeout=10).status_code == 200, "and then it answers again"


def test_requests_whose_clients_left_are_dropped_before_they_are_answered(index, tmp_path):
    database = tmp_path / "f.db"
    proc, url = start_server("--index", str(index), "--corpus", str(CORPUS), env={
        "POLICYQA_MAX_IN_FLIGHT": "200", "POLICYQA_DATABASE_URL": f"sqlite:///{database}"})
    tag = uuid.uuid4().hex[:8]

    def logged() -> set[str]:  # a question the notices do not cover is logged when, and only when, it is answered
        with sqlite3.connect(database) as conn:
            return {q for (q,) in conn.execute("SELECT question FROM unanswered WHERE question LIKE ?", (f"%{tag}%",))}

    try:
        host, port = url.removeprefix("http://").split(":")
        socks = [socket.create_connection((host, int(port))) for _ in range(40)]
        # The server is stopped while the requests are sent and their clients give up, so that they find it busy
        # however fast it answers: on its return, most requests are still waiting their turn.
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            for n, sock in enumerate(socks):
                sock.sendall(_request(url, f"帮我订一张去北京的机票 {tag} {n}"))
            for sock in socks:
                sock.close()
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        last = f"帮我订一张去北京的机票 {tag} 最后"
        assert httpx.post(f"{url}/api/v1/ask", json={"question": last}, timeout=10).status_code == 200
        deadline = time.monotonic() + 5  # written in order, in batches: once the last is there, all answered are
        while last not in logged() and time.monotonic() < deadline:
            time.sleep(0.1)
        answered = logged() - {last}
        assert last in logged() and len(answered) <= 10, f"{len(answered)} of 40 abandoned questions were answered"
        log = (ROOT / "test-output" / "server-logs" / f"serve-{port}.log").read_text()
        assert "dropped unanswered as their clients had left" in log
    finally:
        proc.terminate()
        proc.wait(timeout=10)
