"""Resolving places to region chains, from the NBS division table."""
import pytest

from indexer.regions import mentions, most_specific
from policyqa import AmbiguousRegion, UnknownRegion
from policyqa.places import resolve_region


@pytest.fixture(scope="module")
def table(resources):
    return resources.divisions


def parse(value, table):
    try:
        return resolve_region(value, table)
    except UnknownRegion:
        return None


def chain_names(table, region):
    return [r.name for r in table.chain(region)]


@pytest.mark.parametrize("name, chain", [
    ("富顺县", ["富顺县", "自贡市", "四川省", "全国"]),
    ("袁州区", ["袁州区", "宜春市", "江西省", "全国"]),
    ("厦门", ["厦门市", "福建省", "全国"]),
    ("北京", ["北京市", "全国"]),
    ("北京市朝阳区", ["朝阳区", "北京市", "全国"]),
    ("220104", ["朝阳区", "长春市", "吉林省", "全国"]),
    ("江西省宜春市袁州区", ["袁州区", "宜春市", "江西省", "全国"]),
    ("360900", ["宜春市", "江西省", "全国"]),
    ("恩施", ["恩施土家族苗族自治州", "湖北省", "全国"]),
    ("全国", ["全国"]),
    ("东莞", ["东莞市", "广东省", "全国"]),
])
def test_any_division_resolves_to_its_chain(table, name, chain):
    assert chain_names(table, parse(name, table)) == chain


def test_a_name_several_places_share_is_never_resolved_silently(table):
    with pytest.raises(AmbiguousRegion) as refused:
        resolve_region("朝阳区", table)
    assert {r.code for r in refused.value.candidates} == {"110105", "220104"}
    assert "长春市" in str(refused.value) and "北京市" in str(refused.value)


@pytest.mark.parametrize("unknown", ["火星", "宜春县", "abc", "12", "999999"])
def test_unknown_places_do_not_resolve(table, unknown):
    assert parse(unknown, table) is None


def test_every_county_level_division_is_covered(table):
    counties = [r for r in table.by_code.values() if r.level == "county"]
    assert len(counties) > 2800
    assert all(table.chain(r)[-2].level == "province" for r in counties)


@pytest.mark.parametrize("question, place", [
    ("我住在新乡县，门诊怎么报", "新乡县"),
    ("我是樟树的，怎么交", "樟树市"),
    ("曲阜的居民住院", "曲阜市"),
    ("北京朝阳区居民医保", "朝阳区"),
    ("宜春市袁州区的新生儿", "袁州区"),
])
def test_places_named_in_a_question(table, question, place):
    assert most_specific(mentions(question, table), table).name == place


@pytest.mark.parametrize("question", ["推进资源共享和乡村振兴", "能延长缴费期吗", "会同有关部门办理", "通道药店"])
def test_everyday_words_that_are_also_county_names_are_not_places(table, question):
    assert mentions(question, table) == []
