"""What people tell us: answers marked helpful or not, and questions left unanswered.

Stored through SQLAlchemy: SQLite by default (WAL, so readers never block the writer),
or any database URL (PostgreSQL for several replicas). Questions keep their text and time
only: no address, no identifiers. Each answer given is remembered by its answer_id (with
the question, document number and section), so feedback on it can name what it was about
and an answer_id that was never given is refused.

When the database cannot be written (read-only, disk full, unreachable): feedback raises
StoreUnavailable (the API answers 503, the page says so), and unanswered questions and given
answers are appended to a local spool file, written to the database once it takes writes again.
Nothing is dropped without an error in the log naming how many.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import queue
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path

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
    text,
)
from sqlalchemy.engine import Engine as DbEngine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.pool import NullPool

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


class StoreUnavailable(RuntimeError):
    """The database cannot take writes now (read-only, full, unreachable); the message says so in Chinese."""


UNAVAILABLE_MESSAGE = "反馈暂时无法保存（数据库当前不可写入），请稍后再试"


def _unavailable(e: BaseException) -> bool:
    """A database error that says the store cannot be used now, rather than a mistake in what was written."""
    return isinstance(e, DBAPIError) and not isinstance(e, IntegrityError | DataError)


def default_spool_path(url: str) -> Path:
    """Next to the SQLite file (`feedback.db.spool.jsonl`); for other databases, in the working directory."""
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 — an odd URL still gets a spool
        parsed = None
    if parsed is not None and parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return Path(f"{parsed.database}.spool.jsonl")
    return Path("policyqa-spool.jsonl")


@dataclass(frozen=True)
class CountedQuestion:
    question: str
    count: int
    doc_number: str = ""
    section: str = ""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


log = logging.getLogger("policyqa")


class FeedbackStore:
    """Feedback is written before the request returns; unanswered questions go through a background
    writer in batches (one transaction each), so logging them never holds a request on a disk flush."""

    _BATCH = 500
    _FLUSH_EVERY = 0.5  # seconds
    _GATHER = 0.05  # seconds between rounds of taking queued questions into a batch
    _RETRY_SPOOL_EVERY = 5.0  # seconds: how often a waiting spool is offered to the database again
    _SCHEMA_ATTEMPTS = 6

    def __init__(self, url: str, spool_path: str | Path | None = None):
        self.url = url
        self.spool_path = Path(spool_path) if spool_path else default_spool_path(url)
        self._sqlite = url.startswith("sqlite")
        connect_args = {"timeout": 30} if self._sqlite else {}
        self.db: DbEngine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
        if self._sqlite:
            event.listen(self.db, "connect", _sqlite_pragmas)
        self._schema_ready = False
        try:
            self._ensure_schema()
        except DBAPIError as e:  # a read-only or unreachable database: answering goes on, writes spool
            log.error("feedback database %s cannot be set up now, spooling to %s: %s", url, self.spool_path, e)
        self._pending: queue.Queue[tuple | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write_unanswered, name="unanswered-writer", daemon=True)
        self._writer.start()

    # --- the schema ---------------------------------------------------------------------------------------

    def _ensure_schema(self) -> None:
        if not self._schema_ready:
            self._create_schema()
            self._schema_ready = True

    def _create_schema(self) -> None:
        """Create the tables that are missing in one transaction that holds the database's write lock (SQLite:
        BEGIN IMMEDIATE; PostgreSQL: an advisory lock), retried: workers starting together on a fresh database
        all start, one of them creating the tables."""
        for attempt in range(self._SCHEMA_ATTEMPTS):
            try:
                if self._tables_exist():
                    return  # the usual start: nothing to write, so a read-only database starts too
                if self._sqlite:
                    self._create_schema_sqlite()
                else:
                    with self.db.begin() as conn:
                        if self.db.dialect.name == "postgresql":
                            conn.execute(text("SELECT pg_advisory_xact_lock(7061626369)"))  # one creator at a time
                        metadata.create_all(conn, checkfirst=True)
                return
            except DBAPIError:
                if attempt == self._SCHEMA_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))

    def _tables_exist(self) -> bool:
        with self.db.connect() as conn:
            return all(self.db.dialect.has_table(conn, table.name) for table in metadata.sorted_tables)

    def _create_schema_sqlite(self) -> None:
        # pysqlite runs DDL outside any transaction unless the driver is told to keep out (isolation_level None)
        # and the transaction is begun by hand: a connection of its own, not one of the pool's.
        engine = create_engine(self.url, connect_args={"timeout": 30, "isolation_level": None}, poolclass=NullPool)
        event.listen(engine, "connect", _sqlite_pragmas)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    metadata.create_all(conn, checkfirst=True)
                except BaseException:
                    conn.exec_driver_sql("ROLLBACK")
                    raise
                conn.exec_driver_sql("COMMIT")
        finally:
            engine.dispose()

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
        """Store one verdict. Raises UnknownAnswer for an answer_id never given, StoreUnavailable when the
        database cannot take it now."""
        try:
            self._ensure_schema()
            return self._add_feedback(helpful=helpful, comment=comment, answer_id=answer_id, question=question,
                                      doc_number=doc_number, section=section)
        except DBAPIError as e:
            if not _unavailable(e):
                raise
            log.error("feedback not stored, database unavailable: %s", e)
            self._reconnect()
            raise StoreUnavailable(UNAVAILABLE_MESSAGE) from e

    def _reconnect(self) -> None:
        """Drop the pooled connections: SQLite opens a file it cannot write read-only and keeps it so, even once
        the file is writable again; new connections see it as it is now."""
        self.db.dispose()

    def _add_feedback(self, *, helpful, comment, answer_id, question, doc_number, section) -> int:
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
        self._drain_spool()  # what an earlier run could not write
        while True:
            try:
                first = self._pending.get(timeout=self._RETRY_SPOOL_EVERY)
            except queue.Empty:
                self._drain_spool()
                continue
            if first is None:
                self._pending.task_done()
                return
            batch = self._gather(first)
            try:
                self._ensure_schema()
                self._write_batch(batch)
            except Exception as e:  # noqa: BLE001 — a logging failure must not stop the writer
                self._reconnect()
                self._spool(batch, e)
            else:
                self._drain_spool()
            finally:
                for _ in batch:
                    self._pending.task_done()

    def _gather(self, first: tuple) -> list:
        """`first` and what else is queued: taken a round at a time, every _GATHER seconds while more keeps coming
        (up to _FLUSH_EVERY, or _BATCH questions). Woken by every question instead, under load the writer would
        take the GIL from the answering thread a thousand times a second."""
        batch, deadline = [first], time.monotonic() + self._FLUSH_EVERY
        while len(batch) < self._BATCH and time.monotonic() < deadline:
            time.sleep(self._GATHER)
            taken = len(batch)
            try:
                while len(batch) < self._BATCH:
                    item = self._pending.get_nowait()
                    if item is None:
                        self._pending.put(None)  # stop after this batch
                        self._pending.task_done()
                        return batch
                    batch.append(item)
            except queue.Empty:
                pass
            if len(batch) == taken:
                break
        return batch

    # --- the spool: questions kept on local disk while the database cannot take them --------------------------

    @contextlib.contextmanager
    def _spool_locked(self, mode: str):
        """The spool file, locked against the other workers' writers (they share it)."""
        with open(self.spool_path, mode) as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield handle
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _spool(self, batch: list, reason: BaseException) -> None:
        lines = "".join(json.dumps({"at": t.isoformat(), "question": q, "given": given}, ensure_ascii=False) + "\n"
                        for t, q, given in batch)
        try:
            self.spool_path.parent.mkdir(parents=True, exist_ok=True)
            with self._spool_locked("a") as handle:
                handle.write(lines)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as e:
            log.error("LOST %d questions: the database (%s) and the spool file %s (%s) both refused them",
                      len(batch), reason, self.spool_path, e)
            return
        log.warning("database unavailable (%s): %d questions spooled to %s", reason, len(batch), self.spool_path)

    def spooled(self) -> int:
        """How many questions wait in the spool file."""
        try:
            with open(self.spool_path, encoding="utf-8") as f:
                return sum(1 for line in f if line.strip())
        except FileNotFoundError:
            return 0

    def _drain_spool(self) -> None:
        """Write what the spool holds in one transaction, then empty it; left as it is when the database still
        refuses. A line cut short by a crash is skipped, and said so."""
        try:
            if not self.spool_path.exists() or self.spool_path.stat().st_size == 0:
                return
            with self._spool_locked("r+") as handle:
                batch, broken = [], 0
                for line in handle:
                    try:
                        row = json.loads(line)
                        given = [tuple(g) for g in row["given"]] if row["given"] is not None else None
                        batch.append((dt.datetime.fromisoformat(row["at"]), row["question"], given))
                    except (ValueError, KeyError, TypeError):
                        broken += 1
                if batch:
                    self._ensure_schema()
                    self._write_batch(batch)
                handle.seek(0)
                handle.truncate()
                os.fsync(handle.fileno())
        except Exception as e:  # noqa: BLE001 — still unavailable: kept for the next try
            self._reconnect()
            log.debug("spool %s not written yet: %s", self.spool_path, e)
            return
        if broken:
            log.error("spool %s: %d damaged lines skipped", self.spool_path, broken)
        log.info("spool %s: %d questions written to the database", self.spool_path, len(batch))

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
