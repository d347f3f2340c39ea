"""/healthz, /readyz and /metrics under `policyqa serve --workers 2`: no key, no rate limit, metrics summed."""
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from indexer.build import build_index
from indexer.store import FORMAT_VERSION
from tests.conftest import CORPUS, start_server
from tests.index_helpers import current, republish

KEY = "ops-key"


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _metrics_dir(pid: int) -> Path:
    """The PROMETHEUS_MULTIPROC_DIR `serve --workers` gave its workers (read from a worker's environment)."""
    for child in _children(pid):
        for item in Path(f"/proc/{child}/environ").read_bytes().split(b"\0"):
            if item.startswith(b"PROMETHEUS_MULTIPROC_DIR="):
                return Path(item.split(b"=", 1)[1].decode())
    raise AssertionError("no worker has PROMETHEUS_MULTIPROC_DIR")


@pytest.fixture(scope="module")
def workers(tmp_path_factory):
    d = tmp_path_factory.mktemp("ops")
    proc, url = start_server("--workers", "2", "--index", str(d / "index"), "--corpus", str(CORPUS), env={
        "POLICYQA_API_KEYS": KEY, "POLICYQA_RATE_LIMIT": "4/minute",
        "POLICYQA_DATABASE_URL": f"sqlite:///{d / 'f.db'}"})
    yield url, proc
    proc.terminate()
    proc.wait(timeout=30)


def _on_fresh_connections(url: str, path: str, times: int = 8) -> list[httpx.Response]:
    """One request per new connection, so that each worker gets some of them."""
    return [httpx.get(f"{url}{path}", timeout=30) for _ in range(times)]


