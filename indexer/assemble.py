"""Putting what was merged into index order and writing it, a bounded piece at a time.

Once every file is read the order is known: notices by notice_order, their clauses after one another. The
vocabulary is sorted, so provisional term ids are mapped to final ones; the term–clause matrix (CSR: postings
term by term, clauses ascending) is laid out by a counting sort over postings read back from scratch in clause
order, a range of terms at a time, so that only that range's postings are ever in memory; the clause records
and the part terms are copied over in the new order. The files are those a build has always written, to the byte.
"""
from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .bm25 import BM25Params, idf_of, pair_weights
from .merge import Merged, Spool
from .models import Notice
from .ordering import link
from .store import notices_json, vocabulary_json
from .version_writer import VersionWriter

PASS_POSTINGS = 48_000_000  # postings laid out in memory at a time (int32 clause and tf: 384 MB)
READ_POSTINGS = 2_000_000  # postings read back from scratch at a time
READ_BYTES = 16 * 1024 * 1024  # clause lines read back at a time
_UINT16_TERMS = 1 << 16  # a pass spans at most this many terms, so that numpy radix-sorts them (uint16)

Progress = Callable[[int, int], None]


def concat_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """np.concatenate([np.arange(s, s + n) for s, n in zip(starts, lengths)]), without the Python loop."""
    starts, lengths = np.asarray(starts, dtype=np.int64), np.asarray(lengths, dtype=np.int64)
    ends = np.cumsum(lengths)
    return np.repeat(starts - (ends - lengths), lengths) + np.arange(int(ends[-1]) if len(ends) else 0)


def ptr(lengths) -> np.ndarray:
    """Where each item starts, and the end: [0, l0, l0 + l1, ...] as int64."""
    out = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(np.asarray(lengths), out=out[1:])
    return out


@dataclass(frozen=True)
class Layout:
    """The index order: its notices, and for each the place of its clauses among those merged."""

    notices: list[Notice]
    first: np.ndarray  # int64, per notice: its first clause as merged
    clauses: np.ndarray  # int64, per notice: how many


def index_order(merged: Merged) -> Layout:
    kept = {merged.entries[i].notice.doc_number: merged.entries[i] for i in merged.kept.values()}
    notices = link([e.notice for e in kept.values()])
    entries = [kept[n.doc_number] for n in notices]
    return Layout(notices, np.asarray([e.first for e in entries], dtype=np.int64),
                  np.asarray([e.clauses for e in entries], dtype=np.int64))


@dataclass(frozen=True)
class Terms:
    """The index's vocabulary: sorted terms, each in at least one kept clause."""

    vocabulary: tuple[str, ...]
    final_id: np.ndarray  # int32, per provisional id: its index in `vocabulary` (-1: in no kept clause)
    df: np.ndarray  # int64, per term: the clauses holding it


def _read_ranges(spool: Spool, offsets: np.ndarray, starts: np.ndarray, stops: np.ndarray, item: int) -> bytes:
    """The bytes of items starts[i]..stops[i]-1 of every range, one after another; adjacent ranges in one read."""
    if not len(starts):
        return b""
    cut = np.flatnonzero(starts[1:] != stops[:-1]) + 1  # where a range does not go on from the one before
    lo = offsets[starts[np.concatenate([[0], cut])]].tolist()
    hi = offsets[stops[np.concatenate([cut - 1, [len(stops) - 1]])]].tolist()
    return b"".join([spool.read(a * item, (b - a) * item) for a, b in zip(lo, hi, strict=True)])


