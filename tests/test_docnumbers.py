"""Document numbers: normalised spelling, and found in running text."""
import pytest

from indexer import docnumbers


@pytest.mark.parametrize("raw, expected", [
    ("医保\n\n发〔2023〕24 号", "医保发〔2023〕24号"),
    ("赣医保发[2023]9号", "赣医保发〔2023〕9号"),
    ("新医保办［2023］54号", "新医保办〔2023〕54号"),
    ("闽医保（2023）78号", "闽医保〔2023〕78号"),
    ("川医保办发【2023】018号", "川医保办发〔2023〕18号"),
    ("赣医保发〔２０２３〕９号", "赣医保发〔2023〕9号"),  # full-width digits
    ("赣医保发［2023］9号", "赣医保发〔2023〕9号"),
    ("赣医保发﹝２０２３﹞０９号", "赣医保发〔2023〕9号"),  # small-form brackets
    ("赣医保发（２０２３）９号", "赣医保发〔2023〕9号"),
    ("2023年9月15日", None),
    ("第41号", None),
])
def test_normalize(raw, expected):
    assert docnumbers.normalize(raw) == expected


def test_issuer_code_stops_at_the_words_before_it():
    text = "根据医保发〔2023〕24号文件要求；关于转发鲁医保发〔2023〕36号文件；按照《意见》(赣府发〔2017〕3号)"
    assert docnumbers.find_all(text) == ["医保发〔2023〕24号", "鲁医保发〔2023〕36号", "赣府发〔2017〕3号"]


def test_spans_point_at_the_number_in_the_text():
    text = "现将（川医保办发〔2023〕18号）转发"
    (start, end, number), = docnumbers.spans(text)
    assert text[start:end] == "川医保办发〔2023〕18号" and number == "川医保办发〔2023〕18号"


def test_full_width_numbers_are_found_in_running_text_where_they_stand():
    text = "根据赣医保发〔２０２３〕９号和医保发［２０２３］２４号文件"
    found = docnumbers.spans(text)
    assert [n for _, _, n in found] == ["赣医保发〔2023〕9号", "医保发〔2023〕24号"]
    assert [text[start:end] for start, end, _ in found] == ["赣医保发〔２０２３〕９号", "医保发［２０２３］２４号"]


FULL_WIDTH = "赣医保发〔２０２３〕９号"


def test_a_full_width_number_finds_the_notice_through_the_api(api):
    for key in (FULL_WIDTH, "赣医保发［２０２３］９号", "赣医保发﹝2023﹞９号"):
        response = api.get(f"/api/v1/documents/{key}")
        assert response.status_code == 200, key
        assert response.json()["doc_number"] == "赣医保发〔2023〕9号"
    assert api.get("/api/v1/search", params={"q": "新生儿", "doc": FULL_WIDTH}).json()["total"] > 0


def test_a_question_naming_a_full_width_number_is_answered_from_that_notice(api):
    reply = api.post("/api/v1/ask", json={"question": f"{FULL_WIDTH}里新生儿怎么参保"}).json()
    assert reply["answered"]
    assert {a["doc_number"] for a in reply["answers"]} == {"赣医保发〔2023〕9号"}


def test_a_notice_whose_number_is_typed_full_width_is_indexed_under_the_plain_number(tmp_path, corpus_dir):
    from indexer.build import BuildReport, read_corpus
    from indexer.regions import load_divisions

    text = (corpus_dir / "jiangxi-yichun-2023-25.txt").read_text(encoding="utf-8")
    typed = text.replace("赣医保发〔2023〕9号", FULL_WIDTH)
    typed = typed.replace("宜医保字〔2023〕25号", "宜医保字［２０２３］２５号")
    assert typed.count(FULL_WIDTH) == 2
    (tmp_path / "yichun.txt").write_text(typed, encoding="utf-8")
    found = {n.doc_number: n for n in read_corpus(tmp_path, BuildReport(), load_divisions())}
    assert set(found) == {"宜医保字〔2023〕25号", "赣医保发〔2023〕9号"}
    assert found["赣医保发〔2023〕9号"].forwarded_by == "宜医保字〔2023〕25号"
