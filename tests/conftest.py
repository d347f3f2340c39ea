"""Shared fixtures: the bundled corpus, its notices, a built index and a real running server."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from indexer.build import BuildReport, read_corpus

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return CORPUS


@pytest.fixture(scope="session")
def notices():
    """The notices of the bundled corpus, by document number."""
    report = BuildReport()
    found = read_corpus(CORPUS, report)
    assert not report.errors, report.errors
    return {n.doc_number: n for n in found}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "policyqa.cli", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=timeout)


def start_server(*args: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """`policyqa serve` in a subprocess on a free loopback port; returns it once it answers."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "policyqa.cli", "serve", "--host", "127.0.0.1", "--port", str(port), *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stdout.read()}")
        try:
            if httpx.get(f"{url}/api/v1/documents", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start in time")


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> str:
    """A real `policyqa serve` over the bundled corpus; it builds its own index on start."""
    served = tmp_path_factory.mktemp("served")
    proc, url = start_server("--index", str(served / "index"), "--corpus", str(CORPUS),
                             env={"POLICYQA_DATABASE_URL": f"sqlite:///{served / 'feedback.db'}"})
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
def engine(tmp_path_factory):
    """The engine over an index of the bundled corpus, in process (the library path)."""
    from indexer.build import build_index
    from qa_server.engine import Engine

    out = tmp_path_factory.mktemp("engine") / "index"
    build_index(CORPUS, out)
    return Engine.load(out)
