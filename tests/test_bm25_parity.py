"""Scores equal rank-bm25's BM25Okapi on the real corpus (the reference implementation)."""
import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from indexer.bm25 import BM25Params, score, term_matrix, weights
from indexer.build import clause_search_text


@pytest.fixture(scope="module")
def corpus_tokens(notices, resources):
    tokenizer = resources.tokenizer
    return [tokenizer.tokens(clause_search_text(c)) for n in notices.values() for c in n.clauses]


@pytest.mark.parametrize("question", ["个人缴费标准是多少", "新生儿出生后多久参保", "门诊慢特病 支付比例 支付比例",
                                      "赣医保发〔2023〕9号 退役军人", "完全无关的词语组合"])
def test_scores_match_rank_bm25(corpus_tokens, resources, question):
    query = resources.tokenizer.tokens(question)
    reference = BM25Okapi(corpus_tokens).get_scores(query)
    matrix = term_matrix(corpus_tokens)
    _, w = weights(matrix, BM25Params())
    ids = {t: i for i, t in enumerate(matrix.vocabulary)}
    ours = score(w, [ids[t] for t in query if t in ids], len(corpus_tokens))
    assert np.allclose(ours, reference, atol=1e-9, rtol=0)
    assert list(np.argsort(-ours, kind="stable")[:10]) == list(np.argsort(-reference, kind="stable")[:10])


@pytest.fixture(scope="module")
def generated_engine(tmp_path_factory, resources):
    """An index of about 10,000 clauses from ../shared/bench/make_corpus.py."""
    import subprocess
    import sys

    from engine import BM25Engine
    from indexer.build import build_index
    from tests.conftest import SHARED

    generator = SHARED / "bench" / "make_corpus.py"
    if not generator.exists():
        pytest.skip("shared/bench not beside the checkout")
    work = tmp_path_factory.mktemp("generated")
    subprocess.run([sys.executable, str(generator), "--notices", "420", "--out", str(work / "corpus")], check=True,
                   capture_output=True)
    build_index(work / "corpus", work / "index")
    return BM25Engine.load(work / "index", resources)


def test_search_ranks_exactly_like_rank_bm25_on_a_generated_10k_clause_corpus(generated_engine, resources):
    engine = generated_engine
    clauses = [c for n in engine.notices for c in engine.clauses_of(n)]  # rows are laid out notice by notice
    assert len(clauses) >= 10_000
    tokenizer = resources.tokenizer
    reference = BM25Okapi([tokenizer.tokens(clause_search_text(c)) for c in clauses])
    for question in [
        "个人缴费标准是多少", "集中征缴期 延长", "新生儿 参保登记 监护人", "门诊慢特病 支付比例", "双通道 谈判药品"
    ]:
        expected = reference.get_scores(tokenizer.tokens(question))
        page = engine.search(question, limit=10)
        top = np.argsort(-expected, kind="stable")[:10]
        got = [h.clause.id for h in page.hits]
        assert got == [clauses[int(r)].id for r in top], question
        assert [h.clause.id for h in engine.best(question, limit=10)] == got, question  # pruned, as answering asks
        assert np.allclose([h.score for h in page.hits], expected[top], atol=1e-6, rtol=0)
        assert page.total == int(np.count_nonzero(expected > 0))


def test_filters_apply_before_the_top_k_is_chosen(generated_engine):
    engine = generated_engine
    province = next(n for n in engine.notices if n.level == "province")
    page = engine.search("参保", within=[province.id], limit=10)
    assert page.hits and all(h.notice.id == province.id for h in page.hits)
    everywhere = engine.search("参保", limit=engine.clause_total)
    assert page.total == sum(1 for h in everywhere.hits if h.notice.id == province.id)


@pytest.mark.parametrize("size", [16, 128])
def test_pruned_top_k_is_exactly_the_full_top_k(generated_engine, size):
    """Pruning reads fewer postings but returns the very rows and scores of a full scan, on real words: over many
    queries (repeated words, rare and common ones, ties), several k, filters by notice, and blocks small enough
    that most are skipped. tests/test_pruning.py goes down each path on purpose."""
    import random

    from indexer.bm25 import score, top_k
    from indexer.pruning import block_maxima, top_k_pruned

    engine = generated_engine
    index = engine._index
    weights_ = index.weights
    n = len(index.clauses)
    rng = random.Random(size)
    vocabulary = list(index.vocabulary)
    common = [t for t, i in index.vocabulary.items() if weights_.indptr[i + 1] - weights_.indptr[i] > n // 20]
    assert len(common) >= 3
    notices = [x.id for x in engine.notices]
    bounds = block_maxima(weights_, size)
    for _ in range(200):
        words = rng.sample(vocabulary, rng.randint(0, 4)) + rng.sample(common, rng.randint(1, 8))
        words += rng.sample(words, min(len(words), rng.randint(0, 2)))  # a repeat counts twice, as in rank-bm25
        terms = [index.vocabulary[w] for w in words]
        mask = engine._mask(rng.sample(notices, rng.randint(1, 300))) if rng.random() < 0.3 else None
        k = rng.choice([1, 10, 40, 200])
        scores = score(weights_, terms, n)
        expected = top_k(scores, k, mask)[0]
        rows, values = top_k_pruned(weights_, bounds, terms, k, mask, read_all_below=0)
        assert rows.tolist() == expected.tolist()
        assert values.tolist() == scores[expected].tolist()  # the same sums to the last bit
    # Repeated scores: a clause duplicated many times ties; ties go by row in both.
    page = engine.best("个人缴费标准 380元", limit=40)
    assert [h.row for h in page] == [h.row for h in engine.search("个人缴费标准 380元", limit=40).hits]
