"""The fast path for manifests of the usual shape: resources read straight from the YAML
parser's events, checked as they are read, with no intermediate document.

A large project is tens of thousands of entries like ``name: {address: ..., user: ...}``.
The general path (``yamlload`` then the schema) builds a position-keeping document and
validates it; for such files that costs several times the parse itself. This reader
handles only the shape the schema allows and nothing doubtful: plain or quoted text
values, no anchors or aliases, no tags, no merge keys, each key once. The checks it makes
are compiled from ``schemas/manifest.schema.json`` itself (types, lengths, patterns,
required and allowed keys), and only when that schema uses nothing but those keywords.

Whatever it does not accept, it does not judge: ``read`` returns None and the file takes
the general path, which finds and words every problem. So the fast path never changes a
result, only its cost (``tests/test_quickload.py`` holds it to that).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import yaml
from yaml.events import (
    DocumentEndEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    StreamEndEvent,
)

from cupiform.quickcheck import Unsupported, inline_references, string_check
from cupiform.resources.kinds import ResourceKind
from cupiform.yamlload import IMPLICIT_RESOLVERS, LOADER, Position, is_credential_key

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"

# Keywords that only document a schema, and those this reader enforces. (A ``password``
# key is refused wherever it stands, which no schema says: such a file is not read here.)
_NOTES = frozenset({"title", "description", "$comment", "examples"})
_OBJECT_KEYWORDS = frozenset({"type", "additionalProperties", "required", "properties"}) | _NOTES
_SECTION_KEYWORDS = frozenset({"type", "propertyNames", "additionalProperties"}) | _NOTES
_ROOT_KEYWORDS = (
    frozenset({"$schema", "$defs", "type", "additionalProperties", "properties"}) | _NOTES
)


class _Unsupported(Exception):
    """The schema uses something this reader does not enforce: no fast path."""


StringCheck = Callable[[str], bool]


class Entry(NamedTuple):
    """One resource as written: its kind, its name and where, and each key's value and
    where it stands. (A named tuple: tens of thousands are made, and cheaply.)"""

    kind: ResourceKind
    name: str
    name_at: Position
    values: Mapping[str, Any]
    values_at: Mapping[str, Position]


@dataclass(frozen=True)
class _SectionRules:
    kind: ResourceKind
    name_ok: StringCheck
    value_ok: Mapping[str, StringCheck]  # allowed keys and the check of each
    required: frozenset[str]


class QuickReader:
    """Reads manifest files of the usual shape, with the rules of one manifest schema."""

    def __init__(self, sections: Mapping[str, _SectionRules]) -> None:
        self._sections = sections

    @classmethod
    def from_schema(
        cls, document: Mapping[str, Any], kinds: Sequence[ResourceKind]
    ) -> QuickReader | None:
        """The reader for this schema, or None when the schema says more than it enforces."""
        try:
            return cls(_compile(inline_references(document), kinds))
        except (_Unsupported, re.error):
            return None

    def read(self, text: str) -> list[Entry] | None:
        """The file's resources in order, or None: the general path must read this file."""
        parser = LOADER(text)
        try:
            return self._read(parser.get_event)
        except yaml.YAMLError:
            return None  # the general path reports it
        finally:
            parser.dispose()

    def _read(self, get_event: Callable[[], Any]) -> list[Entry] | None:
        get_event()  # the stream's start
        if get_event().__class__ is StreamEndEvent or not _plain_mapping(get_event()):
            return None
        entries: list[Entry] = []
        seen_sections: set[str] = set()
        scalar, mapping_end = ScalarEvent, MappingEndEvent
        new_entry = tuple.__new__  # what Entry(...) calls, minus a Python-level call
        implicit = IMPLICIT_RESOLVERS.get
        mark: Any
        while True:
            event = get_event()
            if event.__class__ is mapping_end:
                break
            if event.__class__ is not scalar or event.anchor is not None:
                return None
            rules = self._sections.get(event.value)
            if rules is None or event.value in seen_sections or not _plain_mapping(get_event()):
                return None  # an unknown section, one seen before, or no mapping under it
            seen_sections.add(event.value)
            kind, name_ok, value_ok, required = (
                rules.kind,
                rules.name_ok,
                rules.value_ok,
                rules.required,
            )
            names: set[str] = set()
            while True:
                event = get_event()
                cls = event.__class__
                if cls is mapping_end:
                    break
                if cls is not scalar or event.anchor is not None:
                    return None
                name = event.value
                if name in names or not name_ok(name) or is_credential_key(name):
                    return None
                names.add(name)
                mark = event.start_mark
                name_at = (mark.line + 1, mark.column + 1)
                if not _plain_mapping(get_event()):
                    return None
                values: dict[str, str] = {}
                values_at: dict[str, Position] = {}
                while True:
                    key = get_event()
                    if key.__class__ is mapping_end:
                        break
                    value = get_event()
                    if key.__class__ is not scalar or value.__class__ is not scalar:
                        return None
                    if key.anchor is not None or value.anchor is not None or key.tag is not None:
                        return None
                    field, text = key.value, value.value
                    check = value_ok.get(field)
                    if check is None or field in values or not check(text):
                        return None
                    if value.implicit[0]:
                        # a plain scalar is text unless YAML reads it as a number, a
                        # boolean or nothing: the general path has those to report
                        for _, regexp in implicit(text[:1], ()):
                            if regexp.match(text):
                                return None
                    elif value.tag not in (None, "!", _STR):
                        return None
                    mark = value.start_mark
                    values[field] = text
                    values_at[field] = (mark.line + 1, mark.column + 1)
                if not required.issubset(values):
                    return None
                entries.append(new_entry(Entry, (kind, name, name_at, values, values_at)))
        if get_event().__class__ is not DocumentEndEvent:
            return None
        if get_event().__class__ is not StreamEndEvent:
            return None  # another document follows
        return entries


