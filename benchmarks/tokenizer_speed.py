#!/usr/bin/env python3
"""Tokenizing speed, characters a second on one core: Python jieba (the reference) against the tokenizer.

    .venv/bin/python benchmarks/tokenizer_speed.py                                  # corpus/ only
    .venv/bin/python benchmarks/tokenizer_speed.py --generated /work/bench/c41000 --every 100

Over every clause part (the texts the index build tokenizes) of the bundled corpus and of every N-th file
of a generated corpus, characters counted as len() of the text given. Each way is timed in CPU time of
this process (the machine is shared), in turn, --repeats times, the best kept; the memo of the tokenizer
is warm after its first pass, as it is after the first clauses of a build, and the first pass is shown
too. Checks on the way that the tokens are the same.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: tests/ holds the jieba reference

from indexer.build import BuildReport, clause_parts, read_corpus  # noqa: E402
from indexer.notices import parse_file  # noqa: E402
from indexer.regions import load_divisions  # noqa: E402
from indexer.tokenizer import Tokenizer  # noqa: E402
from tests.jieba_reference import JiebaTokenizer  # noqa: E402

_BATCH = 2000  # parts per tokens_many call, as a build chunk would give


def corpus_parts() -> list[str]:
    notices = read_corpus(ROOT / "corpus", BuildReport(), load_divisions())
    return [p for n in notices for c in n.clauses for p in clause_parts(c)]


def generated_parts(directory: Path, every: int) -> list[str]:
    divisions = load_divisions()
    parts = []
    for path in sorted(directory.glob("*.txt"))[::every]:
        for n in parse_file(path.read_text(encoding="utf-8"), path.name, divisions):
            parts += [p for c in n.clauses for p in clause_parts(c)]
    return parts


def cpu_seconds(run) -> float:
    start = time.process_time()
    run()
    return time.process_time() - start


def measure(name: str, parts: list[str], reference: JiebaTokenizer, repeats: int) -> None:
    chars = sum(map(len, parts))
    tokenizer = Tokenizer()  # a fresh memo: its first pass is the cold one
    ways = {
        "jieba (reference), tokens() per part": lambda: [reference.tokens(p) for p in parts],
        "rjieba, tokens() per part": lambda: [tokenizer.tokens(p) for p in parts],
        f"rjieba, tokens_many() per {_BATCH} parts": lambda: [
            t for i in range(0, len(parts), _BATCH) for t in tokenizer.tokens_many(parts[i:i + _BATCH])],
    }
    first = cpu_seconds(ways["rjieba, tokens() per part"])
    best = {way: float("inf") for way in ways}
    for _ in range(repeats):
        for way, run in ways.items():
            best[way] = min(best[way], cpu_seconds(run))
    same = [reference.tokens(p) for p in parts] == [tokenizer.tokens(p) for p in parts] == ways[
        f"rjieba, tokens_many() per {_BATCH} parts"]()
    print(f"\n{name}: {len(parts):,} parts, {chars:,} characters; tokens identical: {same}")
    print(f"  {'rjieba, tokens() per part, first pass (cold memo)':52s} {chars / first:>12,.0f} chars/s")
    for way in ways:
        print(f"  {way:52s} {chars / best[way]:>12,.0f} chars/s   ({best[way]:.3f} s CPU)")
    speedup = best["jieba (reference), tokens() per part"] / best["rjieba, tokens() per part"]
    print(f"  tokens() is {speedup:.1f} times as fast as jieba")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generated", type=Path, help="a corpus directory from make_corpus.py")
    ap.add_argument("--every", type=int, default=100, help="take every N-th file of --generated")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    reference = JiebaTokenizer()
    reference.tokens("预热")  # jieba loads its dictionary on first use
    measure("corpus/", corpus_parts(), reference, a.repeats)
    if a.generated:
        measure(f"{a.generated}, every {a.every}th file", generated_parts(a.generated, a.every), reference, a.repeats)


if __name__ == "__main__":
    main()
