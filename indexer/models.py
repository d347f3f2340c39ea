"""The records the pipeline passes between stages: notices and their clauses."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Level = Literal["national", "province", "city", "county"]


@dataclass(frozen=True)
class Clause:
    """The text under one numbered heading (GB/T 9704-2012 levels), within one notice."""

    id: str
    doc_id: str
    ordinal: int
    section: str  # section path, e.g. "三、（四）"; "" for the preamble
    heading: str
    text: str
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class Notice:
    """One official notice, as found inside a corpus file."""

    id: str
    doc_number: str
    title: str
    issuers: tuple[str, ...]
    level: Level
    region: str
    region_code: str
    issued: str | None  # YYYY-MM-DD
    forwarded_by: str | None  # doc_number of the notice that forwards or attaches this one
    cites: tuple[str, ...]  # in-corpus doc_numbers cited in the text
    source: str  # corpus file name
    clauses: tuple[Clause, ...] = field(default=(), repr=False)
    mentions: tuple[str, ...] = ()  # every doc_number cited, in the corpus or not (cites is the in-corpus part)
    coverage_year: int | None = None  # the 年度 whose rules it sets (indexer/years.py)
    effective: str | None = None  # YYYY-MM-DD it takes effect, where it says so
    repeals: tuple[str, ...] = ()  # doc_numbers of the notices it says it replaces

    @property
    def issuer(self) -> str:
        return " ".join(self.issuers)