def _samples(text: str) -> dict[tuple, float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _sample(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_probes_need_no_key_and_are_never_rate_limited(workers):
    url, _ = workers
    for path in ("/healthz", "/readyz", "/metrics"):
        responses = _on_fresh_connections(url, path, times=12)  # three times the limit
        assert [r.status_code for r in responses] == [200] * 12, path
    assert httpx.get(f"{url}/healthz", timeout=30).json() == {"status": "ok"}


def test_readyz_reports_the_loaded_index(workers):
    url, _ = workers
    documents = httpx.get(f"{url}/api/v1/documents", headers={"X-API-Key": KEY}, timeout=30).json()["documents"]
    for response in _on_fresh_connections(url, "/readyz", times=4):
        body = response.json()
        assert body["status"] == "ready"
        index = body["index"]
        assert index["format"] == "policyqa-index" and index["format_version"] == FORMAT_VERSION
        assert index["notices"] == len(documents) == 9
        assert index["clauses"] == sum(d["clause_count"] for d in documents)


def test_metrics_add_up_across_workers(workers):
    url, proc = workers
    clauses = sum(d["clause_count"] for d in httpx.get(f"{url}/api/v1/documents", headers={"X-API-Key": KEY},
                                                       timeout=30).json()["documents"])
    before = _samples(httpx.get(f"{url}/metrics", timeout=30).text)
    answered = 0
    for n in range(8):  # a new connection each, so that both workers take some; the first is never answered
        question = "孩子刚出生怎么参保" if n % 2 else "职工医保个人账户里的钱怎么取出来"
        reply = httpx.post(f"{url}/api/v1/ask", json={"question": question}, headers={"X-API-Key": KEY}, timeout=30)
        answered += reply.status_code == 200  # the rest met the limit (4 a minute per worker)
        assert httpx.get(f"{url}/api/v1/documents", timeout=30).status_code == 401
    assert answered >= 1

    def grew(after: dict, name: str, **labels) -> float:
        return _sample(after, name, **labels) - _sample(before, name, **labels)

    scrapes = [_samples(r.text) for r in _on_fresh_connections(url, "/metrics", times=6)]
    for after in scrapes:  # whichever worker takes the scrape, it counts what both workers did
        requests = "policyqa_http_requests_total"
        assert grew(after, requests, route="/api/v1/ask", method="POST", status="200") == answered
        assert grew(after, requests, route="/api/v1/*", method="POST", status="429") == 8 - answered  # before routing
        assert grew(after, requests, route="/api/v1/*", method="GET", status="401") == 8
        assert grew(after, "policyqa_http_request_duration_seconds_count", route="/api/v1/ask") == answered
        assert grew(after, "policyqa_questions_total", outcome="answered") + grew(
            after, "policyqa_questions_total", outcome="abstained") == answered
        assert grew(after, "policyqa_questions_total", outcome="abstained") >= 1  # the first question, in quota
        assert _sample(after, "policyqa_index_clauses") == clauses
        assert _sample(after, "policyqa_index_notices") == 9

    writers = {f.stem.rsplit("_", 1)[1] for f in _metrics_dir(proc.pid).glob("counter_*.db")}
    assert len(writers) == 2, f"both workers wrote their counts: {writers}"


def test_readyz_is_503_after_a_refused_reload_and_ready_again_when_the_index_is_back(tmp_path):
    index = tmp_path / "index"
    build_index(CORPUS, index)
    proc, url = start_server("--workers", "2", "--index", str(index), "--corpus", str(CORPUS), env={
        "POLICYQA_RELOAD_CHECK_SECONDS": "0.3", "POLICYQA_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}"})
    try:
        metrics_dir = _metrics_dir(proc.pid)
        good = current(index).name
        republish(index, lambda manifest: {"format": "policyqa-index", "version": 999})  # a new version, refused

        _wait_until(url, "/readyz", 503)
        refused = httpx.get(f"{url}/readyz", timeout=30).json()
        assert refused["status"] == "reload_refused" and "格式版本" in refused["message"]
        assert refused["index"]["notices"] == 9, "the old index still serves"
        assert httpx.get(f"{url}/healthz", timeout=30).status_code == 200
        assert httpx.post(f"{url}/api/v1/ask", json={"question": "孩子刚出生怎么参保"}, timeout=30).json()["answered"]
        assert _refusals_from_both_workers(url) >= 2, "each worker refused it"

        (index / "CURRENT.new").write_text(good + "\n")  # the operator points back at the good version
        os.replace(index / "CURRENT.new", index / "CURRENT")
        _wait_until(url, "/readyz", 200)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert not metrics_dir.exists(), "serve removes its metrics directory when it stops"


def _refusals_from_both_workers(url: str, timeout: float = 20) -> float:
    """The refused reloads counted over both workers, once each has checked (or `timeout`). A worker checks when a
    request comes: bursts of concurrent requests reach both, where one after another an idle server may hand every
    connection to the same worker."""
    deadline = time.monotonic() + timeout
    while True:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: httpx.get(f"{url}/readyz", timeout=30), range(8)))
        refused = _sample(_samples(httpx.get(f"{url}/metrics", timeout=30).text), "policyqa_index_reloads_total",
                          result="refused")
        if refused >= 2 or time.monotonic() > deadline:
            return refused


def _wait_until(url: str, path: str, status: int, timeout: float = 30) -> None:
    """Until every one of several fresh connections (so: every worker) answers `status`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(r.status_code == status for r in _on_fresh_connections(url, path, times=6)):
            return
        time.sleep(0.3)
    raise AssertionError(f"{path} did not turn {status}")


pytestmark = pytest.mark.filterwarnings("ignore::starlette.exceptions.StarletteDeprecationWarning")


def test_readyz_is_503_until_the_first_index_has_loaded(tmp_path):
    """Mounted in a host application, nothing loads the index before the first request that needs it."""
    from fastapi.testclient import TestClient

    from qa_server.app import create_app
    from qa_server.settings import Settings

    build_index(CORPUS, tmp_path / "index")
    app = create_app(Settings(index_dir=tmp_path / "index", database_url=f"sqlite:///{tmp_path / 'f.db'}"))
    client = TestClient(app)  # no `with`: the app's lifespan (which loads the index) does not run
    loading = client.get("/readyz")
    assert loading.status_code == 503 and loading.json()["status"] == "loading"
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/documents").status_code == 200  # loads it
    assert client.get("/readyz").json()["status"] == "ready"
