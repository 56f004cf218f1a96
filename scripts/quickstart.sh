#!/usr/bin/env bash
# The main job: set-up, then the quickstart example against the embedded emulator.
# Until plan/apply land, this serves the quickstart's emulator over HTTP on 127.0.0.1:8443
# (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/cupiform emulator serve --seed examples/quickstart/users.yaml "$@"
