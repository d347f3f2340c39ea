"""Keys, limits, headers, reload and embedding, against real servers on loopback."""
import shutil
import signal
import threading
import time

import httpx
import pytest

from indexer.build import build_index
from tests.conftest import CORPUS, assert_error_shape, start_host_app, start_server
from tests.index_helpers import republish


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    d = tmp_path_factory.mktemp("guarded")
    proc, url = start_server("--index", str(d / "index"), "--corpus", str(CORPUS), env={
        "POLICYQA_API_KEYS": "alpha-key, beta-key", "POLICYQA_RATE_LIMIT": "25/minute",
        "POLICYQA_FRAME_ANCESTORS": "'self' https://mp.example.cn", "POLICYQA_DATABASE_URL": f"sqlite:///{d / 'f.db'}"})
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def _get(url, **kw):
    return httpx.get(url, timeout=30, **kw)


def test_keys_are_required_for_the_api_only(guarded):
    error = assert_error_shape(_get(f"{guarded}/api/v1/documents"), 401)
    assert error["code"] == "unauthorized"
    assert_error_shape(_get(f"{guarded}/api/v1/documents", headers={"X-API-Key": "wrong"}), 401)
    assert _get(f"{guarded}/api/v1/documents", headers={"Authorization": "Bearer alpha-key"}).status_code == 200
    assert _get(f"{guarded}/api/v1/documents", headers={"X-API-Key": "beta-key"}).status_code == 200
    for page in ("/", "/search?q=新生儿", "/compare", "/picker/regions"):
        assert _get(f"{guarded}{page}").status_code == 200, page


def test_pages_carry_security_headers_with_configurable_frame_ancestors(guarded):
    headers = _get(f"{guarded}/").headers
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'self' https://mp.example.cn" in csp
    assert headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/static/../pyproject.toml", "/static/%2e%2e/pyproject.toml",
                                  "/static/..%2fpyproject.toml", "/documents/..%2f..%2fetc%2fpasswd",
                                  "/static/%2e%2e/%2e%2e/etc/passwd"])
def test_no_path_traversal(guarded, path):
    response = httpx.get(f"{guarded}{path}", timeout=30)
    assert response.status_code in (400, 404)
    assert "[project]" not in response.text and "root:" not in response.text


def test_bodies_over_16_kb_are_refused(guarded):
    key = {"X-API-Key": "alpha-key"}
    big = '{"question": "' + "交" * 9000 + '"}'
    assert_error_shape(httpx.post(f"{guarded}/api/v1/ask", content=big.encode(), timeout=30,
                                  headers={**key, "content-type": "application/json"}), 413)

    def chunks():  # no Content-Length: the limit holds while the body arrives
        for _ in range(40):
            yield b"x" * 1024
    assert_error_shape(httpx.post(f"{guarded}/api/v1/ask", content=chunks(), timeout=30,
                                  headers={**key, "content-type": "application/json"}), 413)


def test_rate_limit_counts_per_key_and_says_when_to_retry(guarded):
    # Windows are fixed and line up with the wall clock, so the run may straddle a boundary: 2 × 25 + 10
    # requests overflow one of the two windows wherever the boundary falls.
    over = None
    for _ in range(60):
        response = _get(f"{guarded}/api/v1/regions", headers={"X-API-Key": "beta-key"})
        if response.status_code == 429:
            over = response
            break
    assert over is not None, "past 25 requests in a window, requests are refused"
    assert_error_shape(over, 429)
    assert 1 <= int(over.headers["retry-after"]) <= 60
    assert _get(f"{guarded}/api/v1/regions", headers={"X-API-Key": "alpha-key"}).status_code == 200, "other keys go on"


