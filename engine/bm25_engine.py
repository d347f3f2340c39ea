"""The BM25 engine over an index built by indexer/: notices by id, ranked clauses, stored term ids.

Pure lookups over the memory-mapped StoredIndex; nothing here knows about HTTP or questions.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np

from indexer import docnumbers
from indexer.models import Clause, Notice
from indexer.pruning import BlockMaxima, block_maxima, count_matches, top_k_pruned
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
        self._starts: np.ndarray | None = None  # see _notice_starts
        self._bounds: BlockMaxima | None = None  # worked out at the first `best` (under half a second at 1M clauses)

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
        rows, values = top_k_pruned(self._index.weights, self._block_maxima(), self._term_ids(query), limit,
                                    self._mask(within))
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

        One pass over the stored term ids of all those parts at once: a rerank pool's sentences are matched
        against a question's concepts without building a set per sentence.
        """
        ix = self._index
        rows = np.asarray(rows, dtype=np.int64)
        first, last = ix.clause_part_ptr[rows], ix.clause_part_ptr[rows + 1]
        starts = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(last - first, out=starts[1:])
        parts = _ranges(first, last - first, starts)
        lo, hi = ix.part_ptr[parts], ix.part_ptr[parts + 1]
        term_starts = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum(hi - lo, out=term_starts[1:])
        terms = ix.part_terms[_ranges(lo, hi - lo, term_starts)]
        hits = np.zeros((len(parts), len(groups)), dtype=bool)
        groups_of: dict[int, list[int]] = {}  # term id → the groups it is in
        for g, group in enumerate(groups):
            for t in group:
                groups_of.setdefault(t, []).append(g)
        if not groups_of or not len(terms):
            return hits, starts
        keys = sorted(groups_of)
        key_groups = np.zeros((len(keys), len(groups)), dtype=bool)
        pairs = [(k, g) for k, t in enumerate(keys) for g in groups_of[t]]
        key_groups[[k for k, _ in pairs], [g for _, g in pairs]] = True
        keys = np.asarray(keys, dtype=terms.dtype)
        at = keys.searchsorted(terms)
        at[at == len(keys)] = 0
        found = np.flatnonzero(keys[at] == terms)
        term_part = term_starts.searchsorted(found, side="right") - 1
        i, g = np.nonzero(key_groups[at[found]])
        hits[term_part[i], g] = True
        return hits, starts


def _ranges(begins: np.ndarray, lengths: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """begins[0] … begins[0]+lengths[0]-1, begins[1] …, one after another (`offsets`: the cumulative lengths)."""
    return np.arange(offsets[-1], dtype=np.int64) + np.repeat(begins - offsets[:-1], lengths)
