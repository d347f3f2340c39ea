"""The rate limit's counters in Redis, so that every worker and replica shares one count per key.

Same fixed windows as guard.FixedWindowCounter and the same `hit(identity, now)`: one round trip per request,
INCR and EXPIRE in a MULTI transaction, on a key named by identity and window. A limiter outage is not an
outage: while Redis does not answer, the worker counts in process (as without Redis), logs it once, and tries
Redis again after RETRY_SECONDS.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from typing import Protocol

log = logging.getLogger("policyqa")

# The guard calls hit() on the event loop, so a Redis that stops answering may hold it up only briefly, and only
# once per retry period: short timeouts, no client-side retries.
TIMEOUT_SECONDS = 0.5
RETRY_SECONDS = 5.0
KEY_PREFIX = "policyqa:rate"


class Counter(Protocol):
    def hit(self, identity: str, now: float) -> float | None: ...


class RedisCounter:
    """Fixed windows counted in Redis; `local` (an in-process counter for the same limit) stands in while it is away."""

    def __init__(self, local, url: str):
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.limit = local.limit
        self.local = local
        self.url = url
        # Named by host and process, so that `CLIENT LIST` shows which workers of which replicas count there.
        self.client = redis.Redis.from_url(url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS,
                                           retry=Retry(NoBackoff(), 0),
                                           client_name=f"policyqa-{socket.gethostname()}-{os.getpid()}")
        self.down_until = 0.0  # monotonic time before which Redis is not tried again
        self.down = False

    def hit(self, identity: str, now: float) -> float | None:
        """None if allowed, else seconds until the window resets. `now` is wall-clock time: windows must line up
        across machines."""
        if self.down and time.monotonic() < self.down_until:
            return self.local.hit(identity, now)
        window = int(now // self.limit.seconds)
        key = f"{KEY_PREFIX}:{identity}:{window}"
        try:
            with self.client.pipeline(transaction=True) as pipe:
                # The key names its window: renewing its expiry on each hit keeps it at most a window past its end.
                count, _ = pipe.incr(key).expire(key, self.limit.seconds + 1).execute()
        except Exception as e:  # noqa: BLE001 — any failure of the limiter's store: count locally, never fail
            if not self.down:
                log.warning("rate limit: Redis unreachable (%s), counting in this worker until it is back: %s",
                            _safe(self.url), e)
            self.down, self.down_until = True, time.monotonic() + RETRY_SECONDS
            return self.local.hit(identity, now)
        if self.down:
            log.warning("rate limit: Redis is back (%s), counting there again", _safe(self.url))
            self.down = False
        if int(count) > self.limit.requests:
            return (window + 1) * self.limit.seconds - now
        return None


def _safe(url: str) -> str:
    """The URL without a password, for the log."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else url


def shared_counter(local, redis_url: str) -> Counter:
    """The counter the guard uses: in Redis when a URL is set, else `local` (per worker process)."""
    return RedisCounter(local, redis_url) if redis_url.strip() else local
