"""The dev set measures and never trains: none of its questions or expected phrases are in the project."""
import json
import re
import subprocess

import pytest

from tests.conftest import ROOT, SHARED

DEV = SHARED / "eval" / "dev.jsonl"


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.skipif(not DEV.exists(), reason="shared/eval not beside the checkout")
def test_no_dev_question_or_expected_phrase_in_code_data_or_tests():
    entries = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    needles = {e["question"] for e in entries} | {x["contains"] for e in entries for x in e["expect"]}
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    suffixes = (".py", ".txt", ".tsv", ".json", ".jsonl", ".html", ".md", ".js", ".css")
    checked = [p for p in tracked if p.endswith(suffixes) and not p.startswith("corpus/")]
    leaks = []
    for path in checked:
        text = _compact((ROOT / path).read_text(encoding="utf-8", errors="ignore"))
        leaks += [f"{path}: {n}" for n in needles if _compact(n) in text]
    assert not leaks, leaks
