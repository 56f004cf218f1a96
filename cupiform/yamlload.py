"""Position-keeping YAML: every mapping, key and value remembers its line and column.

Values are built straight from the parser's events (libyaml's C parser when PyYAML has
it), not through ``yaml.compose``/``yaml.load``, which first build a node graph and are
several times slower on large manifests. What comes out is plain JSON-like data, ready
for JSON Schema: ``YamlMapping`` (a dict) and ``YamlSequence`` (a list) carrying the
positions, and str, int, float, bool, None.

Scalars resolve as PyYAML's safe loader resolves them (YAML 1.1: ``yes`` is true), with
two differences that suit JSON data: timestamps stay strings, and mapping keys are always
the key's text as written (``1: x`` gives the key ``"1"``).

Refused, each as a ``Problem`` with its position, and all of them collected: duplicate
keys (both lines named), keys that are not scalars, more than one document, tags other
than the standard scalar ones, a ``password`` key anywhere (credentials come only from the
environment); and, ending the file where they stand, syntax errors, unknown aliases and
alias expansions past a limit (a "billion laughs" file).
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from cupiform.errors import Problem

Position = tuple[int, int]
"""(line, column), both counted from 1."""

# Events are typed Any: the hot loop dispatches on each event's exact class, which mypy
# does not narrow from a saved ``cls``, and isinstance chains would cost time per event.
_EventSource = Callable[[], Any]

LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's C parser when PyYAML has it."""

# Shared references that an alias makes are cheap to build but not to walk: validating a
# "billion laughs" file would never end. Aliases may stand for this many nodes in all.
MAX_ALIAS_EXPANSION = 100_000

_STANDARD = "tag:yaml.org,2002:"
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"

_RESOLVED_TAGS = frozenset({_INT, _FLOAT, _BOOL, _NULL})
IMPLICIT_RESOLVERS: Mapping[str, tuple[tuple[str, re.Pattern[str]], ...]] = MappingProxyType(
    {
        first: tuple((tag, regexp) for tag, regexp in resolvers if tag in _RESOLVED_TAGS)
        for first, resolvers in Resolver.yaml_implicit_resolvers.items()
        if first is not None
    }
)
"""The safe loader's implicit resolvers that make a plain scalar something other than text,
by the scalar's first character."""


def is_credential_key(key: str) -> bool:
    """A key that would hold a secret: refused in every YAML file cupiform reads."""
    return len(key) == 8 and key.lower() == "password"


class YamlMapping(dict[str, Any]):
    """A YAML mapping with its own position and those of each key and value."""

    __slots__ = ("keys_at", "position", "values_at")

    def __init__(self, position: Position) -> None:
        super().__init__()
        self.position = position
        self.keys_at: dict[str, Position] = {}
        self.values_at: dict[str, Position] = {}


class YamlSequence(list[Any]):
    """A YAML sequence with its own position and that of each item."""

    __slots__ = ("items_at", "position")

    def __init__(self, position: Position) -> None:
        super().__init__()
        self.position = position
        self.items_at: list[Position] = []


@dataclass(frozen=True)
class YamlDocument:
    """One file's content. ``parsed`` is false when a syntax error stopped the parser
    (``root`` is then None); ``problems`` holds everything refused either way."""

    file: str
    root: Any
    parsed: bool
    problems: tuple[Problem, ...]

    def problem(self, position: Position, message: str) -> Problem:
        return Problem(self.file, position[0], position[1], message)


def position_of(root: Any, path: Sequence[str | int], *, key: bool = False) -> Position:
    """Where the value at ``path`` stands (its key's position with ``key=True``); the
    deepest existing ancestor's position when the path does not exist all the way."""
    node = root
    position: Position = getattr(root, "position", (1, 1))
    for depth, step in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(node, YamlMapping) and isinstance(step, str) and step in node:
            position = node.keys_at[step] if (last and key) else node.values_at[step]
            node = node[step]
        elif isinstance(node, YamlSequence) and isinstance(step, int) and 0 <= step < len(node):
            position = node.items_at[step]
            node = node[step]
        else:
            break
    return position


