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

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from operator import eq
from typing import Any, NamedTuple

import yaml
from yaml.events import (
    DocumentEndEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    StreamEndEvent,
)

from cupiform.quickcheck import Unsupported, inline_references, string_check, texts_check
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
TextsCheck = Callable[[Sequence[str]], bool]


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
    # the same checks over many texts at once
    names_ok: TextsCheck
    values_ok: Mapping[str, TextsCheck]


class QuickReader:
    """Reads manifest files of the usual shape, with the rules of one manifest schema."""

    def __init__(self, sections: Mapping[str, _SectionRules]) -> None:
        self._sections = sections
        self._lines = _LineReader(sections)

    @classmethod
    def from_schema(
        cls, document: Mapping[str, Any], kinds: Sequence[ResourceKind]
    ) -> QuickReader | None:
        """The reader for this schema, or None when the schema says more than it enforces."""
        try:
            return cls(_compile(inline_references(document), kinds))
        except (_Unsupported, re.error):
            return None

    def read_uniform(self, text: str) -> list[Uniform] | None:
        """The file's sections, when the plainest style holds them all (see
        ``_LineReader``), or None."""
        return self._lines.read(text)

    def read(self, text: str) -> list[Entry] | None:
        """The file's resources in order, or None: the general path must read this file."""
        sections = self._lines.read(text)
        if sections is not None:
            return [entry for section in sections for entry in section.entries()]
        return self.read_events(text)

    def read_events(self, text: str) -> list[Entry] | None:
        """``read`` by the parser's events alone (no reading by lines)."""
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


# -- the plainest files, read line by line -------------------------------------------------

# Characters the line reader leaves to the parser: tabs, carriage returns, controls, the
# line breaks YAML 1.1 adds (NEL, LS, PS) and byte-order marks. Without them, a line of the
# text is a line of YAML.
_AWKWARD = "[^\n -~\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
# Lines YAML skips: blank, or only a comment.
_SKIPPED = r"(?:[ ]*(?:#[^\n]*)?\n)*"
# A section's key at the start of a line, and nothing after its colon.
_SECTION = r"([A-Za-z_][A-Za-z0-9_]*):\n"


class _Patterns(NamedTuple):
    awkward: re.Pattern[str]
    skip: re.Pattern[str]
    section: re.Pattern[str]
    # Every pattern by which YAML reads a plain value as something other than text,
    # joined into as few as their flags allow (one). YAML tries only those listed under
    # the value's first character; a value matched by any is left to the parser's path,
    # which is never wrong, only slower.
    not_text: tuple[re.Pattern[str], ...]


@functools.cache
def _patterns() -> _Patterns:
    """Compiled when first used (a process whose manifests a child reads never uses them)."""
    by_flags: dict[int, set[str]] = {}
    firsts: set[str] = set()
    for first, resolvers in IMPLICIT_RESOLVERS.items():
        for _, regexp in resolvers:
            by_flags.setdefault(regexp.flags, set()).add(f"(?:{regexp.pattern})")
            firsts.add(first)
    at_once = "(?=[" + "".join(re.escape(first) for first in sorted(firsts)) + "])"
    return _Patterns(
        re.compile(_AWKWARD),
        re.compile(_SKIPPED),
        re.compile(_SECTION),
        tuple(
            re.compile(at_once + "(?:" + "|".join(sorted(patterns)) + ")", flags)
            for flags, patterns in by_flags.items()
        ),
    )


# A name written plain (YAML reads it as the text itself), then the colon, nothing more;
# a key of at most 1,024 characters, as YAML allows for a key written so.
_NAME = r"([A-Za-z0-9_][A-Za-z0-9_-]{0,1000})"
# A value after "key: ": plain in characters that never end or start anything in YAML (it
# may still read as a number, a boolean or nothing: checked as the parser's path does), or
# quoted with nothing to unescape.
_VALUE = r"(?:([A-Za-z0-9_.+][A-Za-z0-9_.@+-]*)|\"([^\"\\\n]*)\"|'([^'\n]*)')"


class Uniform(NamedTuple):
    """A section read by lines: resources that all have as many keys, indented alike.
    Held as columns, so that they can be checked and built a column at a time (``entries``
    gives them one by one)."""

    kind: ResourceKind
    names: Sequence[str]
    lines: Sequence[int]  # each name's line
    name_column: int
    keys: tuple[Sequence[str], ...]  # for each line under a name, every resource's key
    values: tuple[Sequence[str], ...]  # and its value
    indent: int  # of every key

    def same_keys(self) -> tuple[str, ...] | None:
        """The keys of every resource, when all have the same in the same order."""
        firsts = tuple(column[0] for column in self.keys)
        alike = all(column.count(column[0]) == len(column) for column in self.keys)
        return firsts if alike else None

    def value_place(self, key: str, position: int) -> tuple[int, int]:
        """Where the value of ``key``, on the ``position``-th line under its name (from 0),
        stands: that line's offset from the name's, and the value's column."""
        return position + 1, self.indent + len(key) + len(": ") + 1

    def entries(self) -> list[Entry]:
        new_entry, kind, name_column = tuple.__new__, self.kind, self.name_column
        width = len(self.keys)
        offsets = range(1, width + 1)
        column_of = {key: self.value_place(key, 0)[1] for keys in self.keys for key in set(keys)}
        return [
            new_entry(
                Entry,
                (
                    kind,
                    name,
                    (line, name_column),
                    dict(zip(keys_and_values[:width], keys_and_values[width:], strict=True)),
                    {
                        key: (line + offset, column_of[key])
                        for key, offset in zip(keys_and_values[:width], offsets, strict=True)
                    },
                ),
            )
            for name, line, *keys_and_values in zip(
                self.names, self.lines, *self.keys, *self.values, strict=True
            )
        ]


