"""Text from a typeset PDF notice through pdfplumber, in the shape of the text seeds.

Three artifacts of typesetting are undone here:
  * fake bold: headings drawn twice a fraction of a point apart (pdfplumber's dedupe_chars);
  * page numbers ("— 3 —") and running headers and footers, found as lines in the
    top or bottom margin that repeat, digits aside, on most pages;
  * line wrapping: a line that runs to the right margin continues on the next line
    unless that one is indented (a new paragraph, GB/T 9704-2012 §7.3.1: two
    characters of indent). Other line ends become blank-line breaks for text_repair.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from statistics import median

from .text_repair import is_page_number

_MARGIN = 0.09  # share of the page height taken as top or bottom margin


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def extract_pdf_text(path: Path) -> str:
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError

    from .loading import CorpusFileError

    try:
        with pdfplumber.open(path) as pdf:
            pages = []
            for page in pdf.pages:
                lines = page.dedupe_chars(tolerance=1).extract_text_lines(strip=True, return_chars=True)
                pages.append((float(page.height), lines))
    except (PDFSyntaxError, ValueError, KeyError, TypeError) as e:
        raise CorpusFileError(f"PDF 无法解析（{type(e).__name__}）") from e
    except Exception as e:  # pdfminer raises many private exception types for damaged files
        if type(e).__module__.startswith(("pdfminer", "pdfplumber", "pypdfium2")):
            raise CorpusFileError(f"PDF 无法解析（{type(e).__name__}）") from e
        raise
    return _lines_to_text(pages)


def _lines_to_text(pages: list[tuple[float, list[dict]]]) -> str:
    def in_margin(line: dict, height: float) -> bool:
        return line["top"] < height * _MARGIN or line["bottom"] > height * (1 - _MARGIN)

    margin_keys = Counter(
        key for height, lines in pages for key in {_key(line["text"]) for line in lines if in_margin(line, height)}
    )
    repeated = {k for k, n in margin_keys.items() if n >= 2 and n >= len(pages) / 2}
    body = [
        [
            line for line in lines
            if not (
                in_margin(line, height)
                and (_key(line["text"]) in repeated or is_page_number(line["text"]) or line["text"].strip().isdigit())
            )
        ]
        for height, lines in pages
    ]
    all_lines = [line for lines in body for line in lines]
    if not all_lines:
        return ""
    char_width = median(c["x1"] - c["x0"] for line in all_lines for c in line["chars"] if not c["text"].isascii()) \
        if any(not c["text"].isascii() for line in all_lines for c in line["chars"]) else 10.0
    left = median(round(line["x0"]) for line in all_lines)
    right = max(line["x1"] for line in all_lines)
    out: list[str] = []
    previous_full = False
    for line in all_lines:
        indented = line["x0"] > left + char_width * 0.9
        if out and previous_full and not indented:
            out[-1] += line["text"]
        else:
            out.append(line["text"])
        previous_full = line["x1"] >= right - char_width * 1.2
    # Paragraphs apart by a blank line, as in text extracted from the same notices.
    return "\n\n".join(out)
