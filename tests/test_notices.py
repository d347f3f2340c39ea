"""Each notice found in the corpus, with the facts that citations depend on."""
import pytest

NINE = {
    # doc_number: (level, region, region_code, issued, forwarded_by)
    "医保发〔2023〕24号": ("national", "全国", "100000", "2023-07-27", "川医保办发〔2023〕18号"),
    "川医保办发〔2023〕18号": ("province", "四川省", "510000", "2023-08-31", "自医保办发〔2023〕35号"),
    "自医保办发〔2023〕35号": ("city", "自贡市", "510300", "2023-08-31", None),
    "闽医保〔2023〕78号": ("province", "福建省", "350000", "2023-08-11", None),
    "鲁医保发〔2023〕36号": ("province", "山东省", "370000", None, "济医保发〔2023〕15号"),
    "济医保发〔2023〕15号": ("city", "济宁市", "370800", "2023-09-05", None),
    "赣医保发〔2023〕9号": ("province", "江西省", "360000", "2023-09-11", "宜医保字〔2023〕25号"),
    "宜医保字〔2023〕25号": ("city", "宜春市", "360900", "2023-09-12", None),
    "新医保办〔2023〕54号": ("city", "新乡市", "410700", "2023-09-11", None),
}


def test_the_corpus_holds_exactly_the_nine_notices(notices):
    assert set(notices) == set(NINE)


@pytest.mark.parametrize("doc_number", sorted(NINE))
def test_notice_level_region_date_and_forward_chain(notices, doc_number):
    level, region, code, issued, forwarded_by = NINE[doc_number]
    n = notices[doc_number]
    assert (n.level, n.region, n.region_code, n.issued, n.forwarded_by) == (level, region, code, issued, forwarded_by)


@pytest.mark.parametrize("cited_only", ["闽政办〔2021〕1号", "豫医保办〔2023〕71号", "豫政办〔2021〕75号",
                                        "赣府发〔2017〕3号", "赣医保发〔2021〕14号"])
def test_numbers_that_are_only_cited_are_not_notices(notices, cited_only):
    assert cited_only not in notices
    assert all(cited_only not in n.cites for n in notices.values()), "cites keeps in-corpus documents only"


def test_cites_lists_the_in_corpus_documents_a_notice_mentions(notices):
    assert notices["闽医保〔2023〕78号"].cites == ("医保发〔2023〕24号",)
    assert notices["自医保办发〔2023〕35号"].cites == ("川医保办发〔2023〕18号",)
    assert notices["济医保发〔2023〕15号"].cites == ("鲁医保发〔2023〕36号",)
    assert notices["新医保办〔2023〕54号"].cites == ()


def test_titles_are_joined_across_lines_without_stray_spaces(notices):
    assert notices["赣医保发〔2023〕9号"].title == (
        "江西省医疗保障局 江西省财政厅 国家税务总局江西省税务局关于做好我省2023年城乡居民基本医疗保障工作的通知")
    assert notices["鲁医保发〔2023〕36号"].title == "关于做好全省2023年城乡居民基本医疗保障工作的通知"
    assert notices["医保发〔2023〕24号"].title == (
        "国家医保局 财政部 国家税务总局关于做好2023年城乡居民基本医疗保障工作的通知")


def test_issuers_come_from_the_letterhead(notices):
    assert notices["医保发〔2023〕24号"].issuers == ("国家医保局", "财政部", "国家税务总局")
    assert notices["鲁医保发〔2023〕36号"].issuers == (
        "山东省医疗保障局", "山东省财政厅", "国家税务总局山东省税务局", "国家税务总局青岛市税务局")


def test_notice_ids_are_stable_and_url_safe(notices):
    ids = [n.id for n in notices.values()]
    assert len(set(ids)) == len(ids)
    assert all(i.isalnum() and i.isascii() for i in ids)
