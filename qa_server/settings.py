"""Server settings, read from POLICYQA_* environment variables (pydantic-settings)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POLICYQA_")

    index_dir: Path = Path("index")
    """Directory of the index to serve (built by `policyqa index`)."""
    corpus_dir: Path = Path("corpus")
    """Directory of the notices; `policyqa serve` rebuilds the index when they change."""
    database_url: str = "sqlite:///policyqa-feedback.db"
    """Where feedback and unanswered questions are stored (SQLAlchemy URL; PostgreSQL for several replicas)."""
    spool_file: str = ""
    """Where unanswered questions and given answers wait while the database cannot be written (JSON lines);
    empty: next to the SQLite file (`….db.spool.jsonl`), or `policyqa-spool.jsonl` in the working directory."""
    api_keys: str = ""
    """Comma-separated keys; when set, /api/v1/* needs `Authorization: Bearer KEY` or `X-API-Key: KEY`."""
    admin_key: str = ""
    """Key for POST /api/v1/admin/reload (`X-Admin-Key` or `Authorization: Bearer`); unset disables it."""
    rate_limit: str = ""
    """Requests per key (or per client address without keys), e.g. `60/minute`; unset means no limit."""
    redis_url: str = ""
    """Redis for the rate limit's counters (`redis://host:6379/0`), shared by every worker and replica; unset:
    each worker counts for itself. While Redis is unreachable each worker counts for itself and retries it."""
    frame_ancestors: str = "'self'"
    """CSP frame-ancestors: who may embed the pages in a frame (e.g. `'self' https://mp.example.cn`)."""
    max_body_bytes: int = 16 * 1024
    """Largest request body accepted; larger gets 413."""
    threads: int = 1
    """Threads per worker process for request handlers; answering is CPU-bound, so more only adds contention."""
    reload_check_seconds: float = 2.0
    """How often each worker looks for a rebuilt index and loads it (0: only on SIGHUP or the admin endpoint)."""
    today: str = ""
    """Pretend today is this date (YYYY-MM-DD): what 今年 means and which year is current; for tests and demos."""

    def clock(self):
        """Today's date, or the pretended one."""
        import datetime as dt

        if not self.today:
            return dt.date.today
        fixed = dt.date.fromisoformat(self.today)
        return lambda: fixed
    max_in_flight: int = 32
    """Requests a worker queues or answers at once; beyond it: 503 with Retry-After at once (load shedding)."""
    queue_target_ms: float = 150
    """A request that would wait longer than this for its turn, at the pace the worker answers now, gets 503 at once."""
    max_header_bytes: int = 32 * 1024
    """Largest request line plus headers; larger: 431 and the connection closed."""
    max_headers: int = 100
    """Most header lines in one request; more: 431."""
    header_timeout_seconds: float = 10.0
    """Time a client has to send the request line and headers; then the connection is closed (408)."""
    body_timeout_seconds: float = 10.0
    """Time a client has to send the body once the headers are in; then 408 and the connection closed."""
    keep_alive_seconds: float = 5.0
    """How long an idle keep-alive connection is kept open."""
    forwarded_allow_ips: str = ""
    """Comma-separated proxy addresses whose X-Forwarded-For/-Proto are believed; empty: none (see README)."""

    @property
    def api_key_list(self) -> list[str]:
        return [k.strip() for k in self.api_keys.split(",") if k.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
