"""A quicker yes for JSON documents, compiled from a schema that uses few keywords.

fastjsonschema spends most of its time on a large state file formatting the path of each
of the 100,000 entries it checks, in case it has to report it. This check answers only
"valid or not", for schemas made of ``type`` (object, string, integer), ``required``,
``properties``, ``patternProperties``, ``additionalProperties``, ``minLength``,
``maxLength``, ``pattern``, ``minimum``, ``const`` (a number) and ``#/$defs/`` references
(``inline_references``, which the other compilers of schemas use too). A schema using
anything else gets no quick check (``compile_check`` returns None).

It never says yes where fastjsonschema would say no: where the two could differ it is
the stricter (a pattern's ``$`` matches only at the very end, as ``\\Z``; a number is never
a float). A no from it is not final: the caller asks the full validators, which give the
answer and the reasons. ``tests/test_quickcheck.py`` holds it to that.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Check = Callable[[Any], bool]

_NOTES = frozenset({"title", "description", "$comment", "examples", "$schema", "$defs"})
_KNOWN = _NOTES | {
    "type",
    "required",
    "properties",
    "patternProperties",
    "additionalProperties",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "const",
}


class Unsupported(Exception):
    """The schema says more than the compiler enforces."""


def inline_references(document: Mapping[str, Any]) -> dict[str, Any]:
    """The schema with each ``#/$defs/...`` reference replaced by what it names: the same
    rules. A reference that cannot be inlined (another document, a missing or recursive
    definition, a keyword beside it that the definition has too) is left as it is, and so
    are the ``$defs`` it may point to."""
    definitions: Mapping[str, Any] = document.get("$defs", {})

    def inline(node: Any, depth: int) -> Any:
        if isinstance(node, list):
            return [inline(item, depth) for item in node]
        if not isinstance(node, Mapping):
            return node
        rest = {key: inline(value, depth) for key, value in node.items()}
        reference = node.get("$ref")
        if not isinstance(reference, str) or not reference.startswith("#/$defs/"):
            return rest
        target = definitions.get(reference.removeprefix("#/$defs/"))
        del rest["$ref"]
        if depth > 16 or not isinstance(target, Mapping) or set(rest) & set(target):
            return {**rest, "$ref": reference}
        return {**inline(target, depth + 1), **rest}

    inlined: dict[str, Any] = inline(document, 0)
    return inlined


def compile_check(document: Mapping[str, Any]) -> Check | None:
    """A check for instances of ``document``, or None when it uses more than is handled."""
    try:
        return _compile(inline_references(document), 0)
    except (Unsupported, re.error, TypeError):
        return None


def string_check(node: Mapping[str, Any]) -> Check:
    """The check of a ``type: string`` schema; ``Unsupported`` for anything else."""
    return _string(node)


def _compile(node: Any, depth: int) -> Check:
    if depth > 16 or not isinstance(node, Mapping) or not set(node) <= _KNOWN:
        raise Unsupported(node)  # a $ref left in place is unknown here too
    if "const" in node:
        return _const(node)
    kind = node.get("type")
    if kind == "string":
        return _string(node)
    if kind == "integer":
        return _integer(node)
    if kind == "object":
        return _object(node, depth)
    raise Unsupported(kind)


def _const(node: Mapping[str, Any]) -> Check:
    value = node["const"]
    if set(node) - _NOTES != {"const"} or type(value) is not int:
        raise Unsupported(node)
    return lambda instance: type(instance) is int and instance == value


def texts_check(node: Mapping[str, Any]) -> Callable[[Sequence[str]], bool]:
    """The check of a ``type: string`` schema over many texts at once (each a ``str``):
    true when every one passes ``string_check``'s check. Made of calls into C, for the
    manifests' fast path, which checks a column of values at a time."""
    shortest, longest, search = _string_rule(node)

    def check_all(texts: Sequence[str]) -> bool:
        if not texts:
            return True
        lengths = list(map(len, texts))
        if min(lengths) < shortest or (longest is not None and max(lengths) > longest):
            return False
        return search is None or all(map(search, texts))

    return check_all


