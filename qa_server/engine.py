"""The retrieval engine over a loaded index: notices by id, clause search, quoting.

Pure lookups over the StoredIndex; nothing here knows about HTTP.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer import docnumbers
from indexer.bm25 import score, top_k
from indexer.models import Clause, Notice
from indexer.store import StoredIndex, load_index
from indexer.tokenizer import Tokenizer, shared_tokenizer


@dataclass(frozen=True)
class Hit:
    clause: Clause
    notice: Notice
    score: float


@dataclass(frozen=True)
class SearchPage:
    total: int
    hits: tuple[Hit, ...]


class Engine:
    """A loaded index and the tokenizer that built it."""

    def __init__(self, index: StoredIndex, tokenizer: Tokenizer | None = None):
        self.index = index
        self.tokenizer = tokenizer or shared_tokenizer()
        self.notices = index.notices
        self._by_id = {n.id: n for n in index.notices}
        self._by_number = {n.doc_number: n for n in index.notices}
        self._row_of = {n.id: i for i, n in enumerate(index.notices)}

    @classmethod
    def load(cls, index_dir: Path) -> "Engine":
        return cls(load_index(index_dir))

    def notice(self, key: str) -> Notice | None:
        """A notice by its id or by its document number in any bracket style."""
        if key in self._by_id:
            return self._by_id[key]
        number = docnumbers.normalize(key)
        return self._by_number.get(number) if number else None

    def notice_row(self, notice: Notice) -> int:
        return self._row_of[notice.id]

    def clauses_of(self, notice: Notice) -> list[Clause]:
        """A notice's clauses in order (read from the index on demand)."""
        return [self.index.clauses[r] for r in self.index.clause_rows(self._row_of[notice.id])]

    def clause_count(self, notice: Notice) -> int:
        return len(self.index.clause_rows(self._row_of[notice.id]))

    def forwards(self, notice: Notice) -> list[Notice]:
        """The notices this one forwards or attaches."""
        return [n for n in self.notices if n.forwarded_by == notice.doc_number]

    def clause_terms(self, row: int) -> set[int]:
        """Term ids of a clause's heading and text, as indexed."""
        ix = self.index
        lo, hi = int(ix.part_ptr[ix.clause_part_ptr[row]]), int(ix.part_ptr[ix.clause_part_ptr[row + 1]])
        return set(ix.part_terms[lo:hi].tolist())

    def sentence_terms(self, row: int) -> list[set[int]]:
        """Term ids of each sentence of a clause (in `clause.sentences` order), as indexed."""
        ix = self.index
        first, last = int(ix.clause_part_ptr[row]) + 1, int(ix.clause_part_ptr[row + 1])
        return [set(ix.part_terms[int(ix.part_ptr[p]):int(ix.part_ptr[p + 1])].tolist()) for p in range(first, last)]

    def query_terms(self, text: str) -> list[int]:
        vocabulary = self.index.vocabulary
        return [vocabulary[t] for t in self.tokenizer.tokens(text) if t in vocabulary]

    def scores(self, text: str) -> np.ndarray:
        return score(self.index.weights, self.query_terms(text), len(self.index.clauses))

    def search(self, text: str, *, mask: np.ndarray | None = None, limit: int = 10, offset: int = 0) -> SearchPage:
        """Clauses by BM25 score, best first; `mask` (one bool per clause) filters before ranking."""
        scores = self.scores(text)
        best, total = top_k(scores, offset + limit, mask)
        hits = tuple(self._hit(int(i), float(scores[i])) for i in best[offset:offset + limit])
        return SearchPage(total=total, hits=hits)

    def _hit(self, row: int, value: float) -> Hit:
        clause = self.index.clauses[row]
        notice = self.index.notices[int(self.index.clause_notice[row])]
        return Hit(clause, notice, value)
