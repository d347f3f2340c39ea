"""uv.lock matches pyproject.toml: a dependency changed in one and not the other fails here, not on a fresh machine."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def uv_lock_check(project: Path) -> subprocess.CompletedProcess:
    # uv is installed into .venv by scripts/bootstrap.sh, pinned there; run as a module of this interpreter so
    # that the test never picks up another uv from PATH. It may consult PyPI when the lock is out of date.
    return subprocess.run([sys.executable, "-m", "uv", "lock", "--check", "--python", sys.executable],
                          cwd=project, capture_output=True, text=True, timeout=300)


def test_the_lock_matches_pyproject():
    result = uv_lock_check(ROOT)
    assert result.returncode == 0, f"uv.lock is out of date: run `.venv/bin/python -m uv lock`\n{result.stderr}"


def test_the_check_fails_when_they_disagree(tmp_path):
    shutil.copy(ROOT / "uv.lock", tmp_path / "uv.lock")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    # The project's own version is recorded in the lock: bumping it in pyproject alone is a disagreement.
    changed, count = re.subn(r'(?m)^version = "([^"]+)"$', r'version = "\1.post1"', pyproject, count=1)
    assert count == 1
    (tmp_path / "pyproject.toml").write_text(changed, encoding="utf-8")
    result = uv_lock_check(tmp_path)
    assert result.returncode != 0 and "needs to be updated" in result.stderr, result.stderr