def test_rate_limit_per_client_address_without_keys(tmp_path):
    proc, url = start_server("--index", str(tmp_path / "index"), "--corpus", str(CORPUS), env={
        "POLICYQA_RATE_LIMIT": "3/minute", "POLICYQA_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}"})
    try:
        # 2 × 3 + 2 requests: one of the two fixed windows they may straddle overflows.
        statuses = [_get(f"{url}/api/v1/regions").status_code for _ in range(8)]
        assert statuses.count(429) >= 1 and statuses[0] != 429
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def reloadable(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    index = tmp_path / "index"
    env = {"POLICYQA_ADMIN_KEY": "admin-secret", "POLICYQA_RELOAD_CHECK_SECONDS": "0",
           "POLICYQA_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}"}
    proc, url = start_server("--index", str(index), "--corpus", str(corpus), env=env)
    yield url, corpus, index, proc
    proc.terminate()
    proc.wait(timeout=10)


def _notice_count(url):
    return len(_get(f"{url}/api/v1/documents").json()["documents"])


def test_reload_under_load_fails_no_request(reloadable):
    url, corpus, index, _ = reloadable
    failures, done, stop = [], [0], threading.Event()

    def client():
        with httpx.Client(timeout=30) as c:
            while not stop.is_set():
                try:
                    r = c.post(f"{url}/api/v1/ask", json={"question": "新生儿怎么参保", "region": "宜春市"})
                    if r.status_code != 200 or not r.json()["answered"]:
                        failures.append(r.status_code)
                    done[0] += 1
                except httpx.HTTPError as e:
                    failures.append(repr(e))

    threads = [threading.Thread(target=client) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(1)
    (corpus / "henan-xinxiang-2023-54.txt").unlink()
    build_index(corpus, index)
    reply = httpx.post(f"{url}/api/v1/admin/reload", headers={"X-Admin-Key": "admin-secret"}, timeout=60)
    time.sleep(1)
    stop.set()
    for t in threads:
        t.join()
    assert reply.status_code == 200 and reply.json()["notices"] == 8
    assert failures == [] and done[0] > 20
    assert _notice_count(url) == 8


def test_a_damaged_index_is_refused_and_the_old_one_keeps_serving(reloadable, tmp_path):
    url, corpus, index, _ = reloadable
    republish(index, lambda manifest: {"format": "policyqa-index", "version": 999})  # a new version, refused
    error = assert_error_shape(httpx.post(f"{url}/api/v1/admin/reload", headers={"X-Admin-Key": "admin-secret"},
                                          timeout=60), 409)
    assert "格式版本" in error["message"]
    assert _notice_count(url) == 9
    assert httpx.post(f"{url}/api/v1/ask", json={"question": "剖宫产能报多少", "region": "新乡市"},
                      timeout=30).json()["answered"]


def test_reload_needs_the_admin_key(reloadable):
    url = reloadable[0]
    assert_error_shape(httpx.post(f"{url}/api/v1/admin/reload", timeout=30), 401)
    assert_error_shape(httpx.post(f"{url}/api/v1/admin/reload", headers={"X-Admin-Key": "nope"}, timeout=30), 401)


def test_sighup_loads_the_rebuilt_index(reloadable):
    url, corpus, index, proc = reloadable
    (corpus / "fujian-2023-78.txt").unlink()
    build_index(corpus, index)
    assert _notice_count(url) == 9, "nothing reloads by itself with the check switched off"
    proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while _notice_count(url) != 8 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _notice_count(url) == 8


def test_the_app_mounts_under_a_prefix_in_a_host_application(tmp_path):
    proc, base = start_host_app(tmp_path)
    try:
        assert len(httpx.get(f"{base}/policyqa/api/v1/documents", timeout=30).json()["documents"]) == 9
        page = httpx.get(f"{base}/policyqa/", timeout=30).text
        assert 'href="/policyqa/static/app.css"' in page and 'data-root="/policyqa"' in page
        assert httpx.get(f"{base}/policyqa/static/app.css", timeout=30).status_code == 200
        answer = httpx.post(f"{base}/policyqa/", data={"question": "剖宫产能报多少", "city": "410700"}, timeout=30).text
        assert 'href="/policyqa/documents/' in answer
    finally:
        proc.terminate()
        proc.wait(timeout=10)
