"""The app's live state: the assistant over the current index and the feedback store.

Loaded on first use rather than only at start-up, because a host application that
mounts this app under a prefix does not run the mounted app's lifespan. The assistant
is replaced whole on reload; a request keeps the one it started with.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from indexer.store import IndexLoadError, read_manifest
from policyqa import Assistant

from . import metrics
from .feedback import FeedbackStore
from .settings import Settings

log = logging.getLogger("policyqa")


@dataclass
class IndexStatus:
    """How the last reload went, for /readyz: a refused index keeps the old one serving, but says so."""

    refused: str | None = None  # why the newest index was refused; None once one loads


class LiveState:
    def __init__(self, settings: Settings, assistant: Assistant | None = None, store: FeedbackStore | None = None):
        self.settings = settings
        self._assistant = assistant
        self._store = store
        self._lock = threading.Lock()
        self._manifest_stamp = self._stamp() if assistant is None else None
        self._checked = time.monotonic()
        self.status = IndexStatus()

    def _stamp(self) -> tuple | None:
        try:
            manifest = Path(self.settings.index_dir) / "manifest.json"
            stat = manifest.stat()
            return (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        except OSError:
            return None

    @property
    def assistant(self) -> Assistant:
        if self._assistant is None:
            with self._lock:
                if self._assistant is None:
                    self._manifest_stamp = self._stamp()
                    self._assistant = Assistant.load(self.settings.index_dir, today=self.settings.clock())
        elif (self.settings.reload_check_seconds > 0
              and time.monotonic() - self._checked > self.settings.reload_check_seconds):
            self._checked = time.monotonic()
            if self._stamp() != self._manifest_stamp:
                try:
                    self.reload()
                except IndexLoadError as e:
                    log.error("new index refused, still serving the old one: %s", e)
        return self._assistant

    @property
    def store(self) -> FeedbackStore:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = FeedbackStore(self.settings.database_url)
        return self._store

    def warm_up(self) -> None:
        """Load the index, the division table, OpenCC and the dictionaries now, not on the first questions."""
        self.assistant.ask("宝宝刚出生，在袁州区怎么参保？")
        _ = self.store  # and open the feedback database

    def close(self) -> None:
        """Write out what is still queued (unanswered questions) before the process ends."""
        if self._store is not None:
            self._store.close()

    @property
    def current(self) -> Assistant | None:
        """The assistant serving now, without loading one: None while the first index has not loaded."""
        return self._assistant

    def reload(self) -> Assistant:
        """Load the index directory again and swap it in whole; on any error keep the old one and raise."""
        try:
            fresh = self._reload()
        except Exception as e:
            self.status.refused = str(e) or type(e).__name__
            metrics.index_reloaded(False)
            raise
        self.status.refused = None
        metrics.index_reloaded(True)
        return fresh

    def _reload(self) -> Assistant:
        with self._lock:
            stamp = self._stamp()
            read_manifest(self.settings.index_dir)  # a clear error before the heavy part
            if self._assistant is None:
                fresh = Assistant.load(self.settings.index_dir, today=self.settings.clock())
            else:
                fresh = self._assistant.reloaded(self.settings.index_dir)
            self._assistant, self._manifest_stamp = fresh, stamp
            log.info("index reloaded: %s notices", len(fresh.documents()))
            return fresh
