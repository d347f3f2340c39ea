"""Reading questions: traditional script, numerals, synonyms, document numbers, scope."""
import pytest

from policyqa.understanding import cn_to_int, digits_for_numerals, quantity_spellings, read_question


@pytest.fixture(scope="module")
def read(resources):
    return lambda text, region=None: read_question(text, resources, region)


def test_traditional_is_read_as_simplified(read, resources):
    assert resources.to_simplified("醫保繳費標準") == "医保缴费标准"
    assert read("新鄉市門診報銷").region.name == "新乡市"


@pytest.mark.parametrize("cn, value", [("三", 3), ("十五", 15), ("六十", 60), ("一百二十", 120), ("二〇二四", 2024),
                                       ("两", 2)])
def test_chinese_numerals(cn, value):
    assert cn_to_int(cn) == value


def test_numerals_with_units_become_digits():
    assert digits_for_numerals("六十岁以上，三个月内，百分之五十") == "60岁以上，3个月内，50%"


def test_quantities_have_the_spellings_notices_use():
    assert {"90天", "90日"} <= set(quantity_spellings("三个月"))
    assert "60周岁" in quantity_spellings("六十岁")


@pytest.mark.parametrize("question, policy_term", [
    ("孩子出生了怎么交钱", "缴费"),
    ("在社区医院看病能报多少", "基层医疗机构"),
    ("贫困户有补贴吗", "低保对象"),
    ("起付线是多少", "起付标准"),
    ("顺产能报吗", "自然分娩"),
])
def test_everyday_words_map_to_policy_terms(question, policy_term, read):
    assert policy_term in read(question).expansions


def test_a_synonym_never_matches_inside_a_longer_policy_term(read):
    assert "住院" not in read("住院待遇怎么样").explained


@pytest.mark.parametrize("question, number", [
    ("赣医保发[2023]9号怎么规定", "赣医保发〔2023〕9号"),
    ("按照 新医保办（2023）54号 执行吗", "新医保办〔2023〕54号"),
])
def test_document_numbers_in_any_bracket_style(question, number, read):
    assert read(question).doc_numbers == (number,)


@pytest.mark.parametrize("question", ["养老金每月发多少", "公积金怎么提取", "长护险怎么报",
                                      "职工医保退休后要交满多少年"])
def test_other_schemes_are_out_of_scope(question, read):
    assert read(question).out_of_scope


def test_naming_resident_insurance_keeps_a_question_in_scope(read):
    assert read("养老保险和居民医保能一起交吗").out_of_scope is None


def test_the_region_field_wins_over_a_place_in_the_question(read, resources):
    q = read("宜春的规定", resources.divisions.lookup("新乡市"))
    assert (q.region.name, q.region_from) == ("新乡市", "param")


def test_synonym_targets_carry_no_figures_of_this_years_notices():
    """A figure (380元, 12月31日) in a synonym would point at one year's notice and go stale with the next one;
    only spellings of the phrase's own quantity (七成 → 70%) and definitions (老年人 → 60周岁) may have digits."""
    import re

    from indexer.resources import data_rows

    definitions = {"老人", "老年人"}
    for row in data_rows("synonyms.tsv"):
        phrase, terms = row[0], row[1]
        if re.search(r"\d", terms) and phrase not in definitions:
            assert re.search(r"[\d零一二两三四五六七八九十百]", phrase), row


@pytest.mark.parametrize("question, place", [
    ("在深圳打工交的职工医保，辞职回湖北老家了，现在怎么交居民医保", "湖北省"),
    ("前几年在浙江，今年回到新乡了，居民医保在哪交", "新乡市"),
])
def test_the_place_the_asker_went_back_to_is_asked_about(resources, question, place):
    assert read_question(question, resources).region.name == place
