#!/usr/bin/env bash
# Installs everything (into .venv, from uv.lock) and serves the bundled corpus at http://127.0.0.1:8000.
# Extra arguments go to `policyqa serve` (e.g. --port 8080 --workers 2).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/policyqa serve "$@"