def _string_rule(
    node: Mapping[str, Any],
) -> tuple[int, int | None, Callable[[str], re.Match[str] | None] | None]:
    """A text's least and greatest length and the search for its pattern; ``Unsupported``
    for a schema that says more, or other than ``type: string``."""
    if node.get("type") != "string" or not set(node) - _NOTES <= {
        "type",
        "minLength",
        "maxLength",
        "pattern",
    }:
        raise Unsupported(node)
    shortest: int = node.get("minLength", 0)
    longest: int | None = node.get("maxLength")
    search = _search(node["pattern"]) if "pattern" in node else None
    if type(shortest) is not int or (longest is not None and type(longest) is not int):
        raise Unsupported(node)
    return shortest, longest, search


def _string(node: Mapping[str, Any]) -> Check:
    shortest, longest, search = _string_rule(node)

    def check(instance: Any) -> bool:
        if type(instance) is not str:
            return False
        size = len(instance)
        if size < shortest or (longest is not None and size > longest):
            return False
        return search is None or search(instance) is not None

    return check


def _integer(node: Mapping[str, Any]) -> Check:
    if not set(node) - _NOTES <= {"type", "minimum"}:
        raise Unsupported(node)
    least = node.get("minimum")
    if least is not None and type(least) is not int:
        raise Unsupported(node)
    return lambda instance: type(instance) is int and (least is None or instance >= least)


def _object(node: Mapping[str, Any], depth: int) -> Check:
    required = frozenset(node.get("required", ()))
    properties = {
        name: _compile(sub, depth + 1) for name, sub in node.get("properties", {}).items()
    }
    patterns = [
        (_search(pattern), _compile(sub, depth + 1))
        for pattern, sub in node.get("patternProperties", {}).items()
    ]
    additional = node.get("additionalProperties", True)
    if additional == {"type": "string"} and not properties and not patterns:
        # a mapping of texts (state attributes)
        def texts(instance: Any) -> bool:
            if type(instance) is not dict or not required <= instance.keys():
                return False
            for value in instance.values():  # noqa: SIM110 - all() adds a generator per call
                if type(value) is not str:
                    return False
            return True

        return texts
    other: Check | bool = (
        additional if isinstance(additional, bool) else _compile(additional, depth + 1)
    )
    if other is True and not patterns:
        # named members only (a state entry): each checked where present
        def named(instance: Any) -> bool:
            if type(instance) is not dict or not required <= instance.keys():
                return False
            for key, sub in properties.items():
                if key in instance and not sub(instance[key]):
                    return False
            return True

        return named
    if other is False and not properties and len(patterns) == 1:
        # one pattern for every key (the state's resources)
        ((search, sub),) = patterns

        def patterned(instance: Any) -> bool:
            if type(instance) is not dict or not required <= instance.keys():
                return False
            for key, value in instance.items():
                if search(key) is None or not sub(value):
                    return False
            return True

        return patterned

    def check(instance: Any) -> bool:
        if type(instance) is not dict or not required <= instance.keys():
            return False
        for key, value in instance.items():
            known = properties.get(key)
            matched = known is not None
            if known is not None and not known(value):
                return False
            for search, sub in patterns:
                if search(key) is not None:
                    matched = True
                    if not sub(value):
                        return False
            if not matched and (other is False or (other is not True and not other(value))):
                return False
        return True

    return check


def end_anchored(pattern: str) -> str:
    """A schema pattern for Python's ``re``: a final ``$`` matches only at the very end, as
    in the ECMA-262 patterns JSON Schema speaks (Python's ``$`` also matches before a
    final line break, so ``^[a-z]+$`` would take ``"ab\\n"``)."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern[:-1] + r"\Z"
    return pattern


def _search(pattern: Any) -> Callable[[str], re.Match[str] | None]:
    """``re.search`` for a schema pattern (``end_anchored``)."""
    if not isinstance(pattern, str):
        raise Unsupported(pattern)
    anchored = end_anchored(pattern)
    if "$" in (pattern[:-1] if anchored != pattern else pattern):
        raise Unsupported(pattern)  # a $ elsewhere: not worth getting right here
    return re.compile(anchored).search
