"""What people tell us: answers marked helpful or not, and questions left unanswered.

Stored through SQLAlchemy: SQLite by default (WAL, so readers never block the writer),
or any database URL (PostgreSQL for several replicas). Unanswered questions keep their
text and time only: no address, no identifiers.
"""
from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from dataclasses import dataclass

from sqlalchemy import (Boolean, Column, DateTime, Integer, MetaData, String, Table, Text, create_engine, event, func,
                        insert, select)
from sqlalchemy.engine import Engine as DbEngine

metadata = MetaData()

feedback = Table(
    "feedback", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("answer_id", String(64)),
    Column("question", Text),
    Column("doc_number", String(64)),
    Column("section", String(64)),
    Column("helpful", Boolean, nullable=False),
    Column("comment", Text, nullable=False, default=""),
)

unanswered = Table(
    "unanswered", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("question", Text, nullable=False),
)


@dataclass(frozen=True)
class CountedQuestion:
    question: str
    count: int


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


log = logging.getLogger("policyqa")


class FeedbackStore:
    """Feedback is written before the request returns; unanswered questions go through a background
    writer in batches (one transaction each), so logging them never holds a request on a disk flush."""

    _BATCH = 500
    _FLUSH_EVERY = 0.5  # seconds

    def __init__(self, url: str):
        self.url = url
        connect_args = {"timeout": 30} if url.startswith("sqlite") else {}
        self.db: DbEngine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
        if url.startswith("sqlite"):
            @event.listens_for(self.db, "connect")
            def _sqlite_pragmas(connection, _record) -> None:
                cursor = connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA busy_timeout=30000")
                cursor.close()
        metadata.create_all(self.db)
        self._pending: queue.Queue[tuple[dt.datetime, str] | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write_unanswered, name="unanswered-writer", daemon=True)
        self._writer.start()

    def add_feedback(self, *, helpful: bool, comment: str = "", answer_id: str | None = None,
                     question: str | None = None, doc_number: str | None = None, section: str | None = None) -> int:
        with self.db.begin() as conn:
            result = conn.execute(insert(feedback).values(
                created_at=_now(), answer_id=answer_id, question=question, doc_number=doc_number, section=section,
                helpful=helpful, comment=comment or ""))
            return int(result.inserted_primary_key[0])

    def log_unanswered(self, question: str) -> None:
        """Queue a question the notices did not cover; written within half a second (see flush)."""
        self._pending.put((_now(), question))

    def flush(self) -> None:
        """Wait until every queued unanswered question is written."""
        self._pending.join()

    def close(self) -> None:
        self.flush()
        self._pending.put(None)
        self._writer.join(timeout=10)
        self.db.dispose()

    def _write_unanswered(self) -> None:
        while True:
            first = self._pending.get()
            if first is None:
                self._pending.task_done()
                return
            batch = [first]
            try:
                while len(batch) < self._BATCH:
                    item = self._pending.get(timeout=self._FLUSH_EVERY if len(batch) == 1 else 0.01)
                    if item is None:
                        self._pending.put(None)  # stop after this batch
                        self._pending.task_done()
                        break
                    batch.append(item)
            except queue.Empty:
                pass
            try:
                with self.db.begin() as conn:
                    conn.execute(insert(unanswered), [{"created_at": t, "question": q} for t, q in batch])
            except Exception:  # noqa: BLE001 — a logging failure must not stop the writer
                log.exception("could not log %d unanswered questions", len(batch))
            finally:
                for _ in batch:
                    self._pending.task_done()

    def most_unanswered(self, limit: int = 20) -> list[CountedQuestion]:
        self.flush()
        query = (select(unanswered.c.question, func.count().label("n")).group_by(unanswered.c.question)
                 .order_by(func.count().desc(), unanswered.c.question).limit(limit))
        with self.db.connect() as conn:
            return [CountedQuestion(q, n) for q, n in conn.execute(query)]

    def most_not_helpful(self, limit: int = 20) -> list[CountedQuestion]:
        label = func.coalesce(feedback.c.question, feedback.c.answer_id)
        query = (select(label, func.count().label("n")).where(feedback.c.helpful.is_(False)).group_by(label)
                 .order_by(func.count().desc(), label).limit(limit))
        with self.db.connect() as conn:
            return [CountedQuestion(q, n) for q, n in conn.execute(query)]

    def counts(self) -> dict[str, int]:
        self.flush()
        with self.db.connect() as conn:
            return {"feedback": conn.execute(select(func.count()).select_from(feedback)).scalar_one(),
                    "unanswered": conn.execute(select(func.count()).select_from(unanswered)).scalar_one()}
