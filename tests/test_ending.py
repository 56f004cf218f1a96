"""The ``cupiform`` process ends at once (``cupiform.ending``): its output complete, its
exit code kept, what it read held until then; callers of ``cli.main`` are unaffected."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cupiform import ending


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_the_output_is_complete_and_the_exit_code_kept() -> None:
    done = _python(
        "import sys\n"
        "from cupiform import ending\n"
        "ending.at_once()\n"
        "sys.stdout.write('x' * 200_000)\n"
        "sys.stderr.write('done')\n"
        "ending.end(3)\n"
    )
    assert done.returncode == 3
    assert done.stdout == "x" * 200_000
    assert done.stderr == "done"


def test_a_closed_output_takes_the_usual_way_out() -> None:
    done = _python(
        "import sys\n"
        "from cupiform import ending\n"
        "sys.stdout.write('x')\n"
        "sys.stdout.close()\n"
        "ending.end(2)\n"
    )
    assert done.returncode == 2


def test_the_command_ends_with_the_code_of_main(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cupiform", "state", "show", "nothing"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,  # no project here: an error
    )
    assert done.returncode == 1
    assert done.stderr.startswith("cupiform: error:")


def test_nothing_is_kept_unless_the_process_ends_at_once() -> None:
    # (the test process never called ``at_once``: keeping must not grow it)
    assert ending._kept is None
    ending.keep(object())
    assert ending._kept is None


def test_a_command_started_with_its_output_closed_ends_as_it_should() -> None:
    done = subprocess.run(
        ["sh", "-c", 'exec "$0" -m cupiform --version >&-', sys.executable],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert "Traceback" not in done.stderr
