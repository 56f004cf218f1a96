"""The HTTP log of ``-v``: one line per request and per answer, on the ``cupiform.http`` logger.

Lines say method, URL path and query, status and time. Headers are logged at DEBUG with
``Authorization``, ``Cookie`` and ``Set-Cookie`` values replaced by ``[redacted]``: a
credential or a session cookie (which is as good as one) never reaches a log.
Bodies are not logged.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import TextIO

import httpx

HTTP_LOGGER = "cupiform.http"
REDACTED = "[redacted]"
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})

http_log = logging.getLogger(HTTP_LOGGER)


def redact(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Headers with the values of credentials and cookies replaced."""
    return [
        (name, REDACTED if name.lower() in _SECRET_HEADERS else value) for name, value in headers
    ]


def _header_text(headers: httpx.Headers) -> str:
    return ", ".join(f"{name}: {value}" for name, value in redact(headers.multi_items()))


def target(url: httpx.URL) -> str:
    """What a log line names: path and query, as sent."""
    return url.raw_path.decode("ascii", "replace")


def request_sent(request: httpx.Request) -> None:
    if http_log.isEnabledFor(logging.DEBUG):
        http_log.debug(
            "> %s %s [%s]", request.method, target(request.url), _header_text(request.headers)
        )


def answer_received(request: httpx.Request, response: httpx.Response, seconds: float) -> None:
    http_log.info(
        "%s %s -> %d %s (%.1f ms)",
        request.method,
        target(request.url),
        response.status_code,
        response.reason_phrase,
        seconds * 1000,
    )
    if http_log.isEnabledFor(logging.DEBUG):
        http_log.debug("< %d [%s]", response.status_code, _header_text(response.headers))


def no_answer(request: httpx.Request, error: Exception, seconds: float) -> None:
    http_log.info(
        "%s %s -> no answer: %s (%.1f ms)",
        request.method,
        target(request.url),
        type(error).__name__,
        seconds * 1000,
    )


def enable(stream: TextIO | None = None, level: int = logging.DEBUG) -> logging.Handler:
    """Send the HTTP log to ``stream`` (stderr by default); returns the handler, so that
    the caller can remove it. For the CLI's ``-v``."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    http_log.addHandler(handler)
    http_log.setLevel(level)
    return handler
