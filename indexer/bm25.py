"""BM25 scoring, exactly as rank-bm25's BM25Okapi computes it, over a sparse term–clause matrix.

BM25 (Robertson & Zaragoza, 2009) with rank-bm25's choices: idf = ln((N − n + 0.5)/(n + 0.5)),
negative idf replaced by ε·mean(idf) (ε = 0.25), k1 = 1.5, b = 0.75. Every
(term, clause) weight is computed once at build time, as bm25s does, so a query
only adds up the rows of its own terms instead of scoring every clause.
"""
from __future__ import annotations

from collections import Counter
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


def term_matrix(token_lists: list[list[str]], vocabulary: tuple[str, ...] | None = None) -> TermMatrix:
    """Count tokens; the vocabulary is sorted so that the same corpus always gives the same matrix."""
    counts = [Counter(tokens) for tokens in token_lists]
    if vocabulary is None:
        vocabulary = tuple(sorted({t for c in counts for t in c}))
    term_id = {t: i for i, t in enumerate(vocabulary)}
    rows, cols, vals = [], [], []
    for doc, c in enumerate(counts):
        for term, n in c.items():
            rows.append(term_id[term])
            cols.append(doc)
            vals.append(n)
    tf = sparse.csr_matrix(
        (np.asarray(vals, dtype=np.int32), (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64))),
        shape=(len(vocabulary), len(token_lists)),
        dtype=np.int32,
    )
    tf.sort_indices()
    doc_len = np.asarray([len(tokens) for tokens in token_lists], dtype=np.int32)
    return TermMatrix(vocabulary, tf, doc_len)


def idf(tf: sparse.csr_matrix, n_docs: int, params: BM25Params) -> np.ndarray:
    """rank-bm25's BM25Okapi idf, with its floor for terms in more than half the clauses."""
    doc_freq = np.diff(tf.indptr).astype(np.float64)
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
    tf = matrix.tf.data.astype(np.float64)
    dl = matrix.doc_len[matrix.tf.indices].astype(np.float64)
    row_idf = np.repeat(term_idf, np.diff(matrix.tf.indptr))
    w = row_idf * (tf * (params.k1 + 1) / (tf + params.k1 * (1 - params.b + params.b * dl / avgdl)))
    out = sparse.csr_matrix((w, matrix.tf.indices.copy(), matrix.tf.indptr.copy()), shape=matrix.tf.shape)
    return term_idf, out


def score(weight_rows: sparse.csr_matrix, term_ids: list[int], n_docs: int) -> np.ndarray:
    """Scores of every clause for a query given as term ids (repeats count, as in rank-bm25)."""
    scores = np.zeros(n_docs, dtype=np.float64)
    indptr, indices, data = weight_rows.indptr, weight_rows.indices, weight_rows.data
    for t in term_ids:
        lo, hi = indptr[t], indptr[t + 1]
        scores[indices[lo:hi]] += data[lo:hi]  # a clause appears once per term row
    return scores
