"""The data files (dictionaries, tables, stop words) and the one reader for them.

Every data file lives in indexer/data/, starts with comment lines that say where it came from,
and is read through `data_lines` or `data_rows` here. `Resources` loads them all once and is
handed down (engine → answering); nothing else keeps a module-level copy.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources

CJK = "\u4e00-\u9fff"  # the CJK Unified Ideographs block: what counts as a Chinese character here
CJK_CHAR = re.compile(f"[{CJK}]")

# The files that decide how text is cut into tokens: an index built with other versions cannot be searched.
TOKENIZER_FILES = ("domain_dict.txt", "stopwords.txt")


def data_text(name: str) -> str:
    return resources.files("indexer").joinpath(f"data/{name}").read_text(encoding="utf-8")


def data_lines(name: str) -> list[str]:
    """The non-empty, non-comment lines of a data file, stripped."""
    return [line.strip() for line in data_text(name).splitlines() if line.strip() and not line.startswith("#")]


def data_rows(name: str) -> list[list[str]]:
    """The tab-separated fields of each data line."""
    return [[field.strip() for field in line.split("\t")] for line in data_lines(name)]


def dictionary_fingerprint() -> str:
    """SHA-256 over the tokenizer's data files and what cuts the text: recorded in every index manifest.

    jieba's version stands for its dict.txt (the main dictionary), rjieba's for jieba-rs, which does the
    cutting (its HMM tables and its rules); the versions come from the installed packages' metadata.
    """
    from importlib.metadata import version

    digest = hashlib.sha256(f"jieba {version('jieba')}\nrjieba {version('rjieba')}\n".encode())
    for name in TOKENIZER_FILES:
        digest.update(f"{name}\n".encode())
        digest.update(data_text(name).encode("utf-8"))
    return digest.hexdigest()


@dataclass(frozen=True)
class Resources:
    """Everything questions and clauses are read with: the tokenizer, the division table and the word tables."""

    tokenizer: object  # indexer.tokenizer.Tokenizer (typed loosely to keep this module import-light)
    divisions: object  # indexer.regions.Divisions
    synonyms: tuple[tuple[str, tuple[str, ...]], ...]  # (everyday phrase, policy terms), longest phrase first
    question_words: frozenset[str]
    out_of_scope: tuple[tuple[re.Pattern[str], str, bool], ...]  # (topic, what to say, even if the scheme is named)
    domain_words: tuple[str, ...]  # the domain dictionary's words, longest first
    domain_terms: frozenset[str]  # domain words, synonym targets and their dictionary sub-words
    compare_topics: tuple[str, ...]
    dictionary_hash: str
    scheme_names: tuple[str, ...] = ()  # names of the resident scheme itself (新农合, 居民医保), longest first
    colloquial: tuple[tuple[str, str], ...] = ()  # (dialect or informal spelling, standard wording), longest first
    word_tags: dict[str, str] | None = None  # jieba's part-of-speech tag of each dictionary word
    groups: tuple[str, ...] = ()  # groups of people with rules of their own (特困, 学生, 新生儿)
    status_groups: frozenset[str] = frozenset()  # those whose rules apply even when told only in a story (退伍, 低保)
    synonym_terms: dict[str, tuple[str, ...]] = field(default_factory=dict)  # `synonyms` by phrase, built once
    weak_synonyms: frozenset[str] = frozenset()  # everyday nouns among the synonyms: search help, not a topic
    longer_terms: dict[str, tuple[str, ...]] | None = None  # domain word → the longer domain words containing it
    benefits: tuple[tuple[str, str], ...] = ()  # (spelling, the benefit it names: 住院, 门诊慢特病 …), longest first

    @classmethod
    def load(cls) -> Resources:
        from .regions import load_divisions
        from .tokenizer import Tokenizer

        tokenizer = Tokenizer()
        word_tags = tokenizer.word_tags()
        rows = data_rows("synonyms.tsv")
        synonyms = tuple(sorted(((r[0], tuple(r[1].split())) for r in rows), key=lambda r: len(r[0]), reverse=True))
        weak = frozenset(r[0] for r in rows if r[2:3] == ["weak"])
        domain_words = tuple(sorted({line.split()[0] for line in data_lines("domain_dict.txt")}, key=len, reverse=True))
        words = set(domain_words) | {term for phrase, terms in synonyms if phrase not in weak for term in terms}
        domain_terms = frozenset(words | {t for w in words for t in tokenizer.tokens(w) if len(t) > 1})
        return cls(
            tokenizer=tokenizer,
            divisions=load_divisions(word_tags),
            synonyms=synonyms,
            question_words=frozenset(r[0] for r in data_rows("question_words.txt")),
            out_of_scope=tuple((re.compile(r[0]), r[1], r[2:3] == ["strict"]) for r in data_rows("out_of_scope.tsv")),
            domain_words=domain_words,
            domain_terms=domain_terms,
            compare_topics=tuple(data_lines("compare_topics.txt")),
            dictionary_hash=dictionary_fingerprint(),
            scheme_names=tuple(sorted(data_lines("scheme_names.txt"), key=len, reverse=True)),
            # An empty standard wording drops a particle (㗎): the line then has one field.
            colloquial=tuple(sorted(((r[0], r[1] if len(r) > 1 else "") for r in data_rows("colloquial.tsv")),
                                    key=lambda r: len(r[0]), reverse=True)),
            word_tags=word_tags,
            weak_synonyms=weak,
            groups=tuple(row[0] for row in data_rows("groups.txt")),
            status_groups=frozenset(row[0] for row in data_rows("groups.txt") if row[1:] == ["status"]),
            synonym_terms=dict(synonyms),
            longer_terms={w: tuple(x for x in domain_words if w in x and x != w) for w in domain_words},
            benefits=tuple(sorted(((spelling, row[0]) for row in data_rows("benefits.tsv")
                                   for spelling in row[1].split()), key=lambda r: len(r[0]), reverse=True)),
        )

    def to_simplified(self, text: str) -> str:
        return _t2s().convert(text)


_converter = None


def _t2s():
    """OpenCC's traditional → simplified converter; stateless and costly to open, so opened once."""
    global _converter
    if _converter is None:
        import opencc

        _converter = opencc.OpenCC("t2s")
    return _converter
