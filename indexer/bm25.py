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
