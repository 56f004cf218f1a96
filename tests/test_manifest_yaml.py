"""The position-keeping YAML loader under the manifests and the project file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from cupiform import yamlload
from cupiform.errors import ManifestError
from cupiform.manifest import load_manifest_files
from cupiform.yamlload import YamlMapping, YamlSequence, parse_yaml, position_of


def messages(text: str) -> list[str]:
    return [str(problem) for problem in parse_yaml(text, "f.yaml").problems]


def plain(value: Any) -> Any:
    """The value as plain JSON data, to compare with what yaml.safe_load gives."""
    return json.loads(json.dumps(value))


SCALARS = """\
- text
- 'quoted: 1'
- 42
- -0x1F
- 0o17
- 1_000
- 3.5
- .inf
- yes
- Off
- true
- ~
- null
-
- !!str 12
- !!int "7"
- !!float "1"
- "2001-12-14"
- !!bool "yes"
"""


def test_scalars_resolve_as_pyyaml_safe_load_resolves_them() -> None:
    document = parse_yaml(SCALARS, "f.yaml")
    assert document.problems == ()
    assert document.root == yaml.safe_load(SCALARS)


def test_timestamps_stay_text_and_keys_are_the_text_written() -> None:
    document = parse_yaml("when: 2001-12-14\n1: one\ntrue: yes\nnull: ~\n", "f.yaml")
    assert document.root == {"when": "2001-12-14", "1": "one", "true": True, "null": None}


def test_every_key_and_value_knows_its_line_and_column() -> None:
    text = "a:\n  b: 1\n  c:\n    - x\n    - {y: 2, z: [3]}\n"
    root = parse_yaml(text, "f.yaml").root
    assert isinstance(root, YamlMapping)
    assert root.position == (1, 1)
    assert root.keys_at["a"] == (1, 1)
    assert root["a"].keys_at == {"b": (2, 3), "c": (3, 3)}
    assert root["a"].values_at == {"b": (2, 6), "c": (4, 5)}
    sequence = root["a"]["c"]
    assert isinstance(sequence, YamlSequence)
    assert sequence.items_at == [(4, 7), (5, 7)]
    assert position_of(root, ["a", "c", 1, "y"]) == (5, 11)
    assert position_of(root, ["a", "c", 1, "y"], key=True) == (5, 8)
    assert position_of(root, ["a", "c", 1, "z", 0]) == (5, 18)
    # a path that does not exist all the way: the deepest ancestor's place
    assert position_of(root, ["a", "missing", "deeper"]) == (2, 3)


def test_duplicate_keys_are_refused_in_every_mapping_naming_both_lines() -> None:
    text = "a: 1\nb:\n  c: 1\n  d: {e: 1, e: 2}\n  c: 2\na: 3\n"
    assert messages(text) == [
        "f.yaml:4:13: duplicate key 'e' (first defined at line 4)",
        "f.yaml:5:3: duplicate key 'c' (first defined at line 3)",
        "f.yaml:6:1: duplicate key 'a' (first defined at line 1)",
    ]


def test_anchors_aliases_and_merge_keys() -> None:
    text = (
        "base: &base {user: jdoe, address: a@example.com}\n"
        "copy: *base\n"
        "merged:\n  <<: *base\n  address: b@example.com\n"
        "several:\n  <<: [{x: 1}, {x: 2, y: 2}]\n"
    )
    document = parse_yaml(text, "f.yaml")
    assert document.problems == ()
    assert plain(document.root) == plain(yaml.safe_load(text))
    merged = document.root["merged"]
    assert merged.keys_at["address"] == (5, 3)
    assert merged.values_at["user"] == (1, 20)  # where the merged value is written


def test_alias_bombs_are_refused() -> None:
    lines = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for level in "bcdefgh":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [" + ", ".join([f"*{previous}"] * 10) + "]")
    document = parse_yaml("\n".join(lines) + "\n", "f.yaml")
    assert not document.parsed
    assert [p.message for p in document.problems] == [
        "aliases expand to more than 100000 values; refused as unsafe"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("? [a, b]\n: 1\n", "f.yaml:1:3: a mapping key must be a text, not a mapping or a list"),
        ("a: &x [1]\n*x : 2\n", "f.yaml:2:1: a mapping key must be a text, not an alias to one"),
        ("a: !!binary aGk=\n", "f.yaml:1:4: unsupported tag '!!binary'"),
        ("a: !!set {x}\n", "f.yaml:1:4: unsupported tag '!!set' on a mapping"),
        ("a: !!int nine\n", "f.yaml:1:4: cannot read 'nine' as an integer"),
        (
            "a: b\x07\n",
            "f.yaml:1:5: invalid YAML: character #x0007 is not allowed: "
            "control characters are not allowed",
        ),
        (
            "a: [1,\nb: 2\n",
            "f.yaml:3:1: invalid YAML: did not find expected ',' or ']' "
            "(while parsing a flow sequence at line 1)",
        ),
        (
            "Password: x\n",
            "f.yaml:1:1: 'Password' is not allowed: credentials come only "
            "from the environment (CUPI_USERNAME, CUPI_PASSWORD)",
        ),
    ],
)
def test_refusals(text: str, expected: str) -> None:
    assert messages(text) == [expected]


def test_an_empty_file_or_comments_only_is_no_document() -> None:
    for text in ("", "# nothing\n", "\n\n"):
        document = parse_yaml(text, "f.yaml")
        assert (document.root, document.parsed, document.problems) == (None, True, ())


def test_byte_order_marks_are_understood() -> None:
    assert parse_yaml(b"\xef\xbb\xbfa: 1\n", "f.yaml").root == {"a": 1}
    assert parse_yaml("a: 1\n".encode("utf-16"), "f.yaml").root == {"a": 1}


def test_the_pure_python_parser_gives_the_same_values_and_positions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = "x:\n  y: [1, 'two', {z: 3}]\n  w: é\nx: dup\n"
    fast = parse_yaml(text, "f.yaml")
    monkeypatch.setattr(yamlload, "LOADER", yaml.SafeLoader)
    slow = parse_yaml(text, "f.yaml")
    assert slow.root == fast.root
    assert slow.root["x"].values_at == fast.root["x"].values_at
    assert slow.root["x"]["y"].items_at == fast.root["x"]["y"].items_at
    assert slow.problems == fast.problems


# --- properties -----------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
keys = st.text(max_size=20).filter(lambda key: key.lower() != "password")
json_data = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=5),
    max_leaves=30,
)


def _check_positions(value: Any, lines: list[str]) -> None:
    if isinstance(value, YamlMapping):
        for key in value:
            line, column = value.keys_at[key]
            assert 1 <= line <= len(lines) and column >= 1
            rest = lines[line - 1][column - 1 :]
            assert rest.startswith((key, "'", '"')) or key == ""
            _check_positions(value[key], lines)
    elif isinstance(value, YamlSequence):
        for item, (line, column) in zip(value, value.items_at, strict=True):
            assert 1 <= line <= len(lines) and column >= 1
            _check_positions(item, lines)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=json_data, flow=st.booleans())
def test_data_written_as_yaml_comes_back_the_same_with_positions(data: Any, flow: bool) -> None:
    text = yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True, width=60)
    document = parse_yaml(text, "f.yaml")
    assert document.problems == ()
    assert document.root == yaml.safe_load(text)
    _check_positions(document.root, text.splitlines())


def _assert_clean(document_problems: tuple[Any, ...] | list[Any], text: str) -> None:
    line_count = text.count("\n") + text.count("\r") + 2
    for problem in document_problems:
        assert 1 <= problem.line <= line_count
        assert problem.column >= 1
        assert problem.message


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_gives_a_value_or_clean_problems(text: str) -> None:
    document = parse_yaml(text, "f.yaml")
    if not document.parsed:
        assert document.root is None and document.problems
    _assert_clean(document.problems, text)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200))
def test_any_bytes_give_a_value_or_clean_problems(data: bytes) -> None:
    document = parse_yaml(data, "f.yaml")
    _assert_clean(document.problems, data.decode("utf-8", errors="replace"))


manifest_words = st.sampled_from(
    [
        "smtp_proxy_addresses",
        "address",
        "user",
        "user_object_id",
        "adress",
        "jdoe-work",
        "jdoe",
        "j@example.com",
        "J@EXAMPLE.COM",
        "no-at",
        "9375d893-c8eb-437b-90bf-7de4b1d0c3e8",
        "password",
        "<<",
        "",
        "1",
        "yes",
        "~",
    ]
)
manifest_like = st.recursive(
    manifest_words | st.integers(0, 3) | st.none(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(manifest_words, children, max_size=4)
    ),
    max_leaves=20,
)
_fragments = st.sampled_from(
    [
        ":",
        " ",
        "\n",
        "  ",
        "- ",
        "&a ",
        "*a",
        "!!str ",
        "{",
        "}",
        "[",
        "]",
        ",",
        "'",
        '"',
        "#",
        "---\n",
        "? ",
        "\t",
        "smtp_proxy_addresses:\n",
        "  x:\n",
        "    address: a@b\n",
    ]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=manifest_like,
    mutation=st.lists(st.tuples(st.integers(0, 400), _fragments), max_size=3),
)
def test_any_manifest_gives_resources_or_a_manifest_error(
    tmp_path_factory: pytest.TempPathFactory, data: Any, mutation: list[tuple[int, str]]
) -> None:
    text = yaml.safe_dump({"smtp_proxy_addresses": data} if isinstance(data, dict) else data)
    for offset, fragment in mutation:
        text = text[:offset] + fragment + text[offset:]
    path = tmp_path_factory.mktemp("m") / "a.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        manifests = load_manifest_files([(path, "a.yaml")])
    except ManifestError as refused:
        assert refused.problems
        _assert_clean(refused.problems, text)
    else:
        for resource in manifests.resources:
            assert resource.address == f"smtp_proxy_address.{resource.name}"
            assert (resource.owner.alias is None) != (resource.owner.object_id is None)
            assert isinstance(resource.attributes["SmtpAddress"], str)


def test_a_file_that_cannot_be_read_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as refused:
        load_manifest_files([(tmp_path / "missing.yaml", "missing.yaml")])
    assert [str(p) for p in refused.value.problems] == [
        "missing.yaml:1:1: cannot read: No such file or directory"
    ]
