"""How the ``cupiform`` process ends: at once, without freeing what it read.

A plan of a large directory holds millions of small objects (manifests, state, live
objects, indexes). Freeing them one by one when the command returns takes a tenth of a
second that nobody waits for. The ``cupiform`` command (``cli.console``) flushes its output
and ends the process with ``os._exit``; ``keep`` holds what a command read until then, so
that it is not freed on the way. Everything a command writes (state, saved plans) is
written, synced and closed before it returns. In any other caller of ``cli.main`` (tests,
cupiform used as a library) nothing is kept.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

_kept: list[object] | None = None


def at_once() -> None:
    """From now on, ``keep`` keeps: this process ends by ``end``."""
    global _kept
    _kept = []


def keep(*values: object) -> None:
    """Hold ``values`` until the process ends (when it ends at once; else nothing)."""
    if _kept is not None:
        _kept.extend(values)


def end(code: int) -> NoReturn:
    """End the process with ``code``: output flushed, nothing freed, no exit handlers (none
    of cupiform's needs one). A stream that cannot be flushed (a closed pipe) takes the usual
    way out, which says so."""
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # None: started with it closed
                stream.flush()
    except (OSError, ValueError):
        sys.exit(code)
    os._exit(code)
