"""Answers: the right clause for the asker's region, verbatim quotes, and saying so when nothing covers it."""
import re
from pathlib import Path

import pytest

from policyqa_cli.evaluate import evaluate, load_questions
from tests.conftest import ask_json

OWN_QUESTIONS = Path(__file__).parent / "data" / "questions.jsonl"


def ask(assistant, question, region=None, top_k=3):
    return ask_json(assistant, question, region=region, top_k=top_k)


def first(response):
    assert response.answered, response.message
    return response.answers[0]


def test_a_county_is_answered_from_its_city_notice(assistant):
    answer = first(ask(assistant, "我家在获嘉县，门诊看病在县级医院能报多少"))
    assert answer.doc_number == "新医保办〔2023〕54号"
    assert "50%" in answer.quote


def test_the_region_field_restricts_answers_to_the_chain(assistant):
    response = ask(assistant, "过了集中缴费期再交，等待期多久", region="辉县市")
    assert response.region.chain == ["辉县市", "新乡市", "河南省", "全国"]
    assert {a.doc_number for a in response.answers} <= {"新医保办〔2023〕54号", "医保发〔2023〕24号"}
    assert "30天" in first(response).quote


def test_the_same_question_elsewhere_gets_the_local_rule(assistant):
    jiangxi = first(ask(assistant, "过了集中征缴期才缴费，待遇等待期多久", region="江西省"))
    xinxiang = first(ask(assistant, "过了集中征缴期才缴费，待遇等待期多久", region="新乡市"))
    assert jiangxi.doc_number == "赣医保发〔2023〕9号" and "90日" in jiangxi.quote
    assert xinxiang.doc_number == "新医保办〔2023〕54号" and "30天" in xinxiang.quote


def test_the_most_specific_notice_along_the_chain_comes_first(assistant):
    response = ask(assistant, "重度残疾人参保有没有资助", region="宜春市")
    assert [a.doc_number for a in response.answers[:2]] == ["宜医保字〔2023〕25号", "赣医保发〔2023〕9号"]


def test_a_region_without_notices_gets_the_national_rule_and_is_told(assistant):
    response = ask(assistant, "居民医保个人缴费标准是多少", region="北京市")
    assert first(response).doc_number == "医保发〔2023〕24号"
    assert "北京市" in response.message and "国家" in response.message


def test_without_a_region_the_national_rule_comes_first(assistant):
    assert first(ask(assistant, "2023年居民医保人均财政补助标准是多少")).doc_number == "医保发〔2023〕24号"


def test_where_regions_differ_the_message_says_how(assistant):
    response = ask(assistant, "过了缴费期补缴后要等多少天才能享受待遇")
    places = {a.region for a in response.answers}
    assert len(places) >= 2
    assert "各地规定不同" in response.message


def test_a_document_number_restricts_the_answer_to_that_notice(assistant):
    response = ask(assistant, "闽医保〔2023〕78号对住院报销比例怎么说")
    assert {a.doc_number for a in response.answers} == {"闽医保〔2023〕78号"}
    assert "70%" in first(response).quote


def test_a_document_number_outside_the_corpus_is_said_plainly(assistant):
    response = ask(assistant, "豫医保办〔2023〕71号有什么规定")
    assert not response.answered and "豫医保办〔2023〕71号" in response.message


def test_traditional_questions_are_answered_like_simplified_ones(assistant):
    simplified = first(ask(assistant, "济宁门诊统筹定点医疗机构扩大到哪里"))
    traditional = first(ask(assistant, "濟寧門診統籌定點醫療機構擴大到哪裡"))
    assert (simplified.doc_number, simplified.section) == (traditional.doc_number, traditional.section)


def test_chinese_numerals_meet_the_digits_of_the_notices(assistant):
    answer = first(ask(assistant, "江西的军人退役不到三个月，家属参保受不受征缴期限制"))
    assert answer.section == "三、（五）"


@pytest.mark.parametrize("question", ["帮我写一首关于春天的诗", "今天股市怎么样", "失业金每个月领多少",
                                      "住房公积金怎么提取", "护照怎么办理", "你好"])
def test_questions_the_notices_do_not_cover_are_declined_with_the_hotline(assistant, question):
    response = ask(assistant, question)
    assert not response.answered and response.answers == []
    assert "12393" in response.message or "12333" in response.message


@pytest.mark.parametrize("top_k", [1, 3, 10])
def test_every_quote_is_verbatim_and_every_citation_is_in_the_index(assistant, top_k):
    numbers = {n.doc_number for n in assistant.documents()}
    for question in ["新生儿怎么参保", "门诊慢特病报销", "大学生参保", "集中征缴期", "生育津贴", "双通道药店"]:
        response = ask(assistant, question, top_k=top_k)
        assert len(response.answers) <= top_k
        for a in response.answers:
            assert a.quote and a.quote in a.text
            assert a.doc_number in numbers
            assert re.fullmatch(r"/documents/\w+#clause-[\w-]+", a.url)


def test_our_own_question_set_stays_answered_well(assistant):
    """A floor on tests/data/questions.jsonl, our own calibration set (never the dev set)."""
    questions = load_questions(OWN_QUESTIONS)
    report = evaluate(questions, lambda q: ask(assistant, q.question, q.region).model_dump())
    m = report.metrics
    assert m["hit@1"] >= 0.9 and m["quote@1"] >= 0.85 and m["abstain"] == 1.0, (
        m, [(o.question.id, o.question.question) for o in report.misses()])


def test_the_eval_metrics_follow_the_dev_readme_definitions():
    from policyqa_cli.evaluate import Question, judge

    expect = ({"doc": "甲〔2023〕1号", "contains": "三 十天"}, {"doc": "乙〔2023〕2号", "contains": "九十"})
    q = Question("x", "?", None, expect, "fact")
    response = {"answered": True, "answers": [
        {"doc_number": "乙[2023]2号", "text": "要等九十天", "quote": "九十"},
        {"doc_number": "甲〔2023〕1号", "text": "三十天", "quote": ""}]}
    outcome = judge(q, response, 0.0)
    assert (outcome.hit1, outcome.hit3, outcome.strict1, outcome.quote1) == (True, True, False, True)
    assert not judge(q, {"answered": False, "answers": response["answers"]}, 0.0).hit1
    assert judge(Question("y", "?", None, (), "out-of-scope"), {"answered": False, "answers": []}, 0.0).abstained
