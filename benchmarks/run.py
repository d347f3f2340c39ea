#!/usr/bin/env python3
"""Benchmarks of policyqa against rank-bm25, bm25s and tantivy, in one run on one machine.

    .venv/bin/python benchmarks/run.py         # full run: 2,500 and 41,000 notices (1M clauses), load -> RESULTS.md
    .venv/bin/python benchmarks/run.py --quick # 2,500 notices, fewer questions, 10 s of load -> RESULTS-quick.md

Only the full run (no option changing what is measured) replaces the committed benchmarks/RESULTS.md and
results.json; --quick, or any other --sizes, --questions, --rank-bm25-questions or --load-seconds, writes
benchmarks/RESULTS-quick.md and results-quick.json instead, so a trial run never passes for the published one.

For each corpus size (made by ../shared/bench/make_corpus.py):
  * index build: wall time, characters per second per core, peak resident memory of the largest process;
  * tokenizing speed on one core (CPU time), jieba against policyqa's tokenizer, over every 100th generated file,
    with the tokens checked equal;
  * retrieval latency, p50 and p99 over 200 questions, top 10, for policyqa (precomputed sparse BM25 weights,
    block-max pruning; the full scan too), rank-bm25 (BM25Okapi.get_scores), bm25s and tantivy, all from the
    same tokens: the others are given each clause's tokens rebuilt from policyqa's term frequencies, which is
    exact for BM25 (it ignores word order); tantivy's idf formula differs slightly, so its ranking may too;
  * policyqa's whole answer (POST /api/v1/ask's work, in process) p50 and p99;
  * cold start (loading the index) and resident memory of a serving worker.
Then POST /api/v1/ask on the bundled corpus under wrk (benchmarks/load.py).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DEFAULT_WORK = ROOT / "test-output" / "bench"  # ignored by git, like every other generated file
QUICK = {"sizes": [2500], "questions": 50, "rank_bm25_questions": [50], "load_seconds": 10}
sys.path.insert(0, str(ROOT))  # run as a script from a checkout

from benchmarks.load import free_port  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(values), p))


def questions(count: int, corpus: Path, seed: int = 7) -> list[str]:
    """Our own questions (tests/data), then questions about places and topics of the generated corpus."""
    lines = (ROOT / "tests" / "data" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    own = [json.loads(line)["question"] for line in lines if line]
    places = sorted({p.stem.split("-")[0] for p in corpus.glob("*.txt")})
    topics = ["个人缴费标准是多少", "集中征缴期是什么时候", "待遇等待期多久", "新生儿怎么参保", "门诊报销比例是多少",
              "住院报销比例", "大病保险怎么报", "低保对象参保有资助吗", "异地就医怎么结算", "生育医疗费用怎么报",
              "双通道药品怎么买", "门诊慢特病怎么保障", "大学生在哪里参保", "医保基金监管", "参保扩面怎么做"]
    rng = random.Random(seed)
    out = list(own)
    while len(out) < count:
        out.append(f"{rng.choice(places)}{rng.choice(topics)}")
    return out[:count]


def build(corpus: Path, index: Path) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "policyqa_cli", "index", "--corpus", str(corpus),
                             "--out", str(index)], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    m = re.search(r"通知 (\d+) 条，条款 (\d+) 条.*（([\d,]+) 字/秒）", result.stdout)
    return {"seconds": seconds, "notices": int(m.group(1)), "clauses": int(m.group(2)),
            "chars_per_s_core": int(m.group(3).replace(",", "")) / (os.cpu_count() or 1),
            "peak_rss_mb": max(peak_kb, before) / 1024}


def token_lists(stored) -> list[list[str]]:
    """Each clause's tokens as a bag rebuilt from the stored term frequencies (exact for BM25)."""
    vocabulary = [None] * len(stored.vocabulary)
    for term, i in stored.vocabulary.items():
        vocabulary[i] = term
    tf = stored.tf.tocsc()
    out = []
    for col in range(tf.shape[1]):
        lo, hi = tf.indptr[col], tf.indptr[col + 1]
        pairs = zip(tf.indices[lo:hi], tf.data[lo:hi], strict=True)
        out.append([vocabulary[t] for t, n in pairs for _ in range(int(n))])
    return out


