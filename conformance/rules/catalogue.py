"""The numbered rule catalogue: ``rules.toml`` loaded, validated and queried
(ARCHITECTURE.md "Rule ids").

Every normative statement of PROTOCOL.md has one rule: an id (``UO``/``AT``/``WH``/``AC``/``SC``
and three digits, never renumbered), the component tested for it, a MUST/SHOULD level, one
sentence, the PROTOCOL.md section that states it and the generations it applies to.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.errors import UsageError, did_you_mean

DEFAULT_PATH = Path(__file__).with_name("rules.toml")
"""The shipped catalogue."""

GENERATIONS: tuple[str, ...] = ("pimlico", "multi-attestor", "base")
"""The protocol generations a rule may be limited to (PROTOCOL.md §0)."""

COMPONENTS: tuple[str, ...] = ("webhook", "account", "sidecar", "protocol")
"""What a rule is tested on; ``protocol`` is an encoding fact every component shares."""

LEVELS: tuple[str, ...] = ("MUST", "SHOULD")
"""Rule levels: a MUST failure fails the run, a SHOULD failure only with ``--strict``."""

FAMILIES: Mapping[str, str] = {
    "UO": "UserOperation encoding, hash and signature",
    "AT": "attestation proofs and binding",
    "WH": "the sponsorship webhook",
    "AC": "the ClusterMember account and the cluster's registration gates",
    "SC": "the sidecar",
}
"""Id prefixes and what each family covers."""

_FAMILY_COMPONENT: Mapping[str, str] = {"WH": "webhook", "AC": "account", "SC": "sidecar"}
"""Families bound to one component (UO and AT rules name whichever component is tested)."""

_ID = re.compile(r"^(UO|AT|WH|AC|SC)-\d{3}$")
_SOURCE = re.compile(r"^PROTOCOL\.md §[0-7]( \S.*)?$")
_KEYS = frozenset({"id", "component", "level", "statement", "source", "generations"})
_REQUIRED = ("id", "component", "level", "statement", "source")


@dataclass(frozen=True)
class Rule:
    """One numbered rule of the catalogue."""

    id: str
    component: str
    level: str
    statement: str
    source: str
    generations: tuple[str, ...] = GENERATIONS

    @property
    def family(self) -> str:
        """The id prefix: UO, AT, WH, AC or SC."""
        return self.id[:2]

    @property
    def section(self) -> int:
        """The PROTOCOL.md section number the rule cites."""
        return int(self.source.split("§", 1)[1][0])


@dataclass(frozen=True)
class Catalogue:
    """The rules in file order, with look-ups by id, component, glob and generation."""

    rules: tuple[Rule, ...]
    digest: str

    @functools.cached_property
    def _index(self) -> dict[str, Rule]:
        return {rule.id: rule for rule in self.rules}

    @property
    def ids(self) -> tuple[str, ...]:
        """Every rule id, in file order."""
        return tuple(rule.id for rule in self.rules)

    def by_id(self, rule_id: str) -> Rule:
        """The rule named ``rule_id``; UsageError (with the closest id) when there is none."""
        try:
            return self._index[rule_id]
        except KeyError:
            hint = did_you_mean(rule_id, self._index)
            raise UsageError(f"rule={rule_id}: no such rule in the catalogue{hint}") from None

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._index

    def __len__(self) -> int:
        return len(self.rules)

    def for_component(self, name: str) -> tuple[Rule, ...]:
        """The rules tested on component ``name`` (``all``: every rule)."""
        if name == "all":
            return self.rules
        if name not in COMPONENTS:
            hint = did_you_mean(name, (*COMPONENTS, "all"))
            raise UsageError(f"component={name}: not one of {', '.join(COMPONENTS)}, all{hint}")
        return tuple(rule for rule in self.rules if rule.component == name)

    def restricted_to(self, component: str) -> Catalogue:
        """A catalogue of only ``component``'s rules (same digest: it names the source file)."""
        return Catalogue(self.for_component(component), self.digest)

    def select(self, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> tuple[Rule, ...]:
        """The rules whose id matches an ``include`` glob (all when empty) and no ``exclude`` glob.

        Globs are fnmatch patterns, case-insensitive (``WH-0*``, ``ac-01?``).
        """
        def matches(rule: Rule, patterns: Sequence[str]) -> bool:
            return any(fnmatch.fnmatchcase(rule.id, p.upper()) for p in patterns)

        return tuple(
            rule
            for rule in self.rules
            if (not include or matches(rule, include)) and not matches(rule, exclude)
        )

    def applies(self, rule: Rule, generation: str) -> bool:
        """Whether ``rule`` applies under ``generation``; UsageError for an unknown generation."""
        validate_generation(generation)
        return generation in rule.generations


def validate_generation(generation: str) -> str:
    """``generation`` itself, or UsageError naming the closest valid one."""
    if generation not in GENERATIONS:
        hint = did_you_mean(generation, GENERATIONS)
        raise UsageError(f"generation={generation}: not one of {', '.join(GENERATIONS)}{hint}")
    return generation


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Load and validate a catalogue (the shipped ``rules.toml`` by default, cached)."""
    if path is None or Path(path).resolve() == DEFAULT_PATH.resolve():
        return _load_default()
    return parse_catalogue(Path(path).read_bytes(), origin=str(path))


@functools.cache
def _load_default() -> Catalogue:
    return parse_catalogue(DEFAULT_PATH.read_bytes(), origin=str(DEFAULT_PATH))


def parse_catalogue(data: bytes, *, origin: str = "rules.toml") -> Catalogue:
    """Validate TOML bytes into a Catalogue; UsageError naming the rule id and key at fault."""
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"catalogue={origin}: not valid TOML ({exc})") from None
    unknown = set(document) - {"rule"}
    if unknown:
        raise UsageError(f"catalogue={origin}: unknown top-level key {sorted(unknown)[0]!r}")
    entries = document.get("rule")
    if not isinstance(entries, list) or not entries:
        raise UsageError(f"catalogue={origin}: no [[rule]] tables")
    rules: list[Rule] = []
    seen: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        rule = _parse_rule(entry, position, origin)
        if rule.id in seen:
            raise UsageError(f"catalogue={origin}: rule {rule.id}: key 'id' is a duplicate")
        seen.add(rule.id)
        rules.append(rule)
    return Catalogue(tuple(rules), "sha256:" + hashlib.sha256(data).hexdigest())


def _parse_rule(entry: Any, position: int, origin: str) -> Rule:
    """One ``[[rule]]`` table, validated field by field."""
    where = f"catalogue={origin}: rule #{position}"
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: not a table")
    rule_id = entry.get("id")
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        raise UsageError(f"{where}: key 'id' must match {_ID.pattern}, got {rule_id!r}")
    where = f"catalogue={origin}: rule {rule_id}"
    for key in sorted(set(entry) - _KEYS):
        hint = did_you_mean(key, _KEYS)
        raise UsageError(f"{where}: unknown key {key!r}{hint}")
    for key in _REQUIRED:
        if not isinstance(entry.get(key), str):
            raise UsageError(f"{where}: key {key!r} is missing or not a string")
    _check_choice(where, "component", entry["component"], COMPONENTS)
    _check_choice(where, "level", entry["level"], LEVELS)
    expected = _FAMILY_COMPONENT.get(rule_id[:2])
    if expected is not None and entry["component"] != expected:
        raise UsageError(f"{where}: key 'component' must be {expected!r} for the {rule_id[:2]} "
                         f"family, got {entry['component']!r}")
    statement = entry["statement"].strip()
    if not statement or "\n" in statement:
        raise UsageError(f"{where}: key 'statement' must be one non-empty line")
    if not _SOURCE.match(entry["source"]):
        raise UsageError(f"{where}: key 'source' must look like 'PROTOCOL.md §N', "
                         f"got {entry['source']!r}")
    return Rule(
        id=rule_id,
        component=entry["component"],
        level=entry["level"],
        statement=statement,
        source=entry["source"],
        generations=_parse_generations(where, entry.get("generations")),
    )


def _check_choice(where: str, key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        hint = did_you_mean(value, choices)
        raise UsageError(f"{where}: key {key!r} must be one of {', '.join(choices)}, "
                         f"got {value!r}{hint}")


def _parse_generations(where: str, value: Any) -> tuple[str, ...]:
    """The ``generations`` list (absent: all), in GENERATIONS order, without repeats."""
    if value is None:
        return GENERATIONS
    if not isinstance(value, list) or not value or not all(isinstance(g, str) for g in value):
        raise UsageError(f"{where}: key 'generations' must be a non-empty list of strings")
    for generation in value:
        _check_choice(where, "generations", generation, GENERATIONS)
    if len(set(value)) != len(value):
        raise UsageError(f"{where}: key 'generations' repeats a generation")
    return tuple(g for g in GENERATIONS if g in value)


def format_catalogue(
    catalogue: Catalogue,
    checks_by_rule: Mapping[str, list[str]] | None = None,
    fmt: str = "text",
) -> str:
    """The catalogue for ``amc rules``: an aligned text table or a JSON list of rule objects.

    ``checks_by_rule`` maps rule ids to the checks that name them; without it the check
    column/key is left out of text and empty in JSON.
    """
    if fmt == "json":
        return json.dumps([_rule_json(r, checks_by_rule) for r in catalogue.rules], indent=2,
                          ensure_ascii=False)
    if fmt != "text":
        hint = did_you_mean(fmt, ("text", "json"))
        raise UsageError(f"format={fmt}: not one of text, json{hint}")
    header = ["ID", "COMPONENT", "LEVEL", "SOURCE", "GENERATIONS"]
    rows = [[r.id, r.component, r.level, r.source.removeprefix("PROTOCOL.md "),
             _generations_label(r)] for r in catalogue.rules]
    if checks_by_rule is not None:
        header.append("CHECKS")
        for row, rule in zip(rows, catalogue.rules, strict=True):
            row.append(str(len(checks_by_rule.get(rule.id, []))))
    header.append("STATEMENT")
    for row, rule in zip(rows, catalogue.rules, strict=True):
        row.append(rule.statement)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = [_aligned(row, widths) for row in [header, *rows]]
    return "\n".join(lines) + "\n"


def _aligned(row: Sequence[str], widths: Sequence[int]) -> str:
    """Pad every cell but the last to its column width."""
    padded = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
    return "  ".join([*padded, row[-1]])


def _generations_label(rule: Rule) -> str:
    return "all" if rule.generations == GENERATIONS else ",".join(rule.generations)


def _rule_json(rule: Rule, checks_by_rule: Mapping[str, list[str]] | None) -> dict[str, Any]:
    return {
        "id": rule.id,
        "component": rule.component,
        "level": rule.level,
        "statement": rule.statement,
        "source": rule.source,
        "generations": list(rule.generations),
        "checks": list((checks_by_rule or {}).get(rule.id, [])),
    }


def markdown_table(catalogue: Catalogue) -> str:
    """The README's rule table (generated from the catalogue, never written by hand)."""
    lines = ["| id | component | level | generations | source | statement |",
             "|---|---|---|---|---|---|"]
    for rule in catalogue.rules:
        cells = [rule.id, rule.component, rule.level, _generations_label(rule),
                 rule.source.removeprefix("PROTOCOL.md "), rule.statement]
        lines.append("| " + " | ".join(_markdown_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _markdown_cell(text: str) -> str:
    """Escape what would break a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|")
