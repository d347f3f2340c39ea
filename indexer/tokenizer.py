"""Tokenizing clauses and questions alike: jieba's segmentation, run by jieba-rs, with the domain dictionary.

jieba cuts between digits and their units and on the brackets of document
numbers (赣医保发〔2023〕9号 → 赣 医保 发 〔 2023 〕 9 号), which would make
"380元" or a document number unsearchable as such. Those spans are cut out
before jieba sees the text and kept as single tokens.

The cutting itself is jieba-rs (through rjieba), loaded with jieba's own dict.txt and
frequencies set exactly as jieba would set them, so that the tokens are jieba's
(tests/test_tokenizer_parity.py holds the Python jieba reference to that). Where
jieba-rs 0.11 does not cut as jieba 0.42 does, the text is prepared around it; each
place says why. A batch of texts goes to Rust in one call, and the per-word work
(dropping stop words, adding dictionary sub-words) is looked up in a memo, so that
Python does a few operations per text, not per word (docs/decisions.md).
"""
from __future__ import annotations

import importlib.util
import itertools
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import rjieba

from . import docnumbers
from .resources import data_lines

_DATE = r"\d{4}年\d{1,2}月\d{1,2}日|\d{4}年\d{1,2}月|\d{1,2}月\d{1,2}日"
_QUANTITY = r"\d+(?:\.\d+)?(?:%|万元|元|周岁|岁|个月|天|日|年度|年|月|家|种|次|倍|分钟|人)?"
# One group, so that re.split keeps the protected spans; the look-ahead lets the regex engine skip to digits.
_PROTECTED = re.compile(rf"(?=\d)({_DATE}|{_QUANTITY})")
_WORD = re.compile(r"[\w+]+")

# Placeholders in the text handed to Rust. jieba treats each as a character of its own that no
# word spans (not in its 汉字 class [\u4E00-\u9FD5a-zA-Z0-9+#&._%-], not white space), so cutting
# "a\x01b" gives the words of "a" then "\x01" then the words of "b", as cutting them apart would.
_TEXT_END = "\x00"  # between the texts of a batch
_PROTECTED_SPAN = "\x01"  # where a document number, date or quantity was taken out
_OWN_CHARACTER = "\x02"  # where a character jieba keeps by itself was taken out (_RUST_ONLY_HAN)
_PLACEHOLDERS = _TEXT_END + _PROTECTED_SPAN + _OWN_CHARACTER
# The same in a text itself: \x03 is to every stage here what \x00-\x02 are (not a space, a digit,
# a word character, a CJK character or a bracket; NFKC leaves it alone), and is dropped as they are.
_NEUTRAL = str.maketrans(dict.fromkeys(_PLACEHOLDERS, "\x03"))

# jieba-rs counts these ideographs (CJK Ext. A-F, the compatibility block, U+9FD6-9FFF) as 汉字; jieba
# does not, and gives each one as a word by itself. Measured over every code point in
# tests/test_tokenizer_parity.py.
_RUST_ONLY_HAN = re.compile(
    "([\u3400-\u4dbf\u9fd6-\u9fff\uf900-\ufaff\U00020000-\U0002a6df\U0002a700-\U0002ebef\U0002f800-\U0002fa1f])"
)
# jieba-rs's HMM keeps letters joined by . _ - as one word (e-mail, www.nhsa.gov.cn); jieba's
# finalseg splits them (e - mail). Such a connector is handed to Rust as "&", which is of the same
# class for both (a one-character step in the dictionary graph: no dictionary word holds "&", ".",
# "_" or "-", checked in the parity test) but joins nothing; the words are then read from the text
# itself at the offsets Rust reports, so "_", a word character, comes back as itself.
_CONNECTOR = re.compile(r"(?<=[a-zA-Z0-9])[._-](?=[a-zA-Z0-9])")

# jieba counts the total of its dictionary with every line of dict.txt (a word listed twice counts
# twice) and adds a user word's frequency to it even when the word was already there. jieba-rs keeps
# the sum of the frequencies it holds. The difference is added as this word, which can never be cut
# from text (not a 汉字 class character, so it never enters the dictionary graph), so that
# log(total), which every path's probability is measured against, is jieba's to the last digit.
_TOTAL_MAKEUP_WORD = "\ue000"

_MEMO_LIMIT = 200_000  # distinct words remembered; a few tens of MB at most


# NFKC of each character of the Basic Multilingual Plane that NFKC changes (about 3,000; built in milliseconds).
_NFKC_OF = {c: n for c in map(chr, itertools.chain(range(0xD800), range(0xE000, 0x10000)))
            if (n := unicodedata.normalize("NFKC", c)) != c}
_NFKC_CHANGED = re.compile("[" + "".join(map(re.escape, _NFKC_OF)) + "]")


