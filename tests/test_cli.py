"""The policyqa command, run as a user would."""
import argparse
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.store import load_index
from tests.conftest import ROOT, SHARED, run_cli, start_server
from tests.index_helpers import manifest_of, republish


def test_index_prints_what_it_did(tmp_path, corpus_dir):
    result = run_cli("index", "--corpus", str(corpus_dir), "--out", str(tmp_path / "index"))
    assert result.returncode == 0, result.stderr
    assert all(words in result.stdout for words in ("文件 5 个", "通知 9 条", "条款", "秒"))
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
    subprocess.run([sys.executable, str(SHARED / "bench" / "make_corpus.py"), "--notices", "60",
                    "--out", str(tmp_path / "gen")], check=True, capture_output=True)
    result = run_cli("index", "--corpus", str(tmp_path / "gen"), "--out", str(tmp_path / "index"))
    assert result.returncode == 0, result.stderr
    assert "通知 60 条" in result.stdout
    index = load_index(tmp_path / "index")
    assert index.manifest["counts"]["notices"] == 60 and index.manifest["counts"]["clauses"] > 60 * 10


# --- what the user sees when something is wrong: one Chinese line on stderr, status 2 -----------------------------


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory, corpus_dir) -> Path:
    from indexer.build import build_index

    out = tmp_path_factory.mktemp("cli") / "index"
    build_index(corpus_dir, out)
    return out


def _one_chinese_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert any("\u4e00" <= ch <= "\u9fff" for ch in lines[0]), lines[0]
    return lines[0]


@pytest.mark.parametrize("args, words", [
    (["ask", "新生儿怎么参保", "--region", "火星市"], "火星市"),
    (["ask", ""], "问题不能为空"),
    (["ask", "   "], "问题不能为空"),
    (["ask", "\u200b\n"], "问题不能为空"),
])
def test_ask_mistakes_are_one_chinese_line(index_dir, args, words):
    assert words in _one_chinese_line(run_cli(*args, "--index", str(index_dir)))


def test_ask_without_an_index_says_which(tmp_path):
    line = _one_chinese_line(run_cli("ask", "新生儿怎么参保", "--index", "/nonexistent"))
    assert "/nonexistent" in line and "policyqa index" in line


def test_index_of_a_nonexistent_corpus_is_one_chinese_line(tmp_path):
    line = _one_chinese_line(run_cli("index", "--corpus", "/nonexistent", "--out", str(tmp_path / "index")))
    assert "/nonexistent" in line
    assert not (tmp_path / "index").exists()


def test_eval_of_a_missing_file_is_one_chinese_line(index_dir):
    line = _one_chinese_line(run_cli("eval", "/nonexistent.jsonl", "--index", str(index_dir)))
    assert "/nonexistent.jsonl" in line


def test_ask_into_a_pipe_that_closes_early_ends_quietly(index_dir):
    # pipefail: the status is policyqa's, not head's.
    command = (f"set -o pipefail; {shlex.quote(sys.executable)} -m policyqa_cli ask 新生儿怎么参保 --json --top-k 10 "
               f"--index {shlex.quote(str(index_dir))} | head -c 10")
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0 and result.stderr == "" and len(result.stdout) == 10


def test_every_argument_has_help():
    from policyqa_cli.cli import build_parser

    parser = build_parser()
    subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(subcommands.choices) == {"index", "serve", "ask", "eval", "report", "mcp"}
    assert all(choice.help for choice in subcommands._choices_actions)
    missing = [f"{name} {action.dest}" for name, sub in subcommands.choices.items() for action in sub._actions
               if not isinstance(action, argparse._HelpAction) and not action.help]
    assert not missing, missing


# --- report ------------------------------------------------------------------------------------------------------


def test_report_in_an_empty_directory_names_the_database_it_looked_for(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "POLICYQA_DATABASE_URL"}
    result = subprocess.run([sys.executable, "-m", "policyqa_cli", "report"], capture_output=True, text=True,
                            cwd=tmp_path, env=env, timeout=120)
    line = _one_chinese_line(result)
    assert str(tmp_path / "policyqa-feedback.db") in line
    assert list(tmp_path.iterdir()) == []


def test_report_shows_not_helpful_answers_with_their_question_and_clause(tmp_path):
    from qa_server.feedback import FeedbackStore

    url = f"sqlite:///{tmp_path / 'feedback.db'}"
    store = FeedbackStore(url)
    store.log_answers("孩子刚出生怎么参保", [("a1b2c3", "赣医保发〔2023〕9号", "（四）")])
    store.add_feedback(helpful=False, answer_id="a1b2c3", comment="没说清楚去哪办")
    store.log_unanswered("帮我订一张机票")
    store.close()
    result = run_cli("report", "--database-url", url)
    assert result.returncode == 0, result.stderr
    assert "反馈 1 条，未能回答的提问 1 条" in result.stdout
    not_helpful = result.stdout.split("没帮助")[1]
    assert "孩子刚出生怎么参保" in not_helpful and "赣医保发〔2023〕9号 （四）" in not_helpful
    assert "帮我订一张机票" in result.stdout


# --- serve and an index it cannot use ---------------------------------------------------------------------------


def _copy_with_manifest(index_dir: Path, out: Path, **changes) -> Path:
    shutil.copytree(index_dir, out)

    def edit(manifest: dict) -> dict:
        for key, value in changes.items():
            if key == "corpus_dir":
                manifest["corpus"]["dir"] = value
            else:
                manifest[key] = value
        return manifest

    republish(out, edit)
    return out


def test_serve_without_an_index_or_a_corpus_is_one_chinese_line(tmp_path):
    line = _one_chinese_line(run_cli("serve", "--index", str(tmp_path / "none"), "--corpus", "/nonexistent",
                                     timeout=60))
    assert "索引不存在" in line


def test_serve_never_rebuilds_an_incompatible_index_of_another_corpus(index_dir, tmp_path):
    index = _copy_with_manifest(index_dir, tmp_path / "index", dictionary="another", corpus_dir="/elsewhere")
    line = _one_chinese_line(run_cli("serve", "--index", str(index), "--corpus", str(ROOT / "corpus"), timeout=60))
    assert "词典" in line and "/elsewhere" in line
    assert manifest_of(index)["dictionary"] == "another"


def test_serve_rebuilds_its_own_index_cut_with_another_dictionary(index_dir, tmp_path):
    index = _copy_with_manifest(index_dir, tmp_path / "index", dictionary="another")
    proc, _ = start_server("--index", str(index), "--corpus", str(ROOT / "corpus"),
                           env={"POLICYQA_DATABASE_URL": f"sqlite:///{tmp_path / 'feedback.db'}"})
    proc.terminate()
    proc.wait(timeout=30)
    assert manifest_of(index)["dictionary"] != "another"


def test_progress_without_a_terminal_is_a_plain_line_every_few_seconds():
    import io

    from policyqa_cli.cli import ProgressBar

    out = io.StringIO()
    bar = ProgressBar("分词", stream=out)
    bar.LINE_EVERY = 0.0
    bar(500, 2000)
    bar(2000, 2000)
    assert out.getvalue() == "分词：500/2000（25%）\n"
