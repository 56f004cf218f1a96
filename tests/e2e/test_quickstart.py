"""The README's main job: the quickstart, from a copy of its folder, with no server and no
credentials (url: embedded runs the emulator in-process)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

QUICKSTART = Path(__file__).parents[2] / "examples" / "quickstart"


def _cupiform(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CUPI")}
    return subprocess.run(
        [sys.executable, "-m", "cupiform", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_quickstart_plans_applies_and_then_has_nothing_to_do(tmp_path: Path) -> None:
    folder = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, folder, ignore=shutil.ignore_patterns("state"))
    first = _cupiform("-C", str(folder), "plan", "--detailed-exitcode", cwd=tmp_path)
    assert first.returncode == 2, first.stderr
    assert first.stdout.rstrip().endswith("Plan: 5 to create.")
    applied = _cupiform("-C", "quickstart", "apply", "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert "Apply finished: 5 done of 5 actions." in applied.stdout
    again = _cupiform("plan", "--detailed-exitcode", cwd=folder)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes." in again.stdout
    state = json.loads((folder / "state" / "cupiform-state.json").read_text())
    assert state["server"] == "embedded"
    assert len(state["resources"]) == 5
    assert (folder / "state" / "emulator.sqlite").is_file()
    assert oct((folder / "state" / "cupiform-state.json").stat().st_mode & 0o777) == "0o600"


def test_a_plan_that_cannot_be_saved_is_one_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, folder, ignore=shutil.ignore_patterns("state"))
    (folder / "not-a-folder").write_text("")
    result = _cupiform("plan", "--out", "not-a-folder/plan.json", cwd=folder)
    assert result.returncode == 1
    assert "cupiform: error: cannot write the plan to not-a-folder/plan.json" in result.stderr
    assert "internal error" not in result.stderr
