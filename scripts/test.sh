#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine, then runs them.
# Used by the README and by .ci/run; safe to run again (installs only what is missing).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use, one a line in scripts/apt-packages.txt.
missing=()
while read -r pkg; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done < scripts/apt-packages.txt
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Python packages: exactly the versions in uv.lock, into the project's own .venv.
bash scripts/bootstrap.sh --test

.venv/bin/ruff check .
mkdir -p test-output
exec .venv/bin/python -m pytest "$@"
