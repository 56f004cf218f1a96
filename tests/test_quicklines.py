"""The manifests' line reader (``QuickReader.read_uniform``) and the bulk path built on it
(``manifest._take_uniform``) hold the fast path's promise.

Two promises are checked, by properties over texts aimed at the line reader (files of the
plainest block style, now and then mutated a character or a line at a time) and by
explicit edge cases:

- the reader's: whatever text ``read_uniform`` accepts, the entries it gives are exactly
  those the event reader (``read_events``, the reference) gives: names, values, key order
  and every position;
- the loader's: for any files, ``load_manifest_files(quick=True)`` gives what
  ``quick=False`` gives, the same resources with the same positions or the same problems
  in the same order, also when names and addresses collide across files and the bulk path
  has to hand a section over to the one-by-one path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, event, example, given, settings

from cupiform.quickload import Entry
from tests.test_quickload import SECTION, UUID, assert_paths_agree_counting, both_outcomes, reader

# --- the two readers and the two paths, as plain data ----------------------------------

EntryData = tuple[str, str, tuple[int, int], list[tuple[str, Any]], list[tuple[str, Any]]]


def as_data(entries: Sequence[Entry]) -> list[EntryData]:
    """Entries as plain data: kind, name and where, values and their positions in order."""
    return [
        (
            entry.kind.name,
            entry.name,
            entry.name_at,
            list(entry.values.items()),
            list(entry.values_at.items()),
        )
        for entry in entries
    ]


def by_lines(text: str) -> list[EntryData] | None:
    """What the line reader gives for ``text`` (None: it leaves the text to the parser)."""
    sections = reader().read_uniform(text)
    if sections is None:
        return None
    return as_data([entry for section in sections for entry in section.entries()])


def by_events(text: str) -> list[EntryData] | None:
    """What the event reader, the reference, gives for ``text``."""
    entries = reader().read_events(text)
    return None if entries is None else as_data(entries)


def assert_lines_agree_with_events(text: str) -> bool:
    """Whatever the line reader gives, the event reader gives too; whether it gave any."""
    lines = by_lines(text)
    if lines is not None:
        assert lines == by_events(text)
    return lines is not None


def assert_fast_is_general(*texts: str | bytes) -> tuple[Any, ...]:
    """Loading ``texts`` as files a.yaml, b.yaml, ... gives the same outcome on both paths;
    that outcome."""
    contents = [text if isinstance(text, bytes) else text.encode() for text in texts]
    fast, general = both_outcomes(contents)
    assert fast == general
    return general


def assert_same_everywhere(text: str, accepted: bool | None = None) -> None:
    """Both promises for one file; ``accepted``: whether the line reader must read it
    (True), must leave it to the parser (False), or may do either (None)."""
    read = assert_lines_agree_with_events(text)
    if accepted is not None:
        assert read == accepted
    assert_fast_is_general(text)


# --- writing files line by line --------------------------------------------------------

Pairs = Sequence[tuple[str, str]]


def resource(name: str, pairs: Pairs, outer: str = "  ", inner: str = "    ") -> str:
    """One resource in block style: its name line, then a ``key: value`` line per pair
    (``inner`` is the fields' whole indentation)."""
    return f"{outer}{name}:\n" + "".join(f"{inner}{key}: {value}\n" for key, value in pairs)


def manifest(*resources: str, header: str = SECTION) -> str:
    return f"{header}:\n" + "".join(resources)


A_PAIRS = [("address", "a@example.com"), ("user", "jdoe")]
B_PAIRS = [("address", "b@example.com"), ("user", "sales")]
A = resource("a", A_PAIRS)
B = resource("b", B_PAIRS)
C = resource("c", [("address", "c@example.com"), ("user", "carol")])
AB = manifest(A, B)

# A plain value the line reader's pattern could take (charset only; YAML may still read it
# as a number, a boolean or nothing), to choose between writing it plain or quoted.
_PLAIN_SHAPE = re.compile(r"[A-Za-z0-9_.+~][A-Za-z0-9_.@+~-]*")


def quote(value: str, style: str) -> str:
    """``value`` written in ``style``: plain, ``'`` or ``"`` (escaped as each needs)."""
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style == '"':
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


# --- a grammar of line-shaped files -------------------------------------------------------

Draw = Callable[[st.SearchStrategy[Any]], Any]


def _one_in(draw: Draw, n: int | None) -> bool:
    """True one time in ``n`` (never for None); shrinks to false."""
    return n is not None and bool(draw(st.integers(0, n - 1)) == n - 1)


NAMES = ["jdoe-work", "sales", "b2", "_x", "2nd", "A-1", "123", "true", "null", "Z"]
ODD_NAMES = ["password", "PassWord", "n" * 129, "n" * 128, "-x", "x y", "é"]
LOCAL_PARTS = ["j", "J", "sales", "SALES", "x.y", "a+b", "k1", "k2", "k3", "m"]
DOMAINS = ["example.com", "EXAMPLE.com", "y.z", "q.example.org"]
BAD_ADDRESSES = [
    "a@",
    "@b",
    "a..b@c",
    "x" * 65 + "@example.com",
    "x" * 64 + "@example.com",
    "a@b..c",
    "no-at",
    ".a@b.c",
    "a.@b.c",
    "a@-b.c",
    "a@b_c.d",
    "a@" + "b" * 320,
    "a b@c.d",
    "a@[1.2.3.999]",
    "a@[1.2.3.4]",
]
USERS = ["jdoe", "u", "sales", "j.doe", "123abc", "2001-12-14", "x" * 64]
ODD_VALUES = [
    "x" * 65,
    "",
    "123",
    "-1",
    "+1",
    "0x1F",
    "0o17",
    "0b101",
    "1_000",
    "1.5",
    ".5",
    "1e5",
    ".inf",
    ".NaN",
    "yes",
    "No",
    "on",
    "OFF",
    "true",
    "null",
    "Null",
    "~",
    "1:20",
    "a # b",
    "a: b",
    " lead",
    "trail ",
    "é",
    "\u2028",
    "\xa0",
]
OBJECT_IDS = [UUID, UUID.upper(), "00000000-0000-0000-0000-000000000000"]
ODD_OBJECT_IDS = ["1234", UUID + "0", UUID[:-1], "jdoe"]
SKIPPED_LINES = [
    "\n",
    " \n",
    "      \n",
    "# c\n",
    "  # c\n",
    " #\n",
    "          # deeper than the fields\n",
    "# é 😀 : - [x]\n",
]
VALUE_STYLES = ["plain", "plain", "plain", "'", '"']


@st.composite
def written(draw: Draw, value: str) -> str:
    """``value`` plain when its characters allow it, else (or now and then) quoted."""
    style = draw(st.sampled_from(VALUE_STYLES))
    if style == "plain" and not _PLAIN_SHAPE.fullmatch(value):
        style = "'"
    return quote(value, style)


@st.composite
def address_values(draw: Draw, bad: int | None) -> str:
    """An address: mostly valid (from small pools, so that they collide, in any case),
    one in ``bad`` refused by the addr-spec though the schema allows it."""
    if _one_in(draw, bad):
        return str(draw(written(draw(st.sampled_from(BAD_ADDRESSES)))))
    local, domain = draw(st.sampled_from(LOCAL_PARTS)), draw(st.sampled_from(DOMAINS))
    return str(draw(written(f"{local}@{domain}")))


@st.composite
def field_value(draw: Draw, key: str, bad: int | None, odd: bool) -> str:
    """A value for ``key``; ``odd``: one the schema refuses or YAML reads as no text."""
    if odd:
        pool = ODD_OBJECT_IDS if key == "user_object_id" else ODD_VALUES
        return str(draw(written(draw(st.sampled_from(pool)))))
    if key == "address":
        return str(draw(address_values(bad)))
    return str(draw(written(draw(st.sampled_from(USERS if key == "user" else OBJECT_IDS)))))


KEY_ORDERS = [
    ("address", "user"),
    ("user", "address"),
    ("address", "user_object_id"),
    ("user_object_id", "address"),
]
ODD_KEY_ORDERS = [
    ("address",),
    ("user",),
    ("address", "user", "user_object_id"),
    ("user_object_id", "address", "user"),
    ("address", "address"),
    ("address", "user", "user"),
    ("address", "colour"),
    ("address", "password"),
    ("address", "user", "address"),
]
# What makes a file unlike the plainest style, one kind at a time (see ``line_files``).
FLAWS = ["keys", "resource keys", "indentation", "names", "values", "sections"]


@st.composite
def line_files(draw: Draw, flaw: str | None = None, bad: int | None = None) -> str:
    """A manifest written line by line: a section of resources, each a name line and
    ``key: value`` lines, all alike, with skipped lines here and there; now and then one
    kind of ``flaw`` (one of ``FLAWS``), and one address in ``bad`` refused by the
    addr-spec."""

    def flawed(kind: str) -> bool:
        return flaw == kind and _one_in(draw, 3)

    outer = draw(st.sampled_from(["  ", " ", "    "]))
    inner = outer + draw(st.sampled_from(["  ", " ", "   "]))
    keys = draw(st.sampled_from(ODD_KEY_ORDERS if flawed("keys") else KEY_ORDERS))
    text = "".join(draw(st.lists(st.sampled_from(SKIPPED_LINES), max_size=2)))
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True))
    if flawed("names"):
        names.insert(draw(st.integers(0, len(names))), draw(st.sampled_from(ODD_NAMES + names)))
    header = draw(st.sampled_from(["other", "a b"])) if flawed("sections") else SECTION
    text += f"{header}:\n"
    for name in names:
        if _one_in(draw, 3):
            text += "".join(draw(st.lists(st.sampled_from(SKIPPED_LINES), max_size=2)))
        own_keys = keys
        if flawed("resource keys"):  # unlike the others: one key more, or others
            extra = draw(st.sampled_from(["address", "user", "user_object_id"]))
            others = [keys[:-1], keys[1:], keys[::-1], *KEY_ORDERS, *ODD_KEY_ORDERS]
            own_keys = (*keys, extra) if draw(st.booleans()) else draw(st.sampled_from(others))
        own_outer, own_inner = outer, inner
        if flawed("indentation"):
            own_outer, own_inner = draw(
                st.sampled_from([(outer, inner + " "), (outer, inner[:-1]), (" " + outer, inner)])
            )
        pairs = [(key, draw(field_value(key, bad, flawed("values")))) for key in own_keys]
        text += resource(name, pairs, own_outer, own_inner)
    text += "".join(draw(st.lists(st.sampled_from(SKIPPED_LINES), max_size=2)))
    if flawed("sections"):  # a second section, of the same name or not
        text += draw(st.sampled_from([f"{SECTION}:\n", "other:\n"])) + resource(
            "z", [("address", "z@example.com"), ("user", "z")], outer, inner
        )
    if _one_in(draw, 6):
        text = text.removesuffix("\n")
    return text


