"""The BM25 engine over an index built by indexer/: notices by id, ranked clauses, stored term ids.

Pure lookups over the memory-mapped StoredIndex; nothing here knows about HTTP or questions.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np

from indexer import docnumbers
from indexer.models import Clause, Notice
from indexer.pruning import READ_ALL_BELOW, BlockMaxima, block_maxima, count_matches, top_k_pruned
from indexer.resources import Resources
from indexer.store import StoredIndex, load_index

from . import kernels
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
        self._starts: np.ndarray | None = None  # see _notice_starts
        self._bounds: BlockMaxima | None = None  # worked out at the first `best` (under half a second at 1M clauses)
        # The stored parts as plain arrays (a memory map is not one to compiled code): views, nothing is copied.
        self._part_ptrs = tuple(np.asarray(a) for a in (index.clause_part_ptr, index.part_ptr, index.part_terms))

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
        """One bool per clause: does its notice belong to `within`? A notice's clauses are one run of rows, so a
        few notices (a place's, or those in force at a million clauses) set their runs, not a pass over them all."""
        if within is None:
            return None
        rows = np.zeros(len(self.notices), dtype=bool)
        rows[[self._row_of[i] for i in within if i in self._row_of]] = True
        starts = self._notice_starts()
        chosen = np.flatnonzero(rows)
        lengths = starts[chosen + 1] - starts[chosen]
        if lengths.sum() * 4 > self.clause_total:
            return rows[self._index.clause_notice]
        mask = np.zeros(self.clause_total, dtype=bool)
        offsets = np.zeros(len(chosen) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        mask[_ranges(starts[chosen], lengths, offsets)] = True
        return mask

    def _notice_starts(self) -> np.ndarray:
        """Where each notice's clauses start, and the clause count last (clauses are stored notice by notice)."""
        if self._starts is None:
            self._starts = np.searchsorted(self._index.clause_notice, np.arange(len(self.notices) + 1))
        return self._starts

    def _term_ids(self, query: str) -> list[int]:
        vocabulary = self._index.vocabulary
        return [vocabulary[t] for t in self.resources.tokenizer.tokens(query) if t in vocabulary]

    def _block_maxima(self) -> BlockMaxima:
        if self._bounds is None:
            self._bounds = block_maxima(self._index.weights)
        return self._bounds

    def best(self, query: str, *, within: Collection[str] | None = None, limit: int = 10) -> tuple[Hit, ...]:
        weights, terms = self._index.weights, self._term_ids(query)
        if weights.nnz >= READ_ALL_BELOW:  # a large index: only the postings that may reach the top are read
            rows, values = top_k_pruned(weights, self._block_maxima(), terms, limit, self._mask(within))
            return self._hits(rows, values)
        # A small index: every posting of the query's terms added up in one compiled pass, the filter applied to
        # each scored clause through its notice (no mask over all clauses is built).
        notice_ok = np.zeros(len(self.notices), dtype=bool)
        if within is not None:
            notice_ok[[self._row_of[i] for i in within if i in self._row_of]] = True
        rows, values = kernels.score_top_k(weights.indptr, weights.indices, weights.data,
                                           np.asarray(terms, dtype=np.int64), weights.shape[1], limit,
                                           self._index.clause_notice, notice_ok, within is not None)
        return self._hits(rows, values)

    def search(self, query: str, *, within: Collection[str] | None = None, limit: int = 10,
               offset: int = 0) -> SearchPage:
        """The pruned top k, and every match counted apart (marks, not sums): the total a search page shows."""
        terms, mask, weights = self._term_ids(query), self._mask(within), self._index.weights
        rows, values = top_k_pruned(weights, self._block_maxima(), terms, offset + limit, mask)
        total = count_matches(weights, self._block_maxima(), terms, mask)
        return SearchPage(total, self._hits(rows[offset:], values[offset:]))

    def listing(self, *, within: Collection[str] | None = None, limit: int = 10, offset: int = 0) -> SearchPage:
        mask = self._mask(within)
        rows = np.flatnonzero(mask) if mask is not None else np.arange(self.clause_total)
        return SearchPage(len(rows), tuple(self._hit(int(r), 0.0) for r in rows[offset:offset + limit]))

    def _hit(self, row: int, value: float) -> Hit:
        return Hit(row, self._index.clauses[row], self.notices[int(self._index.clause_notice[row])], value)

    def _hits(self, rows: np.ndarray, values: np.ndarray) -> tuple[Hit, ...]:
        """_hit of each row with its score (`values`, one per row): the arrays read once for all of them."""
        clauses, notices = self._index.clauses, self.notices
        return tuple(Hit(row, clauses[row], notices[notice], value) for row, notice, value in
                     zip(rows.tolist(), self._index.clause_notice[rows].tolist(), values.tolist(), strict=True))

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

    def part_hits(self, rows: Sequence[int], groups: Sequence[Collection[int]]) -> tuple[np.ndarray, np.ndarray]:
        """For the parts of clauses `rows` (each clause's heading part, then its sentences): which term groups each
        part meets, as a bool matrix (a row per part, a column per group), and where each clause's parts start.

        One compiled pass over the stored term ids of all those parts (engine/kernels.py): a rerank pool's
        sentences are matched against a question's concepts without building a set per sentence.
        """
        ix = self._index
        group_terms = [t for group in groups for t in group]
        term_groups = [g for g, group in enumerate(groups) for _ in group]
        return kernels.part_hits(self._part_ptrs[0], self._part_ptrs[1], self._part_ptrs[2],
                                 np.asarray(rows, dtype=np.int64), np.asarray(group_terms, dtype=ix.part_terms.dtype),
                                 np.asarray(term_groups, dtype=np.int64), len(groups))


def _ranges(begins: np.ndarray, lengths: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """begins[0] … begins[0]+lengths[0]-1, begins[1] …, one after another (`offsets`: the cumulative lengths)."""
    return np.arange(offsets[-1], dtype=np.int64) + np.repeat(begins - offsets[:-1], lengths)
