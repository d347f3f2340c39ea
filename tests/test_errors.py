"""What a user sees when something is wrong: Chinese messages naming the field, a page for page forms,
JSON for the API, and our error shape even for requests uvicorn cannot parse."""
from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time
import uuid

import pytest
from fastapi import FastAPI

from qa_server.errors import validation_message
from qa_server.http_protocol import BAD_REQUEST_MESSAGE, JsonH11Protocol
from tests.conftest import assert_error_shape, free_port, start_server

# The testclient module warns that it will move to httpx2; the client itself is what these tests need.
pytestmark = pytest.mark.filterwarnings("ignore::starlette.exceptions.StarletteDeprecationWarning")


# --- the API's 422s in Chinese ------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload, message", [
    ({"question": "交" * 501}, "问题不能超过 500 个字"),
    ({"question": ""}, "问题不能为空"),
    ({"question": "   "}, "问题不能为空"),
    ({"question": "\n\t \u3000"}, "问题不能为空"),
    ({"question": "\u200b\u200c\u200d\u2060\ufeff"}, "问题不能为空"),
    ({}, "缺少问题"),
    ({"question": "交多少钱", "top_k": 0}, "返回条数须在 1 到 10 之间"),
    ({"question": "交多少钱", "top_k": 11}, "返回条数须在 1 到 10 之间"),
    ({"question": "交多少钱", "top_k": "三"}, "返回条数须为整数"),
    ({"question": "交多少钱", "previous_question": "问" * 501}, "上一个问题不能超过 500 个字"),
    ({"question": "交多少钱", "region": "地" * 51}, "地区不能超过 50 个字"),
    ([1, 2], "请求内容须为 JSON 对象"),
])
def test_ask_validation_errors_speak_chinese(api, payload, message):
    error = assert_error_shape(api.post("/api/v1/ask", json=payload), 422)
    assert error == {"code": "invalid_request", "message": message}


def test_every_problem_of_a_request_is_named(api):
    error = assert_error_shape(api.post("/api/v1/ask", json={"question": "", "top_k": 99}), 422)
    assert error["message"] == "问题不能为空；返回条数须在 1 到 10 之间"


def test_a_body_that_is_not_json_says_so(api):
    response = api.post("/api/v1/ask", content='{"question": "交多少'.encode(),
                        headers={"Content-Type": "application/json"})
    assert assert_error_shape(response, 422)["message"] == "请求内容不是有效的 JSON"


@pytest.mark.parametrize("params, message", [
    ({"limit": 0}, "每页条数须在 1 到 50 之间"),
    ({"offset": -1}, "起始位置须在 0 到 100000 之间"),
    ({"level": "planet"}, "层级须为以下之一：national、province、city、county"),
    ({"q": "词" * 501}, "关键词不能超过 500 个字"),
])
def test_search_validation_errors_speak_chinese(api, params, message):
    assert assert_error_shape(api.get("/api/v1/search", params=params), 422)["message"] == message


def test_a_region_code_must_have_six_digits(api):
    response = api.get("/api/v1/regions", params={"parent": "36"})
    assert assert_error_shape(response, 422)["message"] == "上级地区代码须为六位数字"


@pytest.mark.parametrize("payload, message", [
    ({"answer_id": "x", "helpful": "也许"}, "是否有帮助须为 true 或 false"),
    ({"answer_id": "x"}, "缺少是否有帮助"),
    ({"answer_id": "x", "helpful": True, "comment": "意" * 501}, "意见不能超过 500 个字"),
    # The model's own check is already Chinese: shown as it is, without pydantic's "Value error, ".
    ({"helpful": True}, "需要回答编号 answer_id，或者问题 question 和发文字号 doc_number"),
])
def test_feedback_validation_errors_speak_chinese(api, payload, message):
    assert assert_error_shape(api.post("/api/v1/feedback", json=payload), 422)["message"] == message


def test_feedback_on_an_answer_never_given_is_a_404(api):
    error = assert_error_shape(api.post("/api/v1/feedback", json={"answer_id": "made-up-0000", "helpful": False}), 404)
    assert error["code"] == "answer_not_found"


@pytest.mark.parametrize("error, message", [
    ({"type": "string_too_short", "loc": ("body", "question"), "ctx": {"min_length": 2}}, "问题至少 2 个字"),
    ({"type": "greater_than_equal", "loc": ("query", "page"), "ctx": {"ge": 1}}, "页码不能小于 1"),
    ({"type": "less_than_equal", "loc": ("query", "limit"), "ctx": {"le": 50}}, "每页条数不能大于 50"),
    ({"type": "missing", "loc": ("query", "topic")}, "缺少话题"),
    ({"type": "extra_forbidden", "loc": ("body", "colour")}, "不支持的参数：colour"),
    ({"type": "url_parsing", "loc": ("body", "doc")}, "文件不正确"),
    ({"type": "string_type", "loc": ("body", "mystery")}, "参数 mystery须为文字"),
])
def test_each_kind_of_validation_error_has_chinese_words(error, message):
    assert validation_message(error) == message


