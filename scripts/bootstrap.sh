#!/usr/bin/env bash
# Creates the project's own virtual environment (.venv) and installs exactly the versions in uv.lock.
# Sourced by scripts/serve.sh and scripts/test.sh; usage: bootstrap.sh [--test | --bench]
# (--bench: the test tools and the engines benchmarks/run.py compares with)
# Works with Debian's externally managed /usr/bin/python3 as well as any other Python >= 3.11 first on PATH:
# nothing is installed into that Python, only into .venv.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

UV_VERSION=0.13.9   # the tool that reads uv.lock; bump it together with the lock (docs/operations.md)
PYTHON=${PYTHON:-python3}
extra=()
[[ "${1:-}" == "--test" ]] && extra=(--extra test)
[[ "${1:-}" == "--bench" ]] && extra=(--extra test --extra bench)

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@"
}

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "需要 Python 3.11 或更高版本（当前：$("$PYTHON" --version 2>&1)）" >&2
  exit 2
fi

# Debian splits venv/ensurepip out of python3; install it only when it is missing.
if [[ ! -x .venv/bin/python ]] || ! .venv/bin/python -c 'import sys' 2>/dev/null; then
  if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    apt_install python3-venv
  fi
  rm -rf .venv
  "$PYTHON" -m venv .venv
fi
if [[ "$(.venv/bin/python -m uv --version 2>/dev/null)" != "uv $UV_VERSION"* ]]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi

# --frozen: install what uv.lock says, never re-resolve; --inexact: keep pip and uv themselves in .venv.
UV_PROJECT_ENVIRONMENT=.venv .venv/bin/python -m uv sync --quiet --frozen --inexact \
  --python .venv/bin/python "${extra[@]}"
