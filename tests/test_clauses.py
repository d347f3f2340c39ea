"""Clause boundaries at the hard places of the corpus."""
import re

from indexer.clauses import split_clauses
from indexer.text_repair import join_lines


def sections(notice):
    return [c.section for c in notice.clauses]


def clause(notice, section):
    return next(c for c in notice.clauses if c.section == section)


def test_national_notice_has_its_ten_sections_in_order(notices):
    n = notices["医保发〔2023〕24号"]
    assert sections(n) == ["", "一、", "二、", "三、", "四、", "五、", "六、", "七、", "八、", "九、", "十、"]
    assert clause(n, "一、").heading == "合理确定筹资标准"
    assert clause(n, "十、").heading == "切实抓好组织实施"


def test_a_section_keeps_all_its_paragraphs(notices):
    five = clause(notices["医保发〔2023〕24号"], "五、")
    assert five.text.count("\n") == 1
    assert five.text.endswith("按时保质完成相关任务目标。")


def test_truncated_sichuan_section_ends_where_the_attachment_begins(notices):
    three = clause(notices["川医保办发〔2023〕18号"], "三、")
    assert three.text.endswith("切实做好学生、儿童和新")
    assert "附件" not in three.text and "国家医保局" not in three.text
    assert sections(notices["川医保办发〔2023〕18号"]) == ["", "一、", "二、", "三、"]


def test_text_broken_across_a_page_is_joined(notices):
    preamble = clause(notices["闽医保〔2023〕78号"], "")
    assert "健全覆盖全民、统筹城乡" in preamble.text
    ten = clause(notices["赣医保发〔2023〕9号"], "十、（三）")
    assert ten.text.endswith("对工作进展缓慢的，适时进行约谈。")


def test_a_character_repeated_over_a_page_break_is_dropped(notices):
    four = clause(notices["医保发〔2023〕24号"], "四、")
    assert "农村低收入人口" in four.text and "收入入" not in four.text


def test_yichun_items_1_and_2_are_separate_clauses(notices):
    n = notices["宜医保字〔2023〕25号"]
    assert sections(n) == ["", "1.", "2."]
    assert clause(n, "1.").text.startswith("居民医保的集中征缴期确定为2023年9月15日")
    assert clause(n, "2.").text.endswith("给予定额资助（每人每年320元）。")


def test_second_level_items_carry_their_path_and_inline_heading(notices):
    newborn = clause(notices["赣医保发〔2023〕9号"], "三、（四）")
    assert newborn.heading == "新生儿"
    assert newborn.text.startswith("新生儿。") and "有效身份证明" in newborn.text
    assert newborn.text.count("\n") == 2, "the newborn item has three paragraphs"


def test_unnumbered_paragraphs_stay_with_the_item_above(notices):
    funded = clause(notices["赣医保发〔2023〕9号"], "二、（一）")
    assert "烈士子女" in funded.text and funded.text.endswith("按照就高原则享受资助参保待遇。")


def test_metadata_is_not_clause_text(notices):
    for n in notices.values():
        for c in n.clauses:
            assert not re.search(r"抄送：|日印发|主动公开|信息公开|办公室$", c.text, re.M), (n.doc_number, c.section)
            assert not re.search(r"^各[^。]*[：:]$", c.text, re.M), "addressees are metadata"


def test_no_clause_crosses_into_another_notice(notices):
    numbers = set(notices)
    for n in notices.values():
        for c in n.clauses:
            for line in c.text.split("\n"):
                assert line not in numbers


def test_sentences_are_verbatim_slices_of_the_text(notices):
    for n in notices.values():
        for c in n.clauses:
            assert "".join(c.sentences) == c.text.replace("\n", "") or all(s in c.text for s in c.sentences)
            assert all(s in c.text for s in c.sentences)


def test_article_numbering_is_followed_where_a_notice_uses_it():
    paragraphs = join_lines(
        ["第一条 为规范居民医保缴费，制定本办法。", "第二条 参保范围", "（一）城乡居民。", "（二）在校学生。"]
    )
    clauses = split_clauses("x", paragraphs)
    assert [c.section for c in clauses] == ["第一条", "第二条（一）", "第二条（二）"]


def test_four_levels_nest_and_reset():
    lines = ["一、待遇", "（一）门诊", "1. 普通门诊", "（1）起付标准为50元。", "（2）支付比例为50%。",
             "2. 慢特病按规定执行。", "（二）住院按规定执行。", "二、其他事项按规定执行。"]
    clauses = split_clauses("x", join_lines(lines))
    assert [c.section for c in clauses] == [
        "一、（一）1.（1）", "一、（一）1.（2）", "一、（一）2.", "一、（二）", "二、"
    ]
