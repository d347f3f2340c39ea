"""The policyqa command, run as a user would."""
import subprocess
import sys

import pytest

from indexer.store import load_index
from tests.conftest import SHARED, run_cli


def test_index_prints_what_it_did(tmp_path, corpus_dir):
    result = run_cli("index", "--corpus", str(corpus_dir), "--out", str(tmp_path / "index"))
    assert result.returncode == 0, result.stderr
    assert "文件 5 个" in result.stdout and "通知 9 条" in result.stdout and "条款" in result.stdout and "秒" in result.stdout
    assert load_index(tmp_path / "index").manifest["counts"]["notices"] == 9


def test_index_of_a_missing_corpus_fails_plainly(tmp_path):
    result = run_cli("index", "--corpus", str(tmp_path / "nope"), "--out", str(tmp_path / "index"))
    assert result.returncode == 2 and "语料目录不存在" in result.stderr


def test_loading_a_damaged_index_fails_plainly_without_traceback(tmp_path):
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "manifest.json").write_text("{}")
    result = run_cli("ask", "交多少钱", "--index", str(tmp_path / "index"))
    assert result.returncode == 2 and "不是 policyqa 索引" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.skipif(not (SHARED / "bench" / "make_corpus.py").exists(), reason="shared/bench not beside the checkout")
def test_index_handles_a_generated_corpus(tmp_path):
    subprocess.run([sys.executable, str(SHARED / "bench" / "make_corpus.py"), "--notices", "60", "--out", str(tmp_path / "gen")],
                   check=True, capture_output=True)
    result = run_cli("index", "--corpus", str(tmp_path / "gen"), "--out", str(tmp_path / "index"))
    assert result.returncode == 0, result.stderr
    assert "通知 60 条" in result.stdout
    index = load_index(tmp_path / "index")
    assert index.manifest["counts"]["notices"] == 60 and index.manifest["counts"]["clauses"] > 60 * 10
