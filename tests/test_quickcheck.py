"""The quick check (``quickcheck``) never says yes where fastjsonschema says no, and says
yes to the usual valid state file; schemas it cannot enforce get no quick check."""

from __future__ import annotations

import copy
from typing import Any

import fastjsonschema
import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from cupiform.quickcheck import compile_check, inline_references
from cupiform.schema import Schema, schema_document

STATE = schema_document("state")
QUICK = compile_check(STATE)
FAST = fastjsonschema.compile(STATE, use_default=False)
UUID = "9375d893-c8eb-437b-90bf-7de4b1d0c3e8"


def fast_says(document: Any) -> bool:
    try:
        FAST(document)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def state(**resources: Any) -> dict[str, Any]:
    return {
        "format_version": 1,
        "lineage": UUID,
        "serial": 3,
        "server": "https://cuc.example.com:8443",
        "resources": resources,
    }


def entry(address: str = "a@example.com", owner: str = UUID) -> dict[str, Any]:
    return {
        "object_id": UUID,
        "attributes": {"SmtpAddress": address, "ObjectGlobalUserObjectId": owner},
    }


def test_the_state_schema_has_a_quick_check_and_the_others_need_not() -> None:
    assert QUICK is not None
    assert Schema("state")._quick is not None


def test_a_usual_state_is_valid_at_once() -> None:
    assert QUICK is not None
    document = state(**{f"smtp_proxy_address.n{i}": entry(f"n{i}@example.com") for i in range(50)})
    assert QUICK(document) and fast_says(document)
    assert QUICK(state()) and fast_says(state())


BAD = [
    ("a key with a line break at its end", {"smtp_proxy_address.x\n": entry()}),
    ("another kind", {"user.x": entry()}),
    ("an object_id too long", {"smtp_proxy_address.x": {**entry(), "object_id": "x" * 37}}),
    ("an empty object_id", {"smtp_proxy_address.x": {**entry(), "object_id": ""}}),
    (
        "a number attribute",
        {
            "smtp_proxy_address.x": {
                **entry(),
                "attributes": {"SmtpAddress": 1, "ObjectGlobalUserObjectId": UUID},
            }
        },
    ),
    (
        "a missing attribute",
        {"smtp_proxy_address.x": {**entry(), "attributes": {"SmtpAddress": "a@b.c"}}},
    ),
    ("no attributes", {"smtp_proxy_address.x": {"object_id": UUID}}),
    ("a list entry", {"smtp_proxy_address.x": [entry()]}),
]


@pytest.mark.parametrize(("why", "resources"), BAD, ids=[why for why, _ in BAD])
def test_refused_states_get_no_quick_yes(why: str, resources: dict[str, Any]) -> None:
    assert QUICK is not None
    assert not QUICK(state(**resources))


@pytest.mark.parametrize(
    "change",
    [
        {"format_version": 2},
        {"format_version": True},
        {"format_version": 1.0},
        {"serial": 0},
        {"serial": 1.0},
        {"serial": True},
        {"lineage": UUID + "\n"},
        {"lineage": UUID.upper()},
        {"server": ""},
    ],
)
def test_refused_top_levels_get_no_quick_yes(change: dict[str, Any]) -> None:
    assert QUICK is not None
    assert not QUICK({**state(), **change})


def test_a_schema_beyond_the_handled_keywords_gets_no_quick_check() -> None:
    for change in (
        {"enum": [1]},
        {"oneOf": [{"type": "string"}]},
        {"format": "uuid"},
        {"type": ["string", "null"]},
        {"pattern": "a$|b$"},
    ):
        document = copy.deepcopy(STATE)
        document["properties"]["lineage"] = {"type": "string", **change}
        assert compile_check(document) is None, change
    assert compile_check(schema_document("manifest")) is None  # "null" sections


