"""X-Forwarded-For is believed only from the proxies in POLICYQA_FORWARDED_ALLOW_IPS (none by default), in both
start paths; the rate limit then counts per real client."""

import httpx
import pytest

from indexer.build import build_index
from tests.conftest import CORPUS, assert_error_shape, clear_of_window_edge, start_server


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    out = tmp_path_factory.mktemp("proxies") / "index"
    build_index(CORPUS, out)
    return out


def _serve(index, tmp_path, workers: int, **env):
    return start_server("--index", str(index), "--corpus", str(CORPUS), "--workers", str(workers), env={
        "POLICYQA_RATE_LIMIT": "3/minute", "POLICYQA_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}", **env})


def _statuses(url: str, forwarded_for: list[str]) -> list[int]:
    # One connection, so that with several workers every request reaches the same worker and its counter; and not
    # in the last seconds of a minute, whose fixed window would start counting afresh halfway through.
    clear_of_window_edge(60, margin=5)
    with httpx.Client(base_url=url, timeout=30) as client:
        return [client.get("/api/v1/regions", headers={"X-Forwarded-For": ip}).status_code for ip in forwarded_for]


ROTATING = [f"203.0.113.{n}" for n in range(1, 7)]


@pytest.mark.parametrize("workers", [1, 2])
def test_by_default_a_rotating_forwarded_for_does_not_escape_the_rate_limit(index, tmp_path, workers):
    proc, url = _serve(index, tmp_path, workers)
    try:
        statuses = _statuses(url, ROTATING)
        assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429, 429]
        with httpx.Client(base_url=url, timeout=30) as client:  # a new connection may reach the other worker
            refused = client.get("/api/v1/regions", headers={"X-Forwarded-For": "198.51.100.9"})
            if workers == 1 or refused.status_code == 429:
                assert_error_shape(refused, 429)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("workers", [1, 2])
def test_from_a_trusted_proxy_each_forwarded_client_has_its_own_limit(index, tmp_path, workers):
    proc, url = _serve(index, tmp_path, workers, POLICYQA_FORWARDED_ALLOW_IPS="127.0.0.1")
    try:
        assert _statuses(url, ROTATING) == [200] * 6, "six clients, one request each"
        assert _statuses(url, ["198.51.100.9"] * 5) == [200, 200, 200, 429, 429], "one client, five requests"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_proxy_not_listed_is_not_believed(index, tmp_path):
    proc, url = _serve(index, tmp_path, 1, POLICYQA_FORWARDED_ALLOW_IPS="10.0.0.5")
    try:
        assert _statuses(url, ROTATING)[3:] == [429, 429, 429]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
