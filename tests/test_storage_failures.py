"""The feedback store under a bad day: workers starting together on a fresh database, and a database that cannot
be written (503 for feedback, unanswered questions spooled to a local file and written once it can)."""
import contextlib
import multiprocessing
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest

from qa_server.feedback import FeedbackStore, StoreUnavailable, metadata
from tests.conftest import CORPUS, assert_error_shape, start_server, wait_for


def _start_store(url: str, barrier, results) -> None:
    barrier.wait()
    try:
        FeedbackStore(url).close()
        results.put(None)
    except Exception as e:  # noqa: BLE001 — reported to the test
        results.put(repr(e))


def _start_together(url: str, processes: int = 2) -> list[str]:
    """`processes` real processes open a FeedbackStore on `url` at the same moment; the errors they met."""
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(processes), context.Queue()
    workers = [context.Process(target=_start_store, args=(url, barrier, results)) for _ in range(processes)]
    for w in workers:
        w.start()
    errors = [results.get(timeout=60) for _ in workers]
    for w in workers:
        w.join(timeout=60)
    return [e for e in errors if e]


def test_workers_starting_together_on_a_fresh_sqlite_file_all_start(tmp_path):
    failures = []
    for round_ in range(30):
        path = tmp_path / f"fresh-{round_}.db"
        failures += _start_together(f"sqlite:///{path}", processes=2 if round_ % 2 else 3)
        with sqlite3.connect(path) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {"feedback", "answers", "unanswered"}
    assert failures == []


def test_workers_starting_together_on_a_fresh_postgresql_all_start(postgres_url):
    from sqlalchemy import create_engine

    engine = create_engine(postgres_url)
    failures = []
    try:
        for _ in range(8):
            metadata.drop_all(engine)
            failures += _start_together(postgres_url, processes=3)
    finally:
        metadata.create_all(engine)
        engine.dispose()
    assert failures == []


# --- a database that cannot be written ------------------------------------------------------------------------


@contextlib.contextmanager
def read_only(path: Path):
    """`path` read-only for real: a read-only bind mount of the file as root (root writes through permissions),
    else its permission bits. Writable again on leaving; yields a function that makes it writable early."""
    mounted = os.geteuid() == 0 and subprocess.run(["mount", "--bind", str(path), str(path)],
                                                   capture_output=True).returncode == 0
    if mounted:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], check=True, capture_output=True)
    else:
        path.chmod(0o444)
    state = {"read_only": True}

    def writable() -> None:
        if state["read_only"]:
            if mounted:  # remounted, not unmounted: a server holding the file open keeps it open
                subprocess.run(["mount", "-o", "remount,rw,bind", str(path)], check=True, capture_output=True)
            else:
                path.chmod(0o644)
            state["read_only"] = False

    try:
        yield writable
    finally:
        writable()
        if mounted:
            subprocess.run(["umount", "--lazy", str(path)], check=True, capture_output=True)


@pytest.fixture
def database(tmp_path) -> Path:
    """A feedback database with its tables, closed: what a server finds on start."""
    path = tmp_path / "feedback.db"
    FeedbackStore(f"sqlite:///{path}").close()
    return path


def _unanswered_in(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT question FROM unanswered ORDER BY id")]


def test_the_store_spools_while_read_only_and_writes_the_spool_once_it_can(database):
    with read_only(database) as writable:
        store = FeedbackStore(f"sqlite:///{database}")
        with pytest.raises(StoreUnavailable, match="反馈暂时无法保存"):
            store.add_feedback(helpful=True, question="交多少钱", doc_number="医保发〔2023〕24号")
        store.log_unanswered("医保卡丢了怎么办")
        store.log_answers("新生儿怎么参保", [("a1b2c3", "赣医保发〔2023〕9号", "（四）")])
        store.flush()
        assert store.spooled() == 2 and store.spool_path == Path(f"{database}.spool.jsonl")
        writable()
        assert wait_for(lambda: store.spooled() == 0, 20), "written within the retry interval"
    assert _unanswered_in(database) == ["医保卡丢了怎么办"]
    assert store.find_answer("a1b2c3") == ("新生儿怎么参保", "赣医保发〔2023〕9号", "（四）")
    assert store.add_feedback(helpful=True, answer_id="a1b2c3") > 0
    store.close()


def test_a_spool_left_by_an_earlier_run_is_written_on_start(database, tmp_path):
    spool = tmp_path / "elsewhere" / "spool.jsonl"
    with read_only(database):
        store = FeedbackStore(f"sqlite:///{database}", spool_path=spool)
        store.log_unanswered("异地就医怎么备案")
        store.close()
    assert spool.read_text(encoding="utf-8").count("\n") == 1
    spool.write_text(spool.read_text(encoding="utf-8") + '{"at": "cut sho', encoding="utf-8")  # a crash mid-line
    store = FeedbackStore(f"sqlite:///{database}", spool_path=spool)
    store.flush()
    assert wait_for(lambda: store.spooled() == 0, 10)
    store.close()
    assert _unanswered_in(database) == ["异地就医怎么备案"]


def test_a_server_on_a_read_only_database_answers_503_spools_and_catches_up(database, tmp_path):
    with read_only(database) as writable:
        proc, url = start_server("--index", str(tmp_path / "index"), "--corpus", str(CORPUS),
                                 env={"POLICYQA_DATABASE_URL": f"sqlite:///{database}"})
        try:
            feedback = httpx.post(f"{url}/api/v1/feedback", timeout=30, json={
                "question": "交多少钱", "doc_number": "医保发〔2023〕24号", "helpful": False})
            error = assert_error_shape(feedback, 503)
            assert error["code"] == "store_unavailable" and "反馈暂时无法保存" in error["message"]
            assert 1 <= int(feedback.headers["retry-after"]) <= 60

            form = httpx.post(f"{url}/feedback", timeout=30, headers={"Origin": url}, data={
                "helpful": "0", "question": "交多少钱", "doc_number": "医保发〔2023〕24号"})
            assert form.status_code == 503 and form.headers["content-type"].startswith("text/html")
            assert "反馈暂时无法保存" in form.text and '{"error"' not in form.text

            asked = httpx.post(f"{url}/api/v1/ask", json={"question": "帮我订一张去北京的机票"}, timeout=30)
            assert asked.status_code == 200 and not asked.json()["answered"], "answering goes on"
            spool = Path(f"{database}.spool.jsonl")
            assert wait_for(lambda: spool.exists() and "机票" in spool.read_text(encoding="utf-8"), 10)
            assert _unanswered_in(database) == []

            writable()
            assert wait_for(lambda: _unanswered_in(database) == ["帮我订一张去北京的机票"], 30), "never dropped"
            assert wait_for(lambda: spool.read_text(encoding="utf-8") == "", 10)
            again = httpx.post(f"{url}/api/v1/feedback", timeout=30, json={
                "question": "交多少钱", "doc_number": "医保发〔2023〕24号", "helpful": False})
            assert again.status_code == 201
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    shutil.rmtree(tmp_path / "index", ignore_errors=True)
