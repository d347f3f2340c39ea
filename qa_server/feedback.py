"""What people tell us: answers marked helpful or not, and questions left unanswered.

Stored through SQLAlchemy: SQLite by default (WAL, so readers never block the writer),
or any database URL (PostgreSQL for several replicas). Questions keep their text and time
only: no address, no identifiers. Each answer given is remembered by its answer_id (with
the question, document number and section), so feedback on it can name what it was about
and an answer_id that was never given is refused.
"""
from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from dataclasses import dataclass

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    select,
)
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

answers = Table(
    "answers", metadata,
    Column("answer_id", String(64), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("question", Text, nullable=False),
    Column("doc_number", String(64), nullable=False),
    Column("section", String(64), nullable=False),
)

unanswered = Table(
    "unanswered", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("question", Text, nullable=False),
)


class UnknownAnswer(LookupError):
    """Feedback names an answer_id that this service never gave."""


@dataclass(frozen=True)
class CountedQuestion:
    question: str
    count: int
    doc_number: str = ""
    section: str = ""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
        self._pending: queue.Queue[tuple | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write_unanswered, name="unanswered-writer", daemon=True)
        self._writer.start()

    def _answer(self, answer_id: str) -> tuple[str, str, str] | None:
        with self.db.connect() as conn:
            row = conn.execute(select(answers.c.question, answers.c.doc_number, answers.c.section)
                               .where(answers.c.answer_id == answer_id)).first()
        return tuple(row) if row else None

    def find_answer(self, answer_id: str, wait: float = 1.0) -> tuple[str, str, str] | None:
        """(question, doc_number, section) of a given answer. Answers are written in batches, possibly by
        another worker, so one just given may need a moment to appear."""
        found = self._answer(answer_id)
        if found is None:
            self.flush()
            deadline = time.monotonic() + wait
            while (found := self._answer(answer_id)) is None and time.monotonic() < deadline:
                time.sleep(0.1)
        return found

    def add_feedback(self, *, helpful: bool, comment: str = "", answer_id: str | None = None,
                     question: str | None = None, doc_number: str | None = None, section: str | None = None) -> int:
        """Store one verdict. Raises UnknownAnswer for an answer_id never given."""
        if answer_id:
            found = self.find_answer(answer_id)
            if found is None:
                raise UnknownAnswer(f"找不到这条回答（answer_id {answer_id}），请使用问答接口返回的 answer_id")
            question, doc_number, section = question or found[0], doc_number or found[1], section or found[2]
        with self.db.begin() as conn:
            result = conn.execute(insert(feedback).values(
                created_at=_now(), answer_id=answer_id, question=question, doc_number=doc_number, section=section,
                helpful=helpful, comment=comment or ""))
            return int(result.inserted_primary_key[0])

    def log_unanswered(self, question: str) -> None:
        """Queue a question the notices did not cover; written within half a second (see flush)."""
        self._pending.put((_now(), question, None))

    def log_answers(self, question: str, given: list[tuple[str, str, str]]) -> None:
        """Queue the answers given to a question, as (answer_id, doc_number, section)."""
        self._pending.put((_now(), question, given))

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
                self._write_batch(batch)
            except Exception:  # noqa: BLE001 — a logging failure must not stop the writer
                log.exception("could not log %d questions", len(batch))
            finally:
                for _ in batch:
                    self._pending.task_done()

    def _write_batch(self, batch: list) -> None:
        missed = [{"created_at": t, "question": q} for t, q, given in batch if given is None]
        given_rows = {a: {"answer_id": a, "created_at": t, "question": q, "doc_number": d, "section": s}
                      for t, q, given in batch if given for a, d, s in given}
        with self.db.begin() as conn:
            if missed:
                conn.execute(insert(unanswered), missed)
            if given_rows:
                known = set(conn.execute(select(answers.c.answer_id)
                                         .where(answers.c.answer_id.in_(list(given_rows)))).scalars())
                fresh = [row for a, row in given_rows.items() if a not in known]
                if fresh:
                    conn.execute(insert(answers), fresh)

    def most_unanswered(self, limit: int = 20) -> list[CountedQuestion]:
        self.flush()
        query = (select(unanswered.c.question, func.count().label("n")).group_by(unanswered.c.question)
                 .order_by(func.count().desc(), unanswered.c.question).limit(limit))
        with self.db.connect() as conn:
            return [CountedQuestion(q, n) for q, n in conn.execute(query)]

    def most_not_helpful(self, limit: int = 20) -> list[CountedQuestion]:
        """The questions whose answers were marked not helpful most often, with the clause they got."""
        question = func.coalesce(feedback.c.question, "")
        doc = func.coalesce(feedback.c.doc_number, "")
        section = func.coalesce(feedback.c.section, "")
        query = (select(question, doc, section, func.count().label("n")).where(feedback.c.helpful.is_(False))
                 .group_by(question, doc, section).order_by(func.count().desc(), question).limit(limit))
        with self.db.connect() as conn:
            return [CountedQuestion(q, n, d, s) for q, d, s, n in conn.execute(query)]

    def counts(self) -> dict[str, int]:
        self.flush()
        with self.db.connect() as conn:
            return {"feedback": conn.execute(select(func.count()).select_from(feedback)).scalar_one(),
                    "unanswered": conn.execute(select(func.count()).select_from(unanswered)).scalar_one()}