def top10(scores: np.ndarray) -> np.ndarray:
    """The same top-10 selection for every engine that returns all scores (policyqa's own, indexer.bm25.top_k)."""
    from indexer.bm25 import top_k

    return top_k(scores, 10)[0]


def time_each(fn, items) -> list[float]:
    times = []
    for item in items:
        started = time.perf_counter()
        fn(item)
        times.append((time.perf_counter() - started) * 1000)
    return times


def serving_memory(index: Path) -> dict:
    """Resident memory of one warmed-up `policyqa serve` worker over this index (RSS and PSS, in MB)."""
    port = free_port()
    env = {**os.environ, "POLICYQA_DATABASE_URL": f"sqlite:///{index.parent / 'feedback.db'}"}
    proc = subprocess.Popen([sys.executable, "-m", "policyqa_cli", "serve", "--port", str(port), "--index", str(index),
                             "--corpus", "/nonexistent", "--log-level", "warning", "--no-access-log"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import urllib.request
    started = time.perf_counter()
    try:
        for _ in range(1200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/static/app.css", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        ready = time.perf_counter() - started
        for q in ["新生儿怎么参保", "住院报销比例", "集中征缴期是什么时候"] * 5:
            body = json.dumps({"question": q}).encode()
            urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/ask", data=body,
                                                          headers={"Content-Type": "application/json"}), timeout=60)
        status = Path(f"/proc/{proc.pid}/status").read_text()
        rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024
        rollup = Path(f"/proc/{proc.pid}/smaps_rollup").read_text()
        pss = int(re.search(r"^Pss:\s+(\d+)", rollup, re.M).group(1)) / 1024
        return {"rss_mb": rss, "pss_mb": pss, "ready_s": ready}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def bench_tantivy(docs: list[list[str]], query_tokens: list[list[str]], directory: Path) -> dict:
    """tantivy over the same tokens (a whitespace-tokenized field), top 10 of an OR of the question's terms.

    One writer thread, so that the index is one segment like policyqa's one matrix; and the top 10 without the
    count of all matches, which would make tantivy visit every posting instead of skipping blocks (block-max WAND),
    as policyqa's top 10 counts nothing either."""
    import shutil

    import tantivy

    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("body", stored=False, tokenizer_name="whitespace", index_option="freq")
    schema = builder.build()
    index = tantivy.Index(schema, path=str(directory))
    started = time.perf_counter()
    writer = index.writer(heap_size=1_000_000_000, num_threads=1)
    for tokens in docs:
        writer.add_document(tantivy.Document(body=" ".join(tokens)))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    index_s = time.perf_counter() - started
    searcher = index.searcher()

    def search(tokens: list[str]):
        query = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "body", t)) for t in tokens])
        return searcher.search(query, 10, count=False).hits

    times = time_each(search, query_tokens)
    segments = searcher.num_segments
    shutil.rmtree(directory, ignore_errors=True)
    return {"p50": percentile(times, 50), "p99": percentile(times, 99), "index_s": index_s, "segments": segments}


def tokenizer_row(corpus: Path, every: int = 100) -> dict:
    """Characters a second on one core (CPU time), jieba (the reference) and policyqa's tokenizer, same parts."""
    from benchmarks.tokenizer_speed import _BATCH, cpu_seconds, generated_parts
    from indexer.tokenizer import Tokenizer
    from tests.jieba_reference import JiebaTokenizer

    parts = generated_parts(corpus, every)
    chars = sum(map(len, parts))
    reference, tokenizer = JiebaTokenizer(), Tokenizer()
    reference.tokens("预热")
    jieba_s = cpu_seconds(lambda: [reference.tokens(p) for p in parts])
    ours_s = min(cpu_seconds(lambda: [tokenizer.tokens(p) for p in parts]) for _ in range(2))
    batch_s = min(cpu_seconds(lambda: [t for i in range(0, len(parts), _BATCH)
                                       for t in tokenizer.tokens_many(parts[i:i + _BATCH])]) for _ in range(2))
    same = [reference.tokens(p) for p in parts] == [tokenizer.tokens(p) for p in parts]
    return {"parts": len(parts), "chars": chars, "jieba": chars / jieba_s, "tokens": chars / ours_s,
            "tokens_many": chars / batch_s, "identical": same}


