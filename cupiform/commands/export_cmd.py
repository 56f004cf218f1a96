"""``cupiform export --out DIR``: every proxy address on the server, written as manifests and
bound in the project's state, so that a plan whose ``manifests:`` globs cover DIR is empty.

Two listings in all (the addresses, the users), then a pure step (``build_export``) that
names each object and sorts it into a file per owner's alias initial (``j.yaml``), then the
files (atomically), then the state (once, atomically). The manifests are written before
the state: a crash in between leaves manifests whose objects the next plan adopts, never a
state whose objects no manifest declares (which a plan would delete).

Left out, each with a warning: addresses that fail cupiform's addr-spec check (no valid
manifest can declare them) and addresses whose owner is not a user (contacts, lists...).
Refused: a state that already manages objects, and a DIR that already holds manifests.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from cupiform.commands.project import warn
from cupiform.config import Config, load_config
from cupiform.connect import open_client
from cupiform.errors import CupiformError, UsageError
from cupiform.resources.kinds import SMTP_PROXY_ADDRESS, ResourceKind
from cupiform.schema import schema_document
from cupiform.state import StateEntry, load_state, open_backend
from cupiform.state.atomic import write_atomically

_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

_NAME_MAX = 128
_SUFFIX_ROOM = 8  # "-" and up to 7 digits of a collision counter
_NOT_NAME = re.compile(r"[^a-z0-9_]+")
_MANIFEST_SUFFIXES = (".yaml", ".yml")
_FILE_INITIAL = re.compile(r"[a-z0-9]")


@dataclass(frozen=True)
class ExportedObject:
    """One server object as a manifest resource: its name, its manifest body, its binding."""

    kind: str
    name: str
    file: str  # "j.yaml"
    body: Mapping[str, str]  # manifest keys: {"address": ..., "user": ...}
    entry: StateEntry


@dataclass(frozen=True)
class Skipped:
    """An object left out because no valid manifest can declare it."""

    value: str
    object_id: str
    owner: str  # "user 'jdoe' (<id>)", for the warning
    owner_id: str
    reason: str


@dataclass
class Export:
    """What ``build_export`` made of the server's objects (filled in as it goes)."""

    objects: list[ExportedObject] = field(default_factory=list)  # in name-giving order
    skipped: list[Skipped] = field(default_factory=list)
    not_users: int = 0  # objects whose owner is not a user
    owners: int = 0  # distinct owners of the exported objects

    def files(self) -> dict[str, list[ExportedObject]]:
        """The objects of each file, by file name."""
        grouped: dict[str, list[ExportedObject]] = {}
        for obj in self.objects:
            grouped.setdefault(obj.file, []).append(obj)
        return dict(sorted(grouped.items()))


def slug(text: str) -> str:
    """``text`` as a piece of a resource name: lower-case ASCII letters, digits, ``_``, and
    ``-`` for every run of anything else, none at either end."""
    return _NOT_NAME.sub("-", text.lower()).strip("-")


def file_for(alias: str | None) -> str:
    """The manifest file of an owner: its alias's initial (lower-case), ``_`` for any other
    initial and for owners named by ObjectId."""
    initial = (alias or "_")[0].lower()
    return f"{initial if _FILE_INITIAL.fullmatch(initial) else '_'}.yaml"


def _usable_alias(alias: str) -> bool:
    """Whether manifests may name a user by this alias: the schema takes 1 to 64 characters,
    and the alias lookup cannot send outer blanks or control characters."""
    return (
        0 < len(alias) <= 64
        and alias == alias.strip()
        and not any(ord(c) < 32 or ord(c) == 127 for c in alias)
    )


