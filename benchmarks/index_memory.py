"""What keeping a loaded index in memory costs a worker, against memory-mapping its files (docs/index-safety.md).

    .venv/bin/python benchmarks/index_memory.py INDEX [INDEX …] [--workers 2] [--questions 200]

For each index, `--workers` processes load it one way, search as answering does, and stay up together while
their memory is read from /proc: RSS and PSS (shared pages split between the processes that map them).
"default" is how the server loads an index (files up to 32 MB read into memory, larger ones mapped from a
private copy checked as it is made); "memory" reads every file into memory; "mmap" maps the published files,
as the server did before (and as it must not: a truncated file kills the worker), for comparison only.
"""
from __future__ import annotations

import argparse
import json
import mmap
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODES = ("default", "memory", "mmap")


def load_index(index_dir: Path, mode: str):
    from indexer.store import load_index as load

    return load(index_dir) if mode == "default" else load(index_dir, private_copy_above=1 << 62)


def _mapped_index(index_dir: Path):
    """The StoredIndex over memory-mapped files, the way the loader worked before it read them whole."""
    import numpy as np
    from scipy import sparse

    from indexer import store, versions

    version = versions.resolve(index_dir)
    manifest = store.verify_version(version)
    arrays = {name: np.load(version / f"{name}.npy", mmap_mode="r", allow_pickle=False).view(np.ndarray)
              for name in store._ARRAYS}
    with open(version / "clauses.jsonl", "rb") as f:
        clauses = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    notices = tuple(store._notice(r, ()) for r in json.loads((version / "notices.json").read_text(encoding="utf-8")))
    vocabulary = json.loads((version / "vocabulary.json").read_text(encoding="utf-8"))
    shape = (len(vocabulary), len(arrays["clause_notice"]))
    return store.StoredIndex(
        manifest=manifest, notices=notices, clauses=store.LazyClauses(clauses, arrays["clause_offsets"]),
        vocabulary={t: i for i, t in enumerate(vocabulary)}, idf=arrays["idf"],
        tf=sparse.csr_matrix((arrays["tf_data"], arrays["tf_indices"], arrays["tf_indptr"]), shape=shape, copy=False),
        weights=sparse.csr_matrix((arrays["weights"], arrays["tf_indices"], arrays["tf_indptr"]), shape=shape,
                                  copy=False),
        doc_len=arrays["doc_len"], clause_notice=arrays["clause_notice"], part_terms=arrays["part_terms"],
        part_ptr=arrays["part_ptr"], clause_part_ptr=arrays["clause_part_ptr"], version=version.name)


def child(mode: str, index_dir: Path, count: int) -> None:
    """Load one way, then do what answering does with the index (search, read the hits' clauses and their
    stored terms) for `count` questions: the engine alone, so that only the index's memory is measured."""
    from benchmarks.run import questions
    from engine import BM25Engine
    from indexer.resources import Resources

    resources = Resources.load()
    started = time.perf_counter()
    index = _mapped_index(index_dir) if mode == "mmap" else load_index(index_dir, mode)
    engine = BM25Engine(index, resources)
    load_s = time.perf_counter() - started
    for question in questions(count, ROOT / "corpus"):
        for hit in engine.search(question, limit=10).hits:
            _ = hit.clause.text, engine.clause_terms(hit.row), engine.sentence_terms(hit.row)
    print(json.dumps({"load_s": load_s}), flush=True)
    sys.stdin.read()  # stay up until the parent has read our memory


def _memory(pid: int) -> tuple[float, float]:
    rss = int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1)) / 1024
    pss = int(re.search(r"^Pss:\s+(\d+)", Path(f"/proc/{pid}/smaps_rollup").read_text(), re.M).group(1)) / 1024
    return rss, pss


def measure(mode: str, index_dir: Path, workers: int, count: int) -> dict:
    procs = [subprocess.Popen([sys.executable, "-m", "benchmarks.index_memory", "--child", mode, str(index_dir),
                               "--questions", str(count)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True) for _ in range(workers)]
    try:
        loads = [json.loads(p.stdout.readline())["load_s"] for p in procs]
        memory = [_memory(p.pid) for p in procs]
    finally:
        for p in procs:
            p.stdin.close()
            p.wait(timeout=60)
    return {"mode": mode, "load_s": max(loads), "rss_mb": max(m[0] for m in memory),
            "pss_mb_each": max(m[1] for m in memory), "pss_mb_total": sum(m[1] for m in memory)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("indexes", nargs="+", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--child", choices=MODES)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.indexes[0], args.questions)
        return
    from indexer import versions

    print("| index | files MB | mode | load s | RSS MB (one worker) | PSS MB (one worker) | PSS MB (all workers) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for index_dir in args.indexes:
        size = sum(p.stat().st_size for p in versions.resolve(index_dir).iterdir()) / 1024 / 1024
        for mode in MODES:
            row = measure(mode, index_dir, args.workers, args.questions)
            print(f"| {index_dir.name} | {size:,.0f} | {mode} | {row['load_s']:.2f} | {row['rss_mb']:,.0f} | "
                  f"{row['pss_mb_each']:,.0f} | {row['pss_mb_total']:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
