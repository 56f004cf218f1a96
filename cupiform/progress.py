"""Progress on stderr while apply runs: a bar on a terminal, one plain line per finished
action elsewhere (CI logs)."""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cupiform.executor import DONE, Outcome

_PAST = {
    "create": "created",
    "update": "updated",
    "delete": "deleted",
    "adopt": "adopted",
    "move": "moved",
    "forget": "forgot",
}


def describe(outcome: Outcome) -> str:
    action = outcome.action
    name = action.address or action.key
    if outcome.status == DONE:
        step = " (first step: temporary address)" if action.key.endswith("#tmp") else ""
        ident = f" (ObjectId {outcome.object_id})" if outcome.object_id else ""
        return f"{_PAST[action.action]} {name}{step}{ident}"
    return f"{outcome.status}: {action.action} {name}: {outcome.error}"


class ApplyProgress:
    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._total = total
        self._count = 0
        self._lock = threading.Lock()
        self._bar: Progress | None = None
        if self._stream.isatty() and total > 0:
            self._bar = Progress(
                TextColumn("[bold]apply"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
                console=Console(file=self._stream),
                transient=True,
            )
            self._task = self._bar.add_task("", total=total)

    def __enter__(self) -> ApplyProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, outcome: Outcome) -> None:
        with self._lock:
            self._count += 1
            text = describe(outcome)
            if self._bar is not None:
                self._bar.update(self._task, advance=1, description=text[:60])
                if outcome.status != DONE:
                    self._bar.console.print(f"cupiform: {text}")
            else:
                print(
                    f"cupiform: [{self._count}/{self._total}] {text}", file=self._stream, flush=True
                )