class Assembly:
    """The index of what was merged, in the order of `layout`; `write` writes its files."""

    def __init__(self, merged: Merged, layout: Layout, params: BM25Params):
        self.merged, self.layout, self.params = merged, layout, params
        term_count = np.frombuffer(merged.term_count, dtype=np.int32)
        self.post_ptr = ptr(term_count)  # per merged clause, into merged.postings (pairs)
        self.clause_part_ptr = ptr(np.frombuffer(merged.part_count, dtype=np.int32))  # per merged clause
        self.part_ptr = ptr(np.frombuffer(merged.part_len, dtype=np.int32))  # per merged part
        self.line_ptr = ptr(np.frombuffer(merged.line_len, dtype=np.int64))  # per merged clause, in bytes
        self.clause_src = concat_ranges(layout.first, layout.clauses)  # per index clause: its merged clause
        self.doc_len = np.frombuffer(merged.doc_len, dtype=np.int32)[self.clause_src]
        self.terms = self._terms()
        self.indptr = ptr(self.terms.df)
        self._stop = threading.Event()  # set when writing failed or was interrupted: the copying thread ends

    def _terms(self) -> Terms:
        df = self.merged.df.copy()
        dropped = self.merged.dropped()
        if dropped:  # the shorter copies of duplicated notices: their clauses count for no term
            first = np.asarray([e.first for e in dropped], dtype=np.int64)
            stop = first + np.asarray([e.clauses for e in dropped], dtype=np.int64)
            pairs = np.frombuffer(_read_ranges(self.merged.postings, self.post_ptr, first, stop, 8), dtype=np.int32)
            df -= np.bincount(pairs[0::2], minlength=len(df))
        terms = self.merged.terms
        by_text = sorted(np.flatnonzero(df > 0).tolist(), key=terms.__getitem__)
        final_id = np.full(len(terms), -1, dtype=np.int32)
        final_id[by_text] = np.arange(len(by_text), dtype=np.int32)
        return Terms(tuple(terms[i] for i in by_text), final_id, df[by_text])

    def write(self, writer: VersionWriter, progress: Progress | None = None) -> None:
        layout, n_clauses = self.layout, len(self.doc_len)
        steps = _Steps(progress, total=len(layout.notices) * (len(self.term_passes()) + 1))
        avgdl = self.doc_len.mean() if n_clauses else 1.0
        idf = idf_of(self.terms.df, n_clauses, self.params)
        writer.write_array("tf_indptr", self.indptr)
        writer.write_array("idf", idf.astype(np.float64))
        writer.write_array("doc_len", self.doc_len)
        writer.write_array("clause_notice",
                           np.repeat(np.arange(len(layout.notices), dtype=np.int32), layout.clauses))
        # Notices, clause records and part terms are written (reads, writes and hashing: the GIL is let go) in a
        # thread while this one lays out the matrix (numpy), so that the end of a build keeps two cores busy too.
        with ThreadPoolExecutor(max_workers=1) as pool:
            clauses = pool.submit(self._write_clauses, writer, steps)
            try:
                self._write_postings(writer, idf, avgdl, steps)
            except BaseException:
                self._stop.set()
                raise
            finally:
                concurrent.futures.wait([clauses])
            clauses.result()

    # --- the term–clause matrix, a range of terms at a time ---------------------------------------------------

    def term_passes(self) -> list[tuple[int, int]]:
        """Ranges of terms whose postings fit PASS_POSTINGS (a term with more has a pass of its own)."""
        passes, lo, n_terms = [], 0, len(self.terms.df)
        while lo < n_terms:
            hi = int(np.searchsorted(self.indptr, self.indptr[lo] + PASS_POSTINGS, side="right")) - 1
            hi = min(max(hi, lo + 1), lo + _UINT16_TERMS, n_terms)
            passes.append((lo, hi))
            lo = hi
        return passes

    def _postings_in_clause_order(self, steps: _Steps) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(final term id, tf, index clause) of every posting, clause by clause in index order, a block at a time."""
        layout = self.layout
        stop = layout.first + layout.clauses
        per_notice = self.post_ptr[stop] - self.post_ptr[layout.first]
        bounds = _blocks(per_notice, READ_POSTINGS)
        term_count = np.frombuffer(self.merged.term_count, dtype=np.int32)
        clause_ptr = ptr(layout.clauses)
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            pairs = np.frombuffer(_read_ranges(self.merged.postings, self.post_ptr, layout.first[a:b], stop[a:b], 8),
                                  dtype=np.int32)
            c0, c1 = int(clause_ptr[a]), int(clause_ptr[b])
            columns = np.repeat(np.arange(c0, c1, dtype=np.int32), term_count[self.clause_src[c0:c1]])
            yield self.terms.final_id[pairs[0::2]], pairs[1::2], columns
            steps.advance(b - a)

    def _write_postings(self, writer: VersionWriter, idf: np.ndarray, avgdl: float, steps: _Steps) -> None:
        n_postings = int(self.indptr[-1])
        with (writer.open_array("tf_indices", np.int32, n_postings) as indices,
              writer.open_array("tf_data", np.int32, n_postings) as data,
              writer.open_array("weights", np.float64, n_postings) as weights):
            for lo, hi in self.term_passes():
                columns, tf = self._lay_out(lo, hi, steps)
                indices.write(columns)
                data.write(tf)
                # float64 temporaries a few terms at a time
                bounds = lo + _blocks(self.terms.df[lo:hi], READ_POSTINGS)
                for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
                    start, end = self.indptr[a] - self.indptr[lo], self.indptr[b] - self.indptr[lo]
                    weights.write(pair_weights(tf[start:end], self.doc_len[columns[start:end]],
                                               np.repeat(idf[a:b], self.terms.df[a:b]), avgdl, self.params))
                del columns, tf  # before the next pass lays out its own

    def _lay_out(self, lo: int, hi: int, steps: _Steps) -> tuple[np.ndarray, np.ndarray]:
        """(clause, tf) of the postings of terms lo..hi-1 in CSR order: a stable counting sort by term of postings
        that arrive in clause order, so each term's clauses ascend."""
        base = int(self.indptr[lo])
        size = int(self.indptr[hi]) - base
        columns, tf = np.empty(size, dtype=np.int32), np.empty(size, dtype=np.int32)
        free = self.indptr[lo:hi] - base  # the next free slot of each term
        whole = lo == 0 and hi == len(self.terms.df)
        for term, term_tf, column in self._postings_in_clause_order(steps):
            if not whole:
                inside = (term >= lo) & (term < hi)
                term, term_tf, column = term[inside], term_tf[inside], column[inside]
            term = (term - lo).astype(np.uint16)  # radix sort below (a pass spans at most 65,536 terms)
            order = np.argsort(term, kind="stable")
            by_term = term[order]
            count = np.bincount(term, minlength=hi - lo)
            group_start = np.cumsum(count) - count
            slot = free[by_term] + (np.arange(len(term)) - group_start[by_term])
            columns[slot] = column[order]
            tf[slot] = term_tf[order]
            free += count
        return columns, tf

    # --- clause by clause: records and part terms -------------------------------------------------------------

    def _write_clauses(self, writer: VersionWriter, steps: _Steps) -> None:
        layout, merged = self.layout, self.merged
        writer.write_bytes("notices.json", notices_json(layout.notices))
        writer.write_bytes("vocabulary.json", vocabulary_json(self.terms.vocabulary))
        clause_parts = np.diff(self.clause_part_ptr)[self.clause_src]
        part_src = concat_ranges(self.clause_part_ptr[self.clause_src], clause_parts)
        part_len = np.frombuffer(merged.part_len, dtype=np.int32)[part_src]
        writer.write_array("part_ptr", ptr(part_len))
        writer.write_array("clause_part_ptr", ptr(clause_parts))
        line_len = np.diff(self.line_ptr)[self.clause_src]
        writer.write_array("clause_offsets", ptr(line_len))
        stop = layout.first + layout.clauses
        bounds = _blocks(self.line_ptr[stop] - self.line_ptr[layout.first], READ_BYTES)
        with (writer.open("clauses.jsonl") as lines,
              writer.open_array("part_terms", np.int32, int(part_len.sum(dtype=np.int64))) as part_terms):
            for a, b in zip(bounds[:-1], bounds[1:], strict=True):
                if self._stop.is_set():
                    return
                first, last = layout.first[a:b], stop[a:b]
                lines.write(_read_ranges(merged.lines, self.line_ptr, first, last, 1))
                terms = _read_ranges(merged.part_terms, self.part_ptr, self.clause_part_ptr[first],
                                     self.clause_part_ptr[last], 4)
                # Mapped, still ascending within each part: provisional ids came from a sorted chunk vocabulary.
                part_terms.write(self.terms.final_id[np.frombuffer(terms, dtype=np.int32)])
                steps.advance(b - a)


def _blocks(sizes: np.ndarray, budget: int) -> np.ndarray:
    """Bounds [0, ..., len(sizes)] cutting consecutive items into blocks of about `budget` in total (an item
    larger than the budget is a block of its own)."""
    ends = np.cumsum(sizes)
    bounds, i = [0], 0
    while i < len(sizes):
        base = ends[i - 1] if i else 0
        j = int(np.searchsorted(ends, base + budget, side="right"))
        i = max(j, i + 1)
        bounds.append(i)
    return np.asarray(bounds, dtype=np.int64)


class _Steps:
    """Progress of writing: notices handled, counted once per pass over them (by two threads)."""

    def __init__(self, progress: Progress | None, total: int):
        self.progress, self.total, self.done = progress, total, 0
        self._lock = threading.Lock()

    def advance(self, n: int) -> None:
        with self._lock:
            self.done += n
            if self.progress:
                self.progress(self.done, self.total)
