"""Marking quotes and matched words in clause text, safely: escape first, then wrap our own <mark>."""
from __future__ import annotations

from markupsafe import Markup, escape


def _render(text: str, spans: list[tuple[int, int]]) -> Markup:
    out, pos = [], 0
    for start, end in spans:
        out.append(escape(text[pos:start]))
        out.append(Markup("<mark>") + escape(text[start:end]) + Markup("</mark>"))
        pos = end
    out.append(escape(text[pos:]))
    return Markup("").join(out).replace("\n", Markup("<br>"))


def mark_quote(text: str, quote: str) -> Markup:
    """`text` with the verbatim `quote` in it marked."""
    start = text.find(quote) if quote else -1
    return _render(text, [(start, start + len(quote))] if start >= 0 else [])


def mark_terms(text: str, terms: list[str]) -> Markup:
    """`text` with every occurrence of `terms` marked, overlapping matches merged."""
    spans: list[tuple[int, int]] = []
    for term in sorted({t for t in terms if t}, key=len, reverse=True):
        pos = text.find(term)
        while pos >= 0:
            spans.append((pos, pos + len(term)))
            pos = text.find(term, pos + 1)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return _render(text, merged)