def build_export(
    kind: ResourceKind, objects: Sequence[Mapping[str, str]], users: Sequence[Mapping[str, str]]
) -> Export:
    """The manifests' resources and state entries for ``objects`` of ``kind``, their owners
    named by alias from ``users`` (by ObjectId when not among them). Pure: no I/O.

    Names are ``<alias>-<value's local part>`` made safe (``jdoe-john-doe``), with ``-2``,
    ``-3``... on collision; objects are taken in a fixed order (owner, then value), so the
    same server gives the same names."""
    patterns = schema_document("manifest")["$defs"]
    name_pattern = re.compile(patterns["resource_name"]["pattern"])
    id_pattern = re.compile(patterns["object_id"]["pattern"])
    owner = kind.owner
    unique = next(f for f in kind.fields if f.unique)
    aliases: dict[str, str] = {}  # lower-cased ObjectId -> alias
    alias_count: dict[str, int] = {}
    for user in users:
        user_alias = user.get(owner.alias_field, "")
        aliases[user.get(owner.id_field, "").lower()] = user_alias
        alias_count[user_alias.lower()] = alias_count.get(user_alias.lower(), 0) + 1

    export = Export()
    ready: list[tuple[tuple[str, str, str, str], str | None, str, Mapping[str, str]]] = []
    for item in objects:
        value = item.get(unique.field, "")
        object_id = item.get("ObjectId", "")
        owner_id = item.get(owner.field, "")
        if not owner_id:
            export.not_users += 1
            continue
        alias = aliases.get(owner_id.lower())
        if alias is not None and not (_usable_alias(alias) and alias_count[alias.lower()] == 1):
            alias = None  # named by ObjectId instead
        label = f"user '{alias}' ({owner_id})" if alias else f"owner {owner_id}"
        problem = unique.check(value) if unique.check else None
        if problem is None and alias is None and not id_pattern.fullmatch(owner_id):
            problem = f"its owner's ObjectId '{owner_id}' is not a CUPI ObjectId"
        if problem is not None:
            export.skipped.append(Skipped(value, object_id, label, owner_id, problem))
            continue
        order = ((alias or "").casefold(), owner_id.lower(), value.casefold(), object_id.lower())
        ready.append((order, alias, object_id, item))

    used: set[str] = set()
    for _, owner_alias, object_id, item in sorted(ready, key=lambda entry: entry[0]):
        value = item[unique.field]
        owner_id = item[owner.field]
        owner_part = slug(owner_alias) if owner_alias else slug(owner_id)[:8]
        base = f"{owner_part or 'user'}-{slug(value.rpartition('@')[0]) or 'address'}"
        base = base[: _NAME_MAX - _SUFFIX_ROOM].rstrip("-")
        name, counter = base, 1
        while name in used:
            counter += 1
            name = f"{base}-{counter}"
        used.add(name)
        if not name_pattern.fullmatch(name):  # pragma: no cover - slug() makes this impossible
            raise AssertionError(f"export made an invalid resource name: {name!r}")
        body = {unique.key: value}
        if owner_alias:
            body[owner.alias_key] = owner_alias
        else:
            body[owner.id_key] = owner_id
        attributes = {f: item[f] for f in kind.state_attributes if f in item}
        export.objects.append(
            ExportedObject(
                kind.name, name, file_for(owner_alias), body, StateEntry(object_id, attributes)
            )
        )
    export.owners = len({item[owner.field].lower() for _, _, _, item in ready})
    return export


def render_manifest(kind: ResourceKind, objects: Iterable[ExportedObject], server: str) -> str:
    """One manifest file's text: a comment, then ``kind.section`` with every object."""
    document = {kind.section: {obj.name: dict(obj.body) for obj in objects}}
    text: str = yaml.dump(
        document,
        Dumper=_DUMPER,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 20,  # never fold a long value over two lines
    )
    return f"# Written by cupiform export from {server}; bound in the state.\n{text}"


def _manifests_in(directory: Path) -> list[str]:
    if not directory.exists():
        return []
    if not directory.is_dir():
        raise UsageError(f"export --out {directory}: not a directory")
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(_MANIFEST_SUFFIXES))


