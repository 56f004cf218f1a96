"""Every error cupiform expects, in one tree.

Anything below ``CupiformError`` is a user-facing condition: the CLI's error boundary
prints its message (one line, or a few for lists of problems) on stderr and exits 1.
Anything else that escapes is a bug.

    CupiformError
     ├── UsageError                 a command line that cannot be carried out
     ├── ConfigError                cupiform.yaml is missing, unreadable or invalid
     │    └── InvalidConfigError    cupiform.yaml refused; carries every Problem found
     ├── ManifestError              manifests refused; carries every Problem found
     ├── StateError                 the state file cannot be used
     │    ├── StateCorruptError     it does not parse or breaks the schema (left untouched)
     │    ├── StateLockedError      another process holds the lock (names the holder)
     │    └── StateMismatchError    another server's state, newer format, stale saved plan
     ├── PlanError                  the desired state cannot be planned (conflicts, aliases)
     ├── ApplyError                 one or more calls failed during apply
     ├── EmulatorError              the emulator cannot start (bad seed, port in use)
     └── CupiError                  talking to a CUPI server failed
          ├── TransportError        no HTTP answer at all
          │    ├── ConnectError     could not connect (refused, DNS, reset)
          │    ├── TLSError         certificate verification or handshake failed
          │    └── RequestTimeout   no answer within the configured timeout
          ├── OutcomeUnknownError   a POST got no clear answer, and looking up its object
          │                         could not tell whether it was created
          └── ServerError           the server answered with an error status
               ├── AuthenticationError   401 (never retried)
               ├── NotFoundError         404 NOT_FOUND
               ├── ThrottledError        503 server busy
               ├── RejectedError         any other refusal (400 DATA_EXCEPTION, 403, 415, 5xx...)
               └── BadResponseError      an answer that cannot be read (a malformed body,
                                         a 201 naming no ObjectId)

Messages say what was asked, of what, and what came back; they never hold a credential.
"""

from __future__ import annotations

from dataclasses import dataclass


class CupiformError(Exception):
    """A condition the user can act on; printed without a traceback."""


class UsageError(CupiformError):
    pass


class ConfigError(CupiformError):
    pass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, and where."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


def _sorted_problems(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.file, p.line, p.column, p.message))


def _problem_list(problems: list[Problem]) -> str:
    count = len(problems)
    header = f"{count} error{'s' if count != 1 else ''}:"
    return "\n".join([header, *(f"  {p}" for p in problems)])


class ManifestError(CupiformError):
    """Refused input; ``problems`` holds every one found, sorted by file and line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = _sorted_problems(problems)
        super().__init__(_problem_list(self.problems))


class InvalidConfigError(ConfigError):
    """cupiform.yaml refused; ``problems`` holds every one found, sorted by line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = _sorted_problems(problems)
        super().__init__(_problem_list(self.problems))


class StateError(CupiformError):
    pass


class StateCorruptError(StateError):
    pass


class StateLockedError(StateError):
    pass


class StateMismatchError(StateError):
    pass


class PlanError(CupiformError):
    pass


class ApplyError(CupiformError):
    pass


class EmulatorError(CupiformError):
    pass


class CupiError(CupiformError):
    """Talking to a CUPI server failed. ``request`` names the call, e.g. ``GET https://h/vmrest/x``."""

    def __init__(self, message: str, *, request: str = "") -> None:
        self.request = request
        super().__init__(message)


class TransportError(CupiError):
    pass


class ConnectError(TransportError):
    pass


class TLSError(TransportError):
    pass


class RequestTimeout(TransportError):
    pass


class ServerError(CupiError):
    """The server answered with an error status; ``code`` is the CUPI error code when given."""

    def __init__(
        self, message: str, *, request: str = "", status: int = 0, code: str = "", detail: str = ""
    ) -> None:
        self.status = status
        self.code = code
        self.detail = detail
        super().__init__(message, request=request)


class AuthenticationError(ServerError):
    pass


class NotFoundError(ServerError):
    pass


class ThrottledError(ServerError):
    pass


class RejectedError(ServerError):
    pass


class OutcomeUnknownError(CupiError):
    pass


class BadResponseError(ServerError):
    pass
