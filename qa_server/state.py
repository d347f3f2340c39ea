"""The app's live state: the engine over the current index and the feedback store.

Loaded on first use rather than only at start-up, because a host application that
mounts this app under a prefix does not run the mounted app's lifespan. The engine
is replaced whole on reload; a request keeps the engine it started with.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from indexer.store import IndexLoadError, read_manifest

from .engine import Engine
from .feedback import FeedbackStore
from .settings import Settings

log = logging.getLogger("policyqa")


class LiveState:
    def __init__(self, settings: Settings, engine: Engine | None = None, store: FeedbackStore | None = None):
        self.settings = settings
        self._engine = engine
        self._store = store
        self._lock = threading.Lock()
        self._manifest_stamp = self._stamp() if engine is None else None
        self._checked = time.monotonic()

    def _stamp(self) -> tuple | None:
        try:
            manifest = Path(self.settings.index_dir) / "manifest.json"
            stat = manifest.stat()
            return (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        except OSError:
            return None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._manifest_stamp = self._stamp()
                    self._engine = Engine.load(self.settings.index_dir)
        elif self.settings.reload_check_seconds > 0 and time.monotonic() - self._checked > self.settings.reload_check_seconds:
            self._checked = time.monotonic()
            if self._stamp() != self._manifest_stamp:
                try:
                    self.reload()
                except IndexLoadError as e:
                    log.error("new index refused, still serving the old one: %s", e)
        return self._engine

    @property
    def store(self) -> FeedbackStore:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = FeedbackStore(self.settings.database_url)
        return self._store

    def warm_up(self) -> None:
        """Load the index, the division table, OpenCC and the dictionaries now, not on the first questions."""
        from .views import ask_response

        ask_response(self.engine, "宝宝刚出生，在袁州区怎么参保？", previous_question=None)
        self.store

    def close(self) -> None:
        """Write out what is still queued (unanswered questions) before the process ends."""
        if self._store is not None:
            self._store.close()

    def reload(self) -> Engine:
        """Load the index directory again and swap it in whole; on any error keep the old one and raise."""
        with self._lock:
            stamp = self._stamp()
            read_manifest(self.settings.index_dir)  # a clear error before the heavy part
            fresh = Engine.load(self.settings.index_dir)
            self._engine, self._manifest_stamp = fresh, stamp
            log.info("index reloaded: %s notices, %s clauses", len(fresh.notices), len(fresh.index.clauses))
            return fresh