@contextmanager
def without_cyclic_gc() -> Iterator[None]:
    """Building hundreds of thousands of containers sets off Python's cycle collector over
    and over, walking everything built so far: a third of the time of a 100,000-resource
    file. What is built from YAML holds no reference cycles, so collection can wait."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_yaml_file(path: Path, file: str) -> YamlDocument:
    """Read and parse ``path``; ``file`` is how messages name it."""
    try:
        data = path.read_bytes()
    except OSError as error:
        return YamlDocument(
            file, None, False, (Problem(file, 1, 1, f"cannot read: {error.strerror}"),)
        )
    return parse_yaml(data, file)


def parse_yaml(data: bytes | str, file: str) -> YamlDocument:
    """Parse one YAML document; never raises for bad input, reports it in ``problems``."""
    if isinstance(data, bytes):
        try:
            text = _decode(data)
        except UnicodeDecodeError as error:
            line, column = _byte_position(data, error.start)
            problem = Problem(file, line, column, f"not UTF-8 text: {error.reason}")
            return YamlDocument(file, None, False, (problem,))
    else:
        text = data
    builder = _Builder(file)
    parser = LOADER(text)
    try:
        with without_cyclic_gc():
            root = builder.build(parser.get_event)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        builder.problems.append(Problem(file, line, column, _syntax_message(error)))
        return YamlDocument(file, None, False, tuple(builder.problems))
    except yaml.reader.ReaderError as error:
        line, column = _char_position(text, error.position)
        builder.problems.append(
            Problem(file, line, column, f"invalid YAML: {_reader_message(error)}")
        )
        return YamlDocument(file, None, False, tuple(builder.problems))
    except yaml.YAMLError as error:
        builder.problems.append(Problem(file, 1, 1, f"invalid YAML: {error}"))
        return YamlDocument(file, None, False, tuple(builder.problems))
    except _Unreadable as error:
        builder.problems.append(Problem(file, error.position[0], error.position[1], str(error)))
        return YamlDocument(file, None, False, tuple(builder.problems))
    finally:
        parser.dispose()
    return YamlDocument(file, root, True, tuple(builder.problems))


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")


def _byte_position(data: bytes, offset: int) -> Position:
    before = data[:offset]
    line_start = before.rfind(b"\n") + 1
    column = len(before[line_start:].decode("utf-8", errors="replace")) + 1
    return before.count(b"\n") + 1, column


def _char_position(text: str, offset: int) -> Position:
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def _syntax_message(error: yaml.MarkedYAMLError) -> str:
    message = f"invalid YAML: {error.problem or 'syntax error'}"
    if error.context and error.context_mark is not None:
        message += f" ({error.context} at line {error.context_mark.line + 1})"
    elif error.context:
        message += f" ({error.context})"
    return message


def _reader_message(error: yaml.reader.ReaderError) -> str:
    character = error.character
    code = character if isinstance(character, int) else ord(character)
    return f"character #x{code:04x} is not allowed: {error.reason}"


class _Unreadable(Exception):
    """Ends the file: what follows cannot be built (as a syntax error would)."""

    def __init__(self, position: Position, message: str) -> None:
        super().__init__(message)
        self.position = position


def _shown(tag: str) -> str:
    """A tag as it is written: ``!!python/object``, not ``tag:yaml.org,2002:python/object``."""
    return "!!" + tag[len(_STANDARD) :] if tag.startswith(_STANDARD) else tag


_NO_KEY: Any = object()  # a mapping waits for its next key
_MERGE_KEY: Any = object()  # the key was "<<"
_BAD_KEY: Any = object()  # the key could not be used: its value is skipped


_Frame = tuple[Any, Any, Position, str | None, int, "list[tuple[Any, Position]] | None"]
"""A container being built, saved while a nested one is built: the container, the key
waiting for its value and that key's position, the anchor to record when it ends, the
expansion size where it began, and the merges (``<<``) to apply when it ends."""


class _Builder:
    """Turns one parser's events into values with positions, collecting problems."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.constructor = SafeConstructor()

    def problem(self, position: Position, message: str) -> None:
        self.problems.append(Problem(self.file, position[0], position[1], message))

    def build(self, get_event: _EventSource) -> Any:
        """The document's root value. The container being built and its pending key live
        in local variables, the enclosing ones on ``stack``: this loop runs once per
        event, so it avoids attribute look-ups and calls on the common paths."""
        get_event()  # the stream's start
        if get_event().__class__ is StreamEndEvent:
            return None
        scalar_event, alias_event = ScalarEvent, AliasEvent
        mapping_start, sequence_start = MappingStartEvent, SequenceStartEvent
        mapping_end, sequence_end = MappingEndEvent, SequenceEndEvent
        implicit_get = IMPLICIT_RESOLVERS.get
        no_key = _NO_KEY
        anchors: dict[str, tuple[Any, int]] = {}
        stack: list[_Frame] = []
        size = 0  # values built so far, counting each alias as the values it stands for
        aliased = 0
        root: Any = None
        # the container being built (None at the top) and its state, as in _Frame
        current: Any = None
        is_mapping = False
        key: Any = no_key
        key_at: Position = (1, 1)
        anchor: str | None = None
        size_at_start = 0
        merges: list[tuple[Any, Position]] | None = None
        while True:
            event = get_event()
            cls = event.__class__
            size += 1
            if cls is scalar_event:
                mark = event.start_mark
                at = (mark.line + 1, mark.column + 1)
                text = event.value
                if is_mapping and key is no_key:
                    # a key: its text as written; resolved only for an anchor or a merge
                    key_at = at
                    if event.anchor is not None:
                        anchors[event.anchor] = (self.scalar(event, at), 1)
                    if text == "<<" and event.implicit[0]:
                        key = _MERGE_KEY
                    else:
                        if len(text) == 8 and is_credential_key(text):
                            self.credential(at, text)
                        key = text
                    continue
                if event.implicit[0]:
                    value = text
                    for tag, regexp in implicit_get(text[:1], ()):
                        if regexp.match(text):
                            value = self.construct(tag, text, at)
                            break
                else:
                    value = self.scalar(event, at)
                if event.anchor is not None:
                    anchors[event.anchor] = (value, 1)
            elif cls is mapping_start or cls is sequence_start:
                mark = event.start_mark
                at = (mark.line + 1, mark.column + 1)
                stack.append((current, key, key_at, anchor, size_at_start, merges))
                if cls is mapping_start:
                    if not event.implicit and event.tag not in (None, "!", _MAP):
                        self.problem(at, f"unsupported tag '{_shown(event.tag)}' on a mapping")
                    current, is_mapping = YamlMapping(at), True
                else:
                    if not event.implicit and event.tag not in (None, "!", _SEQ):
                        self.problem(at, f"unsupported tag '{_shown(event.tag)}' on a sequence")
                    current, is_mapping = YamlSequence(at), False
                key, key_at, anchor, size_at_start, merges = no_key, at, event.anchor, size, None
                continue
            elif cls is mapping_end or cls is sequence_end:
                value = current
                at = value.position
                if merges is not None:
                    self.merge(value, merges)
                if anchor is not None:
                    anchors[anchor] = (value, size - size_at_start)
                current, key, key_at, anchor, size_at_start, merges = stack.pop()
                is_mapping = current.__class__ is YamlMapping
            elif cls is alias_event:
                mark = event.start_mark
                at = (mark.line + 1, mark.column + 1)
                target = anchors.get(event.anchor)
                if target is None:
                    raise _Unreadable(
                        at, f"unknown alias '*{event.anchor}' (no '&{event.anchor}' before it)"
                    )
                value, weight = target
                aliased += weight
                size += weight
                if aliased > MAX_ALIAS_EXPANSION:
                    limit = f"aliases expand to more than {MAX_ALIAS_EXPANSION} values"
                    raise _Unreadable(at, f"{limit}; refused as unsafe")
                if is_mapping and key is no_key:
                    key_at = at
                    if isinstance(value, str):
                        key = value
                    else:
                        self.problem(at, "a mapping key must be a text, not an alias to one")
                        key = _BAD_KEY
                    continue
            elif cls is DocumentEndEvent:
                break
            else:  # pragma: no cover - the parser emits nothing else inside a document
                raise AssertionError(f"unexpected YAML event {event!r}")

            if current is None:
                root = value
            elif not is_mapping:
                current.append(value)
                current.items_at.append(at)
            elif key is no_key:
                # a mapping or a list used as a key
                self.problem(at, "a mapping key must be a text, not a mapping or a list")
                key, key_at = _BAD_KEY, at
            else:
                if key.__class__ is str:
                    if key in current:
                        first_line = current.keys_at[key][0]
                        self.problem(
                            key_at, f"duplicate key '{key}' (first defined at line {first_line})"
                        )
                    else:
                        current[key] = value
                        current.keys_at[key] = key_at
                        current.values_at[key] = at
                elif key is _MERGE_KEY:
                    if merges is None:
                        merges = []
                    merges.append((value, at))
                key = no_key

        following = get_event()
        if isinstance(following, DocumentStartEvent) and following.start_mark is not None:
            mark = following.start_mark
            self.problem(
                (mark.line + 1, mark.column + 1),
                "more than one YAML document in the file ('---' starts another)",
            )
        return root

    def scalar(self, event: Any, at: Position) -> Any:
        text: str = event.value
        if event.implicit[0]:
            for tag, regexp in IMPLICIT_RESOLVERS.get(text[:1], ()):
                if regexp.match(text):
                    return self.construct(tag, text, at)
            return text
        tag = event.tag
        if tag is None or tag == "!" or tag == _STR:
            return text
        if tag in _RESOLVED_TAGS:
            return self.construct(tag, text, at)
        self.problem(at, f"unsupported tag '{_shown(tag)}'")
        return text

    def construct(self, tag: str, text: str, at: Position) -> Any:
        try:
            if tag == _NULL:
                return None
            if tag == _BOOL:
                return self.constructor.bool_values[text.lower()]
            if tag == _INT:
                return self.constructor.construct_yaml_int(ScalarNode(tag, text))
            return self.constructor.construct_yaml_float(ScalarNode(tag, text))
        except (KeyError, ValueError, IndexError):
            kind = {_BOOL: "a boolean", _INT: "an integer"}.get(tag, "a number")
            self.problem(at, f"cannot read {text[:40]!r} as {kind}")
            return text

    def credential(self, at: Position, key: str) -> None:
        self.problem(
            at,
            f"'{key}' is not allowed: credentials come only from the environment "
            "(CUPI_USERNAME, CUPI_PASSWORD)",
        )

    def merge(self, mapping: YamlMapping, merges: list[tuple[Any, Position]]) -> None:
        """Apply ``<<`` merge keys: keys written in the mapping win, then earlier merges."""
        sources: list[tuple[Any, Position]] = []
        for value, at in merges:
            if isinstance(value, YamlSequence):
                sources.extend(zip(value, value.items_at, strict=True))
            else:
                sources.append((value, at))
        for source, at in sources:
            if not isinstance(source, YamlMapping):
                self.problem(at, "a merge key ('<<') takes a mapping or a list of mappings")
                continue
            for key, value in source.items():
                if key not in mapping:
                    mapping[key] = value
                    mapping.keys_at[key] = source.keys_at[key]
                    mapping.values_at[key] = source.values_at[key]
