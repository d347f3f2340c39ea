"""Adding and removing notices in an existing index without tokenizing the rest again.

The stored term frequencies and per-sentence term ids of the notices that stay are reused;
only the added files are read and tokenized. BM25 weights depend on corpus-wide statistics
(document frequencies, average length), so they are computed again from the term
frequencies, which is cheap. The result is the index a full rebuild of the same notices
gives, to the byte: same notice order, vocabulary, matrices and clause records.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from scipy import sparse

from . import docnumbers
from .bm25 import TermMatrix, term_matrix
from .build import (
    BuildReport,
    FileProblem,
    NothingToIndex,
    PartTerms,
    clause_parts,
    corpus_fingerprint,
    index_arrays,
    link,
    tokenize_all,
)
from .loading import CorpusFileError, CorpusReader, IngestLimits
from .models import Notice
from .notices import MalformedFile, parse_file
from .regions import load_divisions
from .resources import dictionary_fingerprint
from .store import IndexLoadError, load_index, write_index


class UnknownNotice(ValueError):
    """--remove names a document number that is not in the index."""


def update_index(index_dir: Path, *, add: list[Path] = (), remove: list[str] = (),
                 limits: IngestLimits | None = None) -> BuildReport:
    """Add the notices of `add` files (replacing any with the same number) and drop those in `remove`: a new
    version of the index, published like a full build's (store.write_index)."""
    started = time.perf_counter()
    report = BuildReport()
    old = load_index(index_dir)
    dictionary = dictionary_fingerprint()
    if old.manifest.get("dictionary") != dictionary:
        raise IndexLoadError("索引是用另一版本的词典建立的，不能增量更新，请运行 policyqa index 重建")
    params = old.params
    old_numbers = {n.doc_number for n in old.notices}

    dropped = set()
    for raw in remove:
        number = docnumbers.normalize(raw) or raw.strip()
        if number not in old_numbers:
            raise UnknownNotice(f"索引中没有 {raw}")
        dropped.add(number)

    added: list[Notice] = []
    regions = load_divisions()
    with CorpusReader(limits) as reader:
        for path in add:
            report.files += 1
            try:
                added += parse_file(reader.read_text(Path(path)), Path(path).name, regions)
            except (CorpusFileError, MalformedFile) as e:
                report.errors.append(FileProblem(str(path), str(e)))
    dropped |= {n.doc_number for n in added}  # an added notice replaces the one with its number

    kept = [(row, n) for row, n in enumerate(old.notices) if n.doc_number not in dropped]
    notices = link([n for _, n in kept] + added)
    if not notices:
        raise NothingToIndex("更新后索引中没有任何通知，未写入")

    # Old clauses keep their stored counts; new ones are tokenized here.
    old_rows = {n.doc_number: old.clause_rows(row) for row, n in kept}
    new_clauses = {n.doc_number: n.clauses for n in added}
    new_parts = tokenize_all([clause_parts(c) for n in added for c in n.clauses])

    old_vocabulary = np.empty(len(old.vocabulary), dtype=object)
    for term, i in old.vocabulary.items():
        old_vocabulary[i] = term
    tf_by_clause = old.tf.tocsc()
    kept_columns = np.asarray([r for _, n in kept for r in old_rows[n.doc_number]], dtype=np.int64)
    old_part = tf_by_clause[:, kept_columns]
    used_old = np.unique(old_part.indices)
    new_terms = {t for parts in new_parts for part in parts for t in part}
    vocabulary = tuple(sorted(set(old_vocabulary[used_old].tolist()) | new_terms))
    term_id = {t: i for i, t in enumerate(vocabulary)}
    old_to_new = np.full(len(old_vocabulary), -1, dtype=np.int64)
    old_to_new[used_old] = [term_id[t] for t in old_vocabulary[used_old]]  # monotonic: both vocabularies sorted

    old_part = sparse.csc_matrix((old_part.data, old_to_new[old_part.indices], old_part.indptr),
                                 shape=(len(vocabulary), len(kept_columns)))
    new_matrix = term_matrix([[t for part in parts for t in part] for parts in new_parts], vocabulary)
    combined = sparse.hstack([old_part, new_matrix.tf.tocsc()], format="csc")
    doc_len_combined = np.concatenate([old.doc_len[kept_columns], new_matrix.doc_len]).astype(np.int32)

    # Columns in index order: notice by notice, as a full build lays them out.
    position = {}
    for i, r in enumerate(kept_columns):
        position[("old", int(r))] = i
    offset = len(kept_columns)
    new_index = 0
    new_positions = {}
    for n in added:
        new_positions[n.doc_number] = range(offset + new_index, offset + new_index + len(n.clauses))
        new_index += len(n.clauses)
    order, clauses, part_arrays, part_counts = [], [], [], []
    new_part_sets = [[np.asarray(sorted({term_id[t] for t in part}), dtype=np.int32) for part in parts]
                     for parts in new_parts]
    for n in notices:
        if n.doc_number in new_clauses:
            for k, c in zip(new_positions[n.doc_number], new_clauses[n.doc_number], strict=True):
                order.append(k)
                clauses.append(c)
                part_arrays += new_part_sets[k - offset]
                part_counts.append(len(new_part_sets[k - offset]))
        else:
            for r in old_rows[n.doc_number]:
                order.append(position[("old", r)])
                clauses.append(old.clauses[r])
                first, last = int(old.clause_part_ptr[r]), int(old.clause_part_ptr[r + 1])
                part_arrays += [
                    old_to_new[old.part_terms[int(old.part_ptr[p]):int(old.part_ptr[p + 1])]].astype(np.int32)
                    for p in range(first, last)
                ]
                part_counts.append(last - first)
    tf = combined[:, order].tocsr()
    tf.sort_indices()
    tf = sparse.csr_matrix((tf.data.astype(np.int32), tf.indices, tf.indptr), shape=tf.shape)
    matrix = TermMatrix(vocabulary, tf, doc_len_combined[order])

    parts = PartTerms.from_lengths(np.concatenate(part_arrays) if part_arrays else np.zeros(0, dtype=np.int32),
                                   np.asarray([len(p) for p in part_arrays], dtype=np.int64),
                                   np.asarray(part_counts, dtype=np.int64))
    arrays = index_arrays(matrix, parts, notices, clauses, params)
    corpus = old.manifest.get("corpus", {})
    recorded = Path(corpus.get("dir", ""))
    if corpus.get("dir") and recorded.is_dir():
        corpus = corpus_fingerprint(recorded)
    write_index(Path(index_dir), notices=notices, clauses=clauses, vocabulary=vocabulary, arrays=arrays,
                params=params, corpus=corpus, dictionary=dictionary)
    report.notices, report.clauses = len(notices), len(clauses)
    report.characters = sum(len(part) for n in added for c in n.clauses for part in clause_parts(c))
    report.seconds = time.perf_counter() - started
    return report
