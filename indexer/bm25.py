"""BM25 scoring, exactly as rank-bm25's BM25Okapi computes it, over a sparse term–clause matrix.

BM25 (Robertson & Zaragoza, 2009) with rank-bm25's choices: idf = ln((N − n + 0.5)/(n + 0.5)),
negative idf replaced by ε·mean(idf) (ε = 0.25), k1 = 1.5, b = 0.75. Every
(term, clause) weight is computed once at build time, as bm25s does, so a query
only adds up the rows of its own terms instead of scoring every clause.
"""
from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import sparse


@dataclass(frozen=True)
class BM25Params:
    k1: float = 1.5
    b: float = 0.75
    epsilon: float = 0.25


@dataclass(frozen=True)
class TermMatrix:
    """Term frequencies, one row per term (CSR), and the length of every clause in tokens."""

    vocabulary: tuple[str, ...]
    tf: sparse.csr_matrix  # terms × clauses, int32
    doc_len: np.ndarray  # int32, one per clause


def term_matrix(token_lists: Iterable[list[str]], vocabulary: tuple[str, ...] | None = None) -> TermMatrix:
    """Count tokens; the vocabulary is sorted so that the same corpus always gives the same matrix.

    The (term, clause, count) triplets are kept in typed arrays: at a million clauses, Python int
    lists of them alone would take gigabytes.
    """
    token_lists = list(token_lists)
    if vocabulary is None:
        vocabulary = tuple(sorted({t for tokens in token_lists for t in tokens}))
    term_id = {t: i for i, t in enumerate(vocabulary)}
    rows, cols, vals = array("i"), array("i"), array("i")
    doc_len = array("i")
    for doc, tokens in enumerate(token_lists):
        c = Counter(tokens)
        rows.extend(term_id[t] for t in c)
        cols.extend([doc] * len(c))
        vals.extend(c.values())
        doc_len.append(len(tokens))
    tf = sparse.csr_matrix(
        (
            np.frombuffer(vals, dtype=np.int32),
            (np.frombuffer(rows, dtype=np.int32), np.frombuffer(cols, dtype=np.int32)),
        ),
        shape=(len(vocabulary), len(token_lists)),
        dtype=np.int32,
    )
    tf.sort_indices()
    return TermMatrix(vocabulary, tf, np.frombuffer(doc_len, dtype=np.int32).copy())


def idf(tf: sparse.csr_matrix, n_docs: int, params: BM25Params) -> np.ndarray:
    """rank-bm25's BM25Okapi idf, with its floor for terms in more than half the clauses."""
    return idf_of(np.diff(tf.indptr), n_docs, params)


def idf_of(doc_freq: np.ndarray, n_docs: int, params: BM25Params) -> np.ndarray:
    """The idf of terms found in `doc_freq` clauses each (see idf)."""
    doc_freq = np.asarray(doc_freq).astype(np.float64)
    values = np.log(n_docs - doc_freq + 0.5) - np.log(doc_freq + 0.5)
    if len(values):
        floor = params.epsilon * values.mean()
        values = np.where(values < 0, floor, values)
    return values


def weights(matrix: TermMatrix, params: BM25Params) -> tuple[np.ndarray, sparse.csr_matrix]:
    """(idf per term, BM25 weight of every (term, clause) pair) with the matrix's sparsity."""
    n_docs = len(matrix.doc_len)
    avgdl = matrix.doc_len.mean() if n_docs else 1.0
    term_idf = idf(matrix.tf, n_docs, params)
    row_idf = np.repeat(term_idf, np.diff(matrix.tf.indptr))
    w = pair_weights(matrix.tf.data, matrix.doc_len[matrix.tf.indices], row_idf, avgdl, params)
    out = sparse.csr_matrix((w, matrix.tf.indices.copy(), matrix.tf.indptr.copy()), shape=matrix.tf.shape)
    return term_idf, out


def pair_weights(tf: np.ndarray, dl: np.ndarray, row_idf: np.ndarray, avgdl: float, params: BM25Params) -> np.ndarray:
    """The BM25 weight of (term, clause) pairs from their tf, the clause's length and the term's idf. Element by
    element, so computing it a piece at a time (as the build does) gives the very same bits."""
    tf = tf.astype(np.float64)
    dl = dl.astype(np.float64)
    return row_idf * (tf * (params.k1 + 1) / (tf + params.k1 * (1 - params.b + params.b * dl / avgdl)))