def _plain_mapping(event: Any) -> bool:
    """A mapping with no anchor and no tag but the standard one."""
    return (
        event.__class__ is MappingStartEvent
        and event.anchor is None
        and (event.implicit or event.tag in (None, "!", _MAP))
    )


# -- compiling the schema --------------------------------------------------------------------


def _compile(
    document: Mapping[str, Any], kinds: Sequence[ResourceKind]
) -> dict[str, _SectionRules]:
    def resolve(node: Any) -> Mapping[str, Any]:
        if not isinstance(node, Mapping) or "$ref" in node:
            raise _Unsupported(node)  # a reference that could not be inlined
        return node

    _expect(document, _ROOT_KEYWORDS, "object")
    if document.get("additionalProperties") is not False:
        raise _Unsupported("root")
    by_section = {kind.section: kind for kind in kinds}
    sections: dict[str, _SectionRules] = {}
    for section, node in document.get("properties", {}).items():
        kind = by_section.get(section)
        if kind is None:
            raise _Unsupported(section)
        section_schema = resolve(node)
        _expect(section_schema, _SECTION_KEYWORDS, "object", also=("null",))
        if "additionalProperties" not in section_schema:
            raise _Unsupported(section)
        body = resolve(section_schema["additionalProperties"])
        _expect(body, _OBJECT_KEYWORDS, "object")
        if body.get("additionalProperties") is not False:
            raise _Unsupported(section)
        required = body.get("required", [])
        properties = body.get("properties", {})
        if not set(required) <= set(properties):
            raise _Unsupported(section)
        sections[section] = _SectionRules(
            kind=kind,
            name_ok=_string_check(resolve(section_schema.get("propertyNames", {"type": "string"}))),
            value_ok={key: _string_check(resolve(value)) for key, value in properties.items()},
            required=frozenset(required),
        )
    return sections


def _expect(
    node: Mapping[str, Any], allowed: frozenset[str], kind: str, also: Sequence[str] = ()
) -> None:
    if not set(node) <= allowed:
        raise _Unsupported(sorted(set(node) - allowed))
    declared = node.get("type")
    types = [declared] if isinstance(declared, str) else declared
    if not isinstance(types, list) or kind not in types or not set(types) <= {kind, *also}:
        raise _Unsupported(declared)


def _string_check(node: Mapping[str, Any]) -> StringCheck:
    """What the schema asks of a text, as one test."""
    try:
        return string_check(node)
    except Unsupported:
        raise _Unsupported(node) from None