# --- pages get pages, the API gets JSON ------------------------------------------------------------------------


def test_a_form_post_with_a_too_long_question_gets_a_page(api):
    response = api.post("/", data={"question": "交" * 600})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "问题不能超过 500 个字" in response.text and '<a href="/">' in response.text


def test_a_browser_asking_for_a_missing_page_gets_a_page_and_an_api_client_json(api):
    page = api.get("/no-such-page", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "找不到请求的内容" in page.text
    assert_error_shape(api.get("/no-such-page"), 404)
    # Under /api/ even a browser gets JSON: that is what the API promises.
    assert_error_shape(api.get("/api/v1/nothing", headers={"Accept": "text/html"}), 404)
    assert_error_shape(api.post("/api/v1/ask", data={"question": "交" * 600}), 422)


@pytest.fixture(scope="module")
def mounted(assistant, tmp_path_factory):
    """The app mounted under /policyqa in a host app, in process."""
    from fastapi.testclient import TestClient  # imported here, where the filter above silences its warning

    from qa_server.app import create_app
    from qa_server.settings import Settings

    database = tmp_path_factory.mktemp("mounted") / "feedback.db"
    host = FastAPI()
    host.mount("/policyqa", create_app(Settings(database_url=f"sqlite:///{database}", max_body_bytes=8192),
                                       assistant=assistant))
    with TestClient(host) as client:
        yield client


def test_the_error_page_follows_the_mount_prefix(mounted):
    response = mounted.post("/policyqa/", data={"question": "交" * 600})
    assert response.status_code == 422 and response.headers["content-type"].startswith("text/html")
    assert 'href="/policyqa/static/app.css"' in response.text and 'href="/policyqa/"' in response.text
    assert_error_shape(mounted.post("/policyqa/api/v1/ask", json={"question": "交" * 600}), 422)


def test_a_page_form_too_large_gets_a_page(mounted):
    response = mounted.post("/policyqa/", data={"question": "交" * 1000})
    assert response.status_code == 413 and response.headers["content-type"].startswith("text/html")
    assert "请求内容过大" in response.text and 'href="/policyqa/static/app.css"' in response.text
    assert_error_shape(mounted.post("/policyqa/api/v1/ask", json={"question": "交" * 3000}), 413)


# --- eval traffic stays out of the unanswered log ------------------------------------------------------------


def test_eval_questions_are_not_logged_as_unanswered(api, server_database):
    tag = uuid.uuid4().hex[:8]
    evaluated, asked = f"帮我订一张去北京的机票 {tag} 评测", f"帮我订一张去北京的机票 {tag} 居民"
    reply = api.post("/api/v1/ask", json={"question": evaluated}, headers={"X-Policyqa-Eval": "1"}).json()
    assert reply["answered"] is False
    assert api.post("/api/v1/ask", json={"question": asked}).json()["answered"] is False
    database = server_database.removeprefix("sqlite:///")

    def logged() -> set[str]:
        with sqlite3.connect(database) as conn:
            return {q for (q,) in conn.execute("SELECT question FROM unanswered WHERE question LIKE ?", (f"%{tag}%",))}

    # The server writes in batches, in order, within half a second: once the resident's question is there,
    # the evaluation's would be too, had it been logged.
    deadline = time.monotonic() + 5
    while asked not in logged() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert logged() == {asked}


# --- requests uvicorn cannot parse ------------------------------------------------------------------------------


def _raw(url_or_port, payload: bytes) -> bytes:
    port = url_or_port if isinstance(url_or_port, int) else int(url_or_port.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(payload)
        received = b""
        while chunk := s.recv(65536):
            received += chunk
    return received


GARBAGE = [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n", b"GET / HTTP/1.1\r\nHost\r\n\r\n",
           b"HELLO WORLD\r\n\r\n"]


def _assert_json_400(response: bytes) -> None:
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"content-type: application/json" in head.lower()
    assert json.loads(body) == {"error": {"code": "bad_request", "message": BAD_REQUEST_MESSAGE}}


@pytest.mark.parametrize("payload", GARBAGE)
def test_a_malformed_request_gets_our_error_shape(server, payload):
    _assert_json_400(_raw(server, payload))


def test_the_h11_protocol_answers_malformed_requests_the_same_way():
    """uvicorn uses httptools when it is installed and h11 otherwise; both are covered."""
    import uvicorn

    async def app(scope, receive, send):  # never reached: the request does not parse
        raise AssertionError(scope)

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, http=JsonH11Protocol, lifespan="off",
                                           log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        for payload in GARBAGE:
            _assert_json_400(_raw(port, payload))
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_every_worker_of_serve_workers_answers_malformed_requests_the_same_way(server, served_dir, server_database):
    # `server` built the index in served_dir; the workers serve that one.
    proc, url = start_server("--workers", "2", "--index", str(served_dir / "index"), "--corpus", "/nonexistent",
                             env={"POLICYQA_DATABASE_URL": server_database})
    try:
        for _ in range(4):  # connections spread over both workers
            _assert_json_400(_raw(url, GARBAGE[1]))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
