"""The app's live state: the assistant over the current index and the feedback store.

Loaded on first use rather than only at start-up, because a host application that
mounts this app under a prefix does not run the mounted app's lifespan. The assistant
is replaced whole on reload; a request keeps the one it started with.

The index is served from the version the CURRENT pointer names (indexer/versions.py). A worker
that cannot load it serves the last good version instead (on start: the newest other version
that loads; on reload: the one it already holds) and says so in `fallback_reason`, which /readyz
reports; a loaded index lives in memory, so nothing done to its files can reach it.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from indexer import versions
from indexer.resources import Resources
from indexer.store import IndexLoadError
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
        self._refused_stamp: tuple | None = None  # what was on disk when a reload was last refused
        self._checked = time.monotonic()
        self.status = IndexStatus()
        self.index_version: str | None = None  # the version directory served (its name)
        self.fallback_reason: str | None = None  # why that is not the version CURRENT names; None when it is

    @property
    def fallback(self) -> str | None:
        return self.fallback_reason

    def _stamp(self) -> tuple:
        """What changes when a build publishes a version (the pointer) or when the served version's files are
        touched: a stat of each, every check interval; nothing is read."""
        index_dir = Path(self.settings.index_dir)
        paths = [index_dir / versions.POINTER, index_dir / "manifest.json"]
        try:
            version = versions.resolve(index_dir)
            paths += sorted(version.iterdir()) if version != index_dir else []
        except (IndexLoadError, OSError):
            pass
        stamp = []
        for path in paths:
            try:
                stat = path.stat()
                stamp.append((path.name, stat.st_ino, stat.st_mtime_ns, stat.st_size))
            except OSError:
                stamp.append((path.name, None))
        return tuple(stamp)

    @property
    def assistant(self) -> Assistant:
        if self._assistant is None:
            with self._lock:
                if self._assistant is None:
                    self._manifest_stamp = self._stamp()
                    self._assistant = self._open()
        elif (self.settings.reload_check_seconds > 0
              and time.monotonic() - self._checked > self.settings.reload_check_seconds):
            self._checked = time.monotonic()
            stamp = self._stamp()
            if stamp == self._refused_stamp:
                pass  # refused as it is now: tried again when something changes, not every check
            elif stamp != self._manifest_stamp:
                try:
                    self.reload()
                except Exception as e:  # noqa: BLE001 — a refused index is logged; this request is answered
                    log.error("index refused, still serving %s: %s", self.index_version, e)
            else:
                self.status.refused = None  # the refused index was taken back: the one on disk is the one serving
        return self._assistant

    def assistant_at_hand(self) -> Assistant | None:
        """The assistant, when getting it needs nothing done first (loaded, no reload check due); else None, and
        `assistant` (which may stat files or load an index) is to be called off the event loop."""
        if self._assistant is None or (self.settings.reload_check_seconds > 0
                                       and time.monotonic() - self._checked > self.settings.reload_check_seconds):
            return None
        return self._assistant

    def store_at_hand(self) -> FeedbackStore | None:
        """The feedback store once opened; else None, and `store` (which opens the database) is to be called off
        the event loop."""
        return self._store

    def _open(self) -> Assistant:
        """The version CURRENT names; when it cannot be loaded, the newest other version that can, saying why.
        Raises the first IndexLoadError when none can."""
        index_dir = Path(self.settings.index_dir)
        resources = Resources.load()
        wanted = None
        try:
            wanted = versions.resolve(index_dir)
            fresh = Assistant.load(wanted, resources, today=self.settings.clock())
        except IndexLoadError as e:
            failure = e
        else:
            self.index_version, self.fallback_reason = wanted.name, None
            return fresh
        for version in versions.fallbacks(index_dir, wanted.name if wanted else None):
            try:
                fresh = Assistant.load(version, resources, today=self.settings.clock())
            except IndexLoadError:
                continue
            self.index_version = version.name
            self.fallback_reason = f"当前索引无法加载（{failure}），改用上一个完好的版本 {version.name}"
            log.error("current index refused, serving %s instead: %s", version.name, failure)
            return fresh
        raise failure

    @property
    def store(self) -> FeedbackStore:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = FeedbackStore(self.settings.database_url, self.settings.spool_file or None)
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
            if self._assistant is None:
                self._assistant, self._manifest_stamp = self._open(), stamp
                return self._assistant
            wanted = None
            try:
                wanted = versions.resolve(Path(self.settings.index_dir))
                fresh = self._assistant.reloaded(wanted)
            except Exception as e:
                self._refused_stamp = stamp
                name = wanted.name if wanted else versions.POINTER
                self.fallback_reason = f"索引 {name} 无法加载（{e}），继续使用已载入的版本 {self.index_version}"
                raise
            self._assistant, self._manifest_stamp, self._refused_stamp = fresh, stamp, None
            self.index_version, self.fallback_reason = wanted.name, None
            log.info("index %s loaded: %s notices", wanted.name, len(fresh.documents()))
            return fresh