class _LineReader:
    """Reads a file written in the plainest block style, line by line with regular
    expressions, at a fraction of the parser's cost: each resource a name line, then one
    ``key: value`` line per field, indented more, as many in every resource of a section;
    blank and comment lines between resources. It gives what the event reader gives, or
    None for anything else (a flow mapping, a comment after a value, a tab, a value over
    two lines, a resource with a key more than another...), which the event reader then
    reads."""

    def __init__(self, sections: Mapping[str, _SectionRules]) -> None:
        self._sections = sections
        keys = sorted({key for rules in sections.values() for key in rules.value_ok}, reverse=True)
        most = max((len(rules.value_ok) for rules in sections.values()), default=0)
        key = "(" + "|".join(re.escape(k) for k in keys) + ")"
        field = rf"{key}: {_VALUE}\n"
        self._entry = (
            re.compile(
                rf"({_SKIPPED})(?P<outer>[ ]+){_NAME}:\n(?P<inner>(?P=outer)[ ]+){field}"
                + rf"(?:(?P=inner){field})?" * (most - 1)
            )
            if keys
            else None
        )

    def read(self, text: str) -> list[Uniform] | None:
        entry_match = self._entry.match if self._entry is not None else None
        patterns = _patterns()
        if entry_match is None or patterns.awkward.search(text) is not None:
            return None
        if not text.endswith("\n"):
            text += "\n"
        sections: list[Uniform] = []
        seen: set[str] = set()
        end = len(text)
        pos = patterns.skip.match(text).end()  # type: ignore[union-attr]  # matches even nothing
        line = text.count("\n", 0, pos) + 1
        while pos < end:
            header = patterns.section.match(text, pos)
            if header is None or header[1] in seen or header[1] not in self._sections:
                return None
            seen.add(header[1])
            pos, line = header.end(), line + 1
            rows = []
            while (found := entry_match(text, pos)) is not None:
                rows.append(found.groups())
                pos = found.end()
            if not rows:
                return None  # no resource under the section: the parser's path says why
            section = _uniform(self._sections[header[1]], line, rows)
            if section is None:
                return None
            sections.append(section)
            line = section.lines[-1] + len(section.keys) + 1
            skipped_to = patterns.skip.match(text, pos).end()  # type: ignore[union-attr]
            line += text.count("\n", pos, skipped_to)
            pos = skipped_to
        return sections if sections else None


def _uniform(rules: _SectionRules, line: int, rows: list[tuple[Any, ...]]) -> Uniform | None:
    """The section whose entries' lines matched as ``rows`` (its first line ``line``), if
    its resources are alike and pass every check the event reader makes."""
    count = len(rows)
    skipped, outer, names, inner, *fields = zip(*rows, strict=True)
    if outer.count(outer[0]) != count or inner.count(inner[0]) != count:
        return None  # not keys of one mapping, or indented unlike the others
    keys: list[Sequence[str]] = []
    values: list[Sequence[str]] = []
    for at in range(0, len(fields), 4):
        key, plain, double, single = fields[at : at + 4]
        if key.count(None):
            if key.count(None) != count:
                return None  # some resources have more keys than others
            break  # (a resource with no line for this key has none for the next)
        column: Sequence[str] = plain
        if plain.count(None):
            column = [
                p if p is not None else d if d is not None else s
                for p, d, s in zip(plain, double, single, strict=True)
            ]
        plain_values = [p for p in plain if p is not None] if plain.count(None) else plain
        for not_text in _patterns().not_text:
            if any(map(not_text.match, plain_values)):
                return None  # a number, a boolean or nothing
        for name in set(key):  # each key's own check, on its values
            check = rules.values_ok.get(name)
            its = (
                column
                if key.count(name) == count
                else list(compress(column, map(eq, key, repeat(name))))
            )
            if check is None or not check(its):
                return None
        if any(any(map(eq, key, earlier)) for earlier in keys):
            return None  # a key twice in one resource
        keys.append(key)
        values.append(column)
    if len(set(names)) != count or not rules.names_ok(names):
        return None  # a name twice, or a name wanting
    if any(sum(key.count(name) for key in keys) != count for name in rules.required):
        return None  # a required key wanting
    if "password" in map(str.lower, names):
        return None  # refused wherever it stands: is_credential_key
    size = len(keys) + 1
    if skipped.count("") == count:
        lines: Sequence[int] = range(line, line + size * count, size)
    else:
        lines = []
        for gap in skipped:
            line += gap.count("\n")
            lines.append(line)
            line += size
    return Uniform(
        rules.kind, names, lines, len(outer[0]) + 1, tuple(keys), tuple(values), len(inner[0])
    )


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
        names = resolve(section_schema.get("propertyNames", {"type": "string"}))
        values = {key: resolve(value) for key, value in properties.items()}
        sections[section] = _SectionRules(
            kind=kind,
            name_ok=_string_check(names),
            value_ok={key: _string_check(value) for key, value in values.items()},
            required=frozenset(required),
            names_ok=texts_check(names),
            values_ok={key: texts_check(value) for key, value in values.items()},
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
