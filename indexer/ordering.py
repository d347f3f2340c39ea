"""The order of notices in an index, and their citations of one another: decided once every notice is known."""
from __future__ import annotations

import dataclasses

from .models import Notice

_LEVEL_ORDER = {"national": 0, "province": 1, "city": 2, "county": 3}


def notice_order(n: Notice) -> tuple:
    """National first, then by region code, then newest first: the order of document lists."""
    return (_LEVEL_ORDER.get(n.level, 9), n.region_code, -int((n.issued or "0000").replace("-", "")), n.doc_number)


def link(notices: list[Notice]) -> list[Notice]:
    """Keep the citations of notices that are in the corpus, and put the notices in index order."""
    in_corpus = {n.doc_number for n in notices}
    linked = [dataclasses.replace(n, cites=tuple(d for d in n.mentions if d in in_corpus)) for n in notices]
    return sorted(linked, key=notice_order)


def fuller_copy(kept: Notice, kept_clauses: int, other: Notice, other_clauses: int) -> Notice | None:
    """The same notice (same document number) read twice, as when it is forwarded in two files: the copy to keep
    instead of `kept` (the one with more clauses, keeping a known forwarder), or None to keep `kept`."""
    if other_clauses > kept_clauses:
        return dataclasses.replace(other, forwarded_by=other.forwarded_by or kept.forwarded_by)
    return None


def duplicate_warning(kept: Notice, other: Notice) -> str:
    return f"{other.doc_number} 与 {kept.source} 中的通知重复，保留条款较多的一份"
