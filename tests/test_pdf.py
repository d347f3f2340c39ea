"""PDF notices (typeset from the corpus texts by tests/fixtures/make_pdfs.py) read exactly like their texts."""
import re
from pathlib import Path

import pytest

from indexer.loading import read_text
from indexer.notices import parse_file
from indexer.regions import load_divisions

PDFS = sorted((Path(__file__).parent / "fixtures" / "pdf").glob("*.pdf"))


def test_every_corpus_text_has_a_pdf_twin(corpus_dir):
    assert [p.stem for p in PDFS] == sorted(p.stem for p in corpus_dir.glob("*.txt"))


def _facts(notices):
    return [(n.doc_number, n.title, n.issuers, n.level, n.region, n.issued, n.forwarded_by, n.cites,
             [(c.section, c.heading, c.text) for c in n.clauses]) for n in notices]


@pytest.mark.parametrize("pdf", PDFS, ids=lambda p: p.stem)
def test_pdf_yields_the_same_notices_and_clauses_as_its_text(pdf, corpus_dir):
    text = (corpus_dir / f"{pdf.stem}.txt").read_text(encoding="utf-8")
    from_text = parse_file(text, pdf.stem, load_divisions())
    from_pdf = parse_file(read_text(pdf), pdf.stem, load_divisions())
    assert _facts(from_pdf) == _facts(from_text)


@pytest.mark.parametrize("pdf", PDFS[:1], ids=lambda p: p.stem)
def test_page_numbers_headers_and_fake_bold_are_gone(pdf):
    text = read_text(pdf)
    assert not re.search(r"—\s*\d+\s*—", text), "page numbers are dropped"
    first_line = next(line for line in text.splitlines() if line.strip())
    number = re.search(r"\S+〔2023〕\d+号", text).group(0)
    assert text.count(number) == 1, "the running header repeating the document number is dropped"
    heading = next(line for line in text.splitlines() if line.startswith("一、"))
    assert not re.search(r"(.)\1", heading.replace("一、", "")[:6]), f"fake-bold glyphs are deduplicated: {heading}"
    assert first_line


def test_a_scanned_or_empty_pdf_is_reported(tmp_path):
    from reportlab.pdfgen import canvas

    blank = tmp_path / "scan.pdf"
    c = canvas.Canvas(str(blank))
    c.rect(50, 50, 100, 100)
    c.showPage()
    c.save()
    from indexer.loading import CorpusFileError
    with pytest.raises(CorpusFileError, match="没有可提取的中文"):
        read_text(blank)
