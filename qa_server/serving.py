"""Several worker processes for `policyqa serve --workers N`, each with its own listening socket.

uvicorn's own workers share one socket, and whichever worker wakes first may take every
keep-alive connection a client opens at once, leaving the others idle. Here each worker
binds the port itself with SO_REUSEPORT, so the kernel spreads connections evenly. The
parent restarts a worker that dies, and passes SIGHUP (reload the index) to all of them.
Prometheus metrics are written by each worker to files in a fresh PROMETHEUS_MULTIPROC_DIR, which /metrics
adds up (qa_server/metrics.py) and which is removed when the server stops.
"""
from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import time

APP = "qa_server.app:app_from_environment"


def _worker(host: str, port: int, log_level: str, access_log: bool) -> None:
    import uvicorn

    from qa_server.http_protocol import server_options
    from qa_server.settings import Settings

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    config = uvicorn.Config(APP, factory=True, log_level=log_level, access_log=access_log,
                            **server_options(Settings()))
    uvicorn.Server(config).run(sockets=[sock])


def run_workers(host: str, port: int, workers: int, log_level: str = "info", access_log: bool = True) -> None:
    """Run `workers` server processes on host:port until SIGINT or SIGTERM; settings come from POLICYQA_*."""
    # Set before any worker starts (and so before it imports prometheus_client): the workers inherit it.
    metrics_dir = tempfile.mkdtemp(prefix="policyqa-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        _supervise(host, port, workers, log_level, access_log)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _supervise(host: str, port: int, workers: int, log_level: str, access_log: bool) -> None:
    from prometheus_client import multiprocess

    context = multiprocessing.get_context("spawn")
    args = (host, port, log_level, access_log)
    children = [context.Process(target=_worker, args=args, name=f"policyqa-worker-{n}") for n in range(workers)]
    stopping = False

    def stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.is_alive():
                os.kill(child.pid, signal.SIGTERM)

    def reload(_signum, _frame) -> None:
        for child in children:
            if child.is_alive():
                os.kill(child.pid, signal.SIGHUP)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, reload)
    for child in children:
        child.start()
    while not stopping:
        for n, child in enumerate(children):
            if not child.is_alive() and not stopping:
                multiprocess.mark_process_dead(child.pid)  # its live gauges go; its counters still count
                children[n] = context.Process(target=_worker, args=args, name=child.name)
                children[n].start()
        time.sleep(0.5)
    for child in children:
        child.join(timeout=30)