def bundled_row(work: Path) -> dict:
    """The whole answer on the bundled corpus (corpus/), over every question of our own sets, warmed up."""
    from policyqa import Assistant

    index = work / "index-bundled"
    row = {"build": build(ROOT / "corpus", index)}
    assistant = Assistant.load(index)
    asked = [json.loads(line)["question"] for name in ("questions.jsonl", "realistic-calibration.jsonl",
                                                        "realistic-heldout.jsonl")
             for line in (ROOT / "tests" / "data" / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    for q in asked[:50]:
        assistant.ask(q)
    times = time_each(lambda q: assistant.ask(q), asked)
    row["ask"] = {"p50": percentile(times, 50), "p99": percentile(times, 99), "questions": len(asked)}
    return row


def bench_size(notices: int, work: Path, n_questions: int, rank_bm25_questions: int) -> dict:
    import bm25s
    from rank_bm25 import BM25Okapi

    from indexer.bm25 import score
    from indexer.pruning import block_maxima, top_k_pruned
    from indexer.resources import Resources
    from indexer.store import load_index
    from policyqa import Assistant

    corpus, index = work / f"corpus-{notices}", work / f"index-{notices}"
    if not corpus.exists():
        subprocess.run([sys.executable, str(SHARED / "bench" / "make_corpus.py"), "--notices", str(notices),
                        "--out", str(corpus)], check=True, capture_output=True)
    row: dict = {"notices": notices}
    row["build"] = build(corpus, index)

    resources = Resources.load()
    started = time.perf_counter()
    stored = load_index(index)  # the raw arrays: retrieval is timed below the library, like the other engines
    row["load_s"] = time.perf_counter() - started
    assistant = Assistant.load(index, resources)
    asked = questions(n_questions, corpus)
    query_tokens = [[t for t in resources.tokenizer.tokens(q) if t in stored.vocabulary] for q in asked]
    query_ids = [[stored.vocabulary[t] for t in tokens] for tokens in query_tokens]
    n = len(stored.clauses)

    started = time.perf_counter()
    bounds = block_maxima(stored.weights)
    row["bounds_s"] = time.perf_counter() - started
    full_scan = time_each(lambda ids: top10(score(stored.weights, ids, n)), query_ids)
    ours = time_each(lambda ids: top_k_pruned(stored.weights, bounds, ids, 10), query_ids)
    exact = all(np.array_equal(top_k_pruned(stored.weights, bounds, ids, 10)[0], top10(score(stored.weights, ids, n)))
                for ids in query_ids)
    assistant.ask("预热")  # the engine works out its block maxima at its first question
    ask_times = time_each(lambda q: assistant.ask(q), asked)
    row["policyqa"] = {"p50": percentile(ours, 50), "p99": percentile(ours, 99), "exact": exact}
    row["policyqa_full_scan"] = {"p50": percentile(full_scan, 50), "p99": percentile(full_scan, 99)}
    row["ask"] = {"p50": percentile(ask_times, 50), "p99": percentile(ask_times, 99)}

    docs = token_lists(stored)
    bm25s_model = bm25s.BM25(k1=1.5, b=0.75, method="robertson")
    bm25s_model.index(docs, show_progress=False)
    bm25s_times = time_each(lambda toks: bm25s_model.retrieve([toks], k=10, show_progress=False, n_threads=1),
                            [t or ["医保"] for t in query_tokens])
    row["bm25s"] = {"p50": percentile(bm25s_times, 50), "p99": percentile(bm25s_times, 99)}
    bm25s_model = None  # free it before rank-bm25 builds its own (the timing closure above is done with it)
    gc.collect()
    row["tantivy"] = bench_tantivy(docs, [t or ["医保"] for t in query_tokens], work / f"tantivy-{notices}")

    reference = BM25Okapi(docs)
    del docs
    gc.collect()
    sample = query_tokens[:rank_bm25_questions]
    ref_times = time_each(lambda toks: top10(reference.get_scores(toks)), sample)
    row["rank_bm25"] = {"p50": percentile(ref_times, 50), "p99": percentile(ref_times, 99), "questions": len(sample)}
    # Same ranking as rank-bm25, checked on the questions timed above.
    worst = 0.0
    for toks, ids in zip(sample[:20], query_ids[:20], strict=False):  # sample may hold fewer than 20
        a, b = reference.get_scores(toks), score(stored.weights, ids, n)
        worst = max(worst, float(np.max(np.abs(a - b))) if n else 0.0)
    row["max_score_difference"] = worst
    reference = None
    gc.collect()
    row["serving"] = serving_memory(index)
    return row


def load_row(seconds: int) -> str:
    """/api/v1/ask and then /api/v1/documents on the same server: two table rows and the ratio of their rates."""
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "load.py"), "--connections", "32", "--duration",
                             str(seconds), "--workers", "2", "--compare-documents"], cwd=ROOT, capture_output=True,
                            text=True)
    lines = [line for line in result.stdout.strip().splitlines() if line.startswith("| ") or line.startswith("ask/")]
    if len(lines) < 3:
        raise SystemExit(f"benchmarks/load.py failed:\n{result.stderr}")
    documents, ratio, ask = lines[-3:]
    return f"{ask}\n{documents}\n\n/ask answers at {ratio.split(': ')[1]} of /api/v1/documents' rate."


