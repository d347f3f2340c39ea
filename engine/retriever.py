"""The retrieval seam: what answering may ask of an index. See docs/architecture.md.

A second backend (tantivy, a search server) implements this protocol and nothing else changes.
Rows are the engine's own clause numbers: opaque to callers, stable for the life of one engine.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np

from indexer.models import Clause, Notice
from indexer.resources import Resources


class Hit(NamedTuple):  # a tuple: a rerank pool makes dozens a question, a frozen dataclass costs twice as much
    row: int
    clause: Clause
    notice: Notice
    score: float


@dataclass(frozen=True)
class SearchPage:
    total: int  # clauses that match the query within the filter
    hits: tuple[Hit, ...]


class Retriever(Protocol):
    resources: Resources  # the tokenizer and tables the index was built with
    notices: Sequence[Notice]  # in index order: national first, then by region code, newest first

    def notice(self, key: str) -> Notice | None:
        """A notice by its id or its document number in any bracket style."""

    def clauses_of(self, notice: Notice) -> list[Clause]:
        """A notice's clauses in order."""

    def clause_count(self, notice: Notice) -> int: ...

    def forwards(self, notice: Notice) -> list[Notice]:
        """The notices this one forwards or attaches."""

    def search(self, query: str, *, within: Collection[str] | None = None, limit: int = 10,
               offset: int = 0) -> SearchPage:
        """Clauses by BM25 score, best first (ties by row); `within` (notice ids) filters before ranking."""

    def best(self, query: str, *, within: Collection[str] | None = None, limit: int = 10) -> tuple[Hit, ...]:
        """The same hits as `search(...).hits`, without counting every match: what answering asks for."""

    def listing(self, *, within: Collection[str] | None = None, limit: int = 10, offset: int = 0) -> SearchPage:
        """Clauses in index order, without a query."""

    def term_id(self, term: str) -> int | None:
        """The vocabulary id of a search token, None if no clause has it."""

    def term_weight(self, term: int) -> float:
        """How much a term tells (its BM25 idf)."""

    def typical_weight(self) -> float:
        """The median term weight: what an unknown word is worth."""

    def clause_terms(self, row: int) -> frozenset[int]:
        """Term ids of a clause's heading and text, as indexed."""

    def sentence_terms(self, row: int) -> list[frozenset[int]]:
        """Term ids of each sentence of a clause, in `clause.sentences` order, as indexed."""

    def part_hits(self, rows: Sequence[int], groups: Sequence[Collection[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Which term groups each part of clauses `rows` meets (a bool row per part: the heading part, then each
        sentence), and where each clause's parts start: the sentences of a rerank pool matched at once."""
