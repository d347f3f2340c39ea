"""Compiled loops over the stored term ids (numba): what a rerank pool's sentences meet, in one pass.

A pool is a few dozen clauses of a few sentences each. Done with numpy, the work is a dozen array calls that each
cost more to set up than to run; compiled, it is one loop over the pool's term ids. numba compiles each function
once and keeps the machine code in __pycache__ (cache=True), so a later process loads it instead of compiling.
"""
from __future__ import annotations

import numpy as np
from numba import njit

_LOW_BITS = 1023


@njit(cache=True)
def part_hits(clause_part_ptr, part_ptr, part_terms, rows, group_terms, term_groups, n_groups):  # pragma: no cover
    """For the parts of clauses `rows` (each clause's heading part, then its sentences): which term groups each
    part meets (a bool per part and group), and where each clause's parts start.

    The groups come as pairs: term `group_terms[i]` is in group `term_groups[i]`.
    """
    starts = np.zeros(rows.shape[0] + 1, dtype=np.int64)
    for c in range(rows.shape[0]):
        starts[c + 1] = starts[c] + clause_part_ptr[rows[c] + 1] - clause_part_ptr[rows[c]]
    hits = np.zeros((starts[-1], n_groups), dtype=np.bool_)
    if group_terms.shape[0] == 0:
        return hits, starts
    # The groups' terms sorted, each with the first of its pairs: a part's term is looked up by bisection, once a
    # table of their low bits says it may be one of them (most terms of a clause are in no group).
    order = np.argsort(group_terms, kind="mergesort")
    keys = group_terms[order]
    maybe = np.zeros(_LOW_BITS + 1, dtype=np.bool_)
    for term in keys:
        maybe[term & _LOW_BITS] = True
    part = 0
    for c in range(rows.shape[0]):
        for p in range(clause_part_ptr[rows[c]], clause_part_ptr[rows[c] + 1]):
            for t in range(part_ptr[p], part_ptr[p + 1]):
                term = part_terms[t]
                if not maybe[term & _LOW_BITS]:
                    continue
                at = np.searchsorted(keys, term)
                while at < keys.shape[0] and keys[at] == term:
                    hits[part, term_groups[order[at]]] = True
                    at += 1
            part += 1
    return hits, starts


@njit(cache=True)
def score_top_k(indptr, indices, data, term_ids, n_rows, k, clause_notice, notice_ok, filtered):  # pragma: no cover
    """The k best rows with a positive score (best first, ties by row) and their scores: exactly
    `indexer.bm25.top_k(indexer.bm25.score(...), k, mask)`, where the mask is the clauses of the notices marked in
    `notice_ok` (when `filtered`). Postings are added term after term in query order, as np.bincount adds them."""
    scores = np.zeros(n_rows)
    for t in term_ids:
        for i in range(indptr[t], indptr[t + 1]):
            scores[indices[i]] += data[i]
    rows = np.empty(n_rows, dtype=np.int64)
    count = 0
    for r in range(n_rows):
        if scores[r] > 0 and (not filtered or notice_ok[clause_notice[r]]):
            rows[count] = r
            count += 1
    rows = rows[:count]
    # A stable sort of the rows (ascending) by falling score: ties stay in row order.
    best = rows[np.argsort(-scores[rows], kind="mergesort")[:max(k, 0)]]
    return best, scores[best]
