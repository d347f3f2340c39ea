"""POST /v1/chat/completions with the official `openai` package as the client, against a real server."""
import httpx
import openai
import pytest

from tests.conftest import CORPUS, clear_of_window_edge, start_server

KEY = "chat-key"
NEWBORN = "孩子刚出生怎么参保"
TWO_QUESTIONS = ("你好,我家在新乡辉县市农村,老人今年70多岁了。想问两个问题:1.今年的居民医保个人要交多少钱? "
                 "2.错过了集中缴费期再交,要等多少天才能报销?谢谢")


@pytest.fixture(scope="module")
def chat_server(tmp_path_factory):
    d = tmp_path_factory.mktemp("chat")
    proc, url = start_server("--index", str(d / "index"), "--corpus", str(CORPUS), env={
        "POLICYQA_API_KEYS": KEY, "POLICYQA_DATABASE_URL": f"sqlite:///{d / 'f.db'}"})
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def client(chat_server):
    # No retries: a 429 or 5xx must show here, not be retried away.
    with openai.OpenAI(base_url=f"{chat_server}/v1", api_key=KEY, max_retries=0, timeout=30) as c:
        yield c


def _citations(obj) -> list[dict]:
    return obj.model_extra["citations"]


def _assert_cited_reply(completion, region_word: str | None):
    message = completion.choices[0].message
    cited = _citations(message)
    assert cited and cited == _citations(completion), "citations on the message and at the top level"
    assert message.role == "assistant" and completion.choices[0].finish_reason == "stop"
    assert message.content.startswith(cited[0]["quote"]), "the reply leads with the quoted sentence"
    for c in cited:
        assert set(c) >= {"doc_number", "title", "section", "quote", "url"}
        assert f"{c['quote']}\n——{c['citation']}" in message.content, "each quote is followed by its citation"
        assert c["doc_number"] in c["citation"] and c["url"].startswith("/documents/")
    if region_word:
        assert region_word in message.content
    return cited


def test_a_cited_answer_with_the_region_from_a_system_message(client):
    completion = client.chat.completions.create(model="policyqa-test", messages=[
        {"role": "system", "content": "你是医保政策助手。地区：宜春市"},
        {"role": "user", "content": NEWBORN}])
    assert completion.model == "policyqa-test" and completion.object == "chat.completion"
    cited = _assert_cited_reply(completion, "宜春市")
    assert cited[0]["doc_number"] == "赣医保发〔2023〕9号" and cited[0]["section"] == "三、（四）"
    assert "（赣医保发〔2023〕9号）第三条第（四）项" in completion.choices[0].message.content
    assert "12393" in completion.choices[0].message.content


def test_the_region_as_a_code_in_metadata_or_in_a_system_message(client):
    by_metadata = client.chat.completions.create(model="policyqa", metadata={"region": "360902"},
                                                 messages=[{"role": "user", "content": NEWBORN}])
    by_code = client.chat.completions.create(model="policyqa", messages=[
        {"role": "system", "content": "用户所在地的行政区划代码是 360902。"}, {"role": "user", "content": NEWBORN}])
    _assert_cited_reply(by_metadata, "袁州区")
    assert by_code.choices[0].message.content == by_metadata.choices[0].message.content


def test_without_a_region(client):
    completion = client.chat.completions.create(model="policyqa", messages=[{"role": "user", "content": NEWBORN}])
    _assert_cited_reply(completion, None)


def test_streaming_sends_the_same_reply_in_chunks_and_the_citations_at_the_end(client):
    messages = [{"role": "system", "content": "地区：宜春市"}, {"role": "user", "content": NEWBORN}]
    whole = client.chat.completions.create(model="policyqa", messages=messages)
    chunks = list(client.chat.completions.create(model="policyqa", messages=messages, stream=True))
    assert len(chunks) > 3 and all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == whole.choices[0].message.content
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert _citations(last) == _citations(whole)
    assert all("citations" not in (c.model_extra or {}) for c in chunks[:-1])


