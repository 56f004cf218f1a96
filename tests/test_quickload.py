"""The manifests' fast path (``quickload``) holds its promise: it never changes a result,
only its cost. Whatever files it is given, ``load_manifest_files(quick=True)`` returns the
same resources (positions included) or refuses with the same problems as the general path
(``quick=False``); it reads the usual shape itself; and a schema it does not fully enforce
switches it off."""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import event, example, given, settings

from cupiform.errors import ManifestError
from cupiform.manifest import load_manifest_files
from cupiform.quickload import QuickReader
from cupiform.resources.kinds import KINDS, SMTP_PROXY_ADDRESS
from cupiform.schema import Schema, schema_document

UUID = "9375d893-c8eb-437b-90bf-7de4b1d0c3e8"
SECTION = "smtp_proxy_addresses"


# --- both paths, side by side ---------------------------------------------------------


def outcome(files: Sequence[tuple[Path, str]], *, quick: bool) -> tuple[Any, ...]:
    """What loading gives, as plain data: every resource field by field (positions
    included, attributes in their order), or every problem in order."""
    try:
        manifests = load_manifest_files(files, quick=quick)
    except ManifestError as refused:
        return ("refused", [(p.file, p.line, p.column, p.message) for p in refused.problems])
    resources = [
        (
            r.kind,
            r.name,
            list(r.attributes.items()),
            (r.owner.alias, r.owner.object_id, tuple(r.owner.source)),
            tuple(r.source),
        )
        for r in manifests.resources
    ]
    return ("loaded", manifests.files, resources)


