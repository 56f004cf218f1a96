"""The CUPI client: the one place that talks to a Unity Connection server.

settings.py   ClientSettings: the server: part of cupiform.yaml plus credentials
client.py     CupiClient: listing, count, get, create, update, delete, user look-ups
codec.py      JSON and XML bodies <-> plain values, with every quirk of the server
query.py      (column is value) / (column startswith value) and paging parameters
retry.py      how often and how long to wait before another attempt
limiter.py    the concurrency window shared by every thread (AIMD on 503)
session.py    one server session for the run, even with many threads
log.py        the -v HTTP log, credentials and cookies redacted
"""

from __future__ import annotations

import sys

# httpx imports its own command-line tool, and with it rich and pygments, whenever rich is
# installed (cupiform's progress bar needs it): about 50 ms of every command's start-up,
# spent before the server is first asked. cupiform never runs that tool; a module set to
# None in sys.modules is one that cannot be imported, which httpx allows for.
if "httpx" not in sys.modules and "httpx._main" not in sys.modules:
    sys.modules["httpx._main"] = None  # type: ignore[assignment]

from cupiform.cupi.client import CupiClient
from cupiform.cupi.limiter import ConcurrencyLimiter
from cupiform.cupi.query import Query, is_, startswith
from cupiform.cupi.retry import RetryPolicy
from cupiform.cupi.settings import ClientSettings

if sys.modules.get("httpx._main", False) is None:
    del sys.modules["httpx._main"]  # importable again, by whoever wants httpx's own tool

__all__ = [
    "ClientSettings",
    "ConcurrencyLimiter",
    "CupiClient",
    "Query",
    "RetryPolicy",
    "is_",
    "startswith",
]
