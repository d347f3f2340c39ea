"""benchmarks/run.py: a trial run writes its own files; only the full run replaces the committed results."""
from __future__ import annotations

import sys

import pytest

from benchmarks import run

FAKE_ROW = {"notices": 1, "build": {"seconds": 1.0, "notices": 1, "clauses": 2, "chars_per_s_core": 1.0,
                                    "peak_rss_mb": 1.0},
            "load_s": 0.1, "bounds_s": 0.1, "policyqa": {"p50": 1.0, "p99": 1.0, "exact": True},
            "policyqa_full_scan": {"p50": 1.0, "p99": 1.0}, "ask": {"p50": 1.0, "p99": 1.0},
            "bm25s": {"p50": 1.0, "p99": 1.0}, "tantivy": {"p50": 1.0, "p99": 1.0, "index_s": 1.0},
            "rank_bm25": {"p50": 1.0, "p99": 1.0, "questions": 1},
            "max_score_difference": 0.0, "serving": {"rss_mb": 1.0, "pss_mb": 1.0, "ready_s": 1.0}}
FAKE_BUNDLED = {"build": {"seconds": 1.0, "notices": 1, "clauses": 2, "chars_per_s_core": 1.0, "peak_rss_mb": 1.0},
                "ask": {"p50": 1.0, "p99": 1.0, "questions": 1}}
FAKE_TOKENIZING = {"parts": 1, "chars": 1, "jieba": 1.0, "tokens": 10.0, "tokens_many": 10.0, "identical": True}


@pytest.fixture
def measured(tmp_path, monkeypatch):
    """run.main with the measuring replaced: what it was asked to measure, and the files it wrote."""
    (tmp_path / "benchmarks").mkdir()
    asked: list[tuple] = []
    monkeypatch.setattr(run, "ROOT", tmp_path)
    monkeypatch.setattr(run, "bench_size", lambda *a: asked.append(a) or {**FAKE_ROW, "notices": a[0]})
    monkeypatch.setattr(run, "load_row", lambda seconds: asked.append(("load", seconds)) or "| load |")
    monkeypatch.setattr(run, "bundled_row", lambda work: FAKE_BUNDLED)
    monkeypatch.setattr(run, "tokenizer_row", lambda corpus: FAKE_TOKENIZING)

    def main(*argv: str) -> tuple[list, set[str]]:
        asked.clear()
        monkeypatch.setattr(sys, "argv", ["run.py", "--work", str(tmp_path / "work"), *argv])
        run.main()
        written = {p.name for p in (tmp_path / "benchmarks").iterdir()}
        for p in (tmp_path / "benchmarks").iterdir():
            p.unlink()
        return list(asked), written
    return main


def test_quick_writes_its_own_files(measured):
    asked, written = measured("--quick")
    assert written == {"RESULTS-quick.md", "results-quick.json"}
    assert [a[0] for a in asked] == [2500, "load"] and asked[-1] == ("load", 10)


@pytest.mark.parametrize("argv", [["--sizes", "2500"], ["--load-seconds", "5"], ["--questions", "20"],
                                  ["--quick", "--sizes", "2500", "25000"]])
def test_any_partial_run_leaves_the_committed_results_alone(measured, argv):
    assert measured(*argv)[1] == {"RESULTS-quick.md", "results-quick.json"}


def test_only_the_full_run_replaces_the_committed_results(measured):
    asked, written = measured()
    assert written == {"RESULTS.md", "results.json"}
    assert [a[0] for a in asked] == [2500, 41000, "load"]
