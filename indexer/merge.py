"""Merging a build's chunks as they arrive: typed arrays in memory, the bulk in scratch files.

Per clause and per part only a few integers stay in memory; the postings, the part terms and the clause lines go
to scratch spools as they come. Nothing is put in index order here: that order (notices by notice_order) is only
known once every file is read, and indexer/assemble.py applies it at the end. Terms get provisional ids in the
order they are first met; the index's ids (the sorted vocabulary) are given at the end, too.
"""
from __future__ import annotations

import dataclasses
import tempfile
from array import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .chunks import Chunk
from .models import Notice
from .ordering import duplicate_warning, fuller_copy
from .report import FileProblem

SPOOL_IN_MEMORY = 32 * 1024 * 1024  # bytes a spool holds in memory before it moves to a file


class Spool:
    """Bytes appended while the corpus is read, and read back by offset at the end. Held in memory while small,
    then in a file without a name (tempfile.SpooledTemporaryFile, O_TMPFILE on Linux) beside the index: it is
    gone when closed or when the build dies, even by SIGKILL, and it never counts in the build's memory."""

    def __init__(self, directory: Path | None, in_memory: int = SPOOL_IN_MEMORY):
        self._file = tempfile.SpooledTemporaryFile(max_size=in_memory, dir=directory)  # noqa: SIM115 — closed by close()
        self.size = 0

    def append(self, data: bytes) -> None:
        self._file.seek(self.size)
        self._file.write(data)
        self.size += len(data)

    def read(self, offset: int, length: int) -> bytes:
        self._file.seek(offset)
        data = self._file.read(length)
        if len(data) != length:
            raise OSError(f"scratch file shorter than written ({offset}+{length} > {self.size})")
        return data

    def close(self) -> None:
        self._file.close()


@dataclass(frozen=True)
class Entry:
    """A notice as read, and where its clauses are among the clauses merged (in order of arrival)."""

    notice: Notice  # without its clauses
    first: int
    clauses: int
    characters: int


class Merged:
    """Everything read so far. Every notice read is an entry; `kept` names, for each document number, the entry
    that goes into the index: the same notice forwarded in two files is kept once, the fuller copy."""

    def __init__(self, scratch_dir: Path | None):
        self._term_id: dict[str, int] = {}  # provisional ids, in order of arrival
        self._df = np.zeros(1024, dtype=np.int64)  # per provisional id: clauses holding the term
        self.doc_len, self.term_count, self.part_count = array("i"), array("i"), array("i")  # per clause
        self.part_len = array("i")  # per part
        self.line_len = array("q")  # per clause
        self.postings = Spool(scratch_dir)  # int32 (provisional term, tf) pairs, clause after clause
        self.part_terms = Spool(scratch_dir)  # int32 provisional term ids, part after part
        self.lines = Spool(scratch_dir)  # clauses.jsonl lines
        self.entries: list[Entry] = []
        self.kept: dict[str, int] = {}
        self.warnings: list[FileProblem] = []

    def __enter__(self) -> Merged:
        return self

    def __exit__(self, *exc) -> None:
        for spool in (self.postings, self.part_terms, self.lines):
            spool.close()

    @property
    def clauses(self) -> int:
        return len(self.doc_len)

    @property
    def terms(self) -> list[str]:
        """Every term met, by provisional id."""
        return list(self._term_id)

    @property
    def df(self) -> np.ndarray:
        return self._df[:len(self._term_id)]

    def add(self, chunk: Chunk) -> None:
        counts = chunk.counts
        provisional = np.fromiter((self._term_id.setdefault(t, len(self._term_id)) for t in counts.vocabulary),
                                  dtype=np.int32, count=len(counts.vocabulary))
        if len(self._term_id) > len(self._df):
            self._df = np.concatenate([self._df, np.zeros(max(len(self._term_id), len(self._df)), np.int64)])
        # Terms are distinct within a clause, so counting postings counts clauses; ids distinct within a chunk.
        self._df[provisional] += np.bincount(counts.post_term, minlength=len(provisional))
        pairs = np.empty((len(counts.post_term), 2), dtype=np.int32)
        pairs[:, 0] = provisional[counts.post_term]
        pairs[:, 1] = counts.post_tf
        self.postings.append(pairs.tobytes())
        self.part_terms.append(provisional[counts.part_term].tobytes())
        self.lines.append(chunk.clause_lines)
        first = self.clauses
        self.doc_len.frombytes(counts.doc_len.tobytes())
        self.term_count.frombytes(counts.term_count.tobytes())
        self.part_count.frombytes(counts.part_count.tobytes())
        self.part_len.frombytes(counts.part_len.tobytes())
        self.line_len.frombytes(np.asarray(chunk.line_len, dtype=np.int64).tobytes())
        for read in chunk.notices:
            self._keep(Entry(read.notice, first, read.clauses, read.characters))
            first += read.clauses

    def _keep(self, entry: Entry) -> None:
        number = entry.notice.doc_number
        self.entries.append(entry)
        held = self.kept.get(number)
        if held is None:
            self.kept[number] = len(self.entries) - 1
            return
        kept = self.entries[held]
        fuller = fuller_copy(kept.notice, kept.clauses, entry.notice, entry.clauses)
        if fuller is not None:
            self.entries[-1] = dataclasses.replace(entry, notice=fuller)
            self.kept[number] = len(self.entries) - 1
        self.warnings.append(FileProblem(entry.notice.source, duplicate_warning(kept.notice, entry.notice)))

    def dropped(self) -> list[Entry]:
        """The entries read but not kept (the shorter copies of duplicated notices)."""
        kept = set(self.kept.values())
        return [e for i, e in enumerate(self.entries) if i not in kept]
