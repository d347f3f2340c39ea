"""POST /api/v1/ask and GET /api/v1/search over real HTTP."""
import pytest

from tests.conftest import assert_error_shape, run_cli

ANSWER_FIELDS = {"doc_number", "title", "issuer", "level", "region", "issued", "section", "heading", "text", "quote",
                 "score", "url", "answer_id", "citation", "coverage_year", "in_force", "replaced_by"}


def test_ask_answers_with_the_documented_shape(api):
    body = api.post("/api/v1/ask", json={"question": "新生儿怎么参保", "region": "袁州区"}).json()
    assert set(body) == {"answered", "message", "region", "answers", "candidates", "parts"}
    assert body["answered"] and body["region"] == {
        "name": "袁州区", "code": "360902", "full_name": "江西省宜春市袁州区",
        "chain": ["袁州区", "宜春市", "江西省", "全国"],
    }
    assert body["candidates"] == []
    assert 1 <= len(body["answers"]) <= 3
    for a in body["answers"]:
        assert set(a) == ANSWER_FIELDS
        assert a["quote"] in a["text"]
    assert [a["score"] for a in body["answers"]] == sorted((a["score"] for a in body["answers"]), reverse=True)[:1] + \
        [a["score"] for a in body["answers"]][1:]


def test_answer_urls_open_the_clause_in_its_document(api):
    a = api.post("/api/v1/ask", json={"question": "剖宫产定额支付多少", "region": "新乡市"}).json()["answers"][0]
    path, anchor = a["url"].split("#")
    assert f'id="{anchor}"' in api.get(path).text


@pytest.mark.parametrize("payload, field", [
    ({"question": "交多少钱", "top_k": 0}, "返回条数"),
    ({"question": "交多少钱", "top_k": 11}, "返回条数"),
    ({"question": ""}, "问题"),
    ({"question": "交" * 501}, "问题"),
    ({"question": "交多少钱", "region": "火星"}, "地区"),
    ({}, "问题"),
])
def test_bad_requests_get_a_422_naming_the_field(api, payload, field):
    error = assert_error_shape(api.post("/api/v1/ask", json=payload), 422)
    assert field in error["message"]


def test_unanswerable_questions_come_back_unanswered_with_help(api):
    body = api.post("/api/v1/ask", json={"question": "帮我订一张去北京的机票"}).json()
    assert body["answered"] is False and body["answers"] == [] and "12393" in body["message"]


def test_search_filters_counts_and_pages(api):
    everything = api.get("/api/v1/search", params={"q": "参保", "limit": 50}).json()
    jiangxi = api.get("/api/v1/search", params={"q": "参保", "region": "宜春市", "limit": 50}).json()
    assert jiangxi["total"] < everything["total"]
    assert {r["doc_number"] for r in jiangxi["results"]} <= {
        "宜医保字〔2023〕25号", "赣医保发〔2023〕9号", "医保发〔2023〕24号"
    }
    page2 = api.get("/api/v1/search", params={"q": "参保", "region": "宜春市", "limit": 5, "offset": 5}).json()
    assert [r["id"] for r in page2["results"]] == [r["id"] for r in jiangxi["results"][5:10]]
    cities = api.get("/api/v1/search", params={"q": "参保", "level": "city"}).json()
    assert {r["level"] for r in cities["results"]} == {"city"}


def test_search_within_one_document_lists_its_clauses_in_order(api):
    body = api.get("/api/v1/search", params={"doc": "宜医保字[2023]25号"}).json()
    assert body["total"] == 3 and [r["section"] for r in body["results"]] == ["", "1.", "2."]


def test_search_results_carry_a_citation_to_read_out(api):
    params = {"q": "新生儿 参保登记", "doc": "赣医保发〔2023〕9号", "limit": 1}
    r = api.get("/api/v1/search", params=params).json()["results"][0]
    assert r["citation"] == ("《江西省医疗保障局 江西省财政厅 国家税务总局江西省税务局"
                             "关于做好我省2023年城乡居民基本医疗保障工作的通知》"
                             "（赣医保发〔2023〕9号）第三条第（四）项")


@pytest.mark.parametrize("params, status", [({"limit": 0}, 422), ({"limit": 51}, 422), ({"offset": -1}, 422),
                                            ({"level": "planet"}, 422), ({"region": "火星"}, 422),
                                            ({"doc": "nope"}, 422)])
def test_bad_search_parameters_are_422s(api, params, status):
    assert_error_shape(api.get("/api/v1/search", params={"q": "参保", **params}), status)


def test_ask_on_the_command_line_prints_the_citation(tmp_path, corpus_dir):
    assert run_cli("index", "--corpus", str(corpus_dir), "--out", str(tmp_path / "index")).returncode == 0
    result = run_cli("ask", "剖宫产能报多少", "--region", "新乡市", "--index", str(tmp_path / "index"))
    assert result.returncode == 0
    assert "新医保办〔2023〕54号" in result.stdout and "2000元" in result.stdout
    as_json = run_cli("ask", "剖宫产能报多少", "--region", "新乡市", "--json", "--index", str(tmp_path / "index"))
    assert '"answered": true' in as_json.stdout


def test_eval_over_http_scores_like_eval_in_process(server, tmp_path, corpus_dir):
    own = "tests/data/questions.jsonl"
    assert run_cli("index", "--corpus", str(corpus_dir), "--out", str(tmp_path / "index")).returncode == 0
    over_http = run_cli("eval", own, "--url", server)
    in_process = run_cli("eval", own, "--index", str(tmp_path / "index"))
    assert over_http.returncode == 0 and in_process.returncode == 0

    def metric_lines(out: str) -> list[str]:
        return [line for line in out.splitlines() if line.startswith(("hit@", "strict@", "quote@", "abstain"))]

    assert metric_lines(over_http.stdout) == metric_lines(in_process.stdout)
    assert len(metric_lines(over_http.stdout)) == 5


def test_an_ambiguous_county_without_a_picked_region_gets_the_candidates(api):
    body = api.post("/api/v1/ask", json={"question": "朝阳区的居民医保一年交多少钱"}).json()
    assert body["answered"] is False and body["answers"] == []
    assert {c["code"] for c in body["candidates"]} == {"110105", "220104"}
    assert {c["full_name"] for c in body["candidates"]} == {"北京市朝阳区", "吉林省长春市朝阳区"}


def test_a_picked_city_tells_namesakes_apart(api):
    body = api.post("/api/v1/ask", json={"question": "朝阳区的居民医保一年交多少钱", "region": "220100"}).json()
    assert body["region"]["code"] == "220104" and body["candidates"] == []


def test_an_ambiguous_region_parameter_is_a_422_listing_the_candidates(api):
    error = assert_error_shape(api.post("/api/v1/ask", json={"question": "交多少钱", "region": "朝阳区"}), 422)
    assert error["code"] == "ambiguous_region" and "110105" in error["message"] and "220104" in error["message"]
