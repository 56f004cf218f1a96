"""Manifests: the YAML files that declare resources, read into a checked ``ManifestSet``.

Each file is parsed with its positions kept (``yamlload``), checked against
``schemas/manifest.schema.json``, then against the rules a schema cannot state: a name
declared once across all files, each kind's unique fields (an SMTP address) declared once
without regard to case, and each field's own syntax check (the addr-spec). Every problem of
every file is collected and raised together as one ``ManifestError``.

Owner aliases are not looked up here (that needs the server): each resource carries its
owner's alias or ObjectId and where the manifest names it, for the planner.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import repeat
from pathlib import Path

from cupiform.config import Config
from cupiform.errors import ManifestError, Problem
from cupiform.model import ManifestSet, Owner, Resource, Source
from cupiform.quickload import Entry, QuickReader, Uniform
from cupiform.resources.kinds import KINDS, ResourceKind
from cupiform.schema import Schema
from cupiform.yamlload import (
    Position,
    YamlDocument,
    YamlMapping,
    parse_yaml,
    position_of,
    without_cyclic_gc,
)

# Records are named tuples; made by tuple.__new__ on the hot path, which is what their
# constructors call, minus a Python-level call per record.
_new = tuple.__new__

# A unique value's first declaration: the resource's address, its file and the value's
# position there. Kept by kind and key, then by the value in lower case.
_Declaration = tuple[str, str, Position]
_Unique = dict[tuple[str, str], dict[str, _Declaration]]


def load_manifests(config: Config, kinds: Sequence[ResourceKind] = KINDS) -> ManifestSet:
    """Every resource the project's ``manifests:`` globs declare; ``ManifestError`` with
    every problem found, including globs that match no file."""
    files, problems = config.manifest_files()
    return load_manifest_files(files, kinds, problems)


def load_manifest_files(
    files: Sequence[tuple[Path, str]],
    kinds: Sequence[ResourceKind] = KINDS,
    problems: Iterable[Problem] = (),
    *,
    quick: bool = True,
) -> ManifestSet:
    """The resources of ``files`` (each a path and how messages name it), in that order.
    ``quick=False`` reads every file by the general path (for tests of the fast one)."""
    with without_cyclic_gc():
        return _load(files, kinds, list(problems), quick)


def _load(
    files: Sequence[tuple[Path, str]],
    kinds: Sequence[ResourceKind],
    found: list[Problem],
    quick: bool,
) -> ManifestSet:
    schema = Schema("manifest")
    reader = QuickReader.from_schema(schema.document, kinds) if quick else None
    resources: list[Resource] = []
    declared: dict[str, Source] = {}
    unique: _Unique = {}

    def take_each(entries: Iterable[Entry], file: str, refused: set[tuple[str, str]]) -> None:
        """The resources of ``entries`` one by one, each problem found and worded."""
        for entry in entries:
            kind, name, name_at = entry.kind, entry.name, entry.name_at
            source = _new(Source, (file, name_at[0], name_at[1]))
            address = f"{kind.name}.{name}"
            first = declared.setdefault(address, source)
            if first is not source:
                message = f"{kind.section}: '{name}' is already declared at {first}"
                found.append(_problem(source, message))
            if refused and (kind.section, name) in refused:
                continue
            resource = _resource(entry, source, found)
            if resource is not None and _is_unique(kind, address, resource, entry, unique, found):
                resources.append(resource)

    for path, file in files:
        try:
            data = path.read_bytes()
        except OSError as error:
            found.append(Problem(file, 1, 1, f"cannot read: {error.strerror}"))
            continue
        text = _text(data) if reader is not None else None
        if reader is not None and text is not None:
            sections = reader.read_uniform(text)
            if sections is not None:  # read by lines: taken a section at a time if all is well
                for section in sections:
                    taken = _take_uniform(section, file, declared, unique)
                    if taken is not None:
                        resources.extend(taken)
                    else:
                        take_each(section.entries(), file, set())
                continue
            entries = reader.read_events(text)
            if entries is not None:
                take_each(entries, file, set())
                continue
        refused: set[tuple[str, str]] = set()  # the schema's refusals come first
        entries = _read_generally(parse_yaml(data, file), kinds, schema, found, refused)
        take_each(entries, file, refused)
    if found:
        raise ManifestError(found)
    return ManifestSet(files=tuple(file for _, file in files), resources=tuple(resources))


def _take_uniform(
    section: Uniform,
    file: str,
    declared: dict[str, Source],
    unique: _Unique,
) -> list[Resource] | None:
    """The section's resources, built a column at a time, when not one of them breaks a
    rule (so that there is nothing to report); else None, with nothing recorded, and the
    caller takes the resources one by one, which finds and words each problem."""
    kind, names, lines, keys = section.kind, section.names, section.lines, section.same_keys()
    if keys is None:
        return None  # keys in other orders, or another owner key: one by one
    columns = dict(zip(keys, section.values, strict=True))
    owner = kind.owner
    if (owner.alias_key in columns) == (owner.id_key in columns):
        return None
    owner_key = owner.alias_key if owner.alias_key in columns else owner.id_key
    addresses = [f"{kind.name}.{name}" for name in names]
    if not declared.keys().isdisjoint(addresses):
        return None
    fields = [f for f in kind.fields if f.key in columns]
    for manifest_field in fields:
        check, values = manifest_field.check, columns[manifest_field.key]
        quick = manifest_field.check_all
        if check is not None and not (quick and quick(values)) and any(map(check, values)):
            return None  # a refused value: reported one by one
    new_unique: list[tuple[tuple[str, str], list[str], list[_Declaration]]] = []
    for manifest_field in fields:
        if manifest_field.unique:
            key = manifest_field.key
            lowered = list(map(str.lower, columns[key]))
            before = unique.get((kind.name, key), {})
            if len(set(lowered)) != len(lowered) or not before.keys().isdisjoint(lowered):
                return None
            offset, value_column = section.value_place(key, keys.index(key))
            at = [(line + offset, value_column) for line in lines]
            declarations = list(zip(addresses, repeat(file), at))
            new_unique.append(((kind.name, key), lowered, declarations))
    for unique_key, lowered, declarations in new_unique:
        unique.setdefault(unique_key, {}).update(zip(lowered, declarations, strict=True))
    name_column = section.name_column
    sources = [_new(Source, (file, line, name_column)) for line in lines]
    declared.update(zip(addresses, sources, strict=True))
    offset, owner_column = section.value_place(owner_key, keys.index(owner_key))
    by_alias = owner_key == owner.alias_key
    owned = [
        _new(
            Owner,
            (
                value if by_alias else None,
                None if by_alias else value,
                _new(Source, (file, line + offset, owner_column)),
            ),
        )
        for value, line in zip(columns[owner_key], lines, strict=True)
    ]
    names_of = [f.field for f in fields]
    values_of = [columns[f.key] for f in fields]
    if len(names_of) == 1:
        (only,) = names_of
        attributes: list[dict[str, str]] = [{only: value} for value in values_of[0]]
    else:
        attributes = [
            dict(zip(names_of, values, strict=True)) for values in zip(*values_of, strict=True)
        ]
    kind_name = kind.name
    return [
        _new(Resource, (kind_name, name, fields_of, owner_of, source))
        for name, fields_of, owner_of, source in zip(names, attributes, owned, sources, strict=True)
    ]


def _text(data: bytes) -> str | None:
    """The file's text when it is plain UTF-8 (else the general path reads it, and says
    where it is not)."""
    if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _read_generally(
    document: YamlDocument,
    kinds: Sequence[ResourceKind],
    schema: Schema,
    found: list[Problem],
    refused: set[tuple[str, str]],
) -> list[Entry]:
    """The file's resources by the general path; its problems are added to ``found``, and
    the resources the schema refused (section, name) to ``refused``."""
    found.extend(document.problems)
    root = document.root
    if not document.parsed or root is None:
        return []
    if not isinstance(root, YamlMapping):
        position = getattr(root, "position", (1, 1))
        what = "a list" if isinstance(root, list) else f"the value {root!r}"
        example = f" (such as {kinds[0].section}:)" if kinds else ""
        message = f"expected a mapping of resource kinds{example}, got {what}"
        found.append(document.problem(position, message))
        return []
    violations = schema.violations(root)
    found.extend(
        document.problem(position_of(root, v.path, key=v.at_key), v.message) for v in violations
    )
    refused.update((str(v.path[0]), str(v.path[1])) for v in violations if len(v.path) >= 2)
    entries: list[Entry] = []
    for kind in kinds:
        section = root.get(kind.section)
        if not isinstance(section, YamlMapping):
            continue
        for name, body in section.items():
            entries.append(
                Entry(kind, name, section.keys_at[name], body, getattr(body, "values_at", {}))
            )
    return entries


def _problem(source: Source, message: str) -> Problem:
    return Problem(source.file, source.line, source.column, message)


def _resource(entry: Entry, source: Source, found: list[Problem]) -> Resource | None:
    """The resource ``entry`` declares, or None when a field's own check refuses it."""
    kind, name, _, body, values_at = entry
    attributes: dict[str, str] = {}
    valid = True
    for manifest_field in kind.fields:
        value = body.get(manifest_field.key)
        if value is None:
            continue
        check = manifest_field.check
        if check is not None:
            refusal = check(value)
            if refusal is not None:
                where = Source(source.file, *values_at[manifest_field.key])
                found.append(
                    _problem(where, f"{kind.section}.{name}.{manifest_field.key}: {refusal}")
                )
                valid = False
        attributes[manifest_field.field] = value
    owner = kind.owner
    alias = body.get(owner.alias_key)
    object_id = body.get(owner.id_key)
    if (owner.alias_key in body) == (owner.id_key in body):
        found_keys = "both" if owner.alias_key in body else "neither"
        found.append(
            _problem(
                source,
                f"{kind.section}.{name}: exactly one of '{owner.alias_key}' or "
                f"'{owner.id_key}' is needed, found {found_keys}",
            )
        )
        return None
    if not valid:
        return None
    owner_at = values_at[owner.alias_key if owner.alias_key in body else owner.id_key]
    owner_source = _new(Source, (source.file, owner_at[0], owner_at[1]))
    return _new(
        Resource,
        (kind.name, name, attributes, _new(Owner, (alias, object_id, owner_source)), source),
    )


def _is_unique(
    kind: ResourceKind,
    address: str,
    resource: Resource,
    entry: Entry,
    unique: _Unique,
    found: list[Problem],
) -> bool:
    """Record the resource's unique values; false (with a problem) when one of them was
    declared before, compared without regard to case."""
    clean = True
    body = entry.values
    for manifest_field in kind.fields:
        if not manifest_field.unique or manifest_field.key not in body:
            continue
        value: str = body[manifest_field.key]
        at = entry.values_at[manifest_field.key]
        declarations = unique.setdefault((kind.name, manifest_field.key), {})
        first_address, first_file, first_at = declarations.setdefault(
            value.lower(), (address, resource.source.file, at)
        )
        if first_address == address:
            continue
        here = Source(resource.source.file, *at)
        there = Source(first_file, *first_at)
        found.append(
            _problem(
                here,
                f"{kind.section}.{resource.name}.{manifest_field.key}: '{value}' is already "
                f"declared by {first_address} at {there}",
            )
        )
        clean = False
    return clean
