"""Adding and removing notices in an existing index without tokenizing the rest again.

The notices that stay are fed to the build's merge as the chunks a worker would have made of them, from the
stored index: their term frequencies, per-part term ids and clause lines as they are. Only the added files are
read and tokenized. The index is then assembled and written exactly as a full build does (indexer/assemble.py;
BM25 weights depend on corpus-wide statistics, so they are computed again), so the result is the index a full
rebuild of the same notices gives, to the byte: same notice order, vocabulary, matrices and clause records.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from scipy import sparse

from . import docnumbers
from .assemble import concat_ranges
from .build import (
    BuildReport,
    NothingToIndex,
    corpus_fingerprint,
    merge_files,
    scratch_dir,
    write_merged,
)
from .chunks import Chunk, NoticeRead, TokenCounts
from .loading import IngestLimits
from .merge import Merged
from .resources import dictionary_fingerprint
from .store import IndexLoadError, StoredIndex, disk_full_is_reported, load_index

_STORED_CHUNK_CLAUSES = 20_000  # clauses of the stored index turned into one chunk at a time


class UnknownNotice(ValueError):
    """--remove names a document number that is not in the index."""


def update_index(index_dir: Path, *, add: list[Path] = (), remove: list[str] = (),
                 limits: IngestLimits | None = None) -> BuildReport:
    """Add the notices of `add` files (replacing any with the same number) and drop those in `remove`: a new
    version of the index, published like a full build's (store.write_index)."""
    started = time.perf_counter()
    report = BuildReport()
    index_dir = Path(index_dir)
    old = load_index(index_dir)
    if old.manifest.get("dictionary") != dictionary_fingerprint():
        raise IndexLoadError("索引是用另一版本的词典建立的，不能增量更新，请运行 policyqa index 重建")
    old_numbers = {n.doc_number for n in old.notices}

    dropped = set()
    for raw in remove:
        number = docnumbers.normalize(raw) or raw.strip()
        if number not in old_numbers:
            raise UnknownNotice(f"索引中没有 {raw}")
        dropped.add(number)

    with disk_full_is_reported(index_dir), Merged(scratch_dir(index_dir)) as merged:
        merge_files(merged, [(Path(p), Path(p).name) for p in add], report, limits, labels=[str(p) for p in add])
        report.characters = sum(e.characters for e in merged.entries)
        dropped |= set(merged.kept)  # an added notice replaces the one with its number
        kept = [row for row, n in enumerate(old.notices) if n.doc_number not in dropped]
        for chunk in stored_chunks(old, kept):
            merged.add(chunk)
        if not merged.kept:
            raise NothingToIndex("更新后索引中没有任何通知，未写入")
        corpus = old.manifest.get("corpus", {})
        recorded = Path(corpus.get("dir", ""))
        if corpus.get("dir") and recorded.is_dir():
            corpus = corpus_fingerprint(recorded)
        write_merged(index_dir, merged, old.params, corpus, report)
    report.seconds = time.perf_counter() - started
    return report


def stored_chunks(index: StoredIndex, notice_rows: list[int]) -> Iterator[Chunk]:
    """The notices at `notice_rows` of a stored index, as the chunks the build's workers would have sent for them."""
    by_clause = index.tf.tocsc()  # postings clause by clause, terms ascending in each
    by_clause.sort_indices()
    vocabulary = [""] * len(index.vocabulary)
    for term, i in index.vocabulary.items():
        vocabulary[i] = term
    group: list[int] = []
    clauses = 0
    for row in notice_rows:
        group.append(row)
        clauses += len(index.clause_rows(row))
        if clauses >= _STORED_CHUNK_CLAUSES:
            yield _stored_chunk(index, by_clause, vocabulary, group)
            group, clauses = [], 0
    if group:
        yield _stored_chunk(index, by_clause, vocabulary, group)


def _stored_chunk(index: StoredIndex, by_clause: sparse.csc_matrix, vocabulary: list[str],
                  notice_rows: list[int]) -> Chunk:
    spans = [index.clause_rows(row) for row in notice_rows]
    rows = concat_ranges([s.start for s in spans], [len(s) for s in spans])
    postings = concat_ranges(by_clause.indptr[rows], np.diff(by_clause.indptr)[rows])
    parts = concat_ranges(index.clause_part_ptr[rows], np.diff(index.clause_part_ptr)[rows])
    part_terms = index.part_terms[concat_ranges(index.part_ptr[parts], np.diff(index.part_ptr)[parts])]
    stored_terms = by_clause.indices[postings]
    used = np.unique(stored_terms)  # ascending, as the stored vocabulary is sorted: this chunk's is sorted too
    counts = TokenCounts(
        vocabulary=tuple(vocabulary[i] for i in used.tolist()),
        doc_len=index.doc_len[rows].astype(np.int32),
        term_count=np.diff(by_clause.indptr)[rows].astype(np.int32),
        post_term=np.searchsorted(used, stored_terms).astype(np.int32),
        post_tf=by_clause.data[postings].astype(np.int32),
        part_count=np.diff(index.clause_part_ptr)[rows].astype(np.int32),
        part_len=np.diff(index.part_ptr)[parts].astype(np.int32),
        part_term=np.searchsorted(used, part_terms).astype(np.int32),
    )
    lines = [index.clauses.lines(s.start, s.stop) for s in spans]
    notices = tuple(NoticeRead(index.notices[row], len(s), 0) for row, s in zip(notice_rows, spans, strict=True))
    return Chunk((), (), notices, counts, b"".join(data for data, _ in lines),
                 np.concatenate([length for _, length in lines]))