def both_outcomes(contents: Sequence[bytes]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The fast path's and the general path's outcomes for files holding ``contents``
    (named a.yaml, b.yaml, ... in messages)."""
    with tempfile.TemporaryDirectory() as folder:
        files = []
        for index, data in enumerate(contents):
            path = Path(folder) / f"{'abc'[index]}.yaml"
            path.write_bytes(data)
            files.append((path, path.name))
        return outcome(files, quick=True), outcome(files, quick=False)


def assert_paths_agree_counting(
    contents: Sequence[bytes], taken: Callable[[str], bool], called: tuple[str, str]
) -> None:
    """Both paths give the same outcome for ``contents``; how often ``taken`` says a file
    takes the faster way is counted (``--hypothesis-show-statistics``), as ``called``."""
    for data in contents:
        try:
            faster = taken(data.decode())
        except UnicodeDecodeError:
            faster = False
        event(called[0] if faster else called[1])
    fast, general = both_outcomes(contents)
    event(f"both {general[0]}")
    assert fast == general


@functools.cache
def reader() -> QuickReader:
    """The fast path for the project's manifest schema."""
    quick = QuickReader.from_schema(Schema("manifest").document, KINDS)
    assert quick is not None
    return quick


# --- a grammar of manifest files: the usual shape and its near misses -------------------
#
# Half the files are clean: only the usual shape, in its harmless variations (quoting,
# flow or block style, comments, indentation, line ends), which the fast path reads
# itself. The others are flawed: each choice is, now and then, one of the near misses the
# fast path must hand over to the general path. Names and addresses are drawn from small
# pools, so files often declare the same name or address (in another case) as others.
# Values are written as they stand after "key: ", in block or in flow style.

Draw = Callable[[st.SearchStrategy[Any]], Any]


def _sometimes(draw: Draw, one_in: int) -> bool:
    return bool(draw(st.integers(0, one_in - 1)) == one_in - 1)


def _flaw(draw: Draw, flawed: bool, one_in: int) -> bool:
    """Whether this choice is a near miss (never in a clean file)."""
    return flawed and _sometimes(draw, one_in)


@st.composite
def pick(
    draw: Draw, usual: Sequence[str], odd: Sequence[str], flawed: bool, one_in: int = 12
) -> str:
    """One of ``usual``, or now and then (in a flawed file) one of the near misses ``odd``."""
    return str(draw(st.sampled_from(odd if _flaw(draw, flawed, one_in) else usual)))


@st.composite
def written(draw: Draw, text: str) -> str:
    """A text as YAML can write it: plain, quoted, or tagged as a text."""
    style = draw(st.sampled_from(["plain", "plain", "plain", "'", '"', "!!str", "!"]))
    if style == "'":
        return "'" + text.replace("'", "''") + "'"
    if style == '"':
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text if style == "plain" else f"{style} {text}"


@st.composite
def text_value(draw: Draw, usual: Sequence[str], odd: Sequence[str], flawed: bool) -> str:
    """A usual text in any of its written forms, or a near miss as it stands."""
    if _flaw(draw, flawed, 12):
        return str(draw(st.sampled_from(odd)))
    return str(draw(written(draw(st.sampled_from(usual)))))


NAMES = ["jdoe-work", "sales", "_x9", "A-1", "jdoe-legacy", "b2", "Z", "2nd"]
ODD_NAMES = [
    "jdoe work",
    "-dash",
    "n" * 129,
    '"x\\n"',
    "'a.b'",
    "123",
    "yes",
    "null",
    "~",
    "é",
    "<<",
    '""',
    "!custom tagged",
    "!!int 5",
    "&n anchored",
    "*n ",
    "? [a, b]\n ",
    "password",
    "Password",
]
LOCAL_PARTS = ["j", "J", "sales", "x.y", "a+b", "o'neil"]
DOMAINS = ["example.com", "Example.COM", "y.z", "[10.0.0.1]"]
ODD_ADDRESSES = [
    "no-at",
    "john doe@example.com",
    "a@b..c",
    "@example.com",
    "x@",
    "x" * 65 + "@example.com",
    "a@" + "b" * 318,
    '"a@b.c\\n"',
    "''",
    "123",
    "yes",
    "~",
    "",
    "!!int 5",
    "!custom x@y.z",
    "&v v@example.com",
    "*v",
    "[a@b.c]",
    "{a: b}",
]
USERS = ["jdoe", "u", "sales", "x" * 64, "2001-12-14", "j.doe", "123abc", "yes sir"]
ODD_USERS = [
    "x" * 65,
    "''",
    "",
    "123",
    "-7",
    "yes",
    "No",
    "on",
    "~",
    "null",
    "1.5",
    "0x1F",
    "1_000",
    ".inf",
    ".NaN",
    "!!int 5",
    "!!bool yes",
    "!!null ''",
    "!custom x",
    "&o jdoe",
    "*o",
    '"u\\n"',
    "[jdoe]",
    "{a: b}",
]
OBJECT_IDS = [UUID, UUID.upper(), "00000000-0000-0000-0000-000000000000"]
ODD_OBJECT_IDS = ["jdoe", UUID + "0", UUID[:-1], "1234", f'"{UUID}\\n"', "~", "''"]
ODD_KEYS = ["adress", "colour", "password", "PASSWORD", "!!str address", "&k user", "<<"]


@st.composite
def bodies(draw: Draw, flawed: bool) -> list[tuple[str, str]]:
    """A resource's keys and values: its address and one owner key, in either order."""
    pairs: list[tuple[str, str]] = []
    if not _flaw(draw, flawed, 20):  # else the address is missing
        local, domain = draw(st.sampled_from(LOCAL_PARTS)), draw(st.sampled_from(DOMAINS))
        pairs.append(("address", draw(text_value([f"{local}@{domain}"], ODD_ADDRESSES, flawed))))
    owner = draw(pick(["user", "user_object_id"], ["neither", "both"], flawed, one_in=15))
    if owner in ("user", "both"):
        pairs.append(("user", draw(text_value(USERS, ODD_USERS, flawed))))
    if owner in ("user_object_id", "both"):
        pairs.append(("user_object_id", draw(text_value(OBJECT_IDS, ODD_OBJECT_IDS, flawed))))
    if draw(st.booleans()):
        pairs.reverse()
    if pairs and _sometimes(draw, 15):
        key, value = pairs[0]
        pairs[0] = (draw(st.sampled_from([f'"{key}"', f"'{key}'"])), value)  # a quoted key
    if _flaw(draw, flawed, 20):
        value = draw(st.sampled_from([*USERS, *ODD_USERS, *ODD_ADDRESSES, "*b"]))
        pairs.insert(draw(st.integers(0, len(pairs))), (draw(st.sampled_from(ODD_KEYS)), value))
    if _flaw(draw, flawed, 20):
        pairs.append(("<<", "*b"))
    if pairs and _flaw(draw, flawed, 20):
        pairs.append(draw(st.sampled_from(pairs)))  # a key twice
    return pairs


@st.composite
def entries(draw: Draw, name: str, indent: str | None, flawed: bool) -> str:
    """One resource: its lines under its section, or (``indent`` None) an item of a flow
    mapping."""
    pairs = draw(bodies(flawed))
    anchor = "&b " if _flaw(draw, flawed, 15) else ""
    styles = ["block", "block", "flow"] if indent is not None else ["flow"]
    style = draw(pick(styles, ["not a mapping"], flawed, one_in=20))
    if style == "block" and pairs and indent is not None:
        comment = " # note" if _sometimes(draw, 10) else ""
        lines = [f"{indent}{name}: {anchor}{comment}".rstrip() + "\n"]
        lines += [f"{indent * 2}{key}: {value}".rstrip() + "\n" for key, value in pairs]
        return "".join(lines)
    if style == "not a mapping":  # or an alias to one
        body = draw(st.sampled_from(["*b", "", "x@y.z", "[a, b]", "~", "!!map {}", "!!omap []"]))
    else:
        body = anchor + "{" + ", ".join(f"{key}: {value}" for key, value in pairs) + "}"
    return f"{name}: {body}" if indent is None else f"{indent}{name}: {body}".rstrip() + "\n"


@st.composite
def sections(draw: Draw, indent: str, flawed: bool, flow: bool = False) -> str:
    """The resources section (or whatever a flawed file has instead); ``flow``: as an
    item of a flow mapping."""
    header = draw(
        pick(
            [SECTION, SECTION, f'"{SECTION}"', f"!!str {SECTION}"],
            ["smtp_proxy_adresses", "password", "<<", f"&s {SECTION}", f"? {SECTION}\n"],
            flawed,
        )
    )
    shape = draw(pick(["flow"] if flow else ["block", "block", "flow"], ["odd"], flawed))
    if shape == "odd":  # no mapping of resources under the section
        value = draw(st.sampled_from(["", "{}", "[]", "~", "text", "*b", "!!map {}"]))
        return f"{header}: {value}".rstrip() + "\n"
    names = draw(st.lists(text_value(NAMES, ODD_NAMES, flawed), max_size=3, unique=True))
    if names and _flaw(draw, flawed, 12):
        names.append(draw(st.sampled_from(names)))  # a name twice
    if shape == "flow":
        inside = ", ".join(draw(entries(name, None, flawed)) for name in names)
        return f"{header}: {{{inside}}}\n"
    return f"{header}:\n" + "".join(draw(entries(name, indent, flawed)) for name in names)


WHOLE_FILES = [
    "",
    "# only a comment\n",
    "---\n",
    "~\n",
    "- a\n- b\n",
    "just text\n",
    "42\n",
    f"[{SECTION}]\n",
    f"{SECTION}:\n  jdoe-work:\n    address: f@example.com\n    user: jdoe\n  x: [\n",
]
PREFIXES = ["", "", "# a manifest\n", "---\n", "--- # start\n", "%YAML 1.1\n---\n"]
SUFFIXES = ["", "", "# the end\n", "...\n", "\n\n"]
ODD_SUFFIXES = [
    "---\n",
    f"---\n{SECTION}: {{}}\n",
    "...\n---\n",
    "  bad: [\n",
    ": : :\n",
    "\tx: 1\n",
    "x\x07\n",
    f"{SECTION}:\n  z:\n    address: z@example.com\n    user: z\n",
    "b: &b {address: b@example.com, user: b}\n",
]


@st.composite
def file_texts(draw: Draw, flawed: bool) -> str:
    if _flaw(draw, flawed, 10):
        return str(draw(st.sampled_from(WHOLE_FILES)))
    indent = draw(st.sampled_from(["  ", "  ", " ", "    "]))
    text = draw(st.sampled_from(PREFIXES))
    if _sometimes(draw, 8):  # the root mapping in flow style
        text += "{" + draw(sections(indent, flawed, flow=True)).rstrip() + "}\n"
    else:
        text += draw(sections(indent, flawed))
    text += draw(pick(SUFFIXES, ODD_SUFFIXES, flawed, one_in=8))
    if _sometimes(draw, 8):  # a comment or a blank line somewhere
        lines = text.splitlines(keepends=True)
        at = draw(st.integers(0, len(lines)))
        extra = draw(st.sampled_from(["# c\n", "  # c\n", "\n"]))
        text = "".join([*lines[:at], extra, *lines[at:]])
    return text.replace("\n", draw(pick(["\n", "\n", "\r\n"], ["\r"], flawed)))


@st.composite
def file_contents(draw: Draw) -> bytes:
    flawed = draw(st.booleans())
    text = draw(file_texts(flawed))
    encoding = draw(pick(["utf-8"], ["bom", "utf-16", "bad byte"], flawed, one_in=10))
    if encoding == "bom":
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    if encoding == "utf-16":
        return text.encode("utf-16")
    data = text.encode("utf-8")
    if encoding == "bad byte":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xe9", b"\xc3"])) + data[at:]
    return data


# --- the promise -----------------------------------------------------------------------


PASSWORD_NAMED = f"{SECTION}:\n  password:\n    address: j@example.com\n    user: jdoe\n"


@settings(max_examples=400, deadline=None)
@given(contents=st.lists(file_contents(), min_size=1, max_size=3))
@example(contents=[PASSWORD_NAMED.encode()])  # a disagreement found: see below
def test_the_fast_path_gives_the_general_paths_result(contents: list[bytes]) -> None:
    assert_paths_agree_counting(
        contents,
        lambda text: not text.startswith("\ufeff") and reader().read(text) is not None,
        ("a file read by the fast path", "a file read by the general path"),
    )


# A disagreement the property found, kept as it is (it fails until quickload is fixed).


@pytest.mark.parametrize("name", ["password", "Password", "PASSWORD"])
def test_a_resource_named_password_is_refused_on_both_paths(name: str) -> None:
    """yamlload refuses a key named 'password' (in any case) at every depth, so the general
    path refuses a resource of that name. The name matches the schema's resource_name
    pattern, which is all the fast path checks of a name: it loads the resource."""
    text = f"{SECTION}:\n  {name}:\n    address: a@b.c\n    user: u\n"
    fast, general = both_outcomes([text.encode()])
    assert general == (
        "refused",
        [
            (
                "a.yaml",
                2,
                3,
                f"'{name}' is not allowed: credentials come only from the environment "
                "(CUPI_USERNAME, CUPI_PASSWORD)",
            )
        ],
    )
    assert fast == general


# Cases at the edge of what the fast path accepts, each checked explicitly.

RESOURCE = f"{SECTION}:\n  x:\n    address: a@b.c\n"


@pytest.mark.parametrize(
    "text",
    [
        # a pattern's '$' (Python's re) also matches before a final line break
        pytest.param(RESOURCE + f'    user_object_id: "{UUID}\\n"\n', id="id, line break"),
        pytest.param(RESOURCE + f"    user_object_id: |\n      {UUID}\n", id="id, block"),
        pytest.param(f'{SECTION}:\n  "x\\n":\n    address: a@b.c\n    user: u\n', id="name, break"),
        # the non-specific tag '!' leaves a plain scalar to be resolved (PyYAML)
        pytest.param(RESOURCE + "    user: ! 123\n", id="! number"),
        pytest.param(RESOURCE + '    user: ! "123"\n', id="! quoted number"),
        # tags on keys are not looked at by either path
        pytest.param(f"{SECTION}:\n  !custom x:\n    address: a@b.c\n    user: u\n", id="tag name"),
        pytest.param(f"!custom {SECTION}:\n  x:\n    address: a@b.c\n    user: u\n", id="tag key"),
        pytest.param(RESOURCE + "    user: 2001-12-14\n", id="timestamp"),
        pytest.param(f"{SECTION}:\n  x: !!map {{address: a@b.c, user: u}}\n", id="!!map"),
        pytest.param(f"{SECTION}: {{}}\n", id="empty section"),
        pytest.param(f"{SECTION}:\n", id="null section"),
        pytest.param(RESOURCE + "    user: u\n...\n# after the end\n", id="document end"),
        pytest.param(RESOURCE + "    user: u\n...\n---\n", id="empty second document"),
    ],
)
def test_edge_cases_give_the_same_result(text: str) -> None:
    fast, general = both_outcomes([text.encode()])
    assert fast == general


def test_files_read_on_different_paths_see_each_others_names_and_addresses() -> None:
    # a.yaml and c.yaml take the fast path, b.yaml (an anchor and an alias) the general one
    a = f"{SECTION}:\n  jdoe-work:\n    address: j@example.com\n    user: jdoe\n"
    b = (
        f"{SECTION}:\n"
        "  jdoe-work: {address: &a other@example.com, user: *a}\n"
        "  jdoe-home: {address: J@EXAMPLE.com, user: jdoe}\n"
        "  sales: {address: sales@example.com, user: sales}\n"
    )
    c = f"{SECTION}:\n  sales-2:\n    address: SALES@example.com\n    user: sales\n"
    assert reader().read(a) is not None and reader().read(c) is not None
    assert reader().read(b) is None
    fast, general = both_outcomes([a.encode(), b.encode(), c.encode()])
    assert fast == general
    assert fast == (
        "refused",
        [
            ("b.yaml", 2, 3, f"{SECTION}: 'jdoe-work' is already declared at a.yaml:2:3"),
            (
                "b.yaml",
                3,
                24,
                f"{SECTION}.jdoe-home.address: 'J@EXAMPLE.com' is already declared by "
                "smtp_proxy_address.jdoe-work at a.yaml:3:14",
            ),
            (
                "c.yaml",
                3,
                14,
                f"{SECTION}.sales-2.address: 'SALES@example.com' is already declared by "
                "smtp_proxy_address.sales at b.yaml:4:20",
            ),
        ],
    )


# --- the fast path reads the usual shape itself ----------------------------------------


def test_the_usual_shape_is_read_by_the_fast_path_with_its_positions() -> None:
    text = (
        f"{SECTION}:\n"
        "  jdoe-work:\n"
        "    address: john.doe@example.com\n"
        "    user: jdoe\n"
        "  # a comment\n"
        f"  jdoe-legacy: {{address: 'jd@example.com', user_object_id: \"{UUID}\"}}\n"
    )
    read = reader().read(text)
    assert read is not None
    assert [(e.kind, e.name, e.name_at) for e in read] == [
        (SMTP_PROXY_ADDRESS, "jdoe-work", (2, 3)),
        (SMTP_PROXY_ADDRESS, "jdoe-legacy", (6, 3)),
    ]
    assert [dict(e.values) for e in read] == [
        {"address": "john.doe@example.com", "user": "jdoe"},
        {"address": "jd@example.com", "user_object_id": UUID},
    ]
    assert [dict(e.values_at) for e in read] == [
        {"address": (3, 14), "user": (4, 11)},
        {"address": (6, 26), "user_object_id": (6, 60)},
    ]


def test_empty_sections_are_read_by_the_fast_path() -> None:
    assert reader().read(f"{SECTION}: {{}}\n") == []


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            f"{SECTION}:\n  x:\n    address: !!str a@b.c\n    user: !custom u\n", id="tag"
        ),
        pytest.param(
            f"{SECTION}:\n  x:\n    address: &a a@b.c\n    user: u\n"
            "  y:\n    address: b@b.c\n    user: *a\n",
            id="alias",
        ),
        pytest.param(
            f"{SECTION}:\n  x:\n    address: a@b.c\n    user: u\n    user: v\n", id="duplicate key"
        ),
        pytest.param(
            f"{SECTION}:\n  x:\n    address: a@b.c\n    user: u\n"
            "  x:\n    address: b@b.c\n    user: v\n",
            id="duplicate name",
        ),
        pytest.param(f"{SECTION}:\n  x:\n    address: a@b.c\n    user: 123\n", id="number"),
        pytest.param(f"{SECTION}:\n  x:\n    address: a@b.c\n    user: yes\n", id="boolean"),
        pytest.param(f"{SECTION}:\n  x:\n    address: a@b.c\n    user: ~\n", id="null"),
        pytest.param(
            f"{SECTION}:\n  x:\n    address: a@b.c\n    user: u\n    colour: red\n",
            id="unknown key",
        ),
        pytest.param(f"{SECTION}:\n  x:\n    user: u\n", id="missing address"),
        pytest.param(f"{SECTION}:\n  x:\n    address: a@b.c\n    user: {'u' * 65}\n", id="long"),
        pytest.param(f"{SECTION}:\n  x y:\n    address: a@b.c\n    user: u\n", id="bad name"),
        pytest.param(f"{SECTION}:\n", id="null section"),
        pytest.param(f"{SECTION}: {{}}\n---\n{SECTION}: {{}}\n", id="two documents"),
        pytest.param(f"{SECTION}:\n  x: [\n", id="syntax error"),
        pytest.param("- a\n", id="list root"),
        pytest.param("", id="empty file"),
    ],
)
def test_near_misses_are_left_to_the_general_path(text: str) -> None:
    assert reader().read(text) is None


