"""Manifests: one bad-manifest fixture per refusal, with its exact messages; a valid project
read into resources."""

from __future__ import annotations

from pathlib import Path

import pytest

from cupiform.config import load_config
from cupiform.errors import ManifestError
from cupiform.manifest import load_manifest_files, load_manifests
from cupiform.model import Owner, Source

FIXTURES = Path(__file__).parent / "fixtures"
BAD = FIXTURES / "manifests"
VALID_PROJECT = FIXTURES / "projects" / "valid"
JDOE = "9375d893-c8eb-437b-90bf-7de4b1d0c3e8"

# fixture folder -> every message refusing it (files named relative to the folder)
REFUSALS: dict[str, list[str]] = {
    "not_a_mapping": [
        "a.yaml:1:1: expected a mapping of resource kinds (such as smtp_proxy_addresses:), "
        "got a list",
    ],
    "section_not_a_mapping": [
        "a.yaml:1:23: smtp_proxy_addresses: expected a mapping or nothing, got a list",
    ],
    "resource_not_a_mapping": [
        "a.yaml:2:14: smtp_proxy_addresses.jdoe-work: expected a mapping, "
        "got the text 'john.doe@example.com'",
    ],
    "duplicate_name_in_file": [
        "a.yaml:5:3: duplicate key 'jdoe-work' (first defined at line 2)",
    ],
    "duplicate_field": [
        "a.yaml:4:5: duplicate key 'address' (first defined at line 3)",
    ],
    "unknown_key_close": [
        "a.yaml:2:3: smtp_proxy_addresses.jdoe-work: missing required key 'address'",
        "a.yaml:3:5: unknown key 'adress' (did you mean 'address'?)",
    ],
    "unknown_key_far": [
        "a.yaml:5:5: unknown key 'colour'",
    ],
    "unknown_section": [
        "a.yaml:1:1: unknown key 'smtp_proxy_adresses' (did you mean 'smtp_proxy_addresses'?)",
    ],
    "name_in_two_files": [
        "b.yaml:3:3: smtp_proxy_addresses: 'jdoe-work' is already declared at a.yaml:2:3",
    ],
    "address_in_two_files": [
        "b.yaml:3:14: smtp_proxy_addresses.john-work.address: 'John.Doe@Example.COM' is "
        "already declared by smtp_proxy_address.jdoe-work at a.yaml:3:14",
    ],
    "address_twice_in_file": [
        "a.yaml:6:14: smtp_proxy_addresses.jdoe-again.address: 'JOHN.DOE@example.com' is "
        "already declared by smtp_proxy_address.jdoe-work at a.yaml:3:14",
    ],
    "no_owner": [
        "a.yaml:2:3: smtp_proxy_addresses.jdoe-work: exactly one of 'user' or "
        "'user_object_id' is needed, found neither",
    ],
    "two_owners": [
        "a.yaml:2:3: smtp_proxy_addresses.jdoe-work: exactly one of 'user' or "
        "'user_object_id' is needed, found both",
    ],
    "address_syntax": [
        "a.yaml:3:14: smtp_proxy_addresses.jdoe-work.address: 'john doe' is not a valid "
        "local part (before the '@') of an email address",
    ],
    "address_no_at": [
        "a.yaml:3:14: smtp_proxy_addresses.jdoe-work.address: 'john.doe.example.com' is not "
        "an email address: no '@'",
    ],
    "local_part_too_long": [
        "a.yaml:3:14: smtp_proxy_addresses.jdoe-work.address: the part before the '@' is 65 "
        "characters long, at most 64 allowed",
    ],
    "address_too_long": [
        "a.yaml:3:14: smtp_proxy_addresses.jdoe-work.address: is 321 characters long, "
        "at most 320 allowed",
    ],
    "wrong_type": [
        "a.yaml:3:14: smtp_proxy_addresses.jdoe-work.address: expected a text, got the number 42",
    ],
    "bad_object_id": [
        "a.yaml:4:21: smtp_proxy_addresses.jdoe-work.user_object_id: 'jdoe' is not a CUPI "
        "ObjectId (a UUID such as 9375d893-c8eb-437b-90bf-7de4b1d0c3e8)",
    ],
    "invalid_name": [
        "a.yaml:2:3: invalid name 'jdoe work': expected a resource name: letters, digits, "
        "'_' and '-', starting with a letter, digit or '_', at most 128 characters",
    ],
    "password_key": [
        "a.yaml:5:5: 'password' is not allowed: credentials come only from the environment "
        "(CUPI_USERNAME, CUPI_PASSWORD)",
    ],
    "yaml_syntax": [
        "a.yaml:4:4: invalid YAML: did not find expected key "
        "(while parsing a block mapping at line 2)",
    ],
    "not_utf8": [
        "a.yaml:3:15: not UTF-8 text: invalid continuation byte",
    ],
    "unsupported_tag": [
        "a.yaml:3:14: unsupported tag '!!python/object:os.system'",
    ],
    "unknown_alias": [
        "a.yaml:4:11: unknown alias '*owner' (no '&owner' before it)",
    ],
    "two_documents": [
        "a.yaml:5:1: more than one YAML document in the file ('---' starts another)",
    ],
}


def _files(folder: Path) -> list[tuple[Path, str]]:
    return [(path, path.name) for path in sorted(folder.glob("*.yaml"))]


def test_every_fixture_has_its_expected_messages() -> None:
    assert sorted(p.name for p in BAD.iterdir() if p.is_dir()) == sorted(REFUSALS)


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusal(case: str) -> None:
    with pytest.raises(ManifestError) as refused:
        load_manifest_files(_files(BAD / case))
    assert [str(problem) for problem in refused.value.problems] == REFUSALS[case]


