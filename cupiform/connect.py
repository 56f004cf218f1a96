"""From the project's ``server:`` settings to a working client: a real CUPI server over
HTTPS, or with ``url: embedded`` the emulator in-process, on its SQLite file beside the
state file (seeded from ``server.seed`` when new), so that examples need no server and no
credentials."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping

from cupiform.config import Config
from cupiform.cupi.client import CupiClient
from cupiform.cupi.settings import ClientSettings
from cupiform.errors import ConfigError

EMBEDDED_URL = "https://embedded.cupiform.invalid:8443"
_EMBEDDED_LOGIN = "embedded"  # the in-process emulator's own account, not a secret


@contextlib.contextmanager
def open_client(
    config: Config,
    environ: Mapping[str, str],
    *,
    parallelism: int | None = None,
    warn: Callable[[str], None] | None = None,
) -> Iterator[CupiClient]:
    """A client for the project's server, closed (and the embedded emulator with it) after."""
    server = config.server
    workers = parallelism or server.parallelism
    if not server.embedded:
        settings = ClientSettings.from_environment(
            server.identity,
            verify=server.verify,
            format=server.format,
            timeout=server.timeout,
            page_size=server.page_size,
            parallelism=workers,
            environ=environ,
        )
        with CupiClient(settings, warn=warn) as client:
            yield client
        return
    # The emulator is imported only for url: embedded.
    from cupiform.emulator.core import Emulator
    from cupiform.emulator.seed import load_seed
    from cupiform.emulator.store import Store
    from cupiform.emulator.transport import EmulatorTransport

    database = config.emulator_db
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        message = f"cannot create {config.display(database.parent)}: {error.strerror}"
        raise ConfigError(message) from None
    store = Store(str(database))
    try:
        if server.seed is not None and store.is_empty():
            load_seed(store, server.seed)
        emulator = Emulator(store, username=_EMBEDDED_LOGIN, password=_EMBEDDED_LOGIN)
        settings = ClientSettings(
            url=EMBEDDED_URL,
            username=_EMBEDDED_LOGIN,
            password=_EMBEDDED_LOGIN,
            format=server.format,
            timeout=server.timeout,
            page_size=server.page_size,
            parallelism=workers,
        )
        with CupiClient(settings, transport=EmulatorTransport(emulator), warn=warn) as client:
            yield client
    finally:
        store.close()
