"""Shared fixtures: the bundled corpus, its notices, a built index and a real running server."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from indexer.build import BuildReport, read_corpus
from indexer.regions import load_divisions

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SHARED = ROOT.parent / "shared"

# Nothing the tests write is left in /tmp: pytest's tmp_path directories (numbered, the last three runs kept, so
# two sessions at once never clear each other's, as a shared --basetemp would) and whatever the commands and
# servers they start write to their temporary directory (jieba's dictionary cache among them) go to test-output/.
TEST_TMP = ROOT / "test-output" / "tmp"
TEST_TMP.mkdir(parents=True, exist_ok=True)
os.environ["TMPDIR"] = str(TEST_TMP)
tempfile.tempdir = str(TEST_TMP)  # pytest itself asked for a temporary file before this ran: forget /tmp


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return CORPUS


@pytest.fixture(scope="session")
def notices():
    """The notices of the bundled corpus, by document number."""
    report = BuildReport()
    found = read_corpus(CORPUS, report, load_divisions())
    assert not report.errors, report.errors
    return {n.doc_number: n for n in found}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "policyqa_cli", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=timeout)


def start_server(*args: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """`policyqa serve` in a subprocess on a free loopback port; returns it once it answers."""
    port = free_port()
    # The log goes to a file: a pipe nobody reads fills up and blocks the server mid-request.
    log_dir = ROOT / "test-output" / "server-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"serve-{port}.log"
    with open(log_path, "w") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([sys.executable, "-m", "policyqa_cli", "serve", "--host", "127.0.0.1",
                                 "--port", str(port), *args], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                text=True, env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log_path.read_text()}")
        try:
            # A static file: free of keys and rate limits; the index is loaded before the server accepts requests.
            if httpx.get(f"{url}/static/app.css", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start in time")


@pytest.fixture(scope="session")
def served_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("served")


@pytest.fixture(scope="session")
def server_database(served_dir) -> str:
    return f"sqlite:///{served_dir / 'feedback.db'}"


@pytest.fixture(scope="session")
def server(served_dir, server_database) -> str:
    """A real `policyqa serve` over the bundled corpus; it builds its own index on start."""
    proc, url = start_server("--index", str(served_dir / "index"), "--corpus", str(CORPUS),
                             env={"POLICYQA_DATABASE_URL": server_database})
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def api(server):
    with httpx.Client(base_url=server, timeout=30) as client:
        yield client


def assert_error_shape(response: httpx.Response, status: int) -> dict:
    """Every error has exactly {"error": {"code": str, "message": str}}, the message in Chinese."""
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["error"]["message"])
    return body["error"]


@pytest.fixture(scope="session")
def resources():
    """The tokenizer and tables, loaded once for the session (jieba's dictionary takes a second)."""
    from indexer.resources import Resources

    return Resources.load()


@pytest.fixture(scope="session")
def assistant(tmp_path_factory, resources):
    """The library over an index of the bundled corpus, in process."""
    from indexer.build import build_index
    from policyqa import Assistant

    out = tmp_path_factory.mktemp("engine") / "index"
    build_index(CORPUS, out)
    return Assistant.load(out, resources)


def ask_json(assistant, question: str, region: str | None = None, top_k: int = 3, previous_question=None,
             as_of=None):
    """The reply as POST /api/v1/ask would give it (the web face's model), for tests that read its fields."""
    from qa_server import presenter

    reply = assistant.ask(question, region=region, top_k=top_k, previous_question=previous_question, as_of=as_of)
    return presenter.ask_response(reply, assistant)


def _postgres_dir(as_postgres: list[str]) -> str:
    """A directory for the test cluster: under test-output/tmp when the postgres user can write there and the
    server's socket path fits in a Unix socket address (107 bytes), else a short one in /tmp."""
    base = tempfile.mkdtemp(prefix="pg-")
    os.chmod(base, 0o777)  # the postgres user runs the server and needs its directory
    reachable = subprocess.run(as_postgres + ["test", "-w", base], capture_output=True).returncode == 0
    if reachable and len(f"{base}/.s.PGSQL.65535") < 100:
        return base
    os.rmdir(base)
    base = tempfile.mkdtemp(prefix="policyqa-pg-", dir="/tmp")
    os.chmod(base, 0o777)
    return base


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL from Debian's packages, started for the session in a temporary directory removed after."""
    import glob

    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not bins:
        pytest.fail("PostgreSQL is not installed: scripts/test.sh installs Debian's postgresql")
    initdb, pg_ctl = f"{bins[-1]}/initdb", f"{bins[-1]}/pg_ctl"
    # runuser lives in /usr/sbin, which a PATH of /usr/bin:/bin (Debian's python3 first) leaves out.
    runuser = shutil.which("runuser") or next((p for p in ("/usr/sbin/runuser", "/sbin/runuser") if os.path.exists(p)),
                                              "runuser")
    as_postgres = [runuser, "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = _postgres_dir(as_postgres)
    data, port = f"{base}/data", free_port()
    try:
        subprocess.run(as_postgres + [initdb, "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                                      "--locale=C"], check=True, capture_output=True)
        subprocess.run(as_postgres + [pg_ctl, "-D", data, "-l", f"{base}/server.log", "-w", "-o",
                                      f"-p {port} -k {base} -c listen_addresses=127.0.0.1", "start"],
                       check=True, capture_output=True)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        if Path(data, "postmaster.pid").exists():
            subprocess.run(as_postgres + [pg_ctl, "-D", data, "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)  # 39 MB of cluster files per run otherwise


def run_async(coroutine):
    """asyncio.run in a thread of its own: the browser tests' Playwright keeps an event loop on the main thread for
    the whole session, and asyncio.run refuses to start inside a running loop."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def wait_for(condition, seconds: float = 30) -> bool:
    """Poll `condition` until it holds or `seconds` pass; its last answer either way."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def start_host_app(tmp_path: Path) -> tuple[subprocess.Popen, str]:
    """tests/host_app.py (our app mounted at /policyqa in another FastAPI app) under uvicorn, once it answers."""
    from indexer.build import build_index

    build_index(CORPUS, tmp_path / "index")
    port = free_port()
    env = {**os.environ, "POLICYQA_INDEX_DIR": str(tmp_path / "index"),
           "POLICYQA_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "tests.host_app:host", "--port", str(port)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(f"{base}/", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False
    wait_for(answers, 60)
    return proc, base


def clear_of_window_edge(seconds: int, margin: float = 20) -> None:
    """Wait out the last `margin` seconds of a fixed window, so that a test's requests fall in one window."""
    left = seconds - time.time() % seconds
    if left < margin:
        time.sleep(left + 0.1)
