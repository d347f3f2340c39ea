"""Tokenizing clauses and questions alike: jieba with the domain dictionary.

jieba cuts between digits and their units and on the brackets of document
numbers (赣医保发〔2023〕9号 → 赣 医保 发 〔 2023 〕 9 号), which would make
"380元" or a document number unsearchable as such. Those spans are cut out
before jieba sees the text and kept as single tokens.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path

import jieba

from . import docnumbers
from .resources import data_lines

_DATE = r"\d{4}年\d{1,2}月\d{1,2}日|\d{4}年\d{1,2}月|\d{1,2}月\d{1,2}日"
_QUANTITY = r"\d+(?:\.\d+)?(?:%|万元|元|周岁|岁|个月|天|日|年度|年|月|家|种|次|倍|分钟|人)?"
_PROTECTED = re.compile(rf"({_DATE}|{_QUANTITY})")
_WORD = re.compile(r"[\w+]+")


def normalize(text: str) -> str:
    """Full-width letters, digits and signs to half-width, Latin to lower case (NFKC)."""
    return unicodedata.normalize("NFKC", text).lower()


class Tokenizer:
    """The one tokenizer for index and queries; owns its own jieba.Tokenizer (no global state)."""

    def __init__(self) -> None:
        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        for line in data_lines("domain_dict.txt"):
            parts = line.split()
            self._jieba.add_word(parts[0], int(parts[1]) if len(parts) > 1 else None,
                                 parts[2] if len(parts) > 2 else None)
        self.stopwords = frozenset(data_lines("stopwords.txt"))

    def pieces(self, word: str) -> list[str]:
        """`word` cut by the dictionary alone (no HMM): what a word jieba made up from characters is made of."""
        return list(self._jieba.cut(word, HMM=False))

    def word_tags(self) -> dict[str, str]:
        """jieba's part-of-speech tag of every word of its main dictionary (通道 → n)."""
        tags = {}
        with open(Path(jieba.__file__).parent / "dict.txt", encoding="utf-8") as f:
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
        out: list[tuple[str, list[str]]] = []
        for kind, span in self._spans(text):
            if kind == "whole":
                out.append((span, [span]))
                continue
            for word in self._jieba.cut(span):
                if not _WORD.fullmatch(word) or word in self.stopwords:
                    continue
                tokens = [t for t in self._subwords(word) if t not in self.stopwords and _WORD.fullmatch(t)]
                out.append((word, tokens))
        return out

    def tokens(self, text: str) -> list[str]:
        """Search tokens of `text`: words and their dictionary sub-words, protected spans whole."""
        return [token for _, tokens in self.words(text) for token in tokens]

    def _subwords(self, word: str) -> list[str]:
        freq = self._jieba.FREQ
        out = []
        if len(word) > 2:
            out += [word[i:i + 2] for i in range(len(word) - 1) if freq.get(word[i:i + 2])]
        if len(word) > 3:
            out += [word[i:i + 3] for i in range(len(word) - 2) if freq.get(word[i:i + 3])]
        out.append(word)
        return out

    def _spans(self, text: str):
        """("whole", token) for document numbers and quantities, ("cut", text) for the rest."""
        text = normalize(text)
        pos = 0
        for start, end, number in docnumbers.spans(text):
            yield from _quantity_spans(text[pos:start])
            yield "whole", number
            pos = end
        yield from _quantity_spans(text[pos:])


def _quantity_spans(text: str):
    pos = 0
    for m in _PROTECTED.finditer(text):
        if m.start() > pos:
            yield "cut", text[pos:m.start()]
        yield "whole", m.group(0)
        pos = m.end()
    if pos < len(text):
        yield "cut", text[pos:]
