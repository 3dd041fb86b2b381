"""Which checks exist and which rules they name, found by reading the suites' check modules.

Used by ``amc rules`` (each rule with its checks) and by the self-tests (every MUST rule has a
check; every id a check names exists). Importing a check module runs no check.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections import defaultdict
from dataclasses import dataclass

from conformance.engine.checks import RULES_MARK


@dataclass(frozen=True)
class CheckInfo:
    """A check function and the rule ids it names."""

    component: str
    name: str
    rule_ids: tuple[str, ...]


def discover_checks(
    components: tuple[str, ...] = ("webhook", "account", "sidecar", "e2e"),
) -> list[CheckInfo]:
    """Every check in ``conformance/suites/<component>/test_*.py``."""
    found: list[CheckInfo] = []
    for component in components:
        try:
            package = importlib.import_module(f"conformance.suites.{component}")
        except ModuleNotFoundError:
            continue
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("test_"):
                continue
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            found.extend(_checks_in(module, component))
    return found


def _checks_in(module: object, component: str) -> list[CheckInfo]:
    checks: list[CheckInfo] = []
    module_marks = _rule_marks(getattr(module, "pytestmark", []))
    for name, obj in vars(module).items():
        if not name.startswith("test_") or not callable(obj):
            continue
        ids = module_marks + _rule_marks(getattr(obj, "pytestmark", []))
        short = f"{component}/{module.__name__.rsplit('.', 1)[-1]}.py::{name}"  # type: ignore[attr-defined]
        checks.append(CheckInfo(component, short, tuple(dict.fromkeys(ids))))
    return checks


def _rule_marks(marks: object) -> tuple[str, ...]:
    if not isinstance(marks, list):
        marks = [marks]
    ids: list[str] = []
    for mark in marks:
        if getattr(mark, "name", None) == RULES_MARK:
            ids.extend(str(a) for a in getattr(mark, "args", ()))
    return tuple(ids)


def checks_by_rule(checks: list[CheckInfo] | None = None) -> dict[str, list[str]]:
    """Rule id → names of the checks that name it."""
    table: dict[str, list[str]] = defaultdict(list)
    for check in checks if checks is not None else discover_checks():
        for rule_id in check.rule_ids:
            table[rule_id].append(check.name)
    return dict(table)