def score(weight_rows: sparse.csr_matrix, term_ids: list[int], n_docs: int) -> np.ndarray:
    """Scores of every clause for a query given as term ids (repeats count, as in rank-bm25).

    Only the postings of the query's terms are read: they are concatenated and summed per clause in
    one pass (np.bincount), which beats adding term by term when common words bring a third of the
    corpus each.
    """
    if not term_ids:
        return np.zeros(n_docs, dtype=np.float64)
    indptr, indices, data = weight_rows.indptr, weight_rows.indices, weight_rows.data
    spans = [(int(indptr[t]), int(indptr[t + 1])) for t in term_ids]
    return np.bincount(np.concatenate([indices[lo:hi] for lo, hi in spans]),
                       weights=np.concatenate([data[lo:hi] for lo, hi in spans]), minlength=n_docs)


def top_k(scores: np.ndarray, k: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """(the k best rows with a positive score, best first, ties by row; how many rows scored at all).

    Filters apply before selection, and selection runs over the matching rows only: argpartition
    slows down badly on long runs of equal values, which is what the non-matching rows are.
    """
    candidates = np.flatnonzero(scores > 0 if mask is None else (scores > 0) & mask)
    total = len(candidates)
    if total > k > 0:
        kth = scores[candidates[np.argpartition(scores[candidates], total - k)[total - k]]]
        candidates = candidates[scores[candidates] >= kth]  # every row tied with the k-th, so ties go by row
    return candidates[np.lexsort((candidates, -scores[candidates]))][:max(k, 0)], total


# --- top k without reading every posting ----------------------------------------------------------------------

BLOCK = 1024  # clauses per block of the block-max bounds


@dataclass(frozen=True)
class BlockMaxima:
    """For every term, the blocks of `size` clauses it occurs in and its largest weight in each (CSR by term).

    A clause's score can't exceed the sum, over the query's terms, of their maxima in its block: blocks whose
    bound is below the k-th best score found so far are never read (block-max pruning, Ding & Suel 2011).
    Maxima are rounded up to float32, so a bound is never below a true score.
    """

    size: int
    indptr: np.ndarray  # int64, one more than there are terms
    blocks: np.ndarray  # uint16 or int32, block numbers in order within each term
    maxima: np.ndarray  # float32, rounded up


def block_maxima(weight_rows: sparse.csr_matrix, size: int = BLOCK, chunk: int = 8_000_000) -> BlockMaxima:
    """Per (term, block) maxima, a few million postings at a time so the work space stays small."""
    indptr, indices, data = weight_rows.indptr, weight_rows.indices, weight_rows.data
    n_terms, n_blocks = len(indptr) - 1, -(-weight_rows.shape[1] // size)
    counts = np.zeros(n_terms, dtype=np.int64)
    blocks, maxima = [], []
    first = 0
    while first < n_terms:
        # As many whole terms as fit in `chunk` postings (at least one).
        last = max(int(np.searchsorted(indptr, indptr[first] + chunk, side="right")) - 1, first + 1)
        last = min(last, n_terms)
        lo, hi = int(indptr[first]), int(indptr[last])
        if hi > lo:
            rows = np.repeat(np.arange(first, last, dtype=np.int64), np.diff(indptr[first:last + 1]))
            key = rows * n_blocks + indices[lo:hi] // size
            starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
            maxima.append(np.maximum.reduceat(data[lo:hi], starts))
            kept = key[starts]
            blocks.append(kept % n_blocks)
            counts[first:last] = np.bincount(kept // n_blocks - first, minlength=last - first)
        first = last
    block_dtype = np.uint16 if n_blocks < 2 ** 16 else np.int32
    values = np.concatenate(maxima) if maxima else np.zeros(0)
    return BlockMaxima(
        size,
        np.concatenate(([0], np.cumsum(counts))).astype(np.int64),
        (np.concatenate(blocks) if blocks else np.zeros(0)).astype(block_dtype),
        np.nextafter(values.astype(np.float32), np.float32(np.inf)),
    )


_FIRST_BLOCKS = 8  # blocks scored before the k-th best score is known
_MARGIN = 1e-9  # relative: float sums in a different order may differ in the last bits
_SCAN_SHARE = 0.25  # when more blocks than this share may still reach the top, score the whole corpus
PRUNE_FROM = 200_000  # clauses: below this, a full scan is faster (benchmarks/RESULTS.md at 62k clauses)


def top_k_pruned(weight_rows: sparse.csr_matrix, bounds: BlockMaxima, term_ids: list[int], k: int,
                 mask: np.ndarray | None = None, prune_from: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(rows, their scores): exactly `top_k(score(weight_rows, term_ids, n), k, mask)[0]` and those rows' scores,
    reading only blocks that can reach the top.

    The blocks are scored best bound first: a first few give a k-th best score, then every block whose bound
    reaches it is scored too, and no other block can hold a clause of the top k. Scores are summed term by term
    in the query's order, as `score` does, so they are the same to the last bit.
    """
    n_docs = weight_rows.shape[1]
    if not term_ids or k <= 0 or n_docs == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    if n_docs < (PRUNE_FROM if prune_from is None else prune_from):  # summing is faster than sorting out blocks
        scores = score(weight_rows, term_ids, n_docs)
        best = top_k(scores, k, mask)[0]
        return best, scores[best]
    size = bounds.size
    n_blocks = -(-n_docs // size)
    bound = np.zeros(n_blocks, dtype=np.float64)
    for t, times in Counter(term_ids).items():
        lo, hi = bounds.indptr[t], bounds.indptr[t + 1]
        bound[bounds.blocks[lo:hi]] += times * bounds.maxima[lo:hi].astype(np.float64)
    if mask is not None:
        bound[~np.logical_or.reduceat(mask, np.arange(0, n_docs, size))] = 0.0
    order = np.argsort(-bound, kind="stable")
    order = order[bound[order] > 0]
    rows, values = _score_blocks(weight_rows, term_ids, np.sort(order[:_FIRST_BLOCKS]), size, mask)
    rest = order[_FIRST_BLOCKS:]
    if len(rest):
        kth = np.partition(values, len(values) - k)[len(values) - k] if len(values) >= k else 0.0
        rest = rest[bound[rest] >= kth * (1 - _MARGIN)]
        if len(rest) > n_blocks * _SCAN_SHARE:  # the bounds don't tell: reading everything at once is cheaper
            scores = score(weight_rows, term_ids, n_docs)
            best = top_k(scores, k, mask)[0]
            return best, scores[best]
        if len(rest):
            more_rows, more_values = _score_blocks(weight_rows, term_ids, np.sort(rest), size, mask)
            rows, values = np.concatenate([rows, more_rows]), np.concatenate([values, more_values])
    if len(rows) > k:
        kth = values[np.argpartition(values, len(values) - k)[len(values) - k]]
        keep = values >= kth  # every row tied with the k-th, so ties go by row
        rows, values = rows[keep], values[keep]
    order = np.lexsort((rows, -values))[:k]
    return rows[order], values[order]


def _score_blocks(weight_rows: sparse.csr_matrix, term_ids: list[int], blocks: np.ndarray, size: int,
                  mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(rows, scores) of the clauses in `blocks` (sorted) that score above zero and pass `mask`."""
    indptr, indices, data = weight_rows.indptr, weight_rows.indices, weight_rows.data
    n_docs = weight_rows.shape[1]
    starts = blocks.astype(np.int64) * size
    ends = np.minimum(starts + size, n_docs)
    local_parts, weight_parts = [], []
    for t in term_ids:  # in the query's order, repeats included: the same sums as `score`
        lo, hi = int(indptr[t]), int(indptr[t + 1])
        postings = indices[lo:hi]
        first, last = np.searchsorted(postings, starts), np.searchsorted(postings, ends)
        lengths = last - first
        total = int(lengths.sum())
        if not total:
            continue
        # Every position from first[i] to last[i] of every block i, without a Python loop.
        at = np.repeat(first - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
        block_of = np.repeat(np.arange(len(blocks)), lengths)
        local_parts.append(block_of * size + (postings[at] - starts[block_of]))
        weight_parts.append(data[lo:hi][at])
    if not local_parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    sums = np.bincount(np.concatenate(local_parts), weights=np.concatenate(weight_parts),
                       minlength=len(blocks) * size)
    local = np.flatnonzero(sums > 0)
    rows = starts[local // size] + local % size
    if mask is not None:
        keep = mask[rows]
        local, rows = local[keep], rows[keep]
    return rows, sums[local]
