#!/usr/bin/env bash
# The main job: set-up, then plan and apply the quickstart example on the embedded emulator
# (in-process: no server, no credentials), then plan again to show nothing is left to do.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cupiform=.venv/bin/cupiform
echo "== cupiform -C examples/quickstart plan"
"$cupiform" -C examples/quickstart plan
echo "== cupiform -C examples/quickstart apply --auto-approve"
"$cupiform" -C examples/quickstart apply --auto-approve
echo "== cupiform -C examples/quickstart plan --detailed-exitcode"
"$cupiform" -C examples/quickstart plan --detailed-exitcode
