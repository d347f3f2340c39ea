"""Which rule is in force: coverage years, newer notices superseding older ones, honest answers about dates.

The 2025-year notices in tests/fixtures/notices are test fixtures (not real documents) for 宜春 and 新乡.
"""
import datetime as dt
import shutil

import pytest

from indexer.build import build_index
from policyqa import Assistant
from policyqa.in_force import parse_as_of
from tests.conftest import CORPUS, ROOT, ask_json, assert_error_shape, run_cli, start_server

FIXTURES = ROOT / "tests" / "fixtures" / "notices"


@pytest.fixture(scope="module")
def next_year_index(tmp_path_factory):
    """The bundled corpus plus the 2025-year test notices of 宜春 and 新乡."""
    corpus = tmp_path_factory.mktemp("corpus-2025")
    for path in [*CORPUS.glob("*.txt"), *FIXTURES.glob("*.txt")]:
        shutil.copy(path, corpus / path.name)
    build_index(corpus, corpus.parent / "index-2025")
    return corpus.parent / "index-2025"


@pytest.fixture(scope="module")
def in_2026(next_year_index, resources):
    return Assistant.load(next_year_index, resources, today=lambda: dt.date(2026, 3, 1))


def test_every_seed_notice_states_its_years(notices):
    for n in notices.values():
        assert (n.coverage_year, n.effective, n.repeals) == (2024, None, ()), n.doc_number


def test_the_test_notices_state_their_years_and_what_they_replace(in_2026):
    yichun = in_2026.document("宜医保字〔2024〕31号").notice
    xinxiang = in_2026.document("新医保办〔2024〕61号").notice
    assert (yichun.coverage_year, yichun.repeals) == (2025, ("宜医保字〔2023〕25号",))
    assert (xinxiang.coverage_year, xinxiang.effective) == (2025, "2024-09-01")


def test_next_years_notice_is_cited_and_the_old_one_shows_as_superseded(in_2026):
    reply = ask_json(in_2026, "宜春居民医保个人一年交多少钱")
    first = reply.answers[0]
    assert first.doc_number == "宜医保字〔2024〕31号" and "400元" in first.quote and first.coverage_year == 2025
    old = in_2026.document("宜医保字〔2023〕25号").notice
    assert in_2026.replaced_by(old).doc_number == "宜医保字〔2024〕31号"
    hits = in_2026.search("集中征缴期", doc="宜医保字〔2023〕25号")
    assert hits.hits and all(in_2026.replaced_by(h.notice) for h in hits.hits)
    current = in_2026.search("集中征缴期", region="宜春市").hits
    assert all(h.notice.doc_number != "宜医保字〔2023〕25号" for h in current)


def test_as_of_selects_the_notices_in_force_then(in_2026):
    reply = ask_json(in_2026, "宜春居民医保个人一年交多少钱", as_of="2023-10-01")
    assert reply.answers[0].coverage_year == 2024 and "400元" not in reply.answers[0].quote
    assert ask_json(in_2026, "新乡过了缴费期补交要等几天", as_of="2024").answers[0].doc_number == "新医保办〔2023〕54号"
    assert ask_json(in_2026, "新乡过了缴费期补交要等几天").answers[0].doc_number == "新医保办〔2024〕61号"


def test_a_year_the_corpus_has_no_notice_for_gets_the_nearest_rule_labelled(in_2026):
    reply = ask_json(in_2026, "2021年宜春新农合交多少钱")
    assert reply.answers[0].coverage_year == 2024
    assert "没有2021年度的文件" in reply.message and "2024年度" in reply.message


def test_this_year_against_the_servers_date_warns_of_a_newer_notice_not_yet_added(in_2026):
    reply = ask_json(in_2026, "今年济宁城乡居民医保个人交多少钱")
    assert "380元" in reply.answers[0].text
    assert "没有2026年度的文件" in reply.message and "还没有收录" in reply.message and "12393" in reply.message


def test_as_of_must_be_a_date_or_a_year():
    assert parse_as_of("2023-10-01") == dt.date(2023, 10, 1) and parse_as_of("2024") == 2024
    with pytest.raises(ValueError, match="时间不正确"):
        parse_as_of("去年秋天")


def test_adding_next_years_notice_is_one_command_that_says_what_it_replaces(tmp_path):
    assert run_cli("index", "--corpus", str(CORPUS), "--out", str(tmp_path / "index")).returncode == 0
    result = run_cli("index", "--out", str(tmp_path / "index"), "--add", str(FIXTURES / "xinxiang-2025-fixture.txt"))
    assert result.returncode == 0, result.stderr
    assert "新医保办〔2024〕61号（2025年度） 替代 新医保办〔2023〕54号" in result.stdout


def test_the_api_takes_as_of_and_shows_the_year_and_standing(next_year_index, tmp_path):
    proc, url = start_server("--index", str(next_year_index), "--corpus", str(tmp_path / "none"),
                             env={"POLICYQA_TODAY": "2026-03-01",
                                  "POLICYQA_DATABASE_URL": f"sqlite:///{tmp_path / 'feedback.db'}"})
    try:
        import httpx

        now = httpx.post(f"{url}/api/v1/ask", json={"question": "宜春居民医保个人一年交多少钱"}).json()
        then = httpx.post(f"{url}/api/v1/ask", json={"question": "宜春居民医保个人一年交多少钱",
                                                      "as_of": "2023-10-01"}).json()
        assert now["answers"][0]["coverage_year"] == 2025 and now["answers"][0]["in_force"]
        assert then["answers"][0]["coverage_year"] == 2024
        old = httpx.get(f"{url}/api/v1/documents/宜医保字〔2023〕25号").json()
        assert old["in_force"] is False and old["replaced_by"]["doc_number"] == "宜医保字〔2024〕31号"
        page = httpx.get(f"{url}/documents/{old['id']}").text
        assert "已被" in page and "宜医保字〔2024〕31号" in page and "替代" in page
        assert_error_shape(httpx.post(f"{url}/api/v1/ask", json={"question": "交多少", "as_of": "昨天"}), 422)
        searched = httpx.get(f"{url}/api/v1/search", params={"q": "缴费", "as_of": "2023-10-01"}).json()
        assert searched["total"] > 0 and all(r["coverage_year"] in (2024, None) for r in searched["results"])
    finally:
        proc.terminate()
        proc.wait(timeout=10)