def test_every_problem_of_every_file_is_reported_at_once_sorted_by_file_and_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.yaml").write_text(
        "smtp_proxy_addresses:\n"
        "  x:\n    address: x@example.com\n    user: x\n"
        "  v:\n    address: v@example.com\n    user: v\n    colour: red\n"
    )
    (tmp_path / "b.yaml").write_text(
        "smtp_proxy_addresses:\n"
        f"  y:\n    address: y@example.com\n    user: y\n    user_object_id: {JDOE}\n"
        "  z:\n    address: X@EXAMPLE.COM\n    user: z\n"
    )
    (tmp_path / "c.yaml").write_text("smtp_proxy_addresses:\n  x: {address: w@example.com}\n")
    with pytest.raises(ManifestError) as refused:
        load_manifest_files(_files(tmp_path))
    assert str(refused.value) == "\n".join(
        [
            "5 errors:",
            "  a.yaml:8:5: unknown key 'colour'",
            "  b.yaml:2:3: smtp_proxy_addresses.y: exactly one of 'user' or 'user_object_id' "
            "is needed, found both",
            "  b.yaml:7:14: smtp_proxy_addresses.z.address: 'X@EXAMPLE.COM' is already "
            "declared by smtp_proxy_address.x at a.yaml:3:14",
            "  c.yaml:2:3: smtp_proxy_addresses.x: exactly one of 'user' or 'user_object_id' "
            "is needed, found neither",
            "  c.yaml:2:3: smtp_proxy_addresses: 'x' is already declared at a.yaml:2:3",
        ]
    )


def test_a_valid_project_becomes_resources_with_their_sources() -> None:
    config = load_config(VALID_PROJECT, {})
    manifests = load_manifests(config)
    assert manifests.files == (
        "manifests/empty.yaml",
        "manifests/jdoe.yaml",
        "manifests/team/sales.yaml",
    )
    by_address = manifests.by_address()
    assert list(by_address) == [
        "smtp_proxy_address.jdoe-work",
        "smtp_proxy_address.jdoe-legacy",
        "smtp_proxy_address.sales-info",
        "smtp_proxy_address.sales-quotes",
    ]
    work = by_address["smtp_proxy_address.jdoe-work"]
    assert (work.kind, work.name) == ("smtp_proxy_address", "jdoe-work")
    assert work.attributes == {"SmtpAddress": "john.doe@example.com"}
    assert work.owner == Owner(
        alias="jdoe", object_id=None, source=Source("manifests/jdoe.yaml", 5, 11)
    )
    assert work.source == Source("manifests/jdoe.yaml", 3, 3)
    assert work.source.line_ref == "manifests/jdoe.yaml:3"
    legacy = by_address["smtp_proxy_address.jdoe-legacy"]
    assert legacy.owner.alias is None and legacy.owner.object_id == JDOE
    # an alias (*sales) stands for the anchored value
    quotes = by_address["smtp_proxy_address.sales-quotes"]
    assert quotes.owner.alias == "sales"
    assert quotes.attributes == {"SmtpAddress": "quotes@example.com"}


def test_a_glob_that_matches_no_file_is_refused_where_it_is_written(tmp_path: Path) -> None:
    (tmp_path / "cupiform.yaml").write_text(
        "server: {url: embedded}\nmanifests:\n  - manifests/*.yaml\n  - manifest/*.yml\n"
    )
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "a.yaml").write_text("smtp_proxy_addresses: {}\n")
    with pytest.raises(ManifestError) as refused:
        load_manifests(load_config(tmp_path, {}))
    assert [str(p) for p in refused.value.problems] == [
        "cupiform.yaml:4:5: manifests: 'manifest/*.yml' matches no file",
    ]


def test_a_file_matched_by_two_globs_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "cupiform.yaml").write_text(
        "server: {url: embedded}\nmanifests: ['m/*.yaml', 'm/a.yaml']\n"
    )
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "a.yaml").write_text(
        "smtp_proxy_addresses:\n  x:\n    address: x@example.com\n    user: x\n"
    )
    manifests = load_manifests(load_config(tmp_path, {}))
    assert manifests.files == ("m/a.yaml",)
    assert len(manifests.resources) == 1


def test_empty_files_and_empty_sections_declare_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("")
    (tmp_path / "b.yaml").write_text("smtp_proxy_addresses:\n")
    (tmp_path / "c.yaml").write_text("smtp_proxy_addresses: {}\n")
    manifests = load_manifest_files(_files(tmp_path))
    assert manifests.files == ("a.yaml", "b.yaml", "c.yaml")
    assert manifests.resources == ()


@pytest.mark.parametrize("quick", [True, False])
def test_a_name_or_an_object_id_ending_in_a_line_break_is_refused(
    tmp_path: Path, quick: bool
) -> None:
    """A schema pattern's '$' ends the text, as JSON Schema means it (Python's '$' also
    matches before a final line break)."""
    (tmp_path / "a.yaml").write_text(
        'smtp_proxy_addresses:\n  "x\\n":\n    address: a@example.com\n    user: u\n'
        '  "y":\n    address: b@example.com\n'
        '    user_object_id: "9375d893-c8eb-437b-90bf-7de4b1d0c3e8\\n"\n'
    )
    with pytest.raises(ManifestError) as refused:
        load_manifest_files([(tmp_path / "a.yaml", "a.yaml")], quick=quick)
    assert [(p.line, p.column, p.message.split(":")[0]) for p in refused.value.problems] == [
        (2, 3, "invalid name 'x\\n'"),
        (7, 21, "smtp_proxy_addresses.y.user_object_id"),
    ]
