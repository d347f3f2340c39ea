"""Building the index from a corpus directory: the I/O end of the indexing pipeline.

corpus file → text → notices → clauses → tokens → BM25 weights → index directory.
A file that cannot be read (or is over an IngestLimits limit) is reported by name with its
reason and the rest are indexed; the caller decides the exit status from `BuildReport.errors`.
The tokenizing workers die with the build, however it ends (indexer/procs.py).
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import signal
import time
from array import array
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import versions
from .bm25 import BM25Params, TermMatrix, term_matrix, weights
from .loading import CorpusFileError, CorpusReader, IngestLimits, corpus_files
from .models import Clause, Notice
from .notices import MalformedFile, parse_file
from .procs import die_with_parent
from .regions import Divisions, load_divisions
from .resources import dictionary_fingerprint
from .store import read_manifest, verify_version, write_index
from .tokenizer import Tokenizer

_PARALLEL_MIN_CLAUSES = 5000
_CHUNK = 2000


class NothingToIndex(ValueError):
    """No notice could be read; an existing index is kept rather than replaced by an empty one."""


@dataclass(frozen=True)
class FileProblem:
    file: str
    reason: str


@dataclass
class BuildReport:
    files: int = 0
    notices: int = 0
    clauses: int = 0
    characters: int = 0
    seconds: float = 0.0
    errors: list[FileProblem] = field(default_factory=list)
    warnings: list[FileProblem] = field(default_factory=list)


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


def read_corpus(corpus_dir: Path, report: BuildReport, regions: Divisions,
                limits: IngestLimits | None = None) -> list[Notice]:
    """All notices of a corpus directory, one entry per document number, citations linked."""
    found: dict[str, Notice] = {}
    with CorpusReader(limits) as reader:
        read = [(path, _parsed(reader, corpus_dir, path, report, regions)) for path in corpus_files(corpus_dir)]
    for path, notices in read:
        name = str(path.relative_to(corpus_dir))
        for notice in notices:
            kept = found.get(notice.doc_number)
            if kept is None:
                found[notice.doc_number] = notice
                continue
            # The same notice forwarded in two files: keep the fuller copy, say so.
            if len(notice.clauses) > len(kept.clauses):
                found[notice.doc_number] = dataclasses.replace(
                    notice, forwarded_by=notice.forwarded_by or kept.forwarded_by
                )
            report.warnings.append(
                FileProblem(name, f"{notice.doc_number} 与 {kept.source} 中的通知重复，保留条款较多的一份")
            )
    return link(list(found.values()))


def _parsed(reader: CorpusReader, corpus_dir: Path, path: Path, report: BuildReport,
            regions: Divisions) -> list[Notice]:
    report.files += 1
    try:
        return parse_file(reader.read_text(path), str(path.relative_to(corpus_dir)), regions)
    except (CorpusFileError, MalformedFile) as e:
        report.errors.append(FileProblem(str(path.relative_to(corpus_dir)), str(e)))
        return []


def link(notices: list[Notice]) -> list[Notice]:
    """Keep the citations of notices that are in the corpus, and put the notices in index order."""
    in_corpus = {n.doc_number for n in notices}
    linked = [dataclasses.replace(n, cites=tuple(d for d in n.mentions if d in in_corpus)) for n in notices]
    return sorted(linked, key=notice_order)


_LEVEL_ORDER = {"national": 0, "province": 1, "city": 2, "county": 3}


def notice_order(n: Notice) -> tuple:
    """National first, then by region code, then newest first: the order of document lists."""
    return (_LEVEL_ORDER.get(n.level, 9), n.region_code, -int((n.issued or "0000").replace("-", "")), n.doc_number)


# Each tokenizing worker process builds its own Tokenizer once (loading jieba's dictionary takes a second);
# it lives only in that process, for that build.
_worker_tokenizer: Tokenizer | None = None


def _start_worker(parent_pid: int) -> None:
    global _worker_tokenizer
    die_with_parent(parent_pid)  # SIGKILL of the build must not leave 170 MB workers sleeping forever
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the build decides
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the build's handler, inherited through fork
    _worker_tokenizer = Tokenizer()


def _tokenize_chunk(parts_per_clause: list[list[str]]) -> list[list[list[str]]]:
    return [[_worker_tokenizer.tokens(part) for part in parts] for parts in parts_per_clause]


def tokenize_all(texts: list[list[str]], progress: Callable[[int], None] | None = None,
                 tokenizer: Tokenizer | None = None) -> list[list[list[str]]]:
    """Tokens of every part of every clause; on both cores once the corpus is large enough to pay for the workers."""
    chunks = [texts[i:i + _CHUNK] for i in range(0, len(texts), _CHUNK)]
    workers = min(os.cpu_count() or 1, 2 if len(texts) >= _PARALLEL_MIN_CLAUSES else 1)
    results: list[list[list[str]]] = []
    pool = None
    try:
        if workers == 1:
            local = tokenizer or Tokenizer()
            mapped: Iterable[list[list[str]]] = ([[local.tokens(p) for p in parts] for parts in chunk]
                                                 for chunk in chunks)
        else:
            pool = ProcessPoolExecutor(max_workers=workers, initializer=_start_worker, initargs=(os.getpid(),))
            mapped = pool.map(_tokenize_chunk, chunks)
        for chunk in mapped:
            results.extend(chunk)
            if progress:
                progress(len(chunk))
    except BaseException:
        if pool:
            _stop_workers(pool)  # interrupted (SIGINT, SIGTERM) or failed: the chunks still queued are not waited for
        raise
    finally:
        if pool:
            pool.shutdown(wait=True, cancel_futures=True)
    return results


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    pool.shutdown(wait=False, cancel_futures=True)
    # Python 3.14 has pool.terminate_workers(); before it, the processes are only reachable here.
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.join(timeout=5)


def corpus_fingerprint(corpus_dir: Path) -> dict:
    """Name, size and SHA-256 of every corpus file: what an index was built from."""
    files = {}
    for path in corpus_files(corpus_dir):
        data = path.read_bytes() if path.is_file() else b""
        files[str(path.relative_to(corpus_dir))] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    return {"dir": str(Path(corpus_dir).resolve()), "files": files}


def index_is_stale(index_dir: Path, corpus_dir: Path, dictionary: str | None = None) -> bool:
    """True when the version CURRENT points at is missing or damaged (every file's checksum is checked), was
    built from other corpus files than these, or cut with another dictionary than `dictionary` (this
    program's, by default)."""
    try:
        manifest = verify_version(versions.resolve(Path(index_dir)))
    except Exception:
        return True
    if manifest["dictionary"] != (dictionary or dictionary_fingerprint()):
        return True
    return manifest["corpus"].get("files") != corpus_fingerprint(corpus_dir)["files"]


def index_corpus_dir(index_dir: Path) -> Path | None:
    """The corpus directory an existing index says it was built from; None without a readable index."""
    try:
        recorded = read_manifest(index_dir).get("corpus", {}).get("dir")
    except Exception:
        return None
    return Path(recorded) if recorded else None


@dataclass
class PartTerms:
    """The sorted, distinct term ids of every part of every clause, in three flat arrays."""

    terms: np.ndarray  # int32, all parts one after another
    part_ptr: np.ndarray  # int64, where each part starts in terms (one more than there are parts)
    clause_part_ptr: np.ndarray  # int64, where each clause's parts start (one more than there are clauses)

    @classmethod
    def of(cls, part_tokens: list[list[list[str]]], term_id: dict[str, int]) -> PartTerms:
        terms, part_len, clause_len = array("i"), array("q"), array("q")
        for parts in part_tokens:
            clause_len.append(len(parts))
            for part in parts:
                ids = sorted({term_id[t] for t in part})
                terms.extend(ids)
                part_len.append(len(ids))
        return cls.from_lengths(np.frombuffer(terms, dtype=np.int32), np.frombuffer(part_len, dtype=np.int64),
                                np.frombuffer(clause_len, dtype=np.int64))

    @classmethod
    def from_lengths(cls, terms: np.ndarray, part_len: np.ndarray, clause_len: np.ndarray) -> PartTerms:
        return cls(np.asarray(terms, dtype=np.int32), np.concatenate([[0], np.cumsum(part_len)]).astype(np.int64),
                   np.concatenate([[0], np.cumsum(clause_len)]).astype(np.int64))


def index_arrays(matrix: TermMatrix, parts: PartTerms, notices: list[Notice],
                 clauses: list[Clause], params: BM25Params) -> dict[str, np.ndarray]:
    """The arrays of an index: BM25 weights from term frequencies, and each clause's part term ids."""
    term_idf, w = weights(matrix, params)
    notice_row = {n.id: i for i, n in enumerate(notices)}
    return {
        "tf_indptr": matrix.tf.indptr.astype(np.int64),
        "tf_indices": matrix.tf.indices.astype(np.int32),
        "tf_data": matrix.tf.data.astype(np.int32),
        "weights": w.data.astype(np.float64),
        "idf": term_idf.astype(np.float64),
        "doc_len": np.asarray(matrix.doc_len, dtype=np.int32),
        "clause_notice": np.asarray([notice_row[c.doc_id] for c in clauses], dtype=np.int32),
        "part_terms": parts.terms,
        "part_ptr": parts.part_ptr,
        "clause_part_ptr": parts.clause_part_ptr,
    }


def build_index(corpus_dir: Path, out_dir: Path, params: BM25Params | None = None,
                progress: Callable[[int, int], None] | None = None, limits: IngestLimits | None = None) -> BuildReport:
    """Read, parse, tokenize and publish a new version of the index in `out_dir` for `corpus_dir`; never
    half-written. Raises NothingToIndex, and store.DiskFull with the served version left as it was."""
    started = time.perf_counter()
    params = params or BM25Params()
    if not Path(corpus_dir).is_dir():
        raise NothingToIndex(f"语料目录不存在：{corpus_dir}")
    report = BuildReport()
    notices = read_corpus(Path(corpus_dir), report, load_divisions(), limits)
    if not notices:
        problems = "；".join(f"{p.file}：{p.reason}" for p in report.errors) or "目录中没有 .txt 或 .pdf 文件"
        raise NothingToIndex(f"没有可索引的通知，未写入索引（{problems}）")
    clauses = [c for n in notices for c in n.clauses]
    texts = [clause_parts(c) for c in clauses]
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, len(texts))

    part_tokens = tokenize_all(texts, tick)
    matrix = term_matrix([t for part in parts for t in part] for parts in part_tokens)
    term_id = {t: i for i, t in enumerate(matrix.vocabulary)}
    part_sets = PartTerms.of(part_tokens, term_id)
    del part_tokens
    arrays = index_arrays(matrix, part_sets, notices, clauses, params)
    write_index(Path(out_dir), notices=notices, clauses=clauses, vocabulary=matrix.vocabulary, arrays=arrays,
                params=params, corpus=corpus_fingerprint(Path(corpus_dir)), dictionary=dictionary_fingerprint())
    report.notices, report.clauses = len(notices), len(clauses)
    report.characters = sum(len(part) for parts in texts for part in parts)
    report.seconds = time.perf_counter() - started
    return report
