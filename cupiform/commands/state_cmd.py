"""``cupiform state list|show|rm|unlock``: inspect and repair the state; no server.

``show`` and ``rm`` take a resource's address or, while no other kind has that name, its
bare name. ``rm`` only forgets: the object stays on the server, unmanaged.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from cupiform.config import load_config
from cupiform.resources.kinds import resolve_address
from cupiform.state import State, StateBackend, load_state, open_backend


def _open(directory: Path) -> tuple[StateBackend, str]:
    config = load_config(directory, os.environ)
    return open_backend(config), config.server.identity


def _load(directory: Path) -> tuple[StateBackend, State]:
    backend, server = _open(directory)
    return backend, load_state(backend, server)


def list_addresses(directory: Path) -> str:
    """Every address in the state, sorted, one a line."""
    _, state = _load(directory)
    return "\n".join(sorted(state.resources))


def show(directory: Path, name: str) -> str:
    """One resource's state entry as JSON."""
    backend, state = _load(directory)
    address = resolve_address(name, state.resources, where=backend.location)
    entry = state.resources[address]
    document = {
        "address": address,
        "object_id": entry.object_id,
        "attributes": dict(entry.attributes),
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)


def remove(directory: Path, names: Sequence[str]) -> str:
    """Forget resources (all or none), under the state's lock."""
    backend, server = _open(directory)
    with backend.lock("state rm"):
        state = load_state(backend, server)
        addresses = sorted(
            {resolve_address(n, state.resources, where=backend.location) for n in names}
        )
        backend.write(state.without(*addresses))
    return "\n".join(
        f"Removed {address} (object {state.resources[address].object_id}) from the state; "
        "the object stays on the server."
        for address in addresses
    )


def unlock(directory: Path) -> str:
    """Clear a lock whose holder is gone; refused, naming the holder, while it runs."""
    backend, _ = _open(directory)
    stale = backend.clear_stale_lock()
    if stale is None:
        return f"The state {backend.location} is not locked."
    return f"Cleared the lock left by {stale.describe()}."
