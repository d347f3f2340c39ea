"""The reference tokenizer: Python jieba, span by span, as indexer/tokenizer.py did before it ran on jieba-rs.

What a date or a quantity is (the patterns) and what a word character is come from the tokenizer, so
that a change of those rules is one edit; how they are applied is this module's own, as it was:
NFKC by unicodedata, document numbers folded and found per text, spans found one by one.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable

import jieba

from indexer import docnumbers
from indexer.resources import data_lines
from indexer.tokenizer import _DATE, _QUANTITY, _WORD

_PROTECTED = re.compile(f"{_DATE}|{_QUANTITY}")


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


class JiebaTokenizer:
    """indexer.tokenizer.Tokenizer's interface over its own jieba.Tokenizer."""

    def __init__(self, domain_lines: Iterable[str] | None = None) -> None:
        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        for line in data_lines("domain_dict.txt") if domain_lines is None else domain_lines:
            parts = line.split()
            self._jieba.add_word(parts[0], int(parts[1]) if len(parts) > 1 else None,
                                 parts[2] if len(parts) > 2 else None)
        self.stopwords = frozenset(data_lines("stopwords.txt"))

    def pieces(self, word: str) -> list[str]:
        return list(self._jieba.cut(word, HMM=False))

    def words(self, text: str) -> list[tuple[str, list[str]]]:
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
