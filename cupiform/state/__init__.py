"""The state: cupiform's memory of which server object each resource is.

``document`` holds the values and their JSON form, ``backend`` the store interface and
the file store, ``atomic`` the crash-safe write, ``lock`` the one-writer-at-a-time lock.
Commands get a store with ``open_backend`` and the state with ``load_state``, which
refuses another server's state.
"""

from __future__ import annotations

from cupiform.config import Config
from cupiform.errors import StateMismatchError
from cupiform.state.backend import FileStateBackend, StateBackend
from cupiform.state.document import FORMAT_VERSION, State, StateEntry
from cupiform.state.lock import LockInfo

__all__ = [
    "FORMAT_VERSION",
    "FileStateBackend",
    "LockInfo",
    "State",
    "StateBackend",
    "StateEntry",
    "load_state",
    "open_backend",
]


def open_backend(config: Config) -> StateBackend:
    """The project's state store (``state:`` in cupiform.yaml)."""
    return FileStateBackend(config.state, config.display(config.state))


def load_state(backend: StateBackend, server: str) -> State:
    """The state of ``server`` (``ServerConfig.identity``): the stored one, or a new empty one
    when there is none yet. Another server's state is refused, never used or replaced."""
    state = backend.read()
    if state is None:
        return State.new(server)
    if state.server != server:
        raise StateMismatchError(
            f"the state {backend.location} belongs to server '{state.server}', not to "
            f"'{server}' (server.url, or CUPIFORM_SERVER_URL); it is left as it is: "
            "point state: at another file for this server"
        )
    return state
