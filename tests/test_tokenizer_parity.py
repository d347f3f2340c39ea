"""The tokenizer (jieba-rs through rjieba) gives Python jieba's tokens, token for token (tests/jieba_reference.py).

Every clause part of the bundled corpus and of a generated one, every question of tests/data, random text
made to reach the corners (rare ideographs, letters joined by . _ -, placeholders, full-width forms), with
the domain dictionary loaded; and the facts about jieba-rs the tokenizer's workarounds rest on.
"""
from __future__ import annotations

import json
import random
import re
import subprocess
import sys

import pytest
import rjieba

from indexer.build import BuildReport, clause_parts, read_corpus
from indexer.regions import load_divisions
from indexer.resources import data_lines
from indexer.tokenizer import _RUST_ONLY_HAN, Tokenizer, jieba_dictionary_path
from tests.conftest import ROOT, SHARED
from tests.jieba_reference import JiebaTokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return Tokenizer()


@pytest.fixture(scope="module")
def reference():
    return JiebaTokenizer()


@pytest.fixture(scope="module")
def corpus_parts(notices):
    return [part for n in notices.values() for c in n.clauses for part in clause_parts(c)]


@pytest.fixture(scope="module")
def generated_parts(tmp_path_factory):
    """Every clause part of 300 notices from make_corpus.py (35,663 parts, 1.2 million characters)."""
    generator = next((d / "bench" / "make_corpus.py" for d in (SHARED, ROOT.parent.parent / "shared")
                      if (d / "bench" / "make_corpus.py").exists()), None)
    if generator is None:
        pytest.skip("shared/bench not beside the checkout")
    out = tmp_path_factory.mktemp("generated") / "corpus"
    subprocess.run([sys.executable, str(generator), "--notices", "300", "--out", str(out)], check=True,
                   capture_output=True, timeout=120)
    report = BuildReport()
    notices = read_corpus(out, report, load_divisions())
    assert not report.errors, report.errors
    return [part for n in notices for c in n.clauses for part in clause_parts(c)]


