"""Suite sensitivity: how many bundled mutants each rule catches (ARCHITECTURE.md "How the
suite proves itself"), so a reader knows how strong a PASS is.

A mutant is a copy of a reference breaking one rule; its registry entry names the rules it
``breaks`` (and, for accounts, the rules it ``also_fails`` as a consequence). The quality tests
(``tests/quality``) prove each mutant is caught by the rules it breaks, so the count of mutants
naming a rule is the number of known defects that rule's checks have caught.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def kills_by_rule(mutants: Mapping[str, Iterable[Mapping[str, Any]]], *,
                  include_consequences: bool = False) -> dict[str, int]:
    """Per rule id, the number of bundled mutants (of every component) whose registry entry
    says the rule catches it: ``breaks``, plus ``also_fails`` with ``include_consequences``."""
    counts: dict[str, int] = {}
    for entries in mutants.values():
        for mutant in entries:
            rules = set(mutant.get("breaks", ()))
            if include_consequences:
                rules |= set(mutant.get("also_fails", ()))
            for rule_id in rules:
                counts[rule_id] = counts.get(rule_id, 0) + 1
    return dict(sorted(counts.items()))


def weakest(kills: Mapping[str, int], rule_ids: Iterable[str]) -> list[str]:
    """The rules of ``rule_ids`` no bundled mutant exercises (a PASS there is least proven)."""
    return [rule_id for rule_id in rule_ids if not kills.get(rule_id)]
