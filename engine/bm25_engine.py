"""The BM25 engine over an index built by indexer/: notices by id, ranked clauses, stored term ids.

Pure lookups over the memory-mapped StoredIndex; nothing here knows about HTTP or questions.
"""
from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import numpy as np

from indexer import docnumbers
from indexer.bm25 import BlockMaxima, block_maxima, score, top_k, top_k_pruned
from indexer.models import Clause, Notice
from indexer.resources import Resources
from indexer.store import StoredIndex, load_index

from .retriever import Hit, SearchPage


class BM25Engine:
    """A loaded index and the resources (tokenizer, tables) it is searched with."""

    def __init__(self, index: StoredIndex, resources: Resources):
        self._index = index
        self.resources = resources
        self.notices = index.notices
        self._by_id = {n.id: n for n in index.notices}
        self._by_number = {n.doc_number: n for n in index.notices}
        self._row_of = {n.id: i for i, n in enumerate(index.notices)}
        idf = index.idf
        self._typical_weight = float(np.median(idf)) if len(idf) else 1.0
        self._bounds: BlockMaxima | None = None  # worked out at the first `best` (about a second at 1M clauses)

    @classmethod
    def load(cls, index_dir: Path, resources: Resources) -> BM25Engine:
        """Refuses (IndexLoadError) an index cut with another dictionary than `resources` holds."""
        return cls(load_index(index_dir, dictionary=resources.dictionary_hash), resources)

    @property
    def clause_total(self) -> int:
        return len(self._index.clauses)

    @property
    def manifest(self) -> dict:
        return self._index.manifest

    # --- notices and clauses ------------------------------------------------------------------------------

    def notice(self, key: str) -> Notice | None:
        if key in self._by_id:
            return self._by_id[key]
        number = docnumbers.normalize(key)
        return self._by_number.get(number) if number else None

    def clauses_of(self, notice: Notice) -> list[Clause]:
        return [self._index.clauses[r] for r in self._index.clause_rows(self._row_of[notice.id])]

    def clause_count(self, notice: Notice) -> int:
        return len(self._index.clause_rows(self._row_of[notice.id]))

    def forwards(self, notice: Notice) -> list[Notice]:
        return [n for n in self.notices if n.forwarded_by == notice.doc_number]

    # --- ranking ------------------------------------------------------------------------------------------

    def _mask(self, within: Collection[str] | None) -> np.ndarray | None:
        """One bool per clause: does its notice belong to `within`? Built by notice row, linear in the corpus."""
        if within is None:
            return None
        rows = np.zeros(len(self.notices), dtype=bool)
        rows[[self._row_of[i] for i in within if i in self._row_of]] = True
        return rows[self._index.clause_notice]

    def _term_ids(self, query: str) -> list[int]:
        vocabulary = self._index.vocabulary
        return [vocabulary[t] for t in self.resources.tokenizer.tokens(query) if t in vocabulary]

    def best(self, query: str, *, within: Collection[str] | None = None, limit: int = 10) -> tuple[Hit, ...]:
        if self._bounds is None:
            self._bounds = block_maxima(self._index.weights)
        rows, values = top_k_pruned(self._index.weights, self._bounds, self._term_ids(query), limit,
                                    self._mask(within))
        return tuple(self._hit(int(r), float(v)) for r, v in zip(rows, values, strict=True))

    def search(self, query: str, *, within: Collection[str] | None = None, limit: int = 10,
               offset: int = 0) -> SearchPage:
        terms = self._term_ids(query)
        scores = score(self._index.weights, terms, self.clause_total)
        best, total = top_k(scores, offset + limit, self._mask(within))
        return SearchPage(total, tuple(self._hit(int(r), float(scores[r])) for r in best[offset:offset + limit]))

    def listing(self, *, within: Collection[str] | None = None, limit: int = 10, offset: int = 0) -> SearchPage:
        mask = self._mask(within)
        rows = np.flatnonzero(mask) if mask is not None else np.arange(self.clause_total)
        return SearchPage(len(rows), tuple(self._hit(int(r), 0.0) for r in rows[offset:offset + limit]))

    def _hit(self, row: int, value: float) -> Hit:
        return Hit(row, self._index.clauses[row], self.notices[int(self._index.clause_notice[row])], value)

    # --- stored terms -------------------------------------------------------------------------------------

    def term_id(self, term: str) -> int | None:
        return self._index.vocabulary.get(term)

    def term_weight(self, term: int) -> float:
        return float(self._index.idf[term])

    def typical_weight(self) -> float:
        return self._typical_weight

    def clause_terms(self, row: int) -> frozenset[int]:
        ix = self._index
        lo, hi = int(ix.part_ptr[ix.clause_part_ptr[row]]), int(ix.part_ptr[ix.clause_part_ptr[row + 1]])
        return frozenset(ix.part_terms[lo:hi].tolist())

    def sentence_terms(self, row: int) -> list[frozenset[int]]:
        ix = self._index
        first, last = int(ix.clause_part_ptr[row]) + 1, int(ix.clause_part_ptr[row + 1])
        return [frozenset(ix.part_terms[int(ix.part_ptr[p]):int(ix.part_ptr[p + 1])].tolist())
                for p in range(first, last)]
