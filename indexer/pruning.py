"""Exact top k without reading every posting: block-max bounds, then MaxScore over the blocks that can still win.

Clause rows are cut into blocks of 256. For every term found in many blocks, its largest weight in each block is
worked out once (`block_maxima`); a query's bound on every clause of a block is the sum over its terms, repeats
counted, of their maxima in that block (block-max indexes: Ding & Suel, SIGIR 2011). A query

1. scores exactly the few blocks of highest bound, which gives θ, a k-th best score already reached;
2. drops every block whose bound is below θ: none of its clauses can enter the top k, nor tie with it;
3. scores the blocks left exactly if they are few. Otherwise (common words only, whose maxima are high in every
   block) it runs MaxScore (Turtle & Flood, 1995) over them: the terms whose bounds together stay below θ are not
   read whole; only the clauses holding one of the other terms are candidates, and their weights in the rest are
   looked up while their bound stays at θ or above.

Each step is a few numpy operations over whole arrays, never a loop over clauses. Every score that decides the
answer is summed term by term in query order, as `indexer.bm25.score` adds them, so rows, scores and ties (broken
by row) are bit for bit those of scoring every clause. A query with few postings reads them all: that is faster.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .bm25 import score, top_k

BLOCK = 256  # rows a block: at 1M clauses, 128 (as tantivy's and Lucene's blocks) and 512 were slower
READ_ALL_BELOW = 40_000  # postings: a query with fewer reads them all, which costs less than bounding them
_FIRST_BLOCKS = 16  # blocks scored first, to find θ
_SCORE_ALL_BLOCKS = 128  # at most this many blocks left above θ are scored whole, more go to MaxScore
_SCORE_ALL_SHARE = 0.5  # nor more than this share of all blocks: a scan of every posting is cheaper then
_REFINE_ROWS = 1024  # MaxScore candidates of highest bound valued first by lookups, to raise θ
_SKIPPED_PER_TERM = 16_000  # postings MaxScore must skip for each term it looks up, else all are read
_DENSE_LOOKUP = 10  # a binary search costs about what spreading 10 postings over a dense array does
_SLACK = 1e-9  # relative: bounds are compared with θ less this, so rounding in a sum never prunes a winner


@dataclass(frozen=True)
class BlockMaxima:
    """What a query is bounded with: each term's largest weight, overall and in each block of `size` rows."""

    size: int  # a power of two
    term_max: np.ndarray  # float64, one per term
    positive: np.ndarray  # bool, one per term: all its weights > 0 (idf > 0), so any posting is a match
    block_row: np.ndarray  # int32, one per term: its row of block_max, -1 if its few postings are read instead
    block_max: np.ndarray  # float32 (terms found in many blocks × blocks), rounded up so that it stays a bound

    @property
    def n_blocks(self) -> int:
        return self.block_max.shape[1]