def write_results(rows: list[dict], bundled: dict, tokenizing: dict | None, load: str | None, results: Path,
                  results_json: Path) -> None:
    lines = ["# Benchmark results", "",
             f"One run of `python3 benchmarks/run.py {' '.join(sys.argv[1:])}`".rstrip()
             + f" on {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Python {platform.python_version()}. "
             "Corpora from ../shared/bench/make_corpus.py. "
             "Latencies in milliseconds, top 10 of one question, the same tokens for every engine.", "",
             "## Index build", "",
             "| notices | clauses | build s | chars/s/core (whole build) | build peak MB (largest process) | "
             "load s | block maxima s | serving RSS MB | serving PSS MB |",
             "| " + " | ".join(["---"] * 9) + " |"]
    for r in rows:
        b = r["build"]
        lines.append(f"| {r['notices']:,} | {b['clauses']:,} | {b['seconds']:.0f} | {b['chars_per_s_core']:,.0f} | "
                     f"{b['peak_rss_mb']:,.0f} | {r['load_s']:.2f} | {r['bounds_s']:.2f} | "
                     f"{r['serving']['rss_mb']:,.0f} | {r['serving']['pss_mb']:,.0f} |")
    lines += ["", "## Retrieval (top 10) and whole answers", "",
              "| notices | policyqa p50 | policyqa p99 | full scan p50 | tantivy p50 | tantivy p99 | bm25s p50 | "
              "bm25s p99 | rank-bm25 p50 | rank-bm25 p99 | × tantivy (p50) | × bm25s (p50) | × rank-bm25 (p50) | "
              "exact top 10 | whole answer p50 | whole answer p99 |",
              "| " + " | ".join(["---"] * 16) + " |"]
    for r in rows:
        ours = r["policyqa"]["p50"]
        lines.append(
            f"| {r['notices']:,} | {ours:.2f} | {r['policyqa']['p99']:.2f} | {r['policyqa_full_scan']['p50']:.2f} | "
            f"{r['tantivy']['p50']:.2f} | {r['tantivy']['p99']:.2f} | {r['bm25s']['p50']:.2f} | "
            f"{r['bm25s']['p99']:.2f} | {r['rank_bm25']['p50']:.1f} | {r['rank_bm25']['p99']:.1f} | "
            f"{r['tantivy']['p50'] / ours:.1f}× | {r['bm25s']['p50'] / ours:.1f}× | "
            f"{r['rank_bm25']['p50'] / ours:.0f}× | "
            f"{'yes' if r['policyqa']['exact'] else 'NO'} | {r['ask']['p50']:.2f} | {r['ask']['p99']:.2f} |")
    lines += ["", "rank-bm25 was timed on the first "
              + ", ".join(f"{r['rank_bm25']['questions']} (at {r['notices']:,} notices)" for r in rows)
              + " questions; the others on all of them. Largest score difference between policyqa and rank-bm25 on "
              + ", ".join(f"{r['max_score_difference']:.1e} (at {r['notices']:,})" for r in rows) + ". "
              "tantivy: one segment, the top 10 without counting the matches (so that it skips blocks), its own BM25 "
              "(k1 1.2, idf ln(1 + (N − n + 0.5)/(n + 0.5)), lengths rounded to a byte): a comparison of speed, not "
              "of ranking. policyqa's top 10 is exactly the full scan's (the exact column)."]
    lines += ["", f"Whole answer on the bundled corpus ({bundled['build']['clauses']} clauses), every question of "
              f"tests/data ({bundled['ask']['questions']}): p50 {bundled['ask']['p50']:.2f} ms, "
              f"p99 {bundled['ask']['p99']:.2f} ms."]
    if tokenizing:
        t = tokenizing
        lines += ["", "## Tokenizing (one core, CPU time; every 100th file of the largest corpus: "
                  f"{t['parts']:,} clause parts, {t['chars']:,} characters)", "",
                  "| jieba (reference) | policyqa tokens() | policyqa tokens_many() (as the build calls it) | "
                  "× jieba | tokens identical to jieba |", "| --- | --- | --- | --- | --- |",
                  f"| {t['jieba']:,.0f} | {t['tokens']:,.0f} | {t['tokens_many']:,.0f} | "
                  f"{t['tokens'] / t['jieba']:.1f}× | {'yes' if t['identical'] else 'NO'} |"]
    if load:
        lines += ["", "## POST /api/v1/ask under load, beside GET /api/v1/documents on the same server "
                  "(wrk on loopback, bundled corpus, 2 workers)", "",
                  "| endpoint | clients | duration | workers | requests | req/s | p50 ms | p99 ms | errors |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |", load]
    results.write_text("\n".join(lines) + "\n", encoding="utf-8")
    results_json.write_text(json.dumps({"bundled": bundled, "sizes": rows, "tokenizing": tokenizing}, indent=1,
                                       ensure_ascii=False),
                            encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"a short trial run ({QUICK}); writes RESULTS-quick.md, never RESULTS.md")
    parser.add_argument("--sizes", type=int, nargs="+", default=[2500, 41000])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--rank-bm25-questions", type=int, nargs="+", default=[200, 30],
                        help="questions timed on rank-bm25 per size (it scores every clause in Python)")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK,
                        help="where generated corpora and indexes go, reused by later runs")
    parser.add_argument("--load-seconds", type=int, default=30)
    args = parser.parse_args()
    # A run that measures anything less than the defaults is a trial: it must not replace the published figures.
    full = not args.quick and all(getattr(args, name) == parser.get_default(name) for name in QUICK)
    if args.quick:
        for name, value in QUICK.items():
            if getattr(args, name) == parser.get_default(name):  # an explicit option still wins
                setattr(args, name, value)
    suffix = "" if full else "-quick"
    results = ROOT / "benchmarks" / f"RESULTS{suffix}.md"
    results_json = ROOT / "benchmarks" / f"results{suffix}.json"
    args.work.mkdir(parents=True, exist_ok=True)
    bundled = bundled_row(args.work)
    print(json.dumps(bundled, ensure_ascii=False), flush=True)
    rows = []
    for i, size in enumerate(args.sizes):
        limit = args.rank_bm25_questions[min(i, len(args.rank_bm25_questions) - 1)]
        rows.append(bench_size(size, args.work, args.questions, limit))
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    tokenizing = tokenizer_row(args.work / f"corpus-{args.sizes[-1]}")
    print(json.dumps(tokenizing), flush=True)
    load = load_row(args.load_seconds) if args.load_seconds else None
    write_results(rows, bundled, tokenizing, load, results, results_json)
    print(results.read_text())
    print(f"written to {results.relative_to(ROOT)} and {results_json.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
