#!/usr/bin/env bash
# Creates .venv (if missing) and installs cupiform into it, editable, with the test extras.
# Sourced by the other scripts; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
if ! .venv/bin/python -c "import cupiform, pytest, mypy, ruff, hypothesis" 2>/dev/null \
   || [ pyproject.toml -nt .venv/.cupiform-installed ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[test]'
  touch .venv/.cupiform-installed
fi
