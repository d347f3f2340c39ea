"""Corpus files read, parsed and tokenized a chunk at a time: what a build's worker sends back.

A chunk is made compact before it leaves the worker, so that the build never holds the tokens of the corpus:
the clause records come already serialised (the lines of clauses.jsonl), the notices without their clauses,
and the tokens as counts over the chunk's own vocabulary, in int32 arrays. That vocabulary is sorted as the
index's is (Python's order of str), so term ids ascending within a part stay ascending once mapped to the
index's terms: the build never sorts a part again.
"""
from __future__ import annotations

import dataclasses
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .loading import CorpusFileError, file_fingerprint
from .models import Clause, Notice
from .notices import MalformedFile, parse_file
from .regions import Divisions
from .store import clause_line


def clause_search_text(clause: Clause) -> str:
    """What is indexed for a clause: its heading (when not already its first words) and its text."""
    if clause.heading and not clause.text.startswith(clause.heading):
        return f"{clause.heading}\n{clause.text}"
    return clause.text


def clause_parts(clause: Clause) -> list[str]:
    """The heading part ("" when the heading opens the text) and the sentences: what is tokenized.

    jieba never segments across 。；！？ or a line break, so a clause's tokens are exactly the
    tokens of its parts in order; keeping them per sentence lets answers be quoted without
    tokenizing anything at question time.
    """
    heading = clause.heading if clause.heading and not clause.text.startswith(clause.heading) else ""
    return [heading, *clause.sentences]


@dataclass(frozen=True)
class TokenCounts:
    """The tokens of some clauses, counted: postings (term, tf) clause by clause, distinct terms part by part.

    Term ids are indices into `vocabulary`, which is sorted; within a clause and within a part they ascend.
    """

    vocabulary: tuple[str, ...]
    doc_len: np.ndarray  # int32, per clause: its tokens
    term_count: np.ndarray  # int32, per clause: its distinct terms, i.e. its postings
    post_term: np.ndarray  # int32, the postings of every clause one after another
    post_tf: np.ndarray  # int32
    part_count: np.ndarray  # int32, per clause: its parts (heading, then sentences)
    part_len: np.ndarray  # int32, per part: its distinct terms
    part_term: np.ndarray  # int32, the distinct terms of every part one after another


def count_tokens(clauses: Iterable[list[list[str]]]) -> TokenCounts:
    """Count the tokens of clauses given as their parts' tokens. One dictionary lookup a token, in C (map); the
    counting is numpy's, over (clause, term) and (part, term) pairs."""
    flat: list[str] = []
    tokens_per_part, parts_per_clause = array("i"), array("i")
    for parts in clauses:
        parts_per_clause.append(len(parts))
        for tokens in parts:
            tokens_per_part.append(len(tokens))
            flat += tokens
    vocabulary = sorted(dict.fromkeys(flat))
    term_id = dict(zip(vocabulary, range(len(vocabulary)), strict=True))
    token_term = np.fromiter(map(term_id.__getitem__, flat), dtype=np.int32, count=len(flat))
    n_clauses, n_parts = len(parts_per_clause), len(tokens_per_part)
    token_part = np.repeat(np.arange(n_parts, dtype=np.int32), np.asarray(tokens_per_part, dtype=np.int32))
    clause_of_part = np.repeat(np.arange(n_clauses, dtype=np.int32), np.asarray(parts_per_clause, dtype=np.int32))
    post_clause, post_term, post_tf = _distinct_pairs(clause_of_part[token_part], token_term, n_clauses,
                                                      len(vocabulary))
    part_of_term, part_term, _ = _distinct_pairs(token_part, token_term, n_parts, len(vocabulary))
    return TokenCounts(
        vocabulary=tuple(vocabulary),
        doc_len=np.bincount(clause_of_part[token_part], minlength=n_clauses).astype(np.int32),
        term_count=np.bincount(post_clause, minlength=n_clauses).astype(np.int32),
        post_term=post_term.astype(np.int32),
        post_tf=post_tf.astype(np.int32),
        part_count=np.asarray(parts_per_clause, dtype=np.int32),
        part_len=np.bincount(part_of_term, minlength=n_parts).astype(np.int32),
        part_term=part_term.astype(np.int32),
    )


_RADIX = 1 << 16  # numpy sorts uint16 (stably) by radix: linear, several times faster than a comparison sort


def _distinct_pairs(group: np.ndarray, term: np.ndarray, n_groups: int, n_terms: int):
    """(group, term, count) of the distinct pairs of `group` (ascending) and `term`, by group then term."""
    if not len(term):
        return group, term, np.zeros(0, dtype=np.int64)
    if n_groups > _RADIX or n_terms > _RADIX:
        keys, counts = np.unique(group.astype(np.int64) * max(n_terms, 1) + term, return_counts=True)
        return keys // max(n_terms, 1), keys % max(n_terms, 1), counts
    by_term = np.argsort(term.astype(np.uint16), kind="stable")  # groups stay ascending within each term
    term, group = term[by_term], group[by_term]
    starts = np.flatnonzero(np.concatenate([[True], (term[1:] != term[:-1]) | (group[1:] != group[:-1])]))
    counts = np.diff(np.append(starts, len(term)))
    term, group = term[starts], group[starts]
    by_group = np.argsort(group.astype(np.uint16), kind="stable")  # terms stay ascending within each group
    return group[by_group], term[by_group], counts[by_group]


@dataclass(frozen=True)
class NoticeRead:
    notice: Notice  # without its clauses: they are in the chunk's arrays and lines
    clauses: int
    characters: int  # what was tokenized of it (headings and sentences)


@dataclass(frozen=True)
class Chunk:
    """Some corpus files, read. The clauses of its notices follow one another, notice by notice, file by file."""

    problems: tuple[str | None, ...]  # one per file: why it could not be read, or None
    fingerprints: tuple[dict, ...]  # one per file: loading.file_fingerprint
    notices: tuple[NoticeRead, ...]
    counts: TokenCounts
    clause_lines: bytes  # the clauses' lines of clauses.jsonl
    line_len: np.ndarray  # int64, per clause: the length of its line


def read_chunk(files: Sequence[tuple[Path, str]], read_text: Callable[[Path], str], regions: Divisions,
               tokens: Callable[[str], list[str]]) -> Chunk:
    """Read, parse and tokenize (path, name in the corpus) files. A file that cannot be read as notices is a
    problem of that file (CorpusFileError, MalformedFile); anything else is a bug and propagates."""
    problems: list[str | None] = []
    fingerprints: list[dict] = []
    read: list[NoticeRead] = []
    clauses: list[Clause] = []
    for path, name in files:
        fingerprints.append(file_fingerprint(path))
        try:
            notices = parse_file(read_text(path), name, regions)
        except (CorpusFileError, MalformedFile) as e:
            problems.append(str(e))
            continue
        problems.append(None)
        for n in notices:
            characters = sum(len(part) for c in n.clauses for part in clause_parts(c))
            read.append(NoticeRead(dataclasses.replace(n, clauses=()), len(n.clauses), characters))
            clauses.extend(n.clauses)
    lines = [clause_line(c) for c in clauses]
    counts = count_tokens([tokens(part) for part in clause_parts(c)] for c in clauses)
    return Chunk(tuple(problems), tuple(fingerprints), tuple(read), counts, b"".join(lines),
                 np.fromiter(map(len, lines), dtype=np.int64, count=len(lines)))
