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
def _candidates(single_coverage, single_overlap, pair_coverage, pair_overlap, first_parts, counts, alone_ok,
                pair_margin):  # pragma: no cover
    """Every clause's candidate quotes, in best_passage's order: each sentence alone (where `alone_ok`), then with
    the next one. Returns where each clause's candidates start, and per candidate its place in `gives` (two a
    sentence: alone, with the next), its plain coverage, its overlap and its margin."""
    n = counts.shape[0]
    starts = np.zeros(n + 1, dtype=np.int64)
    size = 2 * counts.sum()
    slot, plain = np.empty(size, dtype=np.int64), np.empty(size)
    overlap, margin = np.empty(size), np.empty(size)
    k = sentence0 = 0
    for c in range(n):
        for s in range(counts[c]):
            part = first_parts[c] + s
            for pair in range(2):
                if (pair == 0 and not alone_ok[sentence0 + s]) or (pair == 1 and s == counts[c] - 1):
                    continue
                slot[k] = 2 * (sentence0 + s) + pair
                if pair:
                    plain[k], overlap[k], margin[k] = pair_coverage[part], pair_overlap[part], pair_margin
                else:
                    plain[k], overlap[k], margin[k] = single_coverage[part], single_overlap[part], 0.0
                k += 1
        starts[c + 1] = k
        sentence0 += counts[c]
    return starts, slot[:k], plain[:k], overlap[:k], margin[:k]


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
    starts, slot, plain, overlap, margin = _candidates(single_coverage, single_overlap, pair_coverage, pair_overlap,
                                                       first_parts, counts, alone_ok, pair_margin)
    n = counts.shape[0]
    chosen = np.full(n, -1, dtype=np.int64)
    plain_of = np.zeros(n)
    unclear = np.zeros(n, dtype=np.bool_)
    needed = np.zeros(gives.shape[0], dtype=np.bool_)
    any_needed = False
    if has_shape:
        for c in range(n):
            top = -np.inf
            for k in range(starts[c], starts[c + 1]):
                top = max(top, plain[k] - margin[k])
            floor = top - 1e-9 - exact
            for k in range(starts[c], starts[c + 1]):
                if gives[slot[k]] < 0 and (plain[k] + bonus) - margin[k] >= floor:
                    needed[slot[k]] = any_needed = True
    if any_needed:
        return np.flatnonzero(needed), chosen, plain_of, unclear

    value = np.empty(plain.shape[0])
    for k in range(plain.shape[0]):
        value[k] = (plain[k] + bonus) - margin[k] if has_shape and gives[slot[k]] == 1 else plain[k] - margin[k]
    slot0 = 0  # where the clause's slots start in `gives`
    for c in range(n):
        candidates = range(starts[c], starts[c + 1])
        best = top_overlap = -np.inf
        for k in candidates:
            best = max(best, value[k])
        for k in candidates:
            if value[k] >= best - exact:
                top_overlap = max(top_overlap, overlap[k])
        for k in candidates:
            is_top = value[k] >= best - exact
            is_chosen = is_top and overlap[k] >= top_overlap - near
            if is_chosen and chosen[c] < 0:
                chosen[c], plain_of[c] = slot[k] - slot0, plain[k]
            if (not is_top and value[k] >= best - 1e-9 - exact) or (
                    is_top and not is_chosen and overlap[k] >= top_overlap - 1e-9 - near):
                unclear[c] = True
        slot0 += 2 * counts[c]
    return np.flatnonzero(needed), chosen, plain_of, unclear