INSERTED_CHARACTERS = [
    " ",
    "  ",
    "\t",
    "\r",
    "\n",
    "#",
    " #",
    ":",
    ": ",
    "'",
    '"',
    "\\",
    "-",
    "- ",
    ".",
    "@",
    "!",
    "&a ",
    "*",
    "|",
    ">",
    "{",
    "}",
    "[",
    ",",
    "?",
    "%",
    "`",
    "~",
    "é",
    "😀",
    "\u2028",
    "\u2029",
    "\x85",
    "\ufeff",
    "\xa0",
    "\x00",
    "\x7f",
    "0",
    "a",
    "_",
]
INSERTED_LINES = [
    *SKIPPED_LINES,
    "---\n",
    "...\n",
    "--- # start\n",
    "%YAML 1.1\n",
    "      more\n",
    "   odd: x\n",
    "   odd:\n",
    f"{SECTION}:\n",
    "other: 1\n",
    "  x:\n",
    "    user: u\n",
    "    address: q@example.com\n",
    f"    user_object_id: {UUID}\n",
    "    colour: red\n",
    "  - a\n",
]


@st.composite
def mutated(draw: Draw, text: str) -> str:
    """``text`` with a few changes: a character inserted, removed or replaced, a line
    inserted, repeated, removed, swapped with the next, indented more or less."""
    for _ in range(draw(st.integers(1, 3))):
        lines = text.splitlines(keepends=True) or [""]
        at = draw(st.integers(0, len(lines) - 1))
        line = lines[at]
        change = draw(
            st.sampled_from(
                [
                    "insert",
                    "insert",
                    "delete",
                    "replace",
                    "line",
                    "line",
                    "repeat",
                    "remove",
                    "swap",
                    "indent",
                    "dedent",
                ]
            )
        )
        if change in ("insert", "delete", "replace"):
            where = draw(st.integers(0, len(line)))
            new = draw(st.sampled_from(INSERTED_CHARACTERS)) if change != "delete" else ""
            skip = 1 if change != "insert" else 0
            lines[at] = line[:where] + new + line[where + skip :]
        elif change == "line":
            lines.insert(at + draw(st.integers(0, 1)), draw(st.sampled_from(INSERTED_LINES)))
        elif change == "repeat":
            lines.insert(at, line)
        elif change == "remove":
            del lines[at]
        elif change == "swap" and at + 1 < len(lines):
            lines[at], lines[at + 1] = lines[at + 1], line
        elif change == "indent":
            lines[at] = " " + line
        elif change == "dedent":
            lines[at] = line.removeprefix(" ")
        text = "".join(lines)
    return text


