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
from pathlib import Path

from cupiform.config import Config
from cupiform.errors import ManifestError, Problem
from cupiform.model import ManifestSet, Owner, Resource, Source
from cupiform.resources.kinds import KINDS, ResourceKind
from cupiform.schema import Schema
from cupiform.yamlload import YamlMapping, load_yaml_file, position_of, without_cyclic_gc

# A unique value's first declaration: the resource's address, its file and its body.
_Declaration = tuple[str, str, YamlMapping]


def load_manifests(config: Config, kinds: Sequence[ResourceKind] = KINDS) -> ManifestSet:
    """Every resource the project's ``manifests:`` globs declare; ``ManifestError`` with
    every problem found, including globs that match no file."""
    files, problems = config.manifest_files()
    return load_manifest_files(files, kinds, problems)


def load_manifest_files(
    files: Sequence[tuple[Path, str]],
    kinds: Sequence[ResourceKind] = KINDS,
    problems: Iterable[Problem] = (),
) -> ManifestSet:
    """The resources of ``files`` (each a path and how messages name it), in that order."""
    with without_cyclic_gc():
        return _load(files, kinds, list(problems))


def _load(
    files: Sequence[tuple[Path, str]], kinds: Sequence[ResourceKind], found: list[Problem]
) -> ManifestSet:
    schema = Schema("manifest")
    resources: list[Resource] = []
    declared: dict[str, Source] = {}
    unique: dict[tuple[str, str, str], _Declaration] = {}
    for path, file in files:
        document = load_yaml_file(path, file)
        found.extend(document.problems)
        root = document.root
        if not document.parsed or root is None:
            continue
        if not isinstance(root, YamlMapping):
            position = getattr(root, "position", (1, 1))
            what = "a list" if isinstance(root, list) else f"the value {root!r}"
            example = f" (such as {kinds[0].section}:)" if kinds else ""
            message = f"expected a mapping of resource kinds{example}, got {what}"
            found.append(document.problem(position, message))
            continue
        violations = schema.violations(root)
        found.extend(
            document.problem(position_of(root, v.path, key=v.at_key), v.message) for v in violations
        )
        refused = {v.path[:2] for v in violations}
        for kind in kinds:
            section = root.get(kind.section)
            if not isinstance(section, YamlMapping):
                continue
            for name, body in section.items():
                source = Source(file, *section.keys_at[name])
                first = declared.setdefault(kind.address(name), source)
                if first is not source:
                    message = f"{kind.section}: '{name}' is already declared at {first}"
                    found.append(_problem(source, message))
                if (kind.section, name) in refused:
                    continue  # the schema's refusal comes first
                resource = _resource(kind, name, body, source, found)
                if resource is not None and _is_unique(kind, resource, body, unique, found):
                    resources.append(resource)
    if found:
        raise ManifestError(found)
    return ManifestSet(files=tuple(file for _, file in files), resources=tuple(resources))


def _problem(source: Source, message: str) -> Problem:
    return Problem(source.file, source.line, source.column, message)


def _resource(
    kind: ResourceKind, name: str, body: YamlMapping, source: Source, found: list[Problem]
) -> Resource | None:
    """The resource ``body`` declares, or None when a field's own check refuses it."""
    attributes: dict[str, str] = {}
    valid = True
    for manifest_field in kind.fields:
        value = body.get(manifest_field.key)
        if value is None:
            continue
        if manifest_field.check is not None:
            refusal = manifest_field.check(value)
            if refusal is not None:
                where = Source(source.file, *body.values_at[manifest_field.key])
                found.append(
                    _problem(where, f"{kind.section}.{name}.{manifest_field.key}: {refusal}")
                )
                valid = False
        attributes[manifest_field.field] = value
    owner = kind.owner
    owner_keys = [key for key in (owner.alias_key, owner.id_key) if key in body]
    if len(owner_keys) != 1:
        found_keys = "both" if owner_keys else "neither"
        found.append(
            _problem(
                source,
                f"{kind.section}.{name}: exactly one of '{owner.alias_key}' or "
                f"'{owner.id_key}' is needed, found {found_keys}",
            )
        )
        valid = False
    if not valid:
        return None
    return Resource(
        kind=kind.name,
        name=name,
        attributes=attributes,
        owner=Owner(
            alias=body.get(owner.alias_key),
            object_id=body.get(owner.id_key),
            source=Source(source.file, *body.values_at[owner_keys[0]]),
        ),
        source=source,
    )


def _is_unique(
    kind: ResourceKind,
    resource: Resource,
    body: YamlMapping,
    unique: dict[tuple[str, str, str], _Declaration],
    found: list[Problem],
) -> bool:
    """Record the resource's unique values; false (with a problem) when one of them was
    declared before, compared without regard to case."""
    clean = True
    for manifest_field in kind.fields:
        if not manifest_field.unique or manifest_field.key not in body:
            continue
        value: str = body[manifest_field.key]
        entry = (kind.name, manifest_field.key, value.lower())
        first = unique.setdefault(entry, (resource.address, resource.source.file, body))
        if first[0] == resource.address:
            continue
        first_address, first_file, first_body = first
        there = Source(first_file, *first_body.values_at[manifest_field.key])
        here = Source(resource.source.file, *body.values_at[manifest_field.key])
        found.append(
            _problem(
                here,
                f"{kind.section}.{resource.name}.{manifest_field.key}: '{value}' is already "
                f"declared by {first_address} at {there}",
            )
        )
        clean = False
    return clean
