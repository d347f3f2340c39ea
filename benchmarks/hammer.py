"""A closed-loop HTTP/1.1 load client that records every response's status and latency.

wrk reports one latency histogram for all responses, so under load shedding the fast 503s hide how long the
accepted requests took. This client keeps `connections` keep-alive connections, each sending its next
request as soon as the previous response is in (no think time, like wrk), and records (status, seconds) per
response, so accepted requests and refusals are measured apart. Plain asyncio protocols, one process.

    python3 benchmarks/hammer.py http://127.0.0.1:8000 --connections 1024 --duration 30
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
_CLOSE = re.compile(rb"\r\nconnection:\s*close", re.IGNORECASE)
_RETRY_AFTER = re.compile(rb"\r\nretry-after:\s*(\d+)", re.IGNORECASE)


@dataclass
class Tally:
    started: float = 0.0
    until: float = 0.0
    # (status, seconds, early): finished in the window; early: sent before the Retry-After of a 503 on its connection
    results: list[tuple[int, float, bool]] = field(default_factory=list)
    timeouts: int = 0
    errors: int = 0


def requests_for(host: str, path: str, questions: list[dict]) -> list[bytes]:
    out = []
    for q in questions:
        body = json.dumps({"question": q["question"], "region": q.get("region"), "top_k": 3},
                          ensure_ascii=False).encode()
        out.append(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    return out


class Connection(asyncio.Protocol):
    """One keep-alive connection sending request after request; `done` resolves when it stops."""

    def __init__(self, tally: Tally, requests: list[bytes], offset: int, timeout: float, loop,
                 honor_retry_after: bool = False):
        self.tally, self.requests, self.n, self.timeout = tally, requests, offset, timeout
        self.honor_retry_after = honor_retry_after
        self.loop = loop
        self.buffer = bytearray()
        self.sent_at = 0.0
        self.early = False
        self.retry_at = 0.0  # a request sent before this time ignores the Retry-After this connection was given
        self.transport = None
        self.done = loop.create_future()
        self.timer = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        self._send()

    def _send(self) -> None:
        if time.monotonic() >= self.tally.until:
            self.transport.close()
            return
        self.n += 1
        self.sent_at = time.monotonic()
        self.early = self.sent_at < self.retry_at
        self.timer = self.loop.call_later(self.timeout, self._timed_out)
        self.transport.write(self.requests[self.n % len(self.requests)])

    def _timed_out(self) -> None:
        self.tally.timeouts += 1
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end])
        length = _LENGTH.search(head)
        size = end + 4 + (int(length.group(1)) if length else 0)
        if len(self.buffer) < size:
            return
        took = time.monotonic() - self.sent_at
        self.timer.cancel()
        status = int(head[9:12])
        if self.sent_at >= self.tally.started:
            self.tally.results.append((status, took, self.early))
        del self.buffer[:size]
        wait = _RETRY_AFTER.search(head)
        if wait:
            self.retry_at = time.monotonic() + int(wait.group(1))
        if _CLOSE.search(head):
            self.transport.close()
        elif wait and self.honor_retry_after:  # a client that does as the 503 says: asks again after Retry-After
            self.loop.call_later(int(wait.group(1)), self._send_if_open)
        else:
            self._send()

    def _send_if_open(self) -> None:
        if not self.transport.is_closing():
            self._send()

    def connection_lost(self, exc) -> None:
        if self.timer:
            self.timer.cancel()
        if exc is not None:
            self.tally.errors += 1
        if not self.done.done():
            self.done.set_result(None)


async def _keep_connected(host: str, port: int, tally: Tally, requests: list[bytes], offset: int,
                          timeout: float, honor_retry_after: bool) -> None:
    loop = asyncio.get_running_loop()
    while time.monotonic() < tally.until:
        try:
            _, protocol = await loop.create_connection(
                lambda start=offset: Connection(tally, requests, start, timeout, loop, honor_retry_after), host, port)
        except OSError:
            tally.errors += 1
            await asyncio.sleep(0.05)
            continue
        await protocol.done
        offset = protocol.n


async def run(url: str, connections: int, duration: float, questions: list[dict], warmup: float = 2.0,
              timeout: float = 10.0, honor_retry_after: bool = False) -> Tally:
    parts = urlsplit(url)
    requests = requests_for(parts.netloc, (parts.path.rstrip("/") or "") + "/api/v1/ask", questions)
    now = time.monotonic()
    tally = Tally(started=now + warmup, until=now + warmup + duration)
    await asyncio.gather(*(_keep_connected(parts.hostname, parts.port or 80, tally, requests, n * 7, timeout,
                                           honor_retry_after) for n in range(connections)))
    return tally


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p * len(ordered)) - 1))]


def summary(tally: Tally, duration: float) -> dict:
    accepted = [t for s, t, _ in tally.results if s == 200]
    on_time = [t for s, t, early in tally.results if s == 200 and not early]
    refused = [t for s, t, _ in tally.results if s == 503]
    statuses: dict[int, int] = {}
    for s, _, _ in tally.results:
        statuses[s] = statuses.get(s, 0) + 1
    total = len(tally.results)
    return {"responses": total, "responses_per_s": total / duration, "accepted": len(accepted),
            "accepted_per_s": len(accepted) / duration,
            "accepted_p50_ms": percentile(accepted, 0.5) * 1000, "accepted_p99_ms": percentile(accepted, 0.99) * 1000,
            "accepted_max_ms": max(accepted, default=float("nan")) * 1000,
            "accepted_on_time_p99_ms": percentile(on_time, 0.99) * 1000,
            "early": sum(early for _, _, early in tally.results),
            "shed": len(refused), "shed_share": len(refused) / total if total else float("nan"),
            "shed_p50_ms": percentile(refused, 0.5) * 1000, "shed_p99_ms": percentile(refused, 0.99) * 1000,
            "other_statuses": {s: n for s, n in statuses.items() if s not in (200, 503)},
            "timeouts": tally.timeouts, "errors": tally.errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=1024)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--honor-retry-after", action="store_true",
                        help="after a 503, wait Retry-After seconds before asking again on that connection")
    parser.add_argument("--questions", type=Path,
                        default=Path(__file__).resolve().parent.parent / "tests" / "data" / "questions.jsonl")
    args = parser.parse_args()
    questions = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    try:
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    tally = asyncio.run(run(args.url, args.connections, args.duration, questions,
                            honor_retry_after=args.honor_retry_after))
    print(json.dumps(summary(tally, args.duration), indent=2))


if __name__ == "__main__":
    main()
