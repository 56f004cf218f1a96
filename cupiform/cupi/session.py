"""One server session for the whole run, even when many threads start at once.

Checking Basic credentials is costly on a CUPI server, and repeated failures lock the
account; once the server has set its session cookies (``JSESSIONIDSSO``, ``JSESSIONID``,
``REQUEST_TOKEN_KEY``), requests that carry them are not checked again. Threads that all
start before the first answer would each send credentials without a cookie, and each be
checked. So until a session exists, requests pass the gate one at a time: the first
answer's cookies then go out with every later request, and the gate stays open for good.

A server that sets no cookie at all cannot be helped by waiting: after a few answers
without one, the gate opens anyway.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

import httpx

Observe = Callable[[httpx.Response], None]

_ANSWERS_WITHOUT_COOKIE = 3


def _ignore(response: httpx.Response) -> None:
    return None


class SessionGate:
    def __init__(self) -> None:
        self._open = threading.Event()
        self._one_at_a_time = threading.Lock()
        self._without_cookie = 0

    @contextlib.contextmanager
    def passage(self) -> Iterator[Observe]:
        """Hold this around building and sending one request; call the yielded function
        with the answer (it opens the gate once a session exists)."""
        if not self._open.is_set():
            with self._one_at_a_time:
                if not self._open.is_set():
                    yield self._observe
                    return
        # The session exists (perhaps since this thread began to wait): go in parallel.
        yield _ignore

    def _observe(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            self._open.set()
        elif response.status_code < 500 and response.status_code != 401:
            # Authenticated and answered, yet no cookie: this server keeps no sessions.
            self._without_cookie += 1
            if self._without_cookie >= _ANSWERS_WITHOUT_COOKIE:
                self._open.set()
