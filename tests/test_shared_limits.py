"""The rate limit shared through a real Redis (Debian's redis-server, started here on a loopback port)."""
import shutil
import subprocess
import threading
import time

import httpx
import pytest
import redis

from qa_server.guard import FixedWindowCounter, RateLimit
from qa_server.limits import KEY_PREFIX, RETRY_SECONDS, RedisCounter
from tests.conftest import CORPUS, ROOT, clear_of_window_edge, free_port, start_server

KEY = "shared-key"
LIMIT = 12


class RedisServer:
    """redis-server in the foreground on 127.0.0.1, nothing saved to disk; can be stopped and started again."""

    def __init__(self, workdir):
        self.workdir, self.port, self.proc = workdir, free_port(), None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed: scripts/test.sh installs Debian's redis-server")
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.workdir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    if server.proc.poll() is None:
        server.stop()


def test_the_counter_is_atomic_across_threads(redis_server):
    limit = RateLimit(50, 3600)
    clear_of_window_edge(limit.seconds)
    counters = [RedisCounter(FixedWindowCounter(limit), redis_server.url) for _ in range(4)]  # as four workers
    allowed = []

    def hammer(counter):
        for _ in range(25):
            allowed.append(counter.hit("key:0", time.time()) is None)

    threads = [threading.Thread(target=hammer, args=(c,)) for c in counters]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == 50 and len(allowed) == 100
    wait = counters[0].hit("key:0", time.time())
    assert 0 < wait <= 3600
    window = int(time.time() // 3600)
    assert redis.Redis.from_url(redis_server.url).ttl(f"{KEY_PREFIX}:key:0:{window}") <= 3601


def _statuses(url: str, requests: int, connections: int = 12) -> list[int]:
    """`requests` API calls spread over several keep-alive connections, so the kernel hands them to both workers."""
    statuses: list[int] = []
    lock = threading.Lock()

    def client(count):
        with httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=30) as c:
            for _ in range(count):
                status = c.get("/api/v1/regions").status_code
                with lock:
                    statuses.append(status)

    share = [requests // connections + (n < requests % connections) for n in range(connections)]
    threads = [threading.Thread(target=client, args=(n,)) for n in share]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def test_two_workers_share_one_limit_and_survive_redis_going_away(redis_server, tmp_path):
    clear_of_window_edge(3600, margin=60)
    proc, url = start_server("--workers", "2", "--index", str(tmp_path / "index"), "--corpus", str(CORPUS), env={
        "POLICYQA_API_KEYS": KEY, "POLICYQA_RATE_LIMIT": f"{LIMIT}/hour", "POLICYQA_REDIS_URL": redis_server.url,
        "POLICYQA_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}"})
    log = ROOT / "test-output" / "server-logs" / f"serve-{url.rsplit(':', 1)[1]}.log"
    try:
        statuses = _statuses(url, 40)
        assert (statuses.count(200), statuses.count(429)) == (LIMIT, 40 - LIMIT), "exactly the limit, across workers"
        window = int(time.time() // 3600)
        shared = redis.Redis.from_url(redis_server.url)
        assert int(shared.get(f"{KEY_PREFIX}:key:0:{window}")) == 40
        workers = {c["name"] for c in shared.client_list() if c["name"].startswith("policyqa-")}
        assert len(workers) == 2, f"both workers took requests and counted them in Redis: {workers}"

        redis_server.stop()  # the limiter's store goes away mid-test
        during = _statuses(url, 30)
        assert set(during) <= {200, 429}, "no 5xx while Redis is away"
        assert 200 in during, "each worker counts for itself meanwhile, from zero"
        assert "Redis unreachable" in log.read_text()
        for probe in ("/healthz", "/readyz", "/metrics"):
            assert httpx.get(f"{url}{probe}", timeout=30).status_code == 200, "probes need no key and no quota"

        redis_server.start()  # back, empty: both workers count there again after their retry period
        fresh = redis.Redis.from_url(redis_server.url)
        deadline = time.monotonic() + RETRY_SECONDS * 4
        while fresh.get(f"{KEY_PREFIX}:key:0:{window}") is None and time.monotonic() < deadline:
            assert set(_statuses(url, 2, connections=2)) <= {200, 429}
            time.sleep(0.5)
        assert fresh.get(f"{KEY_PREFIX}:key:0:{window}") is not None, "Redis is tried again"
        time.sleep(RETRY_SECONDS + 0.5)  # the other worker's retry period ends too
        after = _statuses(url, 40)
        assert after.count(200) <= LIMIT and set(after) <= {200, 429}
        assert "Redis is back" in log.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
