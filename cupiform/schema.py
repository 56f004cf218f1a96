"""The JSON Schemas in ``schemas/``, and every violation of them said plainly, with its place.

Each schema is compiled twice: by fastjsonschema, for a fast yes/no on the usual, valid
input; and by jsonschema, which lists every error with its path when the answer is no. A
schema of few keywords (the state's) also gets a quicker yes (``quickcheck``).
A violation names the path inside the document; on a YAML document it is also placed at
the line and column of the value (or the key) it is about, and an unknown key close to a
known one gets a "did you mean".
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fastjsonschema

import cupiform
from cupiform.errors import Problem
from cupiform.quickcheck import compile_check, end_anchored, inline_references
from cupiform.yamlload import YamlDocument, is_credential_key, position_of

if TYPE_CHECKING:
    import jsonschema  # type: ignore[import-untyped]  # no stubs in the test extras

PathStep = str | int


@dataclass(frozen=True)
class Violation:
    """One way an instance breaks its schema. ``path`` leads to the value it is about; with
    ``at_key`` it is placed at that value's key (a missing member is placed at its
    mapping's key). ``message`` starts with the dotted path, except when ``names_key``: then
    it names the key itself ("unknown key 'adress'"), as fits a message placed on it."""

    path: tuple[PathStep, ...]
    message: str
    at_key: bool = False
    names_key: bool = False

    def described(self) -> str:
        """The message for a document without positions: always with a path."""
        return _prefixed(self.path[:-1], self.message) if self.names_key else self.message


def dotted(path: Sequence[PathStep]) -> str:
    """``smtp_proxy_addresses.jdoe-work.address``, ``manifests[0]``."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def schema_document(name: str) -> dict[str, Any]:
    """The parsed ``schemas/<name>.schema.json``: from the installed package, or from the
    source tree in an editable install."""
    file_name = f"{name}.schema.json"
    packaged = resources.files("cupiform") / "schemas" / file_name
    if packaged.is_file():
        text = packaged.read_text(encoding="utf-8")
    else:
        text = (Path(cupiform.__file__).parent.parent / "schemas" / file_name).read_text(
            encoding="utf-8"
        )
    document: dict[str, Any] = json.loads(text)
    return document


class Schema:
    """One schema, compiled for the fast check and for the full list of errors."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.document = schema_document(name)
        self._quick = compile_check(self.document)  # None unless the schema is simple enough
        # The validators below use Python's re: patterns end-anchored as JSON Schema means.
        self._python = _end_anchored(self.document)
        self._fast = fastjsonschema.compile(
            # inlined: fastjsonschema makes a function of each definition it is referred to,
            # and formats a path for every value it calls it on (a fifth of the time of a
            # large state)
            inline_references(self._python),
            use_default=False,
        )
        self._full: Any = None  # jsonschema's validator, made when first needed

    def is_valid(self, instance: Any) -> bool:
        if self._quick is not None and self._quick(instance):
            return True  # never a yes where fastjsonschema says no; a no is not final
        try:
            self._fast(instance)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    def violations(self, instance: Any) -> list[Violation]:
        """Every violation, in document order; none for a valid instance."""
        if self.is_valid(instance):
            return []
        found: list[Violation] = []
        if self._full is None:
            # Only for the full list of errors once the fast check failed: importing
            # jsonschema costs more than validating a valid project.
            import jsonschema

            self._full = jsonschema.Draft202012Validator(self._python)
        for error in self._full.iter_errors(instance):
            found.extend(_explain(error))
        return found

    def problems(self, document: YamlDocument) -> list[Problem]:
        """Every violation of the document's root, placed at its line and column."""
        return [
            document.problem(position_of(document.root, v.path, key=v.at_key), v.message)
            for v in self.violations(document.root)
        ]


_TYPE_NAMES = {
    "string": "a text",
    "object": "a mapping",
    "array": "a list",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing",
}


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text {_quote(value)}"
    return f"the number {value}"