def block_maxima(weight_rows: sparse.csr_matrix, size: int = BLOCK) -> BlockMaxima:
    """Bounds for a terms × clauses weight matrix (CSR, each row sorted), in one pass over the weights.

    Terms found in fewer postings than there are blocks get no row of block_max: a query works their maxima out
    from their few postings, and block_max stays smaller than the postings themselves."""
    if size < 1 or size & (size - 1):
        raise ValueError(f"block size must be a power of two, not {size}")
    indptr, indices, data = weight_rows.indptr, weight_rows.indices, weight_rows.data
    n_terms, n_rows = weight_rows.shape
    n_blocks = max(1, -(-n_rows // size))
    lengths = np.diff(indptr)
    term_max, term_min = np.zeros(n_terms), np.zeros(n_terms)
    present = lengths > 0
    if present.any():
        term_max[present] = np.maximum.reduceat(data, indptr[:-1][present])
        term_min[present] = np.minimum.reduceat(data, indptr[:-1][present])
    wide = np.flatnonzero(lengths >= n_blocks)
    block_row = np.full(n_terms, -1, dtype=np.int32)
    block_row[wide] = np.arange(len(wide), dtype=np.int32)
    block_max = np.zeros((len(wide), n_blocks), dtype=np.float32)
    edges = np.arange(n_blocks, dtype=indices.dtype) * size
    for r, t in enumerate(wide.tolist()):
        lo, hi = int(indptr[t]), int(indptr[t + 1])
        starts = np.searchsorted(indices[lo:hi], edges)
        has = np.diff(starts, append=hi - lo) > 0
        block_max[r, has] = _rounded_up(np.maximum.reduceat(data[lo:hi], starts[has]))
    return BlockMaxima(size, term_max, term_min > 0, block_row, block_max)


def _rounded_up(values: np.ndarray) -> np.ndarray:
    out = values.astype(np.float32)
    low = out.astype(np.float64) < values
    out[low] = np.nextafter(out[low], np.float32(np.inf))
    return out


def top_k_pruned(weight_rows: sparse.csr_matrix, bounds: BlockMaxima, term_ids: list[int], k: int,
                 mask: np.ndarray | None = None, read_all_below: int = READ_ALL_BELOW) -> tuple[np.ndarray, np.ndarray]:
    """(rows, their scores): exactly `top_k(score(weight_rows, term_ids, n), k, mask)[0]` and those rows' scores,
    reading only the postings that may reach the top."""
    if not term_ids or k <= 0 or weight_rows.shape[1] == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    if weight_rows.nnz < read_all_below:  # a small index: no query can have more postings, so no setup for bounds
        scores = score(weight_rows, term_ids, weight_rows.shape[1])
        best = top_k(scores, k, mask)[0]
        return best, scores[best]
    query = _Query(weight_rows, bounds, term_ids, mask)
    if query.postings() < read_all_below or not bounds.positive[query.terms].all():
        return query.scan(k)
    return query.top_k(k)


def count_matches(weight_rows: sparse.csr_matrix, bounds: BlockMaxima, term_ids: list[int],
                  mask: np.ndarray | None = None) -> int:
    """How many rows (in `mask`) score above zero, as `top_k(score(...), k, mask)[1]` counts them: when all the
    terms' weights are positive, the rows holding any of them, marked without adding anything up."""
    n_rows = weight_rows.shape[1]
    terms = np.unique(np.asarray(term_ids, dtype=np.int64))
    if not len(terms) or not n_rows:
        return 0
    if not bounds.positive[terms].all():
        return top_k(score(weight_rows, term_ids, n_rows), 0, mask)[1]
    indptr, indices = weight_rows.indptr, weight_rows.indices
    matched = np.zeros(n_rows, dtype=bool)
    for t in terms.tolist():
        matched[indices[int(indptr[t]):int(indptr[t + 1])]] = True
    if mask is not None:
        matched &= mask
    return int(np.count_nonzero(matched))


def _select(rows: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best of the rows with a positive score, best first, ties by row (as indexer.bm25.top_k)."""
    keep = scores > 0
    rows, scores = rows[keep], scores[keep]
    if len(rows) > k:
        kth = _kth(scores, k)
        keep = scores >= kth  # every row tied with the k-th, so that ties go by row
        rows, scores = rows[keep], scores[keep]
    order = np.lexsort((rows, -scores))[:k]
    return rows[order], scores[order]


def _kth(scores: np.ndarray, k: int) -> float:
    """The k-th largest of `scores` (there are at least k)."""
    return float(np.partition(scores, len(scores) - k)[len(scores) - k])


def _lookup(ids: np.ndarray, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The weights of sorted `rows` in one term's postings (`ids`, sorted), 0 where the term is absent."""
    if not len(ids):
        return np.zeros(len(rows))
    at = np.searchsorted(ids, rows.astype(ids.dtype, copy=False))  # one dtype: else all of `ids` is converted
    at[at == len(ids)] = 0  # past the end: any posting will do, it cannot match
    return np.where(ids[at] == rows, values[at], 0.0)


class _Query:
    """A query's distinct terms (with their repeats) over one weight matrix, and the rows it may rank."""

    def __init__(self, weight_rows: sparse.csr_matrix, bounds: BlockMaxima, term_ids: list[int],
                 mask: np.ndarray | None):
        self.term_ids = [int(t) for t in term_ids]
        self.terms, repeats = np.unique(np.asarray(self.term_ids, dtype=np.int64), return_counts=True)
        self.repeats = repeats.astype(np.float64)
        self.weight_rows, self.bounds, self.mask = weight_rows, bounds, mask
        self.shift = bounds.size.bit_length() - 1
        self.n_rows = weight_rows.shape[1]
        self.indptr, self.indices, self.data = weight_rows.indptr, weight_rows.indices, weight_rows.data

    def postings(self) -> int:
        return int(((self.indptr[self.terms + 1] - self.indptr[self.terms]) * self.repeats).sum())

    def _span(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = int(self.indptr[t]), int(self.indptr[t + 1])
        return self.indices[lo:hi], self.data[lo:hi]

    def top_k(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        bounds, size = self.bounds, self.bounds.size
        maxima = self._block_maxima()
        block_bound = self.repeats @ maxima
        if self.mask is not None:
            block_bound[~np.logical_or.reduceat(self.mask, np.arange(0, self.n_rows, size))] = 0.0
        live = np.flatnonzero(block_bound > 0)
        done = np.zeros(bounds.n_blocks, dtype=bool)
        found_rows, found_scores = [np.zeros(0, dtype=np.int64)], [np.zeros(0)]
        batch, reached = _FIRST_BLOCKS, 0
        while reached < k:  # the blocks of highest bound, until k rows score
            waiting = live[~done[live]]
            if not len(waiting):  # every block that could score was scored
                return _select(np.concatenate(found_rows), np.concatenate(found_scores), k)
            if len(waiting) > batch:
                waiting = waiting[np.argpartition(block_bound[waiting], len(waiting) - batch)[-batch:]]
            waiting.sort()
            done[waiting] = True
            rows, scores = self._score_blocks(waiting)
            found_rows.append(rows)
            found_scores.append(scores)
            reached += len(rows)
            batch *= 2
        rows, scores = np.concatenate(found_rows), np.concatenate(found_scores)
        theta = _kth(scores, k)
        alive = (block_bound >= theta * (1 - _SLACK)) & ~done
        left = np.count_nonzero(alive)
        if left <= _SCORE_ALL_BLOCKS and left <= _SCORE_ALL_SHARE * bounds.n_blocks:
            more_rows, more_scores = self._score_blocks(np.flatnonzero(alive))
            return _select(np.concatenate([rows, more_rows]), np.concatenate([scores, more_scores]), k)
        looked_up, essential = self._split(theta * (1 - _SLACK))
        # MaxScore costs a few array operations a term it looks up: worth it only when it skips enough postings.
        skipped = ((self.indptr[self.terms + 1] - self.indptr[self.terms]) * self.repeats)[looked_up].sum()
        if skipped < _SKIPPED_PER_TERM * (len(looked_up) + 2):
            return self.scan(k)
        near_rows, near = self._max_score(alive, maxima, theta, k, looked_up, essential)
        # `near` are sums in another order than score()'s, off in the last bits: exact sums are taken for the rows
        # within the slack of the k-th best of them (no other row can reach the top k).
        close = near_rows[near >= _kth(np.concatenate([scores, near]), k) * (1 - _SLACK)]
        return _select(np.concatenate([rows, close]), np.concatenate([scores, self._exact(close)]), k)

    def _block_maxima(self) -> np.ndarray:
        """Each distinct term's largest weight in each block (terms × blocks, float64)."""
        bounds = self.bounds
        out = np.zeros((len(self.terms), bounds.n_blocks))
        for i, t in enumerate(self.terms.tolist()):
            if bounds.block_row[t] >= 0:
                out[i] = bounds.block_max[bounds.block_row[t]]
                continue
            ids, values = self._span(t)
            if len(ids):
                block = ids >> self.shift
                first = np.flatnonzero(np.diff(block, prepend=-1))
                out[i, block[first]] = np.maximum.reduceat(values, first)
        return out

    def _score_blocks(self, blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, exact scores) of the rows of the sorted `blocks` that score above zero and pass the mask. Each
        term's postings in those blocks are found by binary search and added in query order, as score() does."""
        size = self.bounds.size
        starts = blocks.astype(np.int64) << self.shift
        # In the postings' own dtype: else numpy converts the whole of each term's postings to search them.
        keys = np.concatenate([starts, np.minimum(starts + size, self.n_rows)]).astype(self.indices.dtype)
        block_slot = np.arange(len(blocks), dtype=np.int64) << self.shift
        found = {}
        for t in self.terms.tolist():
            lo = int(self.indptr[t])
            edges = np.searchsorted(self.indices[lo:int(self.indptr[t + 1])], keys)
            first, counts = edges[:len(blocks)], edges[len(blocks):] - edges[:len(blocks)]
            total = int(counts.sum())
            if total:  # every posting from first[i] on, counts[i] of them, for every block i
                at = np.repeat(lo + first - (np.cumsum(counts) - counts), counts) + np.arange(total)
                found[t] = (np.repeat(block_slot, counts) + (self.indices[at] & (size - 1)), self.data[at])
        parts = [found[t] for t in self.term_ids if t in found]
        if not parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        sums = np.bincount(np.concatenate([p[0] for p in parts]), weights=np.concatenate([p[1] for p in parts]),
                           minlength=len(blocks) << self.shift)
        slots = np.flatnonzero(sums > 0)
        rows = blocks[slots >> self.shift].astype(np.int64) * size + (slots & (size - 1))
        if self.mask is not None:
            inside = self.mask[rows]
            slots, rows = slots[inside], rows[inside]
        return rows, sums[slots]

    def _exact(self, rows: np.ndarray) -> np.ndarray:
        """Exact scores of sorted `rows`, added term by term in query order (x + 0.0 == x where a term is absent)."""
        weight = {t: _lookup(*self._span(t), rows) for t in self.terms.tolist()}
        total = np.zeros(len(rows))
        for t in self.term_ids:
            total = total + weight[t]
        return total

    def scan(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Every posting read (indexer.bm25.score), then the top k."""
        scores = score(self.weight_rows, self.term_ids, self.n_rows)
        best = top_k(scores, k, self.mask)[0]
        return best, scores[best]

    def _split(self, cut: float) -> tuple[np.ndarray, np.ndarray]:
        """(the terms whose bounds add up to less than `cut`, highest bound first, as it prunes the most; the others,
        the essential ones), as positions in self.terms."""
        term_bound = self.repeats * self.bounds.term_max[self.terms]
        order = np.argsort(term_bound, kind="stable")
        below = np.cumsum(term_bound[order]) < cut
        return order[below][::-1], order[~below]

    def _max_score(self, alive: np.ndarray, maxima: np.ndarray, theta: float, k: int, looked_up: np.ndarray,
                   essential: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, their scores up to rounding): every row of the `alive` blocks that may score θ or more.

        The `looked_up` terms (their bounds add up to less than θ) are looked up, not read: a row needs one of the
        `essential` ones to reach θ. A row's bound is its sum so far plus its block's maxima of the terms not looked
        up yet, and the row is dropped as soon as that falls below θ."""
        cut = theta * (1 - _SLACK)
        term_bound = self.repeats * self.bounds.term_max[self.terms]
        # First against the looked-up terms' bounds, one number for all rows, as the essential sums are made.
        rows, part = self._essential_sums(essential, alive, cut - term_bound[looked_up].sum())
        if self.mask is not None:
            keep = self.mask[rows]
            rows, part = rows[keep], part[keep]
        block = rows >> self.shift
        rest = np.zeros(len(rows))
        for i in looked_up.tolist():  # then against their maxima in each row's block
            rest += self.repeats[i] * maxima[i][block]
        keep = part + rest >= cut
        rows, part, rest, block = rows[keep], part[keep], rest[keep], block[keep]
        if len(rows) > _REFINE_ROWS:  # θ rises to the k-th best of the rows of highest bound, valued by lookups
            best = np.sort(np.argpartition(part + rest, len(rows) - _REFINE_ROWS)[-_REFINE_ROWS:])
            sums = part[best] + sum((self.repeats[i] * self._weights_of(int(self.terms[i]), rows[best])
                                     for i in looked_up.tolist()), np.zeros(len(best)))
            if np.count_nonzero(sums > 0) >= k:
                cut = max(cut, _kth(sums, k) * (1 - 2 * _SLACK))
                keep = part + rest >= cut
                rows, part, rest, block = rows[keep], part[keep], rest[keep], block[keep]
        for i in looked_up.tolist():
            part += self.repeats[i] * self._weights_of(int(self.terms[i]), rows)
            rest -= self.repeats[i] * maxima[i][block]
            keep = part + rest >= cut
            rows, part, rest, block = rows[keep], part[keep], rest[keep], block[keep]
        return rows, part

    def _essential_sums(self, essential: np.ndarray, alive: np.ndarray,
                        at_least: float) -> tuple[np.ndarray, np.ndarray]:
        """(the rows of the alive blocks whose essential terms' weights add up to `at_least` or more, and more than
        zero, sorted; those sums)."""
        shift, size = self.shift, self.bounds.size
        spans = [self._span(int(self.terms[i])) for i in essential.tolist()]
        values = [weights * self.repeats[i] for (_, weights), i in zip(spans, essential.tolist(), strict=True)]
        if len(spans) == 1:  # one term: its postings are the rows, sorted and distinct
            ids = spans[0][0]
            keep = alive[ids >> shift] & (values[0] >= at_least)
            return ids[keep].astype(np.int64), values[0][keep]
        at_least = max(at_least, np.nextafter(0.0, 1.0))  # every weight is positive: a sum above zero is a match
        alive_blocks = np.flatnonzero(alive)
        if len(alive_blocks) * 4 > len(alive):  # most blocks alive: add up over all rows, keep the alive ones
            sums = np.bincount(np.concatenate([ids for ids, _ in spans]), weights=np.concatenate(values),
                               minlength=self.n_rows)
            rows = np.flatnonzero(sums >= at_least)
            rows = rows[alive[rows >> shift]]
            return rows, sums[rows]
        slot_block = np.cumsum(alive) - 1  # a row's slot: its block's rank among the alive ones, then its offset
        slots, kept = [], []
        for (ids, _), value in zip(spans, values, strict=True):
            block = ids >> shift
            keep = alive[block]
            slots.append((slot_block[block[keep]] << shift) + (ids[keep] & (size - 1)))
            kept.append(value[keep])
        sums = np.bincount(np.concatenate(slots), weights=np.concatenate(kept), minlength=len(alive_blocks) << shift)
        slot = np.flatnonzero(sums >= at_least)
        return alive_blocks[slot >> shift].astype(np.int64) * size + (slot & (size - 1)), sums[slot]

    def _weights_of(self, t: int, rows: np.ndarray) -> np.ndarray:
        """A term's weights in sorted `rows` (0 where absent): by binary search for few rows, else from all of its
        postings spread over a dense array, whichever reads less."""
        ids, values = self._span(t)
        if len(rows) * _DENSE_LOOKUP <= len(ids) + self.n_rows // 64:
            return _lookup(ids, values, rows)
        dense = np.zeros(self.n_rows)
        dense[ids] = values
        return dense[rows]
