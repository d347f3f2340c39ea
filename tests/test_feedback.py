"""Feedback and unanswered questions are stored, on SQLite and on a real PostgreSQL, and never lost."""
import threading
import time

import pytest

from qa_server.feedback import FeedbackStore
from tests.conftest import assert_error_shape, run_cli


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        return FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}")
    url = request.getfixturevalue("postgres_url")
    s = FeedbackStore(url)
    with s.db.begin() as conn:  # each test starts from empty tables
        from qa_server.feedback import feedback, unanswered
        conn.execute(feedback.delete())
        conn.execute(unanswered.delete())
    return s


def test_feedback_and_unanswered_questions_are_reported_most_frequent_first(store):
    for _ in range(3):
        store.log_unanswered("医保卡怎么挂失")
    store.log_unanswered("护照怎么办")
    store.add_feedback(helpful=False, question="新生儿怎么参保", doc_number="赣医保发〔2023〕9号")
    store.add_feedback(helpful=False, question="新生儿怎么参保", doc_number="赣医保发〔2023〕9号", comment="没说清楚")
    store.add_feedback(helpful=True, question="交多少钱", doc_number="医保发〔2023〕24号")
    assert [(q.question, q.count) for q in store.most_unanswered()] == [("医保卡怎么挂失", 3), ("护照怎么办", 1)]
    assert [(q.question, q.count) for q in store.most_not_helpful()] == [("新生儿怎么参保", 2)]


def test_concurrent_writes_lose_nothing(store):
    writers, each = 8, 40

    def write(n: int) -> None:
        for i in range(each):
            store.add_feedback(helpful=i % 2 == 0, question=f"问题{n}-{i}", doc_number="医保发〔2023〕24号")
            store.log_unanswered(f"没答上{n}-{i}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.counts() == {"feedback": writers * each, "unanswered": writers * each}


def test_feedback_over_http_by_answer_id_or_question(api):
    body = api.post("/api/v1/ask", json={"question": "剖宫产能报多少", "region": "新乡市"}).json()
    answer = body["answers"][0]
    assert api.post("/api/v1/feedback", json={"answer_id": answer["answer_id"], "helpful": True}).status_code == 201
    assert api.post("/api/v1/feedback", json={"question": "剖宫产能报多少", "doc_number": answer["doc_number"],
                                              "helpful": False, "comment": "想知道顺产"}).status_code == 201
    assert_error_shape(api.post("/api/v1/feedback", json={"helpful": True}), 422)
    too_long = {"answer_id": "x", "helpful": True, "comment": "长" * 501}
    assert_error_shape(api.post("/api/v1/feedback", json=too_long), 422)


def test_unanswered_questions_are_logged_and_reported(server, server_database):
    import httpx

    httpx.post(f"{server}/api/v1/ask", json={"question": "驾驶证到期了去哪换"}, timeout=30)
    # The server writes unanswered questions in batches, within half a second: a report started at once can
    # be quicker than that, so it is asked again for a few seconds.
    deadline = time.monotonic() + 10
    while True:
        result = run_cli("report", "--database-url", server_database, "--limit", "1000")
        if "驾驶证到期了去哪换" in result.stdout or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert result.returncode == 0 and "驾驶证到期了去哪换" in result.stdout