@st.composite
def texts_for_the_line_reader(draw: Draw) -> str:
    """Mostly files the line reader reads, a third of them mutated."""
    flaw = draw(st.sampled_from([None, *FLAWS]))
    text = str(draw(line_files(flaw, bad=draw(st.sampled_from([3, None])))))
    return str(draw(mutated(text))) if _one_in(draw, 3) else text


# --- the reader's promise ------------------------------------------------------------------


# A disagreement found (kept until the line reader is fixed): a later resource with a key
# more than the first is read by lines without that key, a key twice or a second owner.
# ``_uniform`` stops at the first resource's last key and never looks at the others'.
KEY_TWICE_LATER = manifest(A, resource("b", [*B_PAIRS, ("user", "t")]))
BOTH_OWNERS_LATER = manifest(A, resource("b", [*B_PAIRS, ("user_object_id", UUID)]))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts_for_the_line_reader())
@example(text=KEY_TWICE_LATER)
def test_what_the_line_reader_reads_the_event_reader_reads_alike(text: str) -> None:
    read = assert_lines_agree_with_events(text)
    event("read by lines" if read else "left to the parser")


@settings(max_examples=100, deadline=None)
@given(text=line_files())
def test_the_plainest_files_are_read_by_lines(text: str) -> None:
    """Files of the plainest style, with text values the schema allows, are the line
    reader's to read (else it would be no faster)."""
    lines = by_lines(text)
    assert lines is not None
    assert lines == by_events(text)


# --- the disagreement found, with both paths' words ----------------------------------------

NO_OWNER_FIRST = manifest(
    resource("a", [("address", "a@example.com")]),
    B,
    resource("c", [("address", "c@example.com")]),
)
NEITHER = "exactly one of 'user' or 'user_object_id' is needed, found neither"


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        pytest.param(
            KEY_TWICE_LATER,
            [(8, 5, "duplicate key 'user' (first defined at line 7)")],
            id="a key twice",
        ),
        pytest.param(
            BOTH_OWNERS_LATER,
            [
                (
                    5,
                    3,
                    f"{SECTION}.b: exactly one of 'user' or 'user_object_id' is needed, found both",
                )
            ],
            id="both owners",
        ),
        pytest.param(
            # b's owner is dropped, and c's lines are counted one short
            NO_OWNER_FIRST,
            [(2, 3, f"{SECTION}.a: {NEITHER}"), (7, 3, f"{SECTION}.c: {NEITHER}")],
            id="an owner only in the second of three",
        ),
    ],
)
def test_a_later_resource_with_a_key_more_than_the_first(
    text: str, problems: list[tuple[int, int, str]]
) -> None:
    """``_uniform`` takes the first resource's keys for all: a later resource's further
    key line is matched by the line pattern, then dropped without a word."""
    assert_lines_agree_with_events(text)
    fast, general = both_outcomes([text.encode()])
    assert general == ("refused", [("a.yaml", *problem) for problem in problems])
    assert fast == general