def _questions() -> list[str]:
    return [json.loads(line)["question"] for path in sorted((ROOT / "tests" / "data").glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _differences(tokenizer, reference, parts: list[str]) -> list[str]:
    """The parts whose tokens differ, by tokens() one at a time and by tokens_many() all at once."""
    many = tokenizer.tokens_many(parts)
    return [p for p, m in zip(parts, many, strict=True) if not (reference.tokens(p) == m == tokenizer.tokens(p))]


def test_every_part_of_the_bundled_corpus(tokenizer, reference, corpus_parts):
    assert sum(map(len, corpus_parts)) > 15_000
    assert _differences(tokenizer, reference, corpus_parts) == []


def test_every_part_of_a_generated_corpus(tokenizer, reference, generated_parts):
    assert sum(map(len, generated_parts)) > 1_000_000
    assert _differences(tokenizer, reference, generated_parts) == []


def test_words_and_pieces_of_every_question(tokenizer, reference):
    questions = _questions()
    assert len(questions) > 500
    for question in questions:
        words = tokenizer.words(question)
        assert words == reference.words(question), question
        assert tokenizer.tokens(question) == reference.tokens(question), question
        for word, _ in words:
            assert tokenizer.pieces(word) == reference.pieces(word), word


def _random_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    common = sorted(set("".join(data_lines("domain_dict.txt")) + "".join(_questions())) - set(" \t0123456789"))
    pools = [
        common,
        [chr(rng.randrange(0x4E00, 0x9FD6)) for _ in range(400)],  # the HMM's characters, mostly unseen words
        [chr(c) for c in (0x3400, 0x4DB5, 0x9FD6, 0x9FEF, 0x9FFF, 0xF900, 0xFA0E, 0xFA11, 0x20000, 0x2A700,
                          0x2F800, 0x30000)],
        list("abcxyzABCXYZ0123456789"), list("._-+#&%"), [" ", "\n", "\r", "\r\n", "\t", "\u3000", "\xa0"],
        list("ａｂＡＢ０１２％．－＿（）［］，。、；：？！“”《》〔〕【】﹝﹞"),
        ["赣医保发〔2023〕9号", "医保发[2024]3号", "380元", "60周岁", "2023年9月15日", "1.5万元", "50%", "e-mail",
         "www.nhsa.gov.cn", "a_b", "c++", "c#", "at&t", "AT&T", "B超", "b超"],
        ["α", "é", "e\u0301", "\u0301", "Σ", "\ue000", "\x00", "\x01", "\x02", "\x03", "😀", "①", "㈠", "ﬁ", "İ"],
        ["居民医保", "大病保险", "集中征缴期", "门诊慢特病", "的", "了", "是", "我们", "中华人民共和国"],
    ]
    weights = [40, 10, 3, 8, 5, 5, 5, 4, 3, 8]
    return ["".join(rng.choice(rng.choices(pools, weights)[0]) for _ in range(rng.randrange(1, 60)))
            for _ in range(count)]


def test_random_text_reaching_the_corners(tokenizer, reference):
    texts = _random_texts(6000, seed=14)
    assert _differences(tokenizer, reference, texts) == []
    for text in texts[:2000]:
        assert tokenizer.words(text) == reference.words(text), text
        for word in text.split():
            assert tokenizer.pieces(word) == reference.pieces(word), word


def test_it_tells_a_missing_domain_word(reference, corpus_parts):
    """The parity tests can fail: without one domain word the tokens are no longer jieba's."""
    lines = [line for line in data_lines("domain_dict.txt") if line.split()[0] != "集中征缴期"]
    assert _differences(Tokenizer(lines), reference, corpus_parts)


def test_domain_words_without_a_frequency_get_jiebas(reference):
    """jieba's add_word without a frequency gives its suggest_freq; the tokenizer must give the same."""
    extra = ["慢特病门诊", "医保码", "两病", "惠民保", "长护险"]
    lines = [*data_lines("domain_dict.txt"), *extra]
    ours, theirs = Tokenizer(lines), JiebaTokenizer(lines)
    texts = ["申领医保码后可在两病门诊和慢特病门诊结算", "参加惠民保和长护险的居民", *_random_texts(500, seed=3)]
    assert [ours.tokens(t) for t in texts] == [theirs.tokens(t) for t in texts]


def test_the_dictionary_total_is_jiebas(reference):
    """jieba's total counts a word listed twice twice and a user word's frequency on top of the old one; every
    path's probability is measured against it. Two made-up words make the cut of "AB" turn on that total:
    jieba keeps AB whole iff total >= f(A)·f(B)/f(AB), here set 1,500 below jieba's own total."""
    freq = reference._jieba.FREQ
    a, b = [c for c in map(chr, range(0x4E00, 0x9FD6)) if c not in freq and c not in reference.stopwords][:2]
    base = reference._jieba.total  # jieba's total with the domain dictionary
    f_a, f_b = base - 1497, 2  # then f_a·f_b = 2·base − 2994 = (base + f_a + f_b + 1) − 1500
    lines = [*data_lines("domain_dict.txt"), f"{a} {f_a}", f"{b} {f_b}", f"{a}{b} 1"]
    ours, theirs = Tokenizer(lines), JiebaTokenizer(lines)
    assert theirs._jieba.total - f_a * f_b == 1500
    assert theirs.tokens(a + b) == [a + b]
    assert ours.tokens(a + b) == [a + b]


def test_jieba_rs_han_class_is_jiebas_plus_the_rare_ideographs():
    """jieba-rs puts more ideographs in its 汉字 class than jieba's [\\u4E00-\\u9FD5a-zA-Z0-9+#&._%-]; those
    are exactly _RUST_ONLY_HAN. Two of a character form one word in jieba-rs only if it is in the class (and
    outside the HMM's range)."""
    rust = rjieba.Jieba()
    jieba_class = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&._%\-]")
    for code in (*range(0xD800), *range(0xE000, 0x110000)):
        if 0x4E00 <= code <= 0x9FD5:
            continue
        c = chr(code)
        in_rust_class = len(rust.cut(c * 2)) == 1
        assert in_rust_class == bool(jieba_class.match(c) or _RUST_ONLY_HAN.match(c)), hex(code)


def test_no_dictionary_word_holds_a_connector_or_a_lower_case_ampersand():
    """The tokenizer hands "." "_" "-" between letters to jieba-rs as "&": sound only while no word can match
    text with any of them (text is lower case; jieba's AT&T never matches it)."""
    with open(jieba_dictionary_path(), encoding="utf-8") as f:
        words = [line.split(" ")[0] for line in f]
    words += [line.split()[0] for line in data_lines("domain_dict.txt")]
    assert [w for w in words if re.search(r"[._-]", w) or ("&" in w and w == w.lower())] == []


def test_rust_add_word_replaces_a_frequency_in_its_total():
    """jieba-rs's total drops a word's old frequency when add_word sets a new one (jieba's does not): the
    tokenizer's makeup for the difference rests on it. suggest_freq("AA") is f(A)²/total + 1."""
    rust = rjieba.Jieba()
    a, f = "\U00020000", 10**12
    rust.add_word(a, f, None)
    once = rust.suggest_freq(a + a)
    rust.add_word(a, f, None)
    assert rust.suggest_freq(a + a) == once and 0.99 * f < once < f


def test_placeholders_in_text_change_nothing(tokenizer, reference):
    texts = ["居民医保\x00缴费380元", "\x01大病保险\x02", "集中征缴期\x00", "", "\x00", "医保发〔2024〕3号\x01"]
    assert tokenizer.tokens_many(texts) == [reference.tokens(t) for t in texts]
    assert tokenizer.tokens_many([]) == []
