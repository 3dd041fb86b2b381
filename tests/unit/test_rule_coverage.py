"""Self-tests of the catalogue against the checks (issue #2 §3): every id a check names exists,
and every MUST rule of a component whose harness exists has at least one check. Protocol
rules (UO-, AT-) are judged through the harnesses' checks or through the exported vectors, so
a vector naming the rule counts for them."""

from __future__ import annotations

import importlib.util

import pytest

from conformance.engine.registry import checks_by_rule, discover_checks
from conformance.rules import load_catalogue
from conformance.vectors.build import KINDS, build_vectors

CATALOGUE = load_catalogue()
HARNESSES = tuple(
    c for c in ("webhook", "account", "sidecar")
    if importlib.util.find_spec(f"conformance.suites.{c}") is not None
)
"""Components with a suite package; a component's MUST rules are held to having checks from
the moment its package exists."""


@pytest.fixture(scope="module")
def by_rule() -> dict[str, list[str]]:
    return checks_by_rule(discover_checks())


@pytest.fixture(scope="module")
def vector_rules() -> set[str]:
    return {rule for kind in KINDS.values() for v in build_vectors(kind) for rule in v.rule_ids}


def test_checks_name_only_catalogued_rules(by_rule: dict[str, list[str]]) -> None:
    unknown = sorted(set(by_rule) - set(CATALOGUE.ids))
    assert not unknown, f"checks name rules missing from rules.toml: {unknown}"


def test_every_check_names_a_rule() -> None:
    bare = [c.name for c in discover_checks() if not c.rule_ids]
    assert not bare, f"checks without an @rules(...) mark: {bare}"


def test_webhook_and_account_harnesses_exist() -> None:
    assert {"webhook", "account"} <= set(HARNESSES)


@pytest.mark.parametrize("component", HARNESSES)
def test_every_must_rule_of_a_harness_has_a_check(component: str,
                                                  by_rule: dict[str, list[str]]) -> None:
    bare = [r.id for r in CATALOGUE.for_component(component)
            if r.level == "MUST" and r.id not in by_rule]
    assert not bare, f"{component} MUST rules without a check: {bare}"


def test_every_must_protocol_rule_has_a_check_or_a_vector(
        by_rule: dict[str, list[str]], vector_rules: set[str]) -> None:
    bare = [r.id for r in CATALOGUE.for_component("protocol")
            if r.level == "MUST" and r.id not in by_rule and r.id not in vector_rules]
    assert not bare, f"protocol MUST rules neither checked nor in a vector: {bare}"


def test_vectors_name_only_catalogued_rules(vector_rules: set[str]) -> None:
    assert not sorted(vector_rules - set(CATALOGUE.ids))