# --- the loader's promise, over several files ---------------------------------------------


@st.composite
def line_file_contents(draw: Draw) -> bytes:
    """One file for the loader: line-shaped, its names and addresses from small pools
    (so that files collide), now and then mutated or a file of another style."""
    choice = draw(st.integers(0, 19))
    if choice == 0:  # a file the line reader leaves to the parser, naming the same things
        local, domain = draw(st.sampled_from(LOCAL_PARTS)), draw(st.sampled_from(DOMAINS))
        name = draw(st.sampled_from(NAMES))
        text = f"{SECTION}:\n  {name}: {{address: {local}@{domain}, user: jdoe}}\n"
    else:
        flaw = draw(st.sampled_from([None, None, None, *FLAWS]))
        text = str(draw(line_files(flaw, bad=draw(st.sampled_from([3, 8, None])))))
        if choice <= 4:
            text = str(draw(mutated(text)))
    return text.encode()


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contents=st.lists(line_file_contents(), min_size=1, max_size=3))
@example(contents=[BOTH_OWNERS_LATER.encode()])
def test_the_bulk_path_gives_the_general_paths_result(contents: list[bytes]) -> None:
    assert_paths_agree_counting(
        contents,
        lambda text: reader().read_uniform(text) is not None,
        ("a file read by lines", "a file left to the parser"),
    )


# --- values YAML reads as something other than text ---------------------------------------

NOT_TEXT_WHEN_PLAIN = [
    "123",
    "-1",
    "+1",
    "0x1F",
    "0b101",
    "1_000",
    "1.5",
    ".5",
    ".inf",
    ".NaN",
    "yes",
    "No",
    "on",
    "OFF",
    "true",
    "null",
    "Null",
    "~",
    "1:20",
]
TEXT_THOUGH_NUMBER_LIKE = ["0o17", "1e5", "2001-12-14"]  # YAML 1.1 (timestamps stay text)


def _with_value(key: str, value: str) -> str:
    """Two resources, the second with ``value`` under ``key`` and its other fields valid."""
    owner = "user_object_id" if key == "user_object_id" else "user"
    owned_by = UUID if owner == "user_object_id" else "jdoe"
    first = resource("a", [("address", "a@example.com"), (owner, owned_by)])
    fields = {"address": "v@example.com", owner: owned_by}
    fields[key] = value
    return manifest(first, resource("v", list(fields.items())))


@pytest.mark.parametrize("style", ["plain", "'", '"'])
@pytest.mark.parametrize("key", ["address", "user", "user_object_id"])
@pytest.mark.parametrize("value", NOT_TEXT_WHEN_PLAIN + TEXT_THOUGH_NUMBER_LIKE)
def test_values_yaml_may_read_as_no_text(value: str, key: str, style: str) -> None:
    text = _with_value(key, quote(value, style))
    text_value = style != "plain" or value in TEXT_THOUGH_NUMBER_LIKE
    assert_same_everywhere(text, accepted=text_value and key != "user_object_id")


@pytest.mark.parametrize(
    "name", ["123", "true", "null", "2nd", "0x1F", "1_000", "yes", "No", "_", "a-", "1e5"]
)
def test_names_that_look_like_numbers_or_booleans_are_names(name: str) -> None:
    text = manifest(resource(name, [("address", "a@example.com"), ("user", "jdoe")]))
    assert_same_everywhere(text, accepted=True)
    outcome = assert_fast_is_general(text)
    assert outcome[0] == "loaded"
    assert [r[1] for r in outcome[2]] == [name]


@pytest.mark.parametrize("name", ["password", "PassWord", "PASSWORD"])
@pytest.mark.parametrize("where", ["alone", "after another"])
def test_a_resource_named_password_is_left_to_the_parser(name: str, where: str) -> None:
    named = resource(name, [("address", "p@example.com"), ("user", "jdoe")])
    text = manifest(named) if where == "alone" else manifest(A, named)
    assert_same_everywhere(text, accepted=False)
    assert assert_fast_is_general(text)[0] == "refused"


# --- quoted values ---------------------------------------------------------------------------

QUOTED = [
    pytest.param('"#"', True, id="double #"),
    pytest.param("'#x'", True, id="single #"),
    pytest.param('"a # b"', True, id="double space #"),
    pytest.param("'a #b'", True, id="single space #"),
    pytest.param('"a: b"', True, id="double colon space"),
    pytest.param("'a: b'", True, id="single colon space"),
    pytest.param('"a:b"', True, id="double colon"),
    pytest.param('" lead"', True, id="double leading space"),
    pytest.param("'trail '", True, id="single trailing space"),
    pytest.param('"  "', True, id="double only spaces"),
    pytest.param('""', False, id="double empty"),
    pytest.param("''", False, id="single empty"),
    pytest.param("'it''s'", False, id="single escaped quote"),
    pytest.param('"a\\tb"', False, id="double escape"),
    pytest.param('"o\'neil"', True, id="single quote in double"),
    pytest.param("'say \"hi\"'", True, id="double quote in single"),
    pytest.param("'\\'", True, id="backslash in single"),
    pytest.param("'- [x], {y}: &z *w !v |u >t'", True, id="indicators in single"),
]


@pytest.mark.parametrize(("value", "accepted"), QUOTED)
@pytest.mark.parametrize("key", ["address", "user"])
def test_quoted_values(key: str, value: str, accepted: bool) -> None:
    assert_same_everywhere(_with_value(key, value), accepted=accepted)


