"""The state document: what it holds, and its JSON form (``schemas/state.schema.json``).

Encoded with keys sorted and one resource per line, so that a diff of two states shows
one line per changed object; decoded with every refusal named: JSON that does not parse
(or repeats a key), a newer ``format_version``, anything the schema refuses.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from itertools import repeat
from operator import itemgetter
from typing import Any, NamedTuple

from cupiform.errors import StateCorruptError, StateMismatchError
from cupiform.schema import Schema

FORMAT_VERSION = 1


class StateEntry(NamedTuple):
    """One managed object: its ObjectId and the attributes last written or seen. (A named
    tuple: a large state holds hundreds of thousands.)"""

    object_id: str
    attributes: Mapping[str, str]


@dataclass(frozen=True)
class State:
    """What cupiform manages on one server. ``lineage`` is fixed when a state is created and
    ``serial`` grows with every write: serial 0 is a state never written, whose lineage is
    provisional until its first write creates the file."""

    lineage: str
    serial: int
    server: str
    resources: Mapping[str, StateEntry] = field(default_factory=dict)

    @classmethod
    def new(cls, server: str) -> State:
        return cls(lineage=str(uuid.uuid4()), serial=0, server=server, resources={})

    def with_entry(self, address: str, entry: StateEntry) -> State:
        return replace(self, resources={**self.resources, address: entry})

    def without(self, *addresses: str) -> State:
        gone = set(addresses)
        kept = {address: e for address, e in self.resources.items() if address not in gone}
        return replace(self, resources=kept)


_encode = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(", ", ": ")).encode


EncodedLines = dict[str, tuple[StateEntry, str]]


def _line(address: str, entry: StateEntry) -> str:
    body = {"attributes": dict(entry.attributes), "object_id": entry.object_id}
    return f"    {_encode(address)}: {_encode(body)}"


def encode_state(state: State, lines_cache: EncodedLines | None = None) -> bytes:
    """The file's bytes: keys sorted, one resource per line, one trailing newline.

    ``lines_cache`` (address -> the entry and its line) spares re-encoding the entries that
    did not change since the last write: an apply writes state after every call, and most
    of a large state stays as it was. It is updated in place.
    """
    if lines_cache is None:
        lines_cache = {}
    entries = []
    for address, entry in sorted(state.resources.items()):
        cached = lines_cache.get(address)
        if cached is None or cached[0] is not entry:
            cached = (entry, _line(address, entry))
            lines_cache[address] = cached
        entries.append(cached[1])
    if len(lines_cache) > len(state.resources):
        for gone in set(lines_cache) - set(state.resources):
            del lines_cache[gone]
    resources = "{\n" + ",\n".join(entries) + "\n  }" if entries else "{}"
    lines = [
        "{",
        f'  "format_version": {FORMAT_VERSION},',
        f'  "lineage": {_encode(state.lineage)},',
        f'  "resources": {resources},',
        f'  "serial": {state.serial},',
        f'  "server": {_encode(state.server)}',
        "}",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


class _DuplicateKey(ValueError):
    pass


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return mapping


def decode_state(data: bytes, location: str, schema: Schema) -> State:
    """The state in ``data``, read from ``location`` (named in errors)."""
    document = _checked_document(data, location, schema)
    return State(
        lineage=document["lineage"],
        serial=document["serial"],
        server=document["server"],
        resources={
            # tuple.__new__: what StateEntry(...) calls, minus a Python-level call per entry
            address: tuple.__new__(StateEntry, (entry["object_id"], entry["attributes"]))
            for address, entry in document["resources"].items()
        },
    )


# A state as plain columns (``marshal`` writes them: see ``offload``): lineage, serial,
# server, then each resource's address, object id and attributes.
StateColumns = tuple[str, int, str, list[str], list[str], list[dict[str, str]]]


def decode_state_columns(data: bytes, location: str, schema: Schema) -> StateColumns:
    """``decode_state``, as columns (``state_from_columns`` makes the state of them)."""
    document = _checked_document(data, location, schema)
    entries = document["resources"].values()
    return (
        document["lineage"],
        document["serial"],
        document["server"],
        list(document["resources"]),
        list(map(itemgetter("object_id"), entries)),
        list(map(itemgetter("attributes"), entries)),
    )


def _checked_document(data: bytes, location: str, schema: Schema) -> Any:
    """The state file's document, once nothing in it is refused."""
    untouched = "it is left as it is; repair it, or restore the .backup beside it"
    try:
        document = json.loads(data.decode("utf-8"), object_pairs_hook=_refuse_duplicates)
    except UnicodeDecodeError as error:
        raise StateCorruptError(
            f"{location} is not a state file: not UTF-8 at byte {error.start}; {untouched}"
        ) from None
    except _DuplicateKey as error:
        raise StateCorruptError(
            f"{location} is not a valid state file: the key '{error}' appears twice in one "
            f"object; {untouched}"
        ) from None
    except json.JSONDecodeError as error:
        raise StateCorruptError(
            f"{location} is not a state file: {error.msg} at line {error.lineno} column "
            f"{error.colno}; {untouched}"
        ) from None
    except RecursionError:
        raise StateCorruptError(
            f"{location} is not a state file: nested too deeply; {untouched}"
        ) from None
    if isinstance(document, dict):
        version = document.get("format_version")
        if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
            raise StateMismatchError(
                f"{location} has format_version {version}, written by a newer cupiform; this "
                f"one reads format_version {FORMAT_VERSION}: upgrade cupiform to use it"
            )
    violations = schema.violations(document)
    if violations:
        listed = "\n".join(sorted(f"  {v.described()}" for v in violations))
        raise StateCorruptError(
            f"{location} does not follow the state file format; {untouched}:\n{listed}"
        )
    return document


def state_from_columns(columns: StateColumns) -> State:
    """The state of these columns (``decode_state_columns``)."""
    lineage, serial, server, addresses, object_ids, attributes = columns
    entries = map(tuple.__new__, repeat(StateEntry), zip(object_ids, attributes, strict=True))
    return State(lineage, serial, server, dict(zip(addresses, entries, strict=True)))


def state_schema() -> Schema:
    return Schema("state")
