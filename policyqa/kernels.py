"""Compiled loops of the reranking (numba): coverage of each sentence, and each clause's best quote.

answering.py says what is computed and why; these are the same sums and comparisons, written as loops over a
rerank pool's few hundred sentences, because as numpy calls each step cost more to set up than to run. Sums run
in the order answering's `_coverage` adds its weights, so the figures are the same to the last bit (on the
Python this project runs, 3.11, where `sum` adds floats one by one). numba keeps the machine code in
__pycache__ (cache=True): a later process loads it instead of compiling.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def passage_values(hits, starts, asked, weights, domain, word_weights):  # pragma: no cover
    """What each part of a pool meets, as figures.

    `hits`: a row per part (each clause's heading part, then its sentences), a column per concept and then one per
    question word; `starts`: where each clause's parts start. `asked`: the concepts the question itself asks
    (not told in a backstory), in order; `weights`: every concept's weight; `domain`: whether a concept is a
    medical-insurance term; `word_weights`: each question word's weight.

    Returns the coverage of the asked concepts by each part and by each part with the next one, the question
    words' weight in each and in each two; then per clause the coverage of the asked concepts, of all concepts,
    and whether it meets an asked domain concept.
    """
    n_parts, n_clauses = hits.shape[0], starts.shape[0] - 1
    n_concepts = weights.shape[0]
    asked_total = 0.0
    for j in asked:
        asked_total += weights[j]
    total = 0.0
    for j in range(n_concepts):
        total += weights[j]
    single_coverage, single_overlap = np.zeros(n_parts), np.zeros(n_parts)
    pair_coverage, pair_overlap = np.zeros(max(n_parts - 1, 0)), np.zeros(max(n_parts - 1, 0))
    for p in range(n_parts):
        nxt = p + 1 < n_parts
        if asked_total > 0:
            alone = both = 0.0
            for j in asked:
                if hits[p, j]:
                    alone += weights[j]
                if hits[p, j] or (nxt and hits[p + 1, j]):
                    both += weights[j]
            single_coverage[p] = alone / asked_total
            if nxt:
                pair_coverage[p] = both / asked_total
        alone = both = 0.0
        for w in range(word_weights.shape[0]):
            if hits[p, n_concepts + w]:
                alone += word_weights[w]
            if hits[p, n_concepts + w] or (nxt and hits[p + 1, n_concepts + w]):
                both += word_weights[w]
        single_overlap[p] = alone
        if nxt:
            pair_overlap[p] = both
    clause_asked, clause_all = np.zeros(n_clauses), np.zeros(n_clauses)
    on_topic = np.zeros(n_clauses, dtype=np.bool_)
    met = np.zeros(n_concepts, dtype=np.bool_)
    for c in range(n_clauses):
        met[:] = False
        for p in range(starts[c], starts[c + 1]):
            for j in range(n_concepts):
                if hits[p, j]:
                    met[j] = True
        covered = 0.0
        for j in asked:
            if met[j]:
                covered += weights[j]
                if domain[j]:
                    on_topic[c] = True
        clause_asked[c] = covered / asked_total if asked_total > 0 else 0.0
        covered = 0.0
        for j in range(n_concepts):
            if met[j]:
                covered += weights[j]
        clause_all[c] = covered / total if total > 0 else 0.0
    return single_coverage, single_overlap, pair_coverage, pair_overlap, clause_asked, clause_all, on_topic


@njit(cache=True)
def _candidate(single_coverage, single_overlap, pair_coverage, pair_overlap, part, pair, pair_margin):
    """(coverage, overlap, margin) of a sentence alone or with the next one."""
    if pair:
        return pair_coverage[part], pair_overlap[part], pair_margin
    return single_coverage[part], single_overlap[part], 0.0


@njit(cache=True)
def best_quotes(single_coverage, single_overlap, pair_coverage, pair_overlap, first_parts, counts, alone_ok,
                gives, has_shape, bonus, pair_margin, exact, near):  # pragma: no cover
    """Each clause's best candidate quote, as answering's `_best_passages` chooses it.

    A clause's candidates, in order: each sentence alone (where `alone_ok`), then with the next one. `gives` holds,
    per clause and slot (two a sentence: alone, with the next), whether the candidate gives the figure asked for
    (1, 0; -1 not known yet). Returns, when some candidate that could become best with the bonus is not known yet,
    their places in `gives` (to be looked up, then this called again); otherwise an empty array, and per clause
    the slot chosen, its plain coverage, and whether the choice is unclear (to be scanned one by one instead).
    """
    n = counts.shape[0]
    chosen = np.full(n, -1, dtype=np.int64)
    plain_of = np.zeros(n)
    unclear = np.zeros(n, dtype=np.bool_)
    needed = np.zeros(gives.shape[0], dtype=np.bool_)
    any_needed = False
    sentence0 = 0
    for c in range(n):
        count, first = counts[c], first_parts[c]
        slot0 = 2 * sentence0
        top = -np.inf
        for s in range(count):
            for pair in range(2):
                if (pair == 0 and not alone_ok[sentence0 + s]) or (pair == 1 and s == count - 1):
                    continue
                plain, overlap, margin = _candidate(single_coverage, single_overlap, pair_coverage, pair_overlap,
                                                    first + s, pair, pair_margin)
                top = max(top, plain - margin)
        if has_shape:
            floor = top - 1e-9 - exact
            for s in range(count):
                for pair in range(2):
                    if (pair == 0 and not alone_ok[sentence0 + s]) or (pair == 1 and s == count - 1):
                        continue
                    plain, overlap, margin = _candidate(single_coverage, single_overlap, pair_coverage,
                                                        pair_overlap, first + s, pair, pair_margin)
                    if gives[slot0 + 2 * s + pair] < 0 and (plain + bonus) - margin >= floor:
                        needed[slot0 + 2 * s + pair] = True
                        any_needed = True
        sentence0 += count
    if any_needed:
        return np.flatnonzero(needed), chosen, plain_of, unclear

    sentence0 = 0
    for c in range(n):
        count, first = counts[c], first_parts[c]
        slot0 = 2 * sentence0
        best = -np.inf
        for s in range(count):
            for pair in range(2):
                if (pair == 0 and not alone_ok[sentence0 + s]) or (pair == 1 and s == count - 1):
                    continue
                plain, overlap, margin = _candidate(single_coverage, single_overlap, pair_coverage, pair_overlap,
                                                    first + s, pair, pair_margin)
                value = (plain + bonus) - margin if has_shape and gives[slot0 + 2 * s + pair] == 1 else plain - margin
                best = max(best, value)
        top_overlap = -np.inf
        for s in range(count):
            for pair in range(2):
                if (pair == 0 and not alone_ok[sentence0 + s]) or (pair == 1 and s == count - 1):
                    continue
                plain, overlap, margin = _candidate(single_coverage, single_overlap, pair_coverage, pair_overlap,
                                                    first + s, pair, pair_margin)
                value = (plain + bonus) - margin if has_shape and gives[slot0 + 2 * s + pair] == 1 else plain - margin
                if value >= best - exact:
                    top_overlap = max(top_overlap, overlap)
        for s in range(count):
            for pair in range(2):
                if (pair == 0 and not alone_ok[sentence0 + s]) or (pair == 1 and s == count - 1):
                    continue
                plain, overlap, margin = _candidate(single_coverage, single_overlap, pair_coverage, pair_overlap,
                                                    first + s, pair, pair_margin)
                value = (plain + bonus) - margin if has_shape and gives[slot0 + 2 * s + pair] == 1 else plain - margin
                is_top = value >= best - exact
                is_chosen = is_top and overlap >= top_overlap - near
                if is_chosen and chosen[c] < 0:
                    chosen[c], plain_of[c] = 2 * s + pair, plain
                if (not is_top and value >= best - 1e-9 - exact) or (
                        is_top and not is_chosen and overlap >= top_overlap - 1e-9 - near):
                    unclear[c] = True
        sentence0 += count
    return np.flatnonzero(needed), chosen, plain_of, unclear