# --- characters beyond ASCII, and line ends -------------------------------------------------

AWKWARD = ["\u2028", "\u2029", "\x85", "\ufeff", "\t", "\r", "\x7f", "\x1b"]
FINE = ["é", "😀", "\xa0", "ÿ", "\u2027", "\u202a", "\ufffd", "\U0010fffd"]


@pytest.mark.parametrize("character", AWKWARD + FINE)
@pytest.mark.parametrize("where", ["double", "single", "comment", "indented comment"])
def test_characters_in_values_and_comments(character: str, where: str) -> None:
    if where == "double":
        text = _with_value("user", f'"x{character}y"')
    elif where == "single":
        text = _with_value("user", f"'x{character}y'")
    elif where == "comment":
        text = manifest(A, f"# a {character} comment\n", B)
    else:
        text = manifest(A, f"      # {character}\n", B)
    assert_same_everywhere(text, accepted=character in FINE)


@pytest.mark.parametrize("character", ["é", "\xa0", "😀", "\u2028", "\x85", "\ufeff"])
def test_characters_in_plain_values_and_names(character: str) -> None:
    accepted = False if character in AWKWARD else None  # the line reader may read the others
    assert_same_everywhere(_with_value("user", f"x{character}y"), accepted=accepted)
    assert_same_everywhere(_with_value("address", f"a{character}@example.com"), accepted=accepted)
    named = resource(f"n{character}", [("address", "n@example.com"), ("user", "n")])
    assert_same_everywhere(manifest(A, named), accepted=accepted)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(AB.replace("\n", "\r\n").encode(), id="CRLF"),
        pytest.param(AB.replace("\n", "\r").encode(), id="CR"),
        pytest.param(AB.replace("\n", "\x85").encode(), id="NEL"),
        pytest.param(AB.replace("\n", "\u2028").encode(), id="LS"),
        pytest.param(b"\xef\xbb\xbf" + AB.encode(), id="BOM"),
        pytest.param(AB.encode("utf-16"), id="UTF-16"),
        pytest.param(AB.encode()[:-3] + b"\xe9\n", id="not UTF-8"),
        pytest.param(AB.replace("    ", "\t").encode(), id="tab indentation"),
        pytest.param(AB.replace(": ", ":\t").encode(), id="tab after colon"),
        pytest.param(AB.replace("\n", "\t\n").encode(), id="tab at line ends"),
    ],
)
def test_line_ends_encodings_and_tabs(data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        assert not assert_lines_agree_with_events(text)
    assert_fast_is_general(data)


# --- the layout of lines ---------------------------------------------------------------------

A_FIELDS = A.split("\n", 1)[1]  # A's field lines, without its name line
AB_NO_EOL = AB.removesuffix("\n")


LAYOUTS = [
    # between resources: whatever YAML skips
    pytest.param(manifest(A, "\n", B), True, id="blank line between resources"),
    pytest.param(manifest(A, "\n\n\n", B), True, id="blank lines between resources"),
    pytest.param(manifest(A, "   \n", B), True, id="spaces-only line between resources"),
    pytest.param(manifest(A, "          \n", B), True, id="deep spaces-only line"),
    pytest.param(manifest(A, "# c\n", B), True, id="comment at column 0"),
    pytest.param(manifest(A, "  # c\n", B), True, id="comment at the names"),
    pytest.param(manifest(A, "    # c\n", B), True, id="comment at the fields"),
    pytest.param(manifest(A, "             # c\n", B), True, id="comment deeper"),
    pytest.param(manifest(A, "#\n", B), True, id="empty comment"),
    pytest.param(manifest(A, "  #: - [x] {y} &z *w 'v\" \n", B), True, id="comment of indicators"),
    pytest.param(manifest("# c\n\n", A, B), True, id="comment before the first resource"),
    pytest.param("# c\n\n  \n" + AB, True, id="comments before the section"),
    pytest.param(AB + "\n# c\n  \n   # c\n", True, id="comments after the section"),
    pytest.param(manifest(A, "\n# c\n   \n  # d\n\n", B, "\n", C), True, id="many skipped"),
    # between a name line and its fields, between fields: YAML skips them too
    pytest.param(manifest("  a:\n\n" + A_FIELDS, B), None, id="blank after name"),
    pytest.param(manifest("  a:\n   \n" + A_FIELDS, B), None, id="spaces after name"),
    pytest.param(manifest("  a:\n# c\n" + A_FIELDS, B), None, id="col-0 comment after name"),
    pytest.param(manifest("  a:\n  # c\n" + A_FIELDS, B), None, id="comment after name"),
    pytest.param(manifest("  a:\n        # c\n" + A_FIELDS, B), None, id="deep comment after name"),
    pytest.param(
        manifest("  a:\n    address: a@example.com\n\n    user: jdoe\n", B),
        None,
        id="blank between fields",
    ),
    pytest.param(
        manifest("  a:\n    address: a@example.com\n  \n    user: jdoe\n", B),
        None,
        id="spaces-only line between fields",
    ),
    pytest.param(
        manifest("  a:\n    address: a@example.com\n# c\n    user: jdoe\n", B),
        None,
        id="col-0 comment between fields",
    ),
    pytest.param(
        manifest("  a:\n    address: a@example.com\n         # c\n    user: jdoe\n", B),
        None,
        id="deep comment between fields",
    ),
    pytest.param(manifest(A, "  b:\n\n", B.split("\n", 1)[1]), None, id="blank after last name"),
    # trailing spaces and comments on a line
    pytest.param(manifest(A.replace("a:\n", "a: \n"), B), None, id="space after name colon"),
    pytest.param(manifest(A, B).replace(":\n", ": \n", 1), None, id="space after section"),
    pytest.param(manifest(A.replace("jdoe\n", "jdoe \n"), B), None, id="space after value"),
    pytest.param(manifest(A.replace("jdoe\n", "'jdoe' \n"), B), None, id="space after quoted"),
    pytest.param(manifest(A.replace("jdoe\n", "jdoe # c\n"), B), None, id="comment after value"),
    pytest.param(manifest(A.replace("a:\n", "a: # c\n"), B), None, id="comment after name"),
    pytest.param(manifest(A.replace("jdoe\n", "jdoe#c\n"), B), None, id="# inside a value"),
    pytest.param(manifest(A.replace(": jdoe", ":  jdoe"), B), None, id="two spaces after key"),
    pytest.param(manifest(A.replace("a:\n", "a :\n"), B), None, id="space before name colon"),
    pytest.param(manifest(A.replace("user:", "user :"), B), None, id="space before key colon"),
    # the file's ends
    pytest.param(AB_NO_EOL, True, id="no final line break"),
    pytest.param(AB + "# end", True, id="final comment, no line break"),
    pytest.param(AB + "   ", True, id="final spaces, no line break"),
    pytest.param(AB + "\n\n", True, id="final blank lines"),
    pytest.param("---\n" + AB, None, id="document start"),
    pytest.param("--- # c\n" + AB, None, id="document start and comment"),
    pytest.param("%YAML 1.1\n---\n" + AB, None, id="directive"),
    pytest.param(AB + "...\n", None, id="document end"),
    pytest.param(AB + "...\n# after\n", None, id="document end, comment"),
    pytest.param(AB + "---\n", None, id="second document start"),
    pytest.param(AB + "---\n" + AB, None, id="second document"),
    pytest.param(manifest(A, "---\n", B), None, id="document start between resources"),
    pytest.param(manifest(A, "...\n", B), None, id="document end between resources"),
    # a value over two lines: folded by YAML
    pytest.param(manifest(A, B + "      more\n"), False, id="folded plain"),
    pytest.param(manifest(A + "      more\n", B), False, id="folded plain, first"),
    pytest.param(manifest(A + "\n      more\n", B), False, id="folded after blank"),
    pytest.param(manifest(A + "     x@y\n", B), False, id="folded, one deeper"),
    pytest.param(manifest(A + "      b:\n", B), False, id="folded name-like"),
    pytest.param(
        manifest(A.replace("jdoe\n", "'jdoe\n      more'\n"), B), False, id="folded single"
    ),
    pytest.param(
        manifest(A.replace("jdoe\n", '"jdoe\n      more"\n'), B), False, id="folded double"
    ),
    pytest.param(manifest(A.replace("jdoe\n", "|\n      jdoe\n"), B), False, id="block literal"),
    pytest.param(manifest(A.replace("jdoe\n", ">-\n      jdoe\n"), B), False, id="block folded"),
    # indentation
    pytest.param(manifest(A + "   user: u\n", B), False, id="line between the indentations"),
    pytest.param(manifest(A + "   b:\n", B), False, id="name line between the indentations"),
    pytest.param(
        manifest(A, resource("b", [("address", "b@b.c")], " ", "    ")), False, id="names"
    ),
    pytest.param(manifest(A, resource("b", [("address", "b@b.c")], "   ", "     ")), False, id="n"),
    pytest.param(
        manifest(A, resource("b", [("address", "b@b.c"), ("user", "u")], "  ", "     ")),
        False,
        id="fields indented unlike the first resource's",
    ),
    pytest.param(
        manifest(A, resource("b", [("address", "b@b.c"), ("user", "u")], "  ", "   ")),
        False,
        id="fields indented less than the first resource's",
    ),
    pytest.param(
        manifest("  a:\n    address: a@example.com\n     user: jdoe\n", B),
        False,
        id="second field deeper",
    ),
    pytest.param(
        manifest("  a:\n     address: a@example.com\n    user: jdoe\n", B),
        False,
        id="second field shallower",
    ),
    pytest.param(
        f"{SECTION}:\n" + resource("a", [("address", "a@b.c"), ("user", "u")], "", "  "),
        False,
        id="names at column 0",
    ),
    pytest.param(
        manifest(A, "  b:\n  address: b@example.com\n  user: b\n"), False, id="fields at names"
    ),
    pytest.param(
        manifest(A, "    b:\n      address: b@example.com\n      user: b\n"),
        False,
        id="a resource nested in the one before",
    ),
    pytest.param(
        manifest(resource("a", [("address", "a@b.c"), ("user", "u")], "    ", "      "), B),
        False,
        id="second resource less indented",
    ),
    pytest.param(
        resource("a", [("address", "a@b.c"), ("user", "u")]) + AB,
        False,
        id="resource before the section",
    ),
]


@pytest.mark.parametrize(("text", "accepted"), LAYOUTS)
def test_layouts(text: str, accepted: bool | None) -> None:
    assert_same_everywhere(text, accepted=accepted)


# --- keys: their order, their number, their names -----------------------------------------

ADDRESS_ID = [("address", "a@example.com"), ("user_object_id", UUID)]
BOTH = [*A_PAIRS, ("user_object_id", UUID)]
B_ADDRESS = ("address", "b@example.com")

KEYS = [
    # keys that differ from one resource to the next are read by lines too (each
    # resource then taken one by one), so long as every resource has as many
    pytest.param(manifest(resource("a", ADDRESS_ID), B), True, id="other keys than before"),
    pytest.param(
        manifest(A, resource("b", [("user", "sales"), B_ADDRESS])), True, id="keys reordered"
    ),
    pytest.param(
        manifest(
            resource("a", [("user", "jdoe"), ("address", "a@x.y")]),
            resource("b", [B_ADDRESS, ("user", "s")]),
        ),
        True,
        id="keys reordered, first",
    ),
    pytest.param(manifest(resource("a", [*A_PAIRS, ("user", "x")]), B), False, id="key twice"),
    pytest.param(
        manifest(A, resource("b", [B_ADDRESS, ("address", "c@example.com")])),
        False,
        id="address twice, no owner",
    ),
    pytest.param(
        manifest(A, resource("b", [B_ADDRESS, ("user", "u"), ("user", "v")])),
        False,
        id="key twice in a later resource",
    ),
    pytest.param(
        manifest(A, resource("b", [B_ADDRESS, ("user", "u"), ("address", "c@x.y")])),
        False,
        id="address twice in a later resource",
    ),
    pytest.param(manifest(resource("a", [*A_PAIRS, ("colour", "red")])), False, id="unknown"),
    pytest.param(manifest(A, resource("b", [B_ADDRESS, ("colour", "red")])), False, id="unknown 2"),
    pytest.param(manifest(resource("a", [("adress", "a@x.y"), ("user", "u")])), False, id="typo"),
    pytest.param(manifest(resource("a", [("password", "x"), *A_PAIRS])), False, id="password"),
    pytest.param(manifest(resource("a", [("user", "jdoe")]), B), False, id="no address"),
    pytest.param(
        manifest(resource("a", [("user", "u")]), resource("b", [("user", "v")])),
        False,
        id="no address, all",
    ),
    pytest.param(manifest(resource("a", BOTH)), True, id="both owners"),
    pytest.param(
        manifest(
            resource("a", BOTH), resource("b", [B_ADDRESS, ("user", "s"), ("user_object_id", UUID)])
        ),
        True,
        id="both owners, all",
    ),
    pytest.param(manifest(resource("a", [("address", "a@example.com")])), True, id="no owner"),
    pytest.param(
        manifest(resource("a", [("address", "a@example.com")]), resource("b", [B_ADDRESS])),
        True,
        id="no owner, all",
    ),
    pytest.param(manifest(resource("a", ADDRESS_ID)), True, id="owner by ObjectId"),
    # a later resource with fewer or more keys than the first
    pytest.param(manifest(resource("a", BOTH), B), False, id="fewer keys later"),
    pytest.param(
        manifest(resource("a", [("address", "a@example.com")]), B), False, id="owner only later"
    ),
    pytest.param(manifest(A, resource("b", [B_ADDRESS])), False, id="owner only before"),
    pytest.param(
        manifest(A, resource("b", [B_ADDRESS, ("user", "s"), ("user_object_id", UUID)])),
        False,
        id="more keys later: both owners",
    ),
    pytest.param(
        manifest(A, resource("b", [B_ADDRESS, ("user", "s"), ("colour", "red")])),
        False,
        id="more keys later: an unknown key",
    ),
    pytest.param(
        manifest(A, B, resource("c", [("address", "c@x.y"), ("user", "c"), ("user", "d")])),
        False,
        id="more keys later: a key twice",
    ),
    # sections
    pytest.param(AB + AB, False, id="the section twice"),
    pytest.param(AB + manifest(C), False, id="the section twice, other names"),
    pytest.param(AB + "other:\n" + C, False, id="an unknown section after"),
    pytest.param(manifest(A, header="other"), False, id="an unknown section"),
    pytest.param(manifest(A, header="password"), False, id="a section named password"),
    pytest.param(f"{SECTION}:\n", False, id="an empty section"),
    pytest.param(f"{SECTION}:\n# nothing\n", False, id="an empty section and a comment"),
    pytest.param(f"{SECTION}: {{}}\n", False, id="an empty flow section"),
    pytest.param(f"{SECTION}:\n" + AB, False, id="an empty section, then the section"),
    pytest.param(AB + f"{SECTION}:\n", False, id="the section, then an empty one"),
    pytest.param("", False, id="an empty file"),
    pytest.param("# only a comment\n", False, id="only a comment"),
    pytest.param(f"{SECTION}:\n  a:\n", False, id="a resource without fields"),
    pytest.param(manifest("  a:\n", B), False, id="a resource without fields, first"),
    pytest.param(manifest(A, "  b:\n"), False, id="a resource without fields, last"),
    pytest.param(manifest(A, "  b: x@y.z\n"), False, id="a resource that is a text"),
    pytest.param(manifest(A, A), False, id="a name twice"),
    pytest.param(
        manifest(A, resource("A", [("address", "x@example.com"), ("user", "u")])),
        True,
        id="names differing in case",
    ),
]


@pytest.mark.parametrize(("text", "accepted"), KEYS)
def test_keys_and_sections(text: str, accepted: bool | None) -> None:
    assert_same_everywhere(text, accepted=accepted)


# --- lengths ----------------------------------------------------------------------------------

LONG_LOCAL = "x" * 64
LENGTHS = [
    pytest.param("n" * 128, "address", "a@example.com", True, id="name of 128"),
    pytest.param("n" * 129, "address", "a@example.com", False, id="name of 129"),
    pytest.param("n" * 1100, "address", "a@example.com", False, id="name past a simple key"),
    pytest.param("a", "user", "u" * 64, True, id="user of 64"),
    pytest.param("a", "user", "u" * 65, False, id="user of 65"),
    pytest.param("a", "user", "'" + "u" * 65 + "'", False, id="quoted user of 65"),
    pytest.param("a", "address", LONG_LOCAL + "@" + "d" * 60 + ".com", True, id="address, 64@"),
    pytest.param("a", "address", LONG_LOCAL + "x@example.com", True, id="address, 65@"),
    pytest.param("a", "address", "a@" + ("d" * 60 + ".") * 5 + "c" * 13, True, id="address 320"),
    pytest.param("a", "address", "a@" + ("d" * 60 + ".") * 5 + "c" * 14, False, id="address 321"),
    pytest.param("a", "address", '"' + "a@" + "d" * 319 + '"', False, id="quoted address 321"),
]


@pytest.mark.parametrize(("name", "key", "value", "accepted"), LENGTHS)
def test_lengths(name: str, key: str, value: str, accepted: bool) -> None:
    fields = dict(A_PAIRS)
    fields[key] = value
    text = manifest(B, resource(name, list(fields.items())))
    assert_same_everywhere(text, accepted=accepted)


# --- several files: the bulk path hands over to the one-by-one path -----------------------

A_FILE = manifest(A, B)
SAME_NAME = manifest(resource("a", [("address", "other@example.com"), ("user", "x")]))
SAME_ADDRESS = manifest(resource("z", [("address", "A@EXAMPLE.com"), ("user", "x")]))
FILES = [
    pytest.param([A_FILE, SAME_NAME], id="a name in two files"),
    pytest.param([A_FILE, SAME_ADDRESS], id="an address in two files, in another case"),
    pytest.param([A_FILE, C, SAME_ADDRESS], id="a broken file between"),
    pytest.param([SAME_ADDRESS, A_FILE], id="an address in two files, the other way"),
    pytest.param([A_FILE, A_FILE], id="the same file twice"),
    pytest.param([A_FILE, A_FILE, A_FILE], id="the same file thrice"),
    pytest.param(
        [manifest(resource("a", [("address", "a@")]), B), A_FILE],
        id="a refused address and no owner, then the names again",
    ),
    pytest.param(
        [manifest(A, resource("x", [("address", "x@example.com"), ("user", "u")])), A_FILE],
        id="bulk, then a file declaring some of its names",
    ),
    pytest.param(
        [
            manifest(resource("a", ADDRESS_ID)),
            manifest(resource("b", [("address", "a@example.COM"), ("user_object_id", UUID)])),
        ],
        id="owners by ObjectId, an address in two files",
    ),
    pytest.param(
        [A_FILE, f"{SECTION}:\n  q: {{address: b@EXAMPLE.com, user: u}}\n"],
        id="bulk, then a file for the parser",
    ),
    pytest.param(
        [f"{SECTION}:\n  q: {{address: b@EXAMPLE.com, user: u}}\n", A_FILE],
        id="a file for the parser, then bulk",
    ),
    pytest.param(
        [f"{SECTION}:\n  b: {{address: 'a@', user: u}}\n", A_FILE],
        id="a refused file for the parser, then bulk",
    ),
    pytest.param(
        [manifest(A, resource("c", [("address", "A@example.com"), ("user", "u")]))],
        id="an address twice in one bulk section",
    ),
    pytest.param(
        [manifest(A, resource("c", [("address", "a@example.com"), ("user", "u")]))],
        id="an address twice in one bulk section, same case",
    ),
]


@pytest.mark.parametrize("texts", FILES)
def test_files_colliding(texts: list[str]) -> None:
    assert_fast_is_general(*texts)


BAD = [
    "a@",
    "@b",
    "a..b@c",
    "x" * 65 + "@example.com",
    "a@b..c",
    "no-at",
    ".a@b.c",
    "a.@b.c",
    "a@-b.c",
    "a@b-.c",
    "a@b_c.d",
    "a b@c.d",
    "a@[1.2.3.999]",
    "a@[IPv6:zz]",
    "a@[x]",
    '"a@c.d',
    "a@" + "b" * 64 + ".c",
    "a@" + ("b" * 60 + ".") * 5,
]


@pytest.mark.parametrize("address", BAD)
@pytest.mark.parametrize("style", ["plain", "'"])
@pytest.mark.parametrize("position", ["first", "last"])
def test_refused_addresses_are_worded_alike(address: str, style: str, position: str) -> None:
    if style == "plain" and not _PLAIN_SHAPE.fullmatch(address):
        style = "'"
    bad = resource("bad", [("address", quote(address, style)), ("user", "u")])
    text = manifest(bad, A) if position == "first" else manifest(A, bad)
    assert_lines_agree_with_events(text)
    outcome = assert_fast_is_general(A_FILE.replace("a@", "q@").replace("  a:", "  q:"), text)
    assert outcome[0] == "refused"


ACCEPTED = ["a@[IPv6:::1]", "a@[x:y]", '"a b"@c.d', '"a\\"b"@c.d', "a@[1.2.3.4]", "x" * 64 + "@b.c"]


@pytest.mark.parametrize("address", ACCEPTED)
@pytest.mark.parametrize("style", ["'", '"'])
def test_unusual_addresses_the_addr_spec_accepts(address: str, style: str) -> None:
    text = manifest(A, resource("odd", [("address", quote(address, style)), ("user", "u")]))
    assert_same_everywhere(text, accepted='"' not in address or style == "'")
    assert assert_fast_is_general(text)[0] == "loaded"
