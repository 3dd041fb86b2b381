"""The rule catalogue: rules.toml loads, validates and is queried correctly (ARCHITECTURE.md)."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path

import pytest

from conformance.errors import UsageError
from conformance.rules import (
    COMPONENTS,
    DEFAULT_PATH,
    GENERATIONS,
    format_catalogue,
    load_catalogue,
    markdown_table,
)

REPO = Path(__file__).resolve().parents[2]
PROTOCOL_MD = REPO / "docs" / "PROTOCOL.md"
"""The protocol the suite implements, versioned with it (rules cite its sections)."""
SHARED_PROTOCOL_MD = REPO.parent / "shared" / "PROTOCOL.md"
"""The workspace's shared original, where a checkout sits beside it."""

GOOD_RULE = """
[[rule]]
id = "WH-001"
component = "webhook"
level = "MUST"
statement = "Unknown routes answer 404."
source = "PROTOCOL.md §5"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_catalogue_loads_with_over_80_rules() -> None:
    catalogue = load_catalogue()
    assert len(catalogue.rules) > 80
    families = {rule.id[:2] for rule in catalogue.rules}
    assert families == {"UO", "AT", "WH", "AC", "SC"}


def test_ids_are_unique_and_well_formed() -> None:
    raw = tomllib.loads(DEFAULT_PATH.read_text(encoding="utf-8"))["rule"]
    ids = [entry["id"] for entry in raw]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"(UO|AT|WH|AC|SC)-\d{3}", rule_id) for rule_id in ids)


def test_shipped_rules_are_one_line_and_valid() -> None:
    for rule in load_catalogue().rules:
        assert rule.component in COMPONENTS, rule.id
        assert rule.level in ("MUST", "SHOULD"), rule.id
        assert rule.statement and "\n" not in rule.statement, rule.id
        assert set(rule.generations) <= set(GENERATIONS) and rule.generations, rule.id


def test_default_catalogue_is_cached() -> None:
    assert load_catalogue() is load_catalogue()
    assert load_catalogue(DEFAULT_PATH) is load_catalogue()


def _sections(text: str) -> dict[int, str]:
    """Section number → its text, from the '## N. Title' headings."""
    parts = re.split(r"^## (\d+)\.", text, flags=re.MULTILINE)
    return {int(number): body for number, body in zip(parts[1::2], parts[2::2], strict=True)}


def test_every_source_section_exists_in_protocol_md() -> None:
    """Each rule's source is 'PROTOCOL.md §N' or 'PROTOCOL.md §N Topic': section N exists and
    Topic starts a paragraph of it."""
    sections = _sections(PROTOCOL_MD.read_text(encoding="utf-8"))
    assert len(sections) >= 8, "PROTOCOL.md lost its '## N.' headings"
    for rule in load_catalogue().rules:
        found = re.fullmatch(r"PROTOCOL\.md §(\d+)(?: (\w[\w ]*))?", rule.source)
        assert found, f"{rule.id}: source {rule.source!r} is not 'PROTOCOL.md §N [Topic]'"
        number, topic = int(found.group(1)), found.group(2)
        assert number in sections, f"{rule.id} cites §{number}, absent from PROTOCOL.md"
        if topic:
            assert re.search(rf"^{re.escape(topic)}\b", sections[number], re.MULTILINE), (
                f"{rule.id} cites '§{number} {topic}', which §{number} has no paragraph on")


def test_the_bundled_protocol_is_the_shared_one() -> None:
    if not SHARED_PROTOCOL_MD.is_file():
        pytest.skip(f"no shared original beside the checkout ({SHARED_PROTOCOL_MD})")
    assert PROTOCOL_MD.read_bytes() == SHARED_PROTOCOL_MD.read_bytes(), (
        "docs/PROTOCOL.md differs from the shared PROTOCOL.md: copy the new one and review the "
        "rules it affects")


def test_by_id_finds_a_rule_and_suggests_on_a_typo() -> None:
    catalogue = load_catalogue()
    assert catalogue.by_id("WH-001").id == "WH-001"
    with pytest.raises(UsageError, match=r"WH-01.*did you mean 'WH-0\d\d'"):
        catalogue.by_id("WH-01")


def test_for_component_filters_and_rejects_unknown_names() -> None:
    catalogue = load_catalogue()
    webhook = catalogue.for_component("webhook")
    assert webhook and all(rule.component == "webhook" for rule in webhook)
    assert len(catalogue.for_component("all")) == len(catalogue.rules)
    restricted = catalogue.restricted_to("sidecar")
    assert restricted.ids == tuple(r.id for r in catalogue.for_component("sidecar"))
    assert restricted.digest == catalogue.digest
    with pytest.raises(UsageError, match="did you mean 'webhook'"):
        catalogue.for_component("webhok")


def test_select_uses_id_globs(tmp_path: Path) -> None:
    text = "".join(
        GOOD_RULE.replace("WH-001", rule_id)
        for rule_id in ("WH-001", "WH-002", "WH-010", "WH-011")
    )
    catalogue = load_catalogue(write(tmp_path, text))
    ids = lambda rules: [rule.id for rule in rules]  # noqa: E731
    assert ids(catalogue.select()) == ["WH-001", "WH-002", "WH-010", "WH-011"]
    assert ids(catalogue.select(["WH-00?"])) == ["WH-001", "WH-002"]
    assert ids(catalogue.select(["WH-*"], ["WH-01*"])) == ["WH-001", "WH-002"]
    assert ids(catalogue.select(["wh-01?"])) == ["WH-010", "WH-011"]
    assert ids(catalogue.select(["AC-*"])) == []


def test_applies_follows_generations(tmp_path: Path) -> None:
    text = GOOD_RULE + GOOD_RULE.replace("WH-001", "WH-002").replace(
        'source = "PROTOCOL.md §5"', 'source = "PROTOCOL.md §5"\ngenerations = ["pimlico"]'
    )
    catalogue = load_catalogue(write(tmp_path, text))
    everywhere, pimlico_only = catalogue.rules
    assert everywhere.generations == GENERATIONS
    assert all(catalogue.applies(everywhere, g) for g in GENERATIONS)
    assert catalogue.applies(pimlico_only, "pimlico")
    assert not catalogue.applies(pimlico_only, "base")
    with pytest.raises(UsageError, match="generation=pimlco"):
        catalogue.applies(everywhere, "pimlco")


def test_digest_is_sha256_of_the_bytes_and_tracks_content(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_RULE)
    first = load_catalogue(path)
    assert first.digest == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_catalogue(path).digest == first.digest
    path.write_text(GOOD_RULE.replace("answer 404", "answer 404 always"), encoding="utf-8")
    assert load_catalogue(path).digest != first.digest


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('level = "MUST"', 'level = "MAY"', r"WH-001: key 'level'"),
        ('component = "webhook"', 'component = "bundler"', r"WH-001: key 'component'"),
        ('component = "webhook"', 'component = "account"', r"WH-001: key 'component'"),
        ('source = "PROTOCOL.md §5"', 'source = "PROTOCOL.md §9"', r"WH-001: key 'source'"),
        ('source = "PROTOCOL.md §5"', 'source = "RFC 4337"', r"WH-001: key 'source'"),
        ('statement = "Unknown routes answer 404."', 'statement = ""', r"WH-001: key 'statement'"),
        ('statement = "Unknown routes answer 404."', 'statement = """a\nb"""',
         r"WH-001: key 'statement'"),
        ('id = "WH-001"', 'id = "WH-1"', r"key 'id'"),
        ('id = "WH-001"', 'id = "XX-001"', r"key 'id'"),
        ('level = "MUST"', 'levl = "MUST"', r"WH-001: unknown key 'levl'"),
        ('source = "PROTOCOL.md §5"', 'source = "PROTOCOL.md §5"\ngenerations = ["basic"]',
         r"WH-001: key 'generations'"),
        ('source = "PROTOCOL.md §5"', "", r"WH-001: key 'source' is missing"),
    ],
)
def test_broken_rule_names_its_id_and_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in GOOD_RULE
    with pytest.raises(UsageError, match=message):
        load_catalogue(write(tmp_path, GOOD_RULE.replace(old, new)))


def test_duplicate_ids_and_bad_toml_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"WH-001: key 'id' is a duplicate"):
        load_catalogue(write(tmp_path, GOOD_RULE * 2))
    with pytest.raises(UsageError, match="not valid TOML"):
        load_catalogue(write(tmp_path, GOOD_RULE + "\n[[rule]\n"))
    with pytest.raises(UsageError, match=r"no \[\[rule\]\] tables"):
        load_catalogue(write(tmp_path, "# empty\n"))


def test_format_json_lists_every_rule_with_its_checks() -> None:
    catalogue = load_catalogue()
    objects = json.loads(format_catalogue(catalogue, {"WH-001": ["webhook/x.py::t"]}, "json"))
    assert [o["id"] for o in objects] == [r.id for r in catalogue.rules]
    first_wh = next(o for o in objects if o["id"] == "WH-001")
    assert first_wh["checks"] == ["webhook/x.py::t"]
    assert set(first_wh) == {"id", "component", "level", "statement", "source", "generations",
                             "checks"}


def test_format_text_is_an_aligned_table(tmp_path: Path) -> None:
    catalogue = load_catalogue(write(tmp_path, GOOD_RULE + GOOD_RULE.replace("WH-001", "WH-002")))
    lines = format_catalogue(catalogue, {"WH-002": ["a", "b"]}, "text").splitlines()
    assert lines[0].split()[:6] == ["ID", "COMPONENT", "LEVEL", "SOURCE", "GENERATIONS", "CHECKS"]
    assert len({line.index("Unknown routes") for line in lines[1:]}) == 1
    assert lines[2].split()[:6] == ["WH-002", "webhook", "MUST", "§5", "all", "2"]
    with pytest.raises(UsageError, match="format=yaml"):
        format_catalogue(catalogue, None, "yaml")


def test_markdown_table_has_one_row_per_rule() -> None:
    catalogue = load_catalogue()
    lines = markdown_table(catalogue).splitlines()
    assert lines[0].startswith("| id |") and lines[1].startswith("|---")
    assert len(lines) == 2 + len(catalogue.rules)
    assert all(line.startswith(f"| {rule.id} |") for line, rule in zip(lines[2:], catalogue.rules,
                                                                       strict=True))
