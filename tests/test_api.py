"""The JSON API of a real `policyqa serve` over HTTP."""
from urllib.parse import quote

from tests.conftest import assert_error_shape
from tests.test_notices import NINE

SUMMARY_FIELDS = {"id", "doc_number", "title", "issuer", "level", "region", "region_code", "issued", "forwarded_by",
                  "clause_count"}


def test_documents_lists_exactly_the_nine_notices(api):
    response = api.get("/api/v1/documents")
    assert response.status_code == 200
    documents = response.json()["documents"]
    assert sorted(d["doc_number"] for d in documents) == sorted(NINE)
    for d in documents:
        assert set(d) >= SUMMARY_FIELDS
        level, region, code, issued, forwarded_by = NINE[d["doc_number"]]
        assert (d["level"], d["region"], d["region_code"], d["issued"], d["forwarded_by"]) == (
            level, region, code, issued, forwarded_by)
        assert d["clause_count"] > 0
    assert documents[0]["level"] == "national"


def test_a_document_has_its_clauses_in_order(api):
    documents = {d["doc_number"]: d for d in api.get("/api/v1/documents").json()["documents"]}
    national = documents["医保发〔2023〕24号"]
    body = api.get(f"/api/v1/documents/{national['id']}").json()
    assert body["doc_number"] == "医保发〔2023〕24号"
    assert [c["section"] for c in body["clauses"]] == ["", *(f"{n}、" for n in "一二三四五六七八九十")]
    assert all({"id", "section", "heading", "text"} <= set(c) for c in body["clauses"])
    assert len({c["id"] for c in body["clauses"]}) == national["clause_count"] == len(body["clauses"])
    assert body["forwarded_by"] == "川医保办发〔2023〕18号"


def test_a_document_can_be_fetched_by_its_number_in_any_bracket_style(api):
    body = api.get("/api/v1/documents/" + quote("赣医保发[2023]9号")).json()
    assert body["doc_number"] == "赣医保发〔2023〕9号"
    assert [f["doc_number"] for f in body["forwards"]] == []
    assert body["forwarded_by_link"]["doc_number"] == "宜医保字〔2023〕25号"
    assert "医保发〔2023〕24号" in [c["doc_number"] for c in body["cites"]]


def test_an_unknown_document_is_a_404_in_the_error_shape(api):
    error = assert_error_shape(api.get("/api/v1/documents/nope"), 404)
    assert error["code"] == "document_not_found"


def test_the_document_page_anchors_every_clause(api):
    documents = api.get("/api/v1/documents").json()["documents"]
    doc = next(d for d in documents if d["doc_number"] == "宜医保字〔2023〕25号")
    page = api.get(f"/documents/{doc['id']}")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    clauses = api.get(f"/api/v1/documents/{doc['id']}").json()["clauses"]
    for c in clauses:
        assert f'id="clause-{c["id"]}"' in page.text
    assert 'rel="alternate"' in page.headers["link"]
