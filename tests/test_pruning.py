"""Pruned top k (indexer/pruning.py) gives the very rows and scores of scoring every clause, on every path; the
count of matches is the full scan's."""
import random

import numpy as np
import pytest

from indexer import pruning
from indexer.bm25 import BM25Params, score, term_matrix, top_k, weights
from indexer.pruning import block_maxima, count_matches, top_k_pruned


def _corpus(seed: int, n_rows: int = 3000, n_terms: int = 200) -> list[list[str]]:
    """Clauses of Zipf-distributed words, a tenth of them copies of another (equal scores: ties go by row)."""
    rng = np.random.default_rng(seed)
    rows: list[list[str]] = []
    for _ in range(n_rows):
        if rows and rng.random() < 0.1:
            rows.append(list(rows[int(rng.integers(len(rows)))]))
            continue
        words = np.minimum(rng.zipf(1.3, size=int(rng.integers(1, 40))), n_terms) - 1
        rows.append([f"w{w}" for w in words])
    return rows


@pytest.fixture(scope="module")
def matrix():
    m = term_matrix(_corpus(5))
    return m, weights(m, BM25Params())[1]


def _queries(rng: random.Random, w, count: int):
    n_rows = w.shape[1]
    df = np.diff(w.indptr)
    common = [int(t) for t in np.flatnonzero(df > n_rows // 10)]
    rare = [int(t) for t in np.flatnonzero((df > 0) & (df <= n_rows // 10))]
    for _ in range(count):
        terms = rng.sample(common, rng.randint(0, min(5, len(common)))) + rng.sample(rare, rng.randint(0, 3))
        terms += rng.sample(terms, min(len(terms), rng.randint(0, 3)))  # a repeat counts twice, as in rank-bm25
        rng.shuffle(terms)
        yield terms, rng.choice([1, 3, 10, 40, 10_000]), _mask(rng, n_rows)


def _mask(rng: random.Random, n_rows: int) -> np.ndarray | None:
    kind = rng.random()
    if kind < 0.5:
        return None
    mask = np.zeros(n_rows, dtype=bool)
    if kind < 0.8:  # a few notices: runs of consecutive rows
        for _ in range(rng.randint(1, 20)):
            start = rng.randrange(n_rows)
            mask[start:start + rng.randint(1, 200)] = True
    else:  # rows anywhere, some of them nowhere near the others
        mask[rng.sample(range(n_rows), rng.randint(0, n_rows // 3))] = True
    return mask


def _check(w, bounds, terms, k, mask):
    scores = score(w, terms, w.shape[1])
    expected, total = top_k(scores, k, mask)
    rows, values = top_k_pruned(w, bounds, terms, k, mask, read_all_below=0)
    assert rows.tolist() == expected.tolist(), (terms, k)
    assert values.tolist() == scores[expected].tolist(), (terms, k)  # the same sums to the last bit
    assert count_matches(w, bounds, terms, mask) == total, terms


# Each setting sends the queries down another path: the defaults; MaxScore whatever the blocks left and whatever
# it reads; θ raised from a few candidates and weights looked up from a dense array; one block first, so that more
# are taken until k rows score; binary search for every lookup; a scan of all postings where MaxScore would be.
MAX_SCORE = {"_SCORE_ALL_BLOCKS": 0, "_SKIPPED_PER_TERM": 0}
PATHS = [{}, MAX_SCORE, {**MAX_SCORE, "_REFINE_ROWS": 4, "_DENSE_LOOKUP": 10 ** 9},
         {"_FIRST_BLOCKS": 1, "_SCORE_ALL_BLOCKS": 2, "_SCORE_ALL_SHARE": 1.0}, {**MAX_SCORE, "_DENSE_LOOKUP": 0},
         {"_SCORE_ALL_BLOCKS": 0, "_SKIPPED_PER_TERM": 10 ** 9}]


@pytest.mark.parametrize("size", [8, 64, 4096])
@pytest.mark.parametrize("path", range(len(PATHS)))
def test_pruned_top_k_is_the_full_top_k(matrix, monkeypatch, size, path):
    for name, value in PATHS[path].items():
        monkeypatch.setattr(pruning, name, value)
    _, w = matrix
    bounds = block_maxima(w, size)
    for terms, k, mask in _queries(random.Random(size * 10 + path), w, 150):
        _check(w, bounds, terms, k, mask)


def test_every_path_is_taken(matrix, monkeypatch):
    """The settings above do reach MaxScore, both kinds of lookup and the scan (else the test above proves less than
    it says)."""
    _, w = matrix
    bounds = block_maxima(w, 8)
    taken: set[str] = set()
    searches = []
    real_lookup, real_weights_of = pruning._lookup, pruning._Query._weights_of

    def weights_of(self, t, rows):
        before = len(searches)
        out = real_weights_of(self, t, rows)
        taken.add("binary search" if len(searches) > before else "dense array")
        return out

    monkeypatch.setattr(pruning, "_lookup", lambda *a: searches.append(1) or real_lookup(*a))
    monkeypatch.setattr(pruning._Query, "_weights_of", weights_of)
    for name in ("_max_score", "_score_blocks", "scan"):
        method = getattr(pruning._Query, name)
        monkeypatch.setattr(pruning._Query, name, lambda self, *a, _m=method, _n=name: taken.add(_n) or _m(self, *a))
    defaults = {name: getattr(pruning, name) for path in PATHS for name in path}
    for path in PATHS:
        for name, value in defaults.items():
            monkeypatch.setattr(pruning, name, path.get(name, value))
        for terms, k, mask in _queries(random.Random(3), w, 40):
            _check(w, bounds, terms, k, mask)
    assert taken == {"_max_score", "_score_blocks", "scan", "binary search", "dense array"}


def test_block_maxima_bound_every_weight(matrix):
    _, w = matrix
    bounds = block_maxima(w, 16)
    for t in range(w.shape[0]):
        ids, values = w.indices[w.indptr[t]:w.indptr[t + 1]], w.data[w.indptr[t]:w.indptr[t + 1]]
        if not len(ids):
            continue
        assert bounds.term_max[t] == values.max()
        if bounds.block_row[t] >= 0:
            row = bounds.block_max[bounds.block_row[t]].astype(np.float64)
            assert np.all(row[ids // 16] >= values)  # rounded up to float32, never down
            assert np.all(row[np.setdiff1d(np.arange(bounds.n_blocks), ids // 16)] == 0)
    with pytest.raises(ValueError):
        block_maxima(w, 100)


def test_negative_weights_are_scored_in_full():
    """Words in most clauses of a tiny corpus get a negative idf (rank-bm25's floor is then negative too): a clause
    holding one may score below zero, so pruning by positive bounds would not hold; all postings are read."""
    m = term_matrix([["a", "b"], ["a", "b"], ["a", "c"], ["a", "b", "c"]])
    w = weights(m, BM25Params())[1]
    assert w.data.min() < 0
    bounds = block_maxima(w, 1)
    ids = {t: i for i, t in enumerate(m.vocabulary)}
    for terms in (["a"], ["a", "c"], ["c", "b", "c"], ["b"]):
        _check(w, bounds, [ids[t] for t in terms], 2, None)


def test_nothing_to_rank(matrix):
    _, w = matrix
    bounds = block_maxima(w)
    for terms, k in (([], 10), ([1, 2], 0)):
        rows, values = top_k_pruned(w, bounds, terms, k, read_all_below=0)
        assert len(rows) == len(values) == 0
    rows, _ = top_k_pruned(w, bounds, [1, 2], 10, np.zeros(w.shape[1], dtype=bool), read_all_below=0)
    assert len(rows) == 0
