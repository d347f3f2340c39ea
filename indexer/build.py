"""Building the index from a corpus directory: the I/O end of the indexing pipeline.

corpus file → text → notices → clauses → tokens → BM25 weights → index directory.
Worker processes read, parse and tokenize the files a chunk at a time (indexer/workers.py, indexer/chunks.py), so
every core is busy from the first file; this process merges their compact results as they come (indexer/merge.py)
and, once every file is read, writes them in index order (indexer/assemble.py). Neither the tokens of the corpus
nor its clauses are ever held at once: a million clauses build in well under 2 GB.
A file that cannot be read (or is over an IngestLimits limit) is reported by name with its
reason and the rest are indexed; the caller decides the exit status from `BuildReport.errors`.
The workers die with the build, however it ends (indexer/procs.py).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from . import versions
from .assemble import Assembly, index_order
from .bm25 import BM25Params
from .chunks import clause_parts as clause_parts
from .chunks import clause_search_text as clause_search_text
from .loading import CorpusFileError, CorpusReader, IngestLimits, corpus_files, file_fingerprint
from .merge import Merged
from .models import Notice
from .notices import MalformedFile, parse_file
from .ordering import duplicate_warning, fuller_copy, link
from .ordering import notice_order as notice_order
from .regions import Divisions
from .report import BuildReport, FileProblem
from .resources import dictionary_fingerprint
from .store import disk_full_is_reported, read_manifest, verify_version, write_index
from .workers import MAX_WORKERS, ChunkReader, Job, available_cores

PARALLEL_MIN_BYTES = 4 * 1024 * 1024  # a smaller corpus is read in this process: starting workers costs more
_JOB_BYTES = 256 * 1024  # corpus bytes of one chunk: small enough that chunks stream, large enough to be cheap
_JOB_FILES = 64

# The stages a build reports progress of: progress(done, total, stage).
READING = "读取与分词"  # files read, parsed and tokenized
WRITING = "写入索引"  # passes over the notices while the index files are written

Progress = Callable[[int, int, str], None]


class NothingToIndex(ValueError):
    """No notice could be read; an existing index is kept rather than replaced by an empty one."""


def read_corpus(corpus_dir: Path, report: BuildReport, regions: Divisions,
                limits: IngestLimits | None = None) -> list[Notice]:
    """All notices of a corpus directory with their clauses, one entry per document number, citations linked:
    the corpus in memory, for tools and tests (build_index never holds it)."""
    found: dict[str, Notice] = {}
    with CorpusReader(limits) as reader:
        for path in corpus_files(corpus_dir):
            name = str(path.relative_to(corpus_dir))
            report.files += 1
            try:
                notices = parse_file(reader.read_text(path), name, regions)
            except (CorpusFileError, MalformedFile) as e:
                report.errors.append(FileProblem(name, str(e)))
                continue
            for notice in notices:
                kept = found.get(notice.doc_number)
                if kept is None:
                    found[notice.doc_number] = notice
                    continue
                found[notice.doc_number] = fuller_copy(kept, len(kept.clauses), notice, len(notice.clauses)) or kept
                report.warnings.append(FileProblem(name, duplicate_warning(kept, notice)))
    return link(list(found.values()))


def corpus_fingerprint(corpus_dir: Path) -> dict:
    """Name, size and SHA-256 of every corpus file: what an index was built from."""
    files = {str(path.relative_to(corpus_dir)): file_fingerprint(path) for path in corpus_files(corpus_dir)}
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


def workers_for(files: list[Path]) -> int:
    """How many processes read `files`: every core (up to MAX_WORKERS) once there is enough to read."""
    if sum(_size(p) for p in files) < PARALLEL_MIN_BYTES:
        return 1
    return max(1, min(available_cores(), MAX_WORKERS))


def jobs_of(files: list[tuple[Path, str]]) -> list[Job]:
    """(path, name) files cut into chunks of about _JOB_BYTES, in order."""
    jobs: list[Job] = []
    job: list[tuple[Path, str]] = []
    size = 0
    for path, name in files:
        job.append((path, name))
        size += _size(path)
        if size >= _JOB_BYTES or len(job) >= _JOB_FILES:
            jobs.append(job)
            job, size = [], 0
    if job:
        jobs.append(job)
    return jobs


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # reading it will say what is wrong


def scratch_dir(out_dir: Path) -> Path:
    """Where scratch files go: the index's own directory, or the nearest that exists (the index will need that
    disk anyway; the system's temporary directory may be memory)."""
    for directory in (Path(out_dir), *Path(out_dir).absolute().parents):
        if directory.is_dir():
            return directory
    return Path(".")


