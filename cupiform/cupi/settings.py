"""How to reach a CUPI server: the ``server:`` part of cupiform.yaml plus the credentials.

Credentials come only from the environment (``CUPI_USERNAME``, ``CUPI_PASSWORD``) and are
kept out of ``repr`` so that no traceback or log line can show them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from cupiform.errors import ConfigError

WireFormat = Literal["json", "xml"]

USERNAME_VARIABLE = "CUPI_USERNAME"
PASSWORD_VARIABLE = "CUPI_PASSWORD"

DEFAULT_TIMEOUT = 30.0
DEFAULT_PAGE_SIZE = 1000
DEFAULT_PARALLELISM = 4


@dataclass(frozen=True)
class ClientSettings:
    """Everything the client needs to know about one server.

    ``url`` is the server root (``https://host:8443``); ``/vmrest`` is appended per call.
    ``verify`` is True (system trust), False (no verification: warned about), or the path
    of a PEM CA bundle, which is how a self-signed server certificate is meant to be trusted.
    """

    url: str
    username: str = field(repr=False)
    password: str = field(repr=False)
    verify: bool | str = True
    format: WireFormat = "json"
    timeout: float = DEFAULT_TIMEOUT
    page_size: int = DEFAULT_PAGE_SIZE
    parallelism: int = DEFAULT_PARALLELISM

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", normalize_url(self.url))
        if self.format not in ("json", "xml"):
            raise ConfigError(f"server.format must be json or xml, not {self.format!r}")
        if isinstance(self.timeout, bool) or not self.timeout > 0:
            raise ConfigError(f"server.timeout must be a positive number, not {self.timeout!r}")
        for name in ("page_size", "parallelism"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"server.{name} must be a whole number of 1 or more")
        if isinstance(self.verify, str) and not self.verify:
            raise ConfigError("server.verify must be true, false or the path of a CA bundle")
        if not self.username or not self.password:
            raise ConfigError(
                f"no credentials: set {USERNAME_VARIABLE} and {PASSWORD_VARIABLE} "
                "in the environment"
            )

    @classmethod
    def from_environment(
        cls,
        url: str,
        *,
        verify: bool | str | Path = True,
        format: WireFormat = "json",
        timeout: float = DEFAULT_TIMEOUT,
        page_size: int = DEFAULT_PAGE_SIZE,
        parallelism: int = DEFAULT_PARALLELISM,
        environ: Mapping[str, str] | None = None,
    ) -> ClientSettings:
        """Settings from the ``server:`` values, with credentials from ``environ``
        (the process environment by default)."""
        env = os.environ if environ is None else environ
        return cls(
            url=url,
            username=env.get(USERNAME_VARIABLE, ""),
            password=env.get(PASSWORD_VARIABLE, ""),
            verify=str(verify) if isinstance(verify, Path) else verify,
            format=format,
            timeout=float(timeout),
            page_size=page_size,
            parallelism=parallelism,
        )


def normalize_url(url: str) -> str:
    """The server root: scheme and authority, no trailing slash, no ``/vmrest``."""
    text = url.strip()
    # An "@" may mean user:password@host: such a URL is refused and never echoed.
    shown = repr(text) if "@" not in text else "(not shown: it holds an @)"
    parts = urlsplit(text)
    if "@" in parts.netloc:
        raise ConfigError(
            "server.url must not hold credentials: "
            f"set {USERNAME_VARIABLE} and {PASSWORD_VARIABLE} instead"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"server.url must be an http(s) URL such as https://host:8443, not {shown}"
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"server.url must not have a query or fragment, not {shown}")
    path = parts.path.rstrip("/")
    if path.lower().endswith("/vmrest"):
        path = path[: -len("/vmrest")]
    return f"{parts.scheme}://{parts.netloc}{path}"