def test_streaming_without_a_region_ends_with_done(chat_server):
    ask = {"model": "x", "stream": True, "messages": [{"role": "user", "content": NEWBORN}]}
    with httpx.stream("POST", f"{chat_server}/v1/chat/completions", json=ask, timeout=30,
                      headers={"Authorization": f"Bearer {KEY}"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines() if line]
    assert events[-1] == "data: [DONE]" and all(e.startswith("data: ") for e in events)


def test_an_earlier_user_turn_is_the_context_of_a_follow_up(client):
    completion = client.chat.completions.create(model="policyqa", messages=[
        {"role": "user", "content": "我家在新乡市，孩子刚出生怎么参保"},
        {"role": "assistant", "content": "（上一轮的回答）"},
        {"role": "user", "content": "那要交多少钱？"}])
    cited = _assert_cited_reply(completion, "新乡市")
    assert cited[0]["doc_number"] == "新医保办〔2023〕54号"


def test_a_message_with_two_questions_gets_one_block_each(client):
    completion = client.chat.completions.create(model="policyqa", messages=[{"role": "user", "content": TWO_QUESTIONS}])
    content = completion.choices[0].message.content
    assert content.startswith("1. ") and "\n\n2. " in content
    first, second = content.split("\n\n2. ", 1)
    assert "——《" in first and "——《" in second
    assert {c["doc_number"] for c in _citations(completion)} >= {"新医保办〔2023〕54号"}


def test_an_unanswered_question_says_so_and_gives_the_hotline(client):
    completion = client.chat.completions.create(model="policyqa", messages=[
        {"role": "user", "content": "职工医保个人账户里的钱怎么取出来"}])
    assert "12393" in completion.choices[0].message.content
    assert _citations(completion) == []


def test_answers_are_remembered_for_feedback(client, chat_server):
    completion = client.chat.completions.create(model="policyqa", messages=[{"role": "user", "content": NEWBORN}])
    answer_id = _citations(completion)[0]["answer_id"]
    stored = httpx.post(f"{chat_server}/api/v1/feedback", json={"answer_id": answer_id, "helpful": True}, timeout=30,
                        headers={"X-API-Key": KEY})
    assert stored.status_code == 201


def _openai_error(e: openai.APIStatusError, status: int) -> dict:
    assert e.status_code == status
    body = e.response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["error"]["message"])
    return body["error"]


def test_the_same_keys_as_the_api_and_errors_in_openai_shape(chat_server):
    with (openai.OpenAI(base_url=f"{chat_server}/v1", api_key="wrong", max_retries=0) as wrong,
          pytest.raises(openai.AuthenticationError) as refused):
        wrong.chat.completions.create(model="policyqa", messages=[{"role": "user", "content": NEWBORN}])
    error = _openai_error(refused.value, 401)
    assert error["code"] == "unauthorized" and error["type"] == "authentication_error"


@pytest.mark.parametrize(("request_body", "code", "param"), [
    ({"messages": [{"role": "user", "content": NEWBORN}], "metadata": {"region": "火星市"}}, "unknown_region",
     "metadata.region"),
    ({"messages": [{"role": "system", "content": "地区：朝阳区"}, {"role": "user", "content": NEWBORN}]},
     "ambiguous_region", "messages"),
    ({"messages": [{"role": "system", "content": "你是医保助手"}]}, "invalid_request", "messages"),
    ({"messages": [{"role": "user", "content": "   "}]}, "invalid_request", "messages"),
    ({"messages": [{"role": "user", "content": "参" * 501}]}, "invalid_request", "messages"),
])
def test_bad_requests_name_the_field(client, request_body, code, param):
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        client.chat.completions.create(model="policyqa", **request_body)
    error = _openai_error(refused.value, 422)
    assert (error["code"], error["param"], error["type"]) == (code, param, "invalid_request_error")


def test_a_malformed_body_is_an_openai_error_in_chinese(chat_server):
    response = httpx.post(f"{chat_server}/v1/chat/completions", content=b"{not json", timeout=30,
                          headers={"Authorization": f"Bearer {KEY}", "content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "请求内容不是有效的 JSON"


def test_the_model_list_names_the_service(client):
    assert [m.id for m in client.models.list()] == ["policyqa"]


def test_the_same_rate_limit_as_the_api(tmp_path):
    proc, url = start_server("--index", str(tmp_path / "index"), "--corpus", str(CORPUS), env={
        "POLICYQA_RATE_LIMIT": "3/minute", "POLICYQA_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}"})
    try:
        with openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=30) as limited:
            ask = {"model": "policyqa", "messages": [{"role": "user", "content": NEWBORN}]}
            clear_of_window_edge(60, margin=10)  # the five requests below are counted in one fixed window
            for _ in range(3):
                limited.chat.completions.create(**ask)
            with pytest.raises(openai.RateLimitError) as refused:
                limited.chat.completions.create(**ask)
        error = _openai_error(refused.value, 429)
        assert error["code"] == "rate_limited" and int(refused.value.response.headers["retry-after"]) >= 1
        assert httpx.get(f"{url}/api/v1/regions", timeout=30).status_code == 429, "one count for both routes"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
