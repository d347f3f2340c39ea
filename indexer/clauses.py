"""Splitting a notice body into clauses along the GB/T 9704-2012 numbering levels.

Levels nest 一、 → （一） → 1. → （1）, with 第X条 above them where a notice uses
articles. A clause is the text under the deepest heading in force: its
paragraphs up to the next heading. A heading on a line of its own is the
clause's heading; a heading run into its paragraph ("（四）新生儿。新生儿参保…")
is its first short sentence and stays in the text.
"""
from __future__ import annotations

import re

from .models import Clause
from .text_repair import is_standalone_heading, numbering_marker, sentences

_LEVELS = ("article", "l1", "l2", "l3", "l4")
_INLINE_HEADING_MAX = 24


def normal_marker(level: str, marker: str) -> str:
    """One spelling per level: "(一)" → "（一）", "1．" → "1.", "一 、" → "一、"."""
    core = re.sub(r"[\s（()）、.．]", "", marker)
    return {"l1": f"{core}、", "l2": f"（{core}）", "l3": f"{core}.", "l4": f"（{core}）", "article": core}[level]


def _inline_heading(text: str) -> str:
    m = re.match(rf"([^。，,；;：:]{{1,{_INLINE_HEADING_MAX}}})。", text)
    return m.group(1) if m else ""


def split_clauses(doc_id: str, paragraphs: list[str]) -> tuple[Clause, ...]:
    """Clauses of one notice body, in order; `paragraphs` are repaired paragraphs."""
    clauses: list[Clause] = []
    path: dict[str, str] = {}
    heading = ""
    body: list[str] = []

    def flush() -> None:
        if not body:
            return
        text = "\n".join(body)
        section = "".join(path[level] for level in _LEVELS if level in path)
        clauses.append(Clause(
            id=f"{doc_id}-{len(clauses) + 1}",
            doc_id=doc_id,
            ordinal=len(clauses) + 1,
            section=section,
            heading=heading,
            text=text,
            sentences=sentences(text),
        ))
        body.clear()

    for paragraph in paragraphs:
        marker = numbering_marker(paragraph)
        if marker is None:
            body.append(paragraph)
            continue
        flush()
        level, written, end = marker
        depth = _LEVELS.index(level)
        for deeper in _LEVELS[depth:]:
            path.pop(deeper, None)
        path[level] = normal_marker(level, written)
        rest = paragraph[end:].strip()
        if is_standalone_heading(paragraph):
            heading = rest
        else:
            heading = _inline_heading(rest)
            body.append(rest)
    flush()
    return tuple(clauses)