text = st.one_of(
    st.sampled_from(["", "a@b.c", UUID, UUID.upper(), "x\n", "smtp_proxy_address.ok"]),
    st.text(max_size=40),
)
scalar = st.one_of(st.none(), st.booleans(), st.integers(-2, 3), st.floats(-2, 3), text)
value = st.recursive(
    scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=6,
)
attributes = st.one_of(
    st.fixed_dictionaries(
        {
            "SmtpAddress": st.one_of(text, scalar),
            "ObjectGlobalUserObjectId": st.one_of(text, scalar),
        },
        optional={"ObjectContactObjectId": value},
    ),
    value,
)
state_entry = st.one_of(
    st.fixed_dictionaries(
        {"object_id": st.one_of(text, scalar), "attributes": attributes},
        optional={"extra": value},
    ),
    st.fixed_dictionaries({"object_id": st.one_of(text, scalar)}),
    value,
)
resource_key = st.one_of(
    st.builds(
        lambda n: f"smtp_proxy_address.{n}",
        st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,4}\n?", fullmatch=True),
    ),
    text,
)
documents = st.builds(
    lambda resources, changes: {**state(), "resources": resources, **changes},
    st.one_of(st.dictionaries(resource_key, state_entry, max_size=4), value),
    st.dictionaries(
        st.sampled_from(["format_version", "lineage", "serial", "server", "resources", "other"]),
        value,
        max_size=2,
    ),
)


@settings(max_examples=1500, deadline=None)
@given(documents)
def test_a_quick_yes_is_always_fastjsonschemas_yes(document: dict[str, Any]) -> None:
    assert QUICK is not None
    if QUICK(document):
        assert fast_says(document)


valid_entry = st.builds(
    lambda address, owner, object_id, extra: {
        "object_id": object_id,
        "attributes": {"SmtpAddress": address, "ObjectGlobalUserObjectId": owner, **extra},
    },
    st.text(max_size=30),
    st.text(max_size=36),
    st.text(min_size=1, max_size=36),
    st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=2),
)
valid_key = st.from_regex(r"smtp_proxy_address\.[A-Za-z0-9_][A-Za-z0-9_-]{0,20}", fullmatch=True)
mutations = st.one_of(
    st.none(),
    st.tuples(st.sampled_from(["object_id", "attributes", "extra"]), value),
    st.tuples(
        st.just("attribute"), st.sampled_from(["SmtpAddress", "ObjectGlobalUserObjectId"]), value
    ),
)


@settings(max_examples=600, deadline=None)
@given(st.dictionaries(valid_key, valid_entry, min_size=1, max_size=5), mutations)
def test_valid_states_and_their_near_misses(resources: dict[str, Any], mutation: Any) -> None:
    """Valid states get a quick yes; one change to an entry, and the quick answer is still
    never a yes that fastjsonschema would not give."""
    assert QUICK is not None
    document = state(**resources)
    assert QUICK(document) and fast_says(document)
    if mutation is None:
        return
    target = document["resources"][next(iter(resources))]
    if mutation[0] == "attribute":
        target["attributes"][mutation[1]] = mutation[2]
    elif mutation[0] == "extra":
        target["extra"] = mutation[1]
    else:
        target[mutation[0]] = mutation[1]
    if QUICK(document):
        assert fast_says(document)


def test_a_reference_that_cannot_be_inlined_keeps_its_definition() -> None:
    document = copy.deepcopy(STATE)
    # minLength beside the reference, and in the definition too: not merged, kept as is
    document["properties"]["lineage"] = {"$ref": "#/$defs/object_id", "minLength": 40}
    inlined = inline_references(document)
    assert inlined["properties"]["lineage"]["$ref"] == "#/$defs/object_id"
    assert compile_check(document) is None
    check = fastjsonschema.compile(inlined)  # still resolvable: $defs kept
    with pytest.raises(fastjsonschema.JsonSchemaException):
        check({**state(), "lineage": "x" * 38})  # over the definition's 36