def _quote(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:56] + "...'"


def _prefixed(path: Sequence[PathStep], message: str) -> str:
    where = dotted(path)
    return f"{where}: {message}" if where else message


def _explain(error: jsonschema.ValidationError) -> Iterator[Violation]:
    path = tuple(error.absolute_path)
    kind = error.validator
    value = error.validator_value
    instance = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}

    if "propertyNames" in error.relative_schema_path:
        # the instance is the key itself; the error's path is its mapping's
        title = schema.get("title")
        what = title if title else f"a name matching {_as_written(schema.get('pattern', ''))}"
        yield Violation(
            (*path, instance), f"invalid name {_quote(instance)}: expected {what}", True
        )
    elif kind == "additionalProperties" and value is False and isinstance(instance, dict):
        known = sorted(schema.get("properties", {}))
        patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
        for key in instance:
            if key in known or any(p.search(key) for p in patterns) or is_credential_key(key):
                continue
            yield Violation((*path, key), _unknown_key(key, known), at_key=True, names_key=True)
    elif kind == "required" and isinstance(instance, dict):
        for key in value:
            if key not in instance:
                message = _prefixed(path, f"missing required key '{key}'")
                yield Violation(path, message, at_key=True)
    elif kind == "type":
        types = [value] if isinstance(value, str) else list(value)
        expected = " or ".join(_TYPE_NAMES.get(t, t) for t in types)
        yield Violation(path, _prefixed(path, f"expected {expected}, got {_describe(instance)}"))
    elif kind == "pattern":
        title = schema.get("title")
        what = f"is not {title}" if title else f"does not match {_as_written(value)}"
        yield Violation(path, _prefixed(path, f"{_quote(instance)} {what}"))
    elif kind == "enum":
        choices = ", ".join(_quote(choice) for choice in value)
        yield Violation(
            path, _prefixed(path, f"expected one of {choices}, got {_describe(instance)}")
        )
    elif kind == "const":
        yield Violation(
            path, _prefixed(path, f"expected {_quote(value)}, got {_describe(instance)}")
        )
    elif kind == "minLength" and value == 1:
        yield Violation(path, _prefixed(path, "must not be empty"))
    elif kind in ("minLength", "maxLength"):
        bound = "least" if kind == "minLength" else "most"
        yield Violation(
            path, _prefixed(path, f"is {len(instance)} characters long, at {bound} {value} allowed")
        )
    elif kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        bound = {
            "minimum": "at least",
            "maximum": "at most",
            "exclusiveMinimum": "more than",
            "exclusiveMaximum": "less than",
        }[kind]
        yield Violation(path, _prefixed(path, f"must be {bound} {value}, got {instance}"))
    elif kind == "minItems":
        least = "must not be empty" if value == 1 else f"must hold at least {value} items"
        yield Violation(path, _prefixed(path, least))
    else:
        yield Violation(path, _prefixed(path, error.message))


def _end_anchored(node: Any) -> Any:
    """The schema with each pattern (``pattern``, ``patternProperties``) ``end_anchored``."""
    if isinstance(node, list):
        return [_end_anchored(item) for item in node]
    if not isinstance(node, dict):
        return node
    copied = {key: _end_anchored(value) for key, value in node.items()}
    if isinstance(copied.get("pattern"), str):
        copied["pattern"] = end_anchored(copied["pattern"])
    if isinstance(copied.get("patternProperties"), dict):
        copied["patternProperties"] = {
            end_anchored(pattern): value for pattern, value in copied["patternProperties"].items()
        }
    return copied


def _as_written(pattern: str) -> str:
    """A pattern as the schema file writes it (``_end_anchored`` undone)."""
    return pattern[:-2] + "$" if pattern.endswith(r"\Z") else pattern


def _unknown_key(key: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown key {key!r}{hint}"
