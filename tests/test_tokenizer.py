"""One tokenizer for clauses and questions: jieba's segmentation, the domain dictionary, protected spans."""
import rjieba

from indexer.tokenizer import Tokenizer


def test_uses_its_own_jieba_instance():
    tokenizer = Tokenizer()
    tokenizer.tokens("居民医保集中征缴期")
    assert tokenizer._rust is not rjieba._DEFAULT_JIEBA
    assert tokenizer._rust.has_word("集中征缴期")
    assert not rjieba.has_word("集中征缴期"), "the domain dictionary never reaches rjieba's module-level instance"


def test_domain_terms_stay_whole():
    tokens = Tokenizer().tokens("门诊慢特病和双通道药品纳入大病保险，集中征缴期内缴费")
    for term in ("门诊慢特病", "双通道", "大病保险", "集中征缴期"):
        assert term in tokens


def test_amounts_percentages_dates_and_document_numbers_are_single_tokens():
    tokens = Tokenizer().tokens("按赣医保发〔2023〕9号，个人缴费380元，支付比例为50%，自2023年9月15日起，60周岁以上")
    for token in ("赣医保发〔2023〕9号", "380元", "50%", "2023年9月15日", "60周岁"):
        assert token in tokens
    assert "〔" not in tokens and "2023" not in tokens


def test_question_and_clause_spellings_meet():
    t = Tokenizer()
    assert "新医保办〔2023〕54号" in t.tokens("新医保办[2023]54号 生育津贴")
    assert "50%" in t.tokens("支付比例为５０％")  # full-width digits and percent sign


def test_stop_words_and_punctuation_are_dropped():
    tokens = Tokenizer().tokens("请问，这个的报销比例是多少？")
    assert "的" not in tokens and "，" not in tokens and "？" not in tokens
    assert "报销" in tokens


def test_a_clause_tokenizes_as_its_heading_and_sentences_do(notices):
    """The index keeps term ids per sentence; that is only right if jieba never cuts across 。；！？ or a line."""
    from indexer.build import clause_parts, clause_search_text

    t = Tokenizer()
    for n in notices.values():
        for c in n.clauses:
            assert t.tokens(clause_search_text(c)) == [tok for part in clause_parts(c) for tok in t.tokens(part)]