def _listed(names: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _count(number: int, singular: str, plural: str | None = None) -> str:
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


def _uncovered(config: Config, written: Sequence[Path]) -> bool:
    """Whether some written file is matched by none of the ``manifests:`` globs."""
    matched, _ = config.manifest_files()
    found = {path.resolve() for path, _ in matched}
    return any(path.resolve() not in found for path in written)


def run(out: Path) -> str:
    """Export into ``out`` (relative to the current directory); return the summary line."""
    kind = SMTP_PROXY_ADDRESS
    config = load_config(Path.cwd(), os.environ)
    backend = open_backend(config)
    server = config.server.identity
    directory = (Path.cwd() / out).resolve()
    shown = config.display(directory)
    terminal = sys.stderr.isatty()

    def progress(message: str) -> None:
        if terminal:
            print(f"cupiform: {message}", file=sys.stderr, flush=True)

    with backend.lock("export"):
        state = load_state(backend, server)
        if state.resources:
            raise UsageError(
                f"the state {backend.location} already manages "
                f"{_count(len(state.resources), 'object')}; export binds every object on the "
                "server and needs a state that manages none (point state: at a new file)"
            )
        existing = _manifests_in(directory)
        if existing:
            raise UsageError(
                f"export --out {shown}: the folder already holds manifests, which export "
                f"would overwrite or add to: {_listed(existing)}; give an empty folder"
            )
        with open_client(config, os.environ, warn=warn) as client:
            progress("reading the SMTP proxy addresses...")
            objects = client.list_all(kind.collection)
            progress(f"read {_count(len(objects), 'address', 'addresses')}; reading the users...")
            users = client.list_all(kind.owner.collection)
        export = build_export(kind, objects, users)
        _warn_skipped(config, kind, export)

        files = export.files()
        progress(f"writing {_count(len(files), 'file')} into {shown}...")
        written: list[Path] = []
        for name, objects_in_file in files.items():
            path = directory / name
            text = render_manifest(kind, objects_in_file, server)
            try:
                write_atomically(path, text.encode("utf-8"))
                path.chmod(0o644)  # manifests go to git and are read by all, unlike the state
            except OSError as error:
                raise CupiformError(
                    f"cannot write {path}: {error.strerror or error}; the state was not "
                    "changed (files written so far bind nothing)"
                ) from None
            written.append(path)
        if export.objects:
            entries = {kind.address(obj.name): obj.entry for obj in export.objects}
            backend.write(replace(state, resources=entries))

    if written and _uncovered(config, written):
        warn(
            f"the manifests: globs of cupiform.yaml do not cover {shown}/*.yaml: add it, or "
            "plans will not see these manifests and will delete the objects bound in state"
        )
    return (
        f"exported {_count(len(export.objects), 'address', 'addresses')} of "
        f"{_count(export.owners, 'user')} into {_count(len(written), 'file')} in {shown}; "
        f"bound in the state {backend.location}"
    )


def _warn_skipped(config: Config, kind: ResourceKind, export: Export) -> None:
    for skipped in export.skipped:
        warn(
            f"skipped '{skipped.value}' (ObjectId {skipped.object_id}, {skipped.owner}): "
            f"{skipped.reason}; no valid manifest can declare it, so it is neither written "
            "nor bound"
        )
    if export.not_users:
        warn(
            f"skipped {_count(export.not_users, 'address', 'addresses')} whose owner is not "
            f"a user (no {kind.owner.field}: contacts, distribution lists...); cupiform "
            "manages only users' addresses"
        )
    owners = {obj.entry.attributes.get(kind.owner.field, "").lower() for obj in export.objects}
    pruned = sum(1 for skipped in export.skipped if skipped.owner_id.lower() in owners)
    if config.prune and pruned:
        warn(
            f"prune: true in cupiform.yaml: the next apply deletes the "
            f"{_count(pruned, 'skipped address', 'skipped addresses')} of exported users, "
            "which no manifest declares"
        )
