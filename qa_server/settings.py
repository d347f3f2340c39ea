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


@lru_cache
def get_settings() -> Settings:
    return Settings()
