"""Reading chunks of corpus files on every core, the results handed back in corpus order.

Each worker process reads, parses and tokenizes whole chunks (indexer/chunks.py), so the cores are busy from the
first file on; the build only merges what comes back. Few chunks are in flight at a time, so results never pile
up in the build's memory, and they are taken in the order they were given, so that whatever depends on the
order of files (which copy of a duplicated notice is kept, the order of reported problems) is as a single
process would have it. The workers die with the build however it ends (indexer/procs.py).
"""
from __future__ import annotations

import collections
import itertools
import multiprocessing.util
import os
import signal
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .chunks import Chunk, read_chunk
from .loading import CorpusReader, IngestLimits
from .procs import die_with_parent
from .regions import Divisions, load_divisions
from .tokenizer import Tokenizer

MAX_WORKERS = 8  # each holds a tokenizer dictionary (~200 MB): past this, memory grows faster than speed
_IN_FLIGHT_PER_WORKER = 3

Job = Sequence[tuple[Path, str]]  # (path, name in the corpus) of the files of one chunk

# What a worker process reads with, built once in it by _start_worker (loading jieba's dictionary takes a
# second); it lives only in that process, for that build.
_worker_state: tuple[CorpusReader, Divisions, Tokenizer] | None = None


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _start_worker(parent_pid: int, limits: IngestLimits | None) -> None:
    global _worker_state
    die_with_parent(parent_pid)  # SIGKILL of the build must not leave 200 MB workers sleeping forever
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the build decides
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the build's handler, inherited through fork
    reader = CorpusReader(limits)
    multiprocessing.util.Finalize(reader, reader.close, exitpriority=10)  # its PDF child ends with the worker
    _worker_state = (reader, load_divisions(), Tokenizer())


def _read_in_worker(job: Job) -> Chunk:
    reader, regions, tokenizer = _worker_state
    return read_chunk(job, reader.read_text, regions, tokenizer.tokens)


class ChunkReader:
    """Reads jobs of files into Chunks, in `workers` processes (in this one when `workers` is 1).

    Use it as a context manager: leaving it stops the workers, at once when it is left by an exception
    (SIGINT, SIGTERM, a full disk): the chunks still queued are not waited for.
    """

    def __init__(self, workers: int = 1, limits: IngestLimits | None = None, tokenizer: Tokenizer | None = None):
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._local: tuple[CorpusReader, Divisions, Tokenizer] | None = None
        if workers > 1:
            self._pool = ProcessPoolExecutor(max_workers=workers, initializer=_start_worker,
                                             initargs=(os.getpid(), limits))
        else:
            self._local = (CorpusReader(limits), load_divisions(), tokenizer or Tokenizer())

    def __enter__(self) -> ChunkReader:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if self._local is not None:
            self._local[0].close()
        if self._pool is not None:
            if kind is not None:
                _stop_workers(self._pool)
            self._pool.shutdown(wait=True, cancel_futures=True)

    def read(self, jobs: Iterable[Job]) -> Iterator[Chunk]:
        """The chunk of every job, in the order of the jobs."""
        if self._local is not None:
            reader, regions, tokenizer = self._local
            for job in jobs:
                yield read_chunk(job, reader.read_text, regions, tokenizer.tokens)
            return
        jobs = iter(jobs)
        pending = collections.deque(self._pool.submit(_read_in_worker, job)
                                    for job in itertools.islice(jobs, self.workers * _IN_FLIGHT_PER_WORKER))
        while pending:
            chunk = pending.popleft().result()
            for job in itertools.islice(jobs, 1):  # the next job goes out before this chunk is merged
                pending.append(self._pool.submit(_read_in_worker, job))
            yield chunk


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    pool.shutdown(wait=False, cancel_futures=True)
    # Python 3.14 has pool.terminate_workers(); before it, the processes are only reachable here.
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.join(timeout=5)
