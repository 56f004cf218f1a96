"""When and how long to wait before trying a call again.

A call is tried at most ``max_attempts`` times, and no new attempt starts once waiting for
it would pass ``budget`` seconds since the first attempt began: with a per-request timeout
``T``, a call that times out every time gives up within ``budget + T`` seconds. The waits
grow exponentially from ``backoff_base`` up to ``backoff_cap``, each with jitter (between
half and all of the step) so that parallel callers that met the same 503 do not come back
together.

Which answers are worth another attempt is the client's business; this module only counts
and waits. The clock, the sleep and the dice are injected, so tests run in no time.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Statuses that say "not now" rather than "no": the server is busy or had a passing fault
# (every 5xx; 501 and 505 say the server cannot do it at all).
RETRY_STATUSES = frozenset(range(500, 600)) - {501, 505}


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    budget: float = 50.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff_base < 0 or self.backoff_cap < 0 or self.budget < 0:
            raise ValueError("backoff and budget must not be negative")

    def delay(self, retry: int, dice: random.Random) -> float:
        """The wait before retry number ``retry`` (1 for the second attempt)."""
        step = min(self.backoff_cap, self.backoff_base * 2.0 ** (retry - 1))
        return step / 2 + dice.uniform(0, step / 2)


@dataclass
class Attempts:
    """The attempts of one call (or of one create and its look-ups): how many were made,
    since when, and whether another may be made."""

    policy: RetryPolicy
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    dice: random.Random = field(default_factory=random.Random)
    made: int = 0
    started: float | None = None

    def begin(self) -> int:
        """Count an attempt about to be made; returns its number (from 1)."""
        if self.started is None:
            self.started = self.clock()
        self.made += 1
        return self.made

    @property
    def elapsed(self) -> float:
        return 0.0 if self.started is None else self.clock() - self.started

    def next_delay(self) -> float | None:
        """The wait before another attempt, or None when the count or the budget is spent."""
        if self.made >= self.policy.max_attempts:
            return None
        delay = self.policy.delay(self.made, self.dice)
        if self.elapsed + delay > self.policy.budget:
            return None
        return delay

    def wait(self, delay: float) -> None:
        if delay > 0:
            self.sleep(delay)

    def gave_up(self) -> str:
        """How the attempts ended, for a message: ``gave up after 6 attempts in 12.3 s``."""
        plural = "s" if self.made != 1 else ""
        return f"gave up after {self.made} attempt{plural} in {self.elapsed:.1f} s"