def merge_files(merged: Merged, files: list[tuple[Path, str]], report: BuildReport, limits: IngestLimits | None,
                progress: Progress | None = None, labels: list[str] | None = None) -> dict[str, dict]:
    """Read (path, name) files into `merged`, counting them in `report` and naming each that fails (by its
    label, its name by default). Returns the fingerprint (file_fingerprint) of each, by label: taken by the
    workers as they read, so a big corpus is not read once more at the end by this one process."""
    jobs = jobs_of(files)
    fingerprints: dict[str, dict] = {}
    labels = iter(labels or [name for _, name in files])
    with ChunkReader(workers_for([path for path, _ in files]), limits) as reader:
        for chunk in reader.read(jobs):
            for problem, fingerprint in zip(chunk.problems, chunk.fingerprints, strict=True):
                label = next(labels)
                report.files += 1
                fingerprints[label] = fingerprint
                if problem is not None:
                    report.errors.append(FileProblem(label, problem))
            merged.add(chunk)
            if progress:
                progress(report.files, len(files), READING)
    return fingerprints


def write_merged(out_dir: Path, merged: Merged, params: BM25Params, corpus: dict, report: BuildReport,
                 progress: Progress | None = None) -> None:
    """Publish the index of what `merged` kept (a new version in `out_dir`), and count it in `report`."""
    layout = index_order(merged)
    assembly = Assembly(merged, layout, params)
    tick = (lambda done, total: progress(done, total, WRITING)) if progress else None
    write_index(out_dir, lambda writer: assembly.write(writer, tick), notices=len(layout.notices), params=params,
                corpus=corpus, dictionary=dictionary_fingerprint())
    report.notices, report.clauses = len(layout.notices), len(assembly.doc_len)


def build_index(corpus_dir: Path, out_dir: Path, params: BM25Params | None = None,
                progress: Progress | None = None, limits: IngestLimits | None = None) -> BuildReport:
    """Read, parse, tokenize and publish a new version of the index in `out_dir` for `corpus_dir`; never
    half-written. `progress(done, total, stage)` is called as files are read (READING) and as the index is
    written (WRITING). Raises NothingToIndex, and store.DiskFull with the served version left as it was."""
    started = time.perf_counter()
    params = params or BM25Params()
    corpus_dir, out_dir = Path(corpus_dir), Path(out_dir)
    if not corpus_dir.is_dir():
        raise NothingToIndex(f"语料目录不存在：{corpus_dir}")
    report = BuildReport()
    files = [(path, str(path.relative_to(corpus_dir))) for path in corpus_files(corpus_dir)]
    with disk_full_is_reported(out_dir), Merged(scratch_dir(out_dir)) as merged:
        fingerprints = merge_files(merged, files, report, limits, progress)
        report.warnings = merged.warnings
        if not merged.kept:
            problems = "；".join(f"{p.file}：{p.reason}" for p in report.errors) or "目录中没有 .txt 或 .pdf 文件"
            raise NothingToIndex(f"没有可索引的通知，未写入索引（{problems}）")
        corpus = {"dir": str(corpus_dir.resolve()), "files": fingerprints}  # as corpus_fingerprint gives it
        write_merged(out_dir, merged, params, corpus, report, progress)
        report.characters = sum(merged.entries[i].characters for i in merged.kept.values())
    report.seconds = time.perf_counter() - started
    return report
