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
    api_keys: str = ""
    """Comma-separated keys; when set, /api/v1/* needs `Authorization: Bearer KEY` or `X-API-Key: KEY`."""
    admin_key: str = ""
    """Key for POST /api/v1/admin/reload (`X-Admin-Key` or `Authorization: Bearer`); unset disables it."""
    rate_limit: str = ""
    """Requests per key (or per client address without keys), e.g. `60/minute`; unset means no limit."""
    frame_ancestors: str = "'self'"
    """CSP frame-ancestors: who may embed the pages in a frame (e.g. `'self' https://mp.example.cn`)."""
    max_body_bytes: int = 16 * 1024
    """Largest request body accepted; larger gets 413."""
    threads: int = 1
    """Threads per worker process for request handlers; answering is CPU-bound, so more only adds contention."""
    reload_check_seconds: float = 2.0
    """How often each worker looks for a rebuilt index and loads it (0: only on SIGHUP or the admin endpoint)."""

    @property
    def api_key_list(self) -> list[str]:
        return [k.strip() for k in self.api_keys.split(",") if k.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
