"""How many requests may be in flight at once, shared by every thread of a run.

A CUPI server serves about five requests at once and answers 503 to those that wait too
long; it never says how long to wait. So the permitted concurrency follows the server the
way TCP follows a network (additive increase, multiplicative decrease): it starts at
``server.parallelism``, is halved when a 503 comes back, and creeps up again by about one
slot per window of successful answers. Every thread waits on the same window, so the run
as a whole backs off instead of each thread hammering the server on its own schedule.

A burst of 503s from requests that were all sent under the same window halves it once,
not once per 503: each request remembers the window's generation when it was let in.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class LimiterStats:
    limit: int
    in_flight: int
    max_in_flight: int
    decreases: int
    lowest_limit: int


class Slot:
    """One request's place in the window; mark it ``throttled`` if the answer was 503."""

    __slots__ = ("generation", "throttled")

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.throttled = False


class ConcurrencyLimiter:
    """An AIMD window over the number of requests in flight. Thread-safe."""

    def __init__(self, maximum: int, minimum: int = 1) -> None:
        if minimum < 1 or maximum < minimum:
            raise ValueError("the limiter needs 1 <= minimum <= maximum")
        self._maximum = maximum
        self._minimum = minimum
        self._window = float(maximum)
        self._in_flight = 0
        self._max_in_flight = 0
        self._generation = 0
        self._decreases = 0
        self._lowest = maximum
        self._changed = threading.Condition()

    @property
    def limit(self) -> int:
        """The number of requests permitted in flight now."""
        with self._changed:
            return self._permitted()

    def _permitted(self) -> int:
        return max(self._minimum, math.floor(self._window))

    def stats(self) -> LimiterStats:
        with self._changed:
            return LimiterStats(
                limit=self._permitted(),
                in_flight=self._in_flight,
                max_in_flight=self._max_in_flight,
                decreases=self._decreases,
                lowest_limit=self._lowest,
            )

    def acquire(self) -> Slot:
        with self._changed:
            while self._in_flight >= self._permitted():
                self._changed.wait()
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            return Slot(self._generation)

    def release(self, slot: Slot) -> None:
        with self._changed:
            self._in_flight -= 1
            if slot.throttled:
                if slot.generation == self._generation:
                    self._window = max(float(self._minimum), self._window / 2)
                    self._generation += 1
                    self._decreases += 1
                    self._lowest = min(self._lowest, self._permitted())
            else:
                self._window = min(float(self._maximum), self._window + 1 / self._window)
            self._changed.notify_all()

    @contextlib.contextmanager
    def slot(self) -> Iterator[Slot]:
        taken = self.acquire()
        try:
            yield taken
        finally:
            self.release(taken)