# --- a schema it does not fully enforce switches it off --------------------------------


def _body(document: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = document["$defs"]["smtp_proxy_address"]
    return body


def test_the_projects_schema_and_mere_notes_keep_the_fast_path() -> None:
    assert QuickReader.from_schema(schema_document("manifest"), KINDS) is not None
    document = schema_document("manifest")
    _body(document)["properties"]["user"]["$comment"] = "only a note"
    _body(document)["properties"]["user"]["examples"] = ["jdoe"]
    assert QuickReader.from_schema(document, KINDS) is not None


def test_a_rule_beside_a_reference_is_enforced_with_the_definition() -> None:
    document = schema_document("manifest")
    _body(document)["properties"]["user_object_id"] = {"$ref": "#/$defs/object_id", "maxLength": 10}
    quick = QuickReader.from_schema(document, KINDS)
    assert quick is not None
    assert quick.read(f"{SECTION}:\n  x:\n    address: a@b.c\n    user_object_id: {UUID}\n") is None


def test_a_tighter_rule_the_fast_path_knows_is_enforced_from_the_schema() -> None:
    document = schema_document("manifest")
    _body(document)["properties"]["user"]["maxLength"] = 3
    quick = QuickReader.from_schema(document, KINDS)
    assert quick is not None
    assert quick.read(f"{SECTION}:\n  x:\n    address: a@b.c\n    user: abc\n") is not None
    assert quick.read(f"{SECTION}:\n  x:\n    address: a@b.c\n    user: abcd\n") is None


def _set(path: Sequence[str], key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        node = document
        for step in path:
            node = node[step]
        node[key] = value

    return change


def _drop(path: Sequence[str], key: str) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        node = document
        for step in path:
            node = node[step]
        del node[key]

    return change


BODY = ("$defs", "smtp_proxy_address")
ADDRESS = (*BODY, "properties", "address")
USER = (*BODY, "properties", "user")
SECTION_PATH = ("properties", SECTION)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(_set(ADDRESS, "format", "email"), id="format on address"),
        pytest.param(_set(USER, "enum", ["jdoe", "sales"]), id="enum on user"),
        pytest.param(_set(USER, "const", "jdoe"), id="const on user"),
        pytest.param(_set(USER, "type", ["string", "null"]), id="user may be null"),
        pytest.param(_set(USER, "type", "integer"), id="user a number"),
        pytest.param(_set(USER, "maxLength", 1.5), id="a length not an integer"),
        pytest.param(_set(BODY, "additionalProperties", True), id="body open"),
        pytest.param(_drop(BODY, "additionalProperties"), id="body open by default"),
        pytest.param(
            _set(BODY, "additionalProperties", {"type": "string"}), id="body extra keys typed"
        ),
        pytest.param(_set(BODY, "patternProperties", {"^x-": {}}), id="body patternProperties"),
        pytest.param(_set(BODY, "minProperties", 2), id="body minProperties"),
        pytest.param(_set(BODY, "required", ["address", "owner"]), id="required unknown key"),
        pytest.param(
            _set(BODY, "oneOf", [{"required": ["user"]}, {"required": ["user_object_id"]}]),
            id="body oneOf",
        ),
        pytest.param(_drop(SECTION_PATH, "additionalProperties"), id="section open"),
        pytest.param(_set(SECTION_PATH, "maxProperties", 10), id="section maxProperties"),
        pytest.param(_set(SECTION_PATH, "type", "array"), id="section a list"),
        pytest.param(_drop((), "additionalProperties"), id="root open"),
        pytest.param(_set((), "additionalProperties", True), id="root open explicitly"),
        pytest.param(_set((), "required", [SECTION]), id="root required"),
        pytest.param(_set(("properties",), "other_things", {"type": "object"}), id="unknown kind"),
        pytest.param(
            _set(
                BODY[:-1],
                "smtp_proxy_address",
                {"$ref": "https://example.com/other.json"},
            ),
            id="external reference",
        ),
        pytest.param(
            _set((*BODY, "properties"), "user_object_id", {"$ref": "#/$defs/missing"}),
            id="missing definition",
        ),
        pytest.param(
            _set(
                (*BODY, "properties"),
                "user_object_id",
                {"$ref": "#/$defs/object_id", "pattern": "^x"},
            ),
            id="reference with a rule beside it that its definition has too",
        ),
    ],
)
def test_a_schema_saying_more_than_the_fast_path_enforces_switches_it_off(
    change: Callable[[dict[str, Any]], None],
) -> None:
    document = schema_document("manifest")
    change(document)
    assert QuickReader.from_schema(document, KINDS) is None
