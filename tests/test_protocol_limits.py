"""Protocol limits of a real `policyqa serve`: header size and count, head, body and keep-alive timeouts, HEAD,
no server header, and a 500 that leaves a keep-alive connection open."""
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from indexer.build import build_index
from tests.conftest import CORPUS, ROOT, free_port, start_server

LIMITS = {"POLICYQA_HEADER_TIMEOUT_SECONDS": "2", "POLICYQA_BODY_TIMEOUT_SECONDS": "2",
          "POLICYQA_KEEP_ALIVE_SECONDS": "1", "POLICYQA_MAX_HEADER_BYTES": "16384", "POLICYQA_MAX_HEADERS": "50"}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    out = tmp_path_factory.mktemp("limits") / "index"
    build_index(CORPUS, out)
    return out


@pytest.fixture(scope="module")
def limited(index, tmp_path_factory):
    database = tmp_path_factory.mktemp("limits-db") / "f.db"
    proc, url = start_server("--index", str(index), "--corpus", str(CORPUS),
                             env={**LIMITS, "POLICYQA_DATABASE_URL": f"sqlite:///{database}"})
    yield proc, url
    proc.terminate()
    proc.wait(timeout=10)


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _read_response(sock: socket.socket) -> tuple[int, dict, bytes]:
    """One HTTP/1.1 response with a Content-Length body, read off a raw socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    while len(body) < int(headers.get("content-length", 0)):
        body += sock.recv(65536)
    return int(lines[0].split()[1]), headers, body


def _closed(sock: socket.socket, within: float) -> bool:
    """Whether the server closes the connection within `within` seconds (reading whatever it sends first)."""
    sock.settimeout(within)
    try:
        while sock.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


def _error(body: bytes) -> dict:
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message"} and any("\u4e00" <= ch <= "\u9fff" for ch in error["message"])
    return error


def test_200_mb_of_headers_are_refused_without_the_worker_growing(limited):
    proc, url = limited
    before = _rss_kb(proc.pid)
    sock = _connect(url)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ")
    sent, chunk = 0, b"a" * (1 << 20)
    try:
        while sent < 200 << 20:
            sock.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert sent < 8 << 20, "the server stops reading long before 200 MB"
    try:
        status, headers, body = _read_response(sock)
    except (ConnectionError, OSError):
        pass  # the reset can overtake the refusal, which the next test reads on a quieter connection
    else:
        assert status == 431 and headers["connection"] == "close"
        assert _error(body)["code"] == "headers_too_large"
    sock.close()
    assert _rss_kb(proc.pid) - before < 5 * 1024, "the worker grew by more than a few MB"


def test_a_head_over_the_limit_and_too_many_headers_get_431_in_our_shape(limited):
    _, url = limited
    for head in (b"X-Big: " + b"a" * 20000 + b"\r\n", b"".join(b"X-N%d: 1\r\n" % n for n in range(60))):
        sock = _connect(url)
        sock.sendall(b"GET /api/v1/regions HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n")
        status, headers, body = _read_response(sock)
        assert status == 431 and headers["connection"] == "close"
        assert "请求头过大" in _error(body)["message"]
        sock.close()
    within = httpx.get(f"{url}/api/v1/regions", headers={f"X-N{n}": "1" for n in range(40)}, timeout=30)
    assert within.status_code == 200


def test_500_slow_header_connections_are_dropped_after_the_header_timeout(limited):
    _, url = limited
    socks = [_connect(url) for _ in range(500)]
    started = time.monotonic()
    for sock in socks:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    open_ = list(socks)
    while open_ and time.monotonic() - started < 8:  # a header line a second: each line arrives well in time
        still = []
        for sock in open_:
            try:
                sock.sendall(b"X-Slow: 1\r\n")
                still.append(sock)
            except OSError:
                pass
        open_ = still
        # meanwhile the server answers everyone else
        assert httpx.get(f"{url}/api/v1/regions", timeout=10).status_code == 200
        time.sleep(0.5)
    assert all(_closed(sock, within=3) for sock in socks), "every slow connection is closed"
    assert time.monotonic() - started < 8
    for sock in socks:
        sock.close()


def test_the_slow_header_connection_is_told_408(limited):
    _, url = limited
    sock = _connect(url)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    status, headers, body = _read_response(sock)
    assert status == 408 and 1.5 < time.monotonic() - started < 5
    assert _error(body)["code"] == "request_timeout"
    sock.close()


def test_a_connection_that_sends_nothing_is_closed(limited):
    _, url = limited
    sock = _connect(url)
    assert _closed(sock, within=5)
    sock.close()


def test_a_body_that_does_not_come_gets_408(limited):
    _, url = limited
    sock = _connect(url)
    sock.sendall(b"POST /api/v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b'Content-Length: 100\r\n\r\n{"question": ')
    started = time.monotonic()
    status, headers, body = _read_response(sock)
    assert status == 408 and headers["connection"] == "close" and 1.5 < time.monotonic() - started < 5
    assert "请求内容发送超时" in _error(body)["message"]
    assert _closed(sock, within=3)
    sock.close()


def test_an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout(limited):
    _, url = limited
    sock = _connect(url)
    sock.sendall(b"GET /api/v1/regions HTTP/1.1\r\nHost: x\r\n\r\n")
    assert _read_response(sock)[0] == 200
    sock.sendall(b"GET /api/v1/regions HTTP/1.1\r\nHost: x\r\n\r\n")  # kept alive
    assert _read_response(sock)[0] == 200
    started = time.monotonic()
    assert _closed(sock, within=4) and time.monotonic() - started < 3
    sock.close()


def test_no_server_header(limited):
    _, url = limited
    response = httpx.get(f"{url}/", timeout=30)
    assert "server" not in response.headers and "date" in response.headers


@pytest.mark.parametrize("path", ["/", "/search?q=新生儿", "/compare", "/api/v1/documents", "/api/v1/regions",
                                  "/static/app.css", "/openapi.json"])
def test_head_works_wherever_get_does(limited, path):
    _, url = limited
    got = httpx.get(f"{url}{path}", timeout=30)
    head = httpx.head(f"{url}{path}", timeout=30)
    assert got.status_code == head.status_code == 200
    assert head.content == b"" and head.headers["content-type"] == got.headers["content-type"]
    assert head.headers.get("content-length") == got.headers.get("content-length")


def test_head_of_a_missing_page_is_404_and_of_a_post_only_route_405(limited):
    _, url = limited
    assert httpx.head(f"{url}/no-such-page", timeout=30).status_code == 404
    assert httpx.head(f"{url}/api/v1/ask", timeout=30).status_code == 405


# --- a 500 does not close the connection ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def faulty(index, tmp_path_factory):
    """tests/faulty_app.py: our app with a route that fails inside it, under uvicorn as a host would run it."""
    port = free_port()
    env = {**os.environ, "POLICYQA_INDEX_DIR": str(index),
           "POLICYQA_DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('faulty') / 'f.db'}"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "tests.faulty_app:app", "--port", str(port)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/static/app.css", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.parametrize("path, accept, kind", [("/api/v1/fail", "*/*", "application/json"),
                                                ("/fail", "text/html", "text/html")])
def test_a_500_keeps_the_keep_alive_connection(faulty, path, accept, kind):
    sock = _connect(faulty)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAccept: {accept}\r\n\r\n".encode())
    status, headers, body = _read_response(sock)
    assert status == 500 and headers["content-type"].startswith(kind) and "connection" not in headers
    assert "服务器内部错误" in body.decode()
    sock.sendall(b"GET /api/v1/regions HTTP/1.1\r\nHost: x\r\n\r\n")  # the same connection
    assert _read_response(sock)[0] == 200
    sock.close()
