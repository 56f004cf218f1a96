#!/usr/bin/env bash
# The test command: set-up, then lint, types and the whole test suite.
# Extra arguments go to pytest (e.g. scripts/test.sh -k emulator -x).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== ruff"
.venv/bin/ruff check cupiform tests benchmarks
.venv/bin/ruff format --check cupiform tests benchmarks
echo "== mypy (strict, on the package)"
.venv/bin/mypy
echo "== pytest"
.venv/bin/pytest "$@"
