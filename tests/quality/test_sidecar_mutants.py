"""Every sidecar mutant is caught by its own rules (issue 9); the reference passes them.

The default cases call the sidecar checks themselves (the same functions ``amc run sidecar``
collects), in process, against a real ``python -m conformance.reference.sidecar`` started with
``AMC_MUTANT``: only the scenarios the mutant's rules read are played, on one shared chain, so
the whole set stays within the test command's budget. The full cross-check — each mutant
through the engine (``run_component``) against every sidecar rule — is marked ``quality``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import conformance.suites.sidecar as suite
from conformance.engine.checks import RULES_MARK, CheckFailure, Observer
from conformance.engine.config import RunConfig, TargetSpec
from conformance.engine.run import run_component
from conformance.profiles import load_profile
from conformance.reference.sidecar.mutants import MUTANTS, WITHOUT_MUTANT
from conformance.report.model import Verdict
from conformance.suites.sidecar._support import SidecarRuns
from conformance.targets.sidecar import SidecarTarget, Timing
from conformance.targets.sidecar_world import SidecarWorld, open_sidecar_world

PROFILE = load_profile("pimlico")
Case = tuple[Callable[..., None], dict[str, Any]]


def _checks() -> dict[str, list[Case]]:
    """Rule id → (check function, arguments) for every parametrised case of the suite."""
    table: dict[str, list[Case]] = {}
    for info in pkgutil.iter_modules(suite.__path__):
        if not info.name.startswith("test_"):
            continue
        module = importlib.import_module(f"{suite.__name__}.{info.name}")
        for name, fn in vars(module).items():
            if not name.startswith("test_") or not callable(fn):
                continue
            marks = getattr(fn, "pytestmark", [])
            rules = [a for m in marks if m.name == RULES_MARK for a in m.args]
            variants: list[dict[str, Any]] = [{}]
            for m in marks:
                if m.name == "parametrize":
                    variants = [{m.args[0]: v} for v in m.args[1]]
            for rule in rules:
                table.setdefault(rule, []).extend((fn, v) for v in variants)
    return table


CHECKS = _checks()


@pytest.fixture(scope="module")
def world() -> Iterator[SidecarWorld]:
    built = open_sidecar_world(PROFILE)
    yield built
    built.close()


def _runs(world: SidecarWorld, mutant: str | None, tmp_path: Path) -> SidecarRuns:
    return SidecarRuns(world, SidecarTarget(mutant=mutant), Timing.of(PROFILE.sidecar), PROFILE,
                       tmp_path)


def _verdicts(runs: SidecarRuns, rule: str, *, until_fail: bool = False) -> list[tuple[str, str]]:
    """(verdict, detail) of the cases of ``rule``'s checks (``until_fail``: up to the first
    FAIL of ``rule``, so a mutant plays only the scenarios needed to catch it)."""
    out = []
    for fn, args in CHECKS[rule]:
        call = {"runs": runs, "observe": Observer(), **args}
        params = inspect.signature(fn).parameters
        try:
            fn(**{k: v for k, v in call.items() if k in params})
        except CheckFailure as exc:
            out.append(("FAIL" if exc.rule_id == rule else "FAIL-other",
                        f"{exc.message} | {exc.reproducer}"))
            if until_fail and exc.rule_id == rule:
                break
            continue
        except Exception as exc:  # noqa: BLE001 - an ERROR of the check, reported as such
            out.append(("ERROR", str(exc)[:300]))
            continue
        out.append(("PASS", ""))
    return out


@pytest.mark.parametrize("mutant", [m.name for m in MUTANTS], ids=str)
def test_mutant_is_caught_by_its_rules(mutant: str, world: SidecarWorld, tmp_path: Path) -> None:
    """Each rule a mutant breaks FAILs in at least one of its checks, with a transcript."""
    runs = _runs(world, mutant, tmp_path)
    breaks = next(m for m in MUTANTS if m.name == mutant).breaks
    for rule in breaks:
        verdicts = _verdicts(runs, rule, until_fail=True)
        assert any(v == "FAIL" for v, _ in verdicts), f"{mutant} survived {rule}: {verdicts}"
        detail = next(d for v, d in verdicts if v == "FAIL")
        assert '"method"' in detail, "a FAIL carries recorded exchanges as its reproducer"


def test_every_sc_rule_has_a_mutant_or_says_why() -> None:
    """A mutant for every SC rule; a rule without one is listed with its reason."""
    broken = {r for m in MUTANTS for r in m.breaks}
    without = sorted(r for r in CHECKS if r.startswith("SC-") and r not in broken)
    assert without == sorted(WITHOUT_MUTANT), without
    assert all(len(why) > 40 for why in WITHOUT_MUTANT.values())


@pytest.mark.parametrize("rule", sorted(r for r in CHECKS if r.startswith("SC-")), ids=str)
def test_reference_passes(rule: str, world: SidecarWorld, tmp_path: Path,
                          reference_runs: dict[str, SidecarRuns]) -> None:
    """The unmutated reference passes every case of every SC rule."""
    runs = reference_runs.setdefault("runs", _runs(world, None, tmp_path))
    verdicts = _verdicts(runs, rule)
    assert all(v == "PASS" for v, _ in verdicts), verdicts


@pytest.fixture(scope="module")
def reference_runs() -> dict[str, SidecarRuns]:
    """One set of reference runs shared by the reference cases."""
    return {}


@pytest.mark.quality
@pytest.mark.parametrize("mutant", [m.name for m in MUTANTS], ids=str)
def test_cross_check_through_the_engine(mutant: str, tmp_path: Path) -> None:
    """``amc run sidecar --reference --mutant M`` over every sidecar rule: its breaks FAIL."""
    config = RunConfig(component="sidecar", profile="pimlico",
                       target=TargetSpec(kind="reference", mutant=mutant),
                       report_dir=str(tmp_path / "report"))
    outcome = run_component(config, hard_timeout=600)
    results = {r.rule_id: r for r in outcome.results.results}
    breaks = next(m for m in MUTANTS if m.name == mutant).breaks
    assert all(results[r].verdict is Verdict.FAIL for r in breaks), \
        {r: results[r].verdict for r in breaks}