def normalize(text: str) -> str:
    """Full-width letters, digits and signs to half-width, Latin to lower case (NFKC).

    CPython's NFKC takes its slow path over a whole text for one full-width comma, which Chinese text
    always has. Replacing each character by its own NFKC leaves the text's NFKD, and so its NFKC, as
    they were; once the result is itself NFKC (the quick check), it is the text's NFKC.
    """
    if not unicodedata.is_normalized("NFKC", text):
        changed = set(_NFKC_CHANGED.findall(text))
        if len(changed) <= 32:
            for c in changed:
                text = text.replace(c, _NFKC_OF[c])
        if not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
    return text.lower()


def jieba_dictionary_path() -> Path:
    """jieba's dict.txt, found without importing jieba (its import loads the HMM tables, a third of a second)."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("jieba is not installed: its dictionary is the tokenizer's main dictionary")
    return Path(next(iter(spec.submodule_search_locations))) / "dict.txt"


class _Memo(dict):
    """Search tokens of each distinct word, computed on first sight; the placeholders stand for themselves."""

    def __init__(self, compute) -> None:
        super().__init__()
        self._compute = compute
        self._preset()

    def _preset(self) -> None:
        for placeholder in _PLACEHOLDERS:
            self[placeholder] = (placeholder,)

    def __missing__(self, word: str) -> tuple[str, ...]:
        if len(self) >= _MEMO_LIMIT:
            self.clear()
            self._preset()
        tokens = self[word] = self._compute(word)
        return tokens


class Tokenizer:
    """The one tokenizer for index and queries; owns its own jieba-rs instance (no global state)."""

    def __init__(self, domain_lines: Iterable[str] | None = None) -> None:
        """`domain_lines`: "word [frequency [tag]]" lines, as in indexer/data/domain_dict.txt (the default)."""
        self._rust = rjieba.Jieba.empty()
        frequency, jieba_total, held_total = self._load_main_dictionary()
        for word, freq in _domain_frequencies(data_lines("domain_dict.txt") if domain_lines is None
                                              else list(domain_lines)):
            # jieba: FREQ[word] = freq; total += freq. jieba-rs: the same, less the word's old frequency.
            held_total += freq - frequency.get(word, 0)
            jieba_total += freq
            frequency[word] = freq
            self._rust.add_word(word, freq, None)
        if jieba_total > held_total:
            self._rust.add_word(_TOTAL_MAKEUP_WORD, jieba_total - held_total, None)
        self.stopwords = frozenset(data_lines("stopwords.txt"))
        self._memo = _Memo(self._search_tokens)

    def _load_main_dictionary(self) -> tuple[dict[str, int], int, int]:
        """jieba's dict.txt into the Rust instance: (frequency of each word, jieba's total, jieba-rs's total)."""
        frequency: dict[str, int] = {}
        total = 0
        add = self._rust.add_word
        with open(jieba_dictionary_path(), encoding="utf-8") as f:
            for line in f:
                word, freq = line.split(" ", 2)[:2]  # jieba reads "word freq [tag]" so
                freq = int(freq)
                frequency[word] = freq
                total += freq
                add(word, freq, None)
        return frequency, total, sum(frequency.values())

    def pieces(self, word: str) -> list[str]:
        """`word` cut by the dictionary alone (no HMM): what a word jieba made up from characters is made of."""
        if not _RUST_ONLY_HAN.search(word):
            return self._rust.cut(word, False)
        out: list[str] = []
        for i, part in enumerate(_RUST_ONLY_HAN.split(word)):
            if i % 2:
                out.append(part)
            elif part:
                out += self._rust.cut(part, False)
        return out

    def word_tags(self) -> dict[str, str]:
        """jieba's part-of-speech tag of every word of its main dictionary (通道 → n)."""
        tags = {}
        with open(jieba_dictionary_path(), encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3:
                    tags[parts[0]] = parts[2]
        return tags

    def words(self, text: str) -> list[tuple[str, list[str]]]:
        """(word, its search tokens) for each word of `text`, stop words and punctuation left out.

        The search tokens of a word are its dictionary sub-words and itself, exactly as
        jieba's cut_for_search produces them (居民医保 → 居民, 医保, 居民医保).
        """
        words, protected, own = self._cut([text])
        protected, own = iter(protected), iter(own)
        out: list[tuple[str, list[str]]] = []
        for word in words:
            if word == _PROTECTED_SPAN:
                span = next(protected)
                out.append((span, [span]))
                continue
            if word == _OWN_CHARACTER:
                word = next(own)
            tokens = self._memo[word]
            if tokens:
                out.append((word, list(tokens)))
        return out

    def tokens(self, text: str) -> list[str]:
        """Search tokens of `text`: words and their dictionary sub-words, protected spans whole."""
        return self.tokens_many([text])[0]

    def tokens_many(self, texts: list[str]) -> list[list[str]]:
        """`tokens` of each text, in one pass: one call into Rust and a few list operations per text."""
        if not texts:
            return []
        words, protected, own = self._cut(texts)
        flat = list(itertools.chain.from_iterable(map(self._memo.__getitem__, words)))
        if own:
            # A character by itself is its only search token, or is dropped (not a word character).
            kept = [self._memo[c] for c in own]
            _fill(flat, _OWN_CHARACTER, [t[0] if t else _OWN_CHARACTER for t in kept])
            if not all(kept):
                flat = [t for t in flat if t != _OWN_CHARACTER]
        if protected:
            _fill(flat, _PROTECTED_SPAN, protected)
        out = []
        start = 0
        for _ in range(len(texts) - 1):
            end = flat.index(_TEXT_END, start)
            out.append(flat[start:end])
            start = end + 1
        out.append(flat[start:])
        return out

    def _cut(self, texts: list[str]) -> tuple[list[str], list[str], list[str]]:
        """jieba's words of the texts with the protected spans and jieba's own characters as placeholders:
        (words, the protected spans in order, the characters in order)."""
        joined = _TEXT_END.join(texts)
        if joined.count(_TEXT_END) != len(texts) - 1 or _PROTECTED_SPAN in joined or _OWN_CHARACTER in joined:
            joined = _TEXT_END.join(t.translate(_NEUTRAL) for t in texts)
        text = normalize(joined)
        pieces: list[str] = []
        protected: list[str] = []
        pos = 0
        for start, end, number in docnumbers.spans(text, folded=True):
            _take_quantities(text[pos:start], pieces, protected)
            pieces.append(_PROTECTED_SPAN)
            protected.append(number)
            pos = end
        _take_quantities(text[pos:], pieces, protected)
        rest = "".join(pieces)
        own: list[str] = []
        if _RUST_ONLY_HAN.search(rest):
            split = _RUST_ONLY_HAN.split(rest)
            rest, own = _OWN_CHARACTER.join(split[0::2]), split[1::2]
        if ("-" in rest or "." in rest or "_" in rest) and _CONNECTOR.search(rest):  # rare in Chinese text
            spans = self._rust.tokenize(_CONNECTOR.sub("&", rest), "default", True)
            return [rest[start:end] for _, start, end in spans], protected, own
        return self._rust.cut(rest, True), protected, own

    def _search_tokens(self, word: str) -> tuple[str, ...]:
        """A word's search tokens (jieba's cut_for_search: its 2- and 3-character dictionary sub-words, then
        itself), stop words and non-words left out; nothing for a stop word or punctuation."""
        stop = self.stopwords
        if word in stop or not _WORD.fullmatch(word):
            return ()
        has = self._rust.has_word
        out = []
        if len(word) > 2:
            out += [word[i:i + 2] for i in range(len(word) - 1) if has(word[i:i + 2])]
        if len(word) > 3:
            out += [word[i:i + 3] for i in range(len(word) - 2) if has(word[i:i + 3])]
        out.append(word)
        return tuple(t for t in out if t not in stop and _WORD.fullmatch(t))


def _take_quantities(text: str, pieces: list[str], protected: list[str]) -> None:
    """Dates and quantities of `text` out to `protected`, the text around them (joined by placeholders) to `pieces`."""
    split = _PROTECTED.split(text)
    pieces.append(_PROTECTED_SPAN.join(split[0::2]))
    protected += split[1::2]


def _fill(tokens: list[str], placeholder: str, values: Iterable[str]) -> None:
    """Each `placeholder` in `tokens`, in order, replaced by the next of `values`."""
    i = 0
    for value in values:
        i = tokens.index(placeholder, i)
        tokens[i] = value
        i += 1


def _domain_frequencies(lines: list[str]) -> list[tuple[str, int]]:
    """(word, frequency) of each domain dictionary line, the frequency jieba's add_word gives it.

    A line without a frequency gets jieba's suggest_freq over the dictionary as it stands at that
    line; jieba-rs has its own suggest_freq, but it reckons differently (a sum of logarithms against
    jieba's product of ratios, a prefix-only entry as 1 where jieba has 0), so jieba itself is asked.
    """
    rows = [line.split() for line in lines]
    if any(f == "0" for row in rows for f in row[1:2]):
        # jieba's add_word(w, 0) forces w apart through a module-level table of its HMM; nothing like it here.
        raise ValueError("domain dictionary: a frequency of 0 (force a split) is not supported")
    if all(len(row) > 1 for row in rows):
        return [(row[0], int(row[1])) for row in rows]
    import jieba  # only for lines without a frequency: the reference decides what it would have given them

    reference = jieba.Tokenizer()
    out = []
    for row in rows:
        reference.add_word(row[0], int(row[1]) if len(row) > 1 else None, row[2] if len(row) > 2 else None)
        out.append((row[0], reference.FREQ[row[0]]))
    return out
