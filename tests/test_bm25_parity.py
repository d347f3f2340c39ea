"""Scores equal rank-bm25's BM25Okapi on the real corpus (the reference implementation)."""
import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from indexer.bm25 import BM25Params, score, term_matrix, weights
from indexer.build import clause_search_text
from indexer.tokenizer import shared_tokenizer


@pytest.fixture(scope="module")
def corpus_tokens(notices):
    tokenizer = shared_tokenizer()
    return [tokenizer.tokens(clause_search_text(c)) for n in notices.values() for c in n.clauses]


@pytest.mark.parametrize("question", ["个人缴费标准是多少", "新生儿出生后多久参保", "门诊慢特病 支付比例 支付比例",
                                      "赣医保发〔2023〕9号 退役军人", "完全无关的词语组合"])
def test_scores_match_rank_bm25(corpus_tokens, question):
    query = shared_tokenizer().tokens(question)
    reference = BM25Okapi(corpus_tokens).get_scores(query)
    matrix = term_matrix(corpus_tokens)
    _, w = weights(matrix, BM25Params())
    ids = {t: i for i, t in enumerate(matrix.vocabulary)}
    ours = score(w, [ids[t] for t in query if t in ids], len(corpus_tokens))
    assert np.allclose(ours, reference, atol=1e-9, rtol=0)
    assert list(np.argsort(-ours, kind="stable")[:10]) == list(np.argsort(-reference, kind="stable")[:10])
