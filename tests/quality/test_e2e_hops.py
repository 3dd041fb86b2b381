"""``amc run e2e`` proves itself (issue 9 §5): with every hop the reference the path passes;
a mutant swapped in at one hop — webhook, account or sidecar — makes that hop's rule FAIL,
attributed to it, while the end-to-end promises behind it are "not judged" (ERROR), not a
cascade of FAILs. The e2e checks are called in process against the real launched webhook and
the real sidecar process."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import conformance.suites.e2e.test_path as path_checks
from conformance.engine.checks import RULES_MARK, CheckFailure, Observer
from conformance.errors import TargetError
from conformance.profiles import load_profile
from conformance.suites.sidecar._support import SidecarRuns
from conformance.targets.sidecar import Timing
from conformance.targets.sidecar_e2e import E2EParts, open_e2e

PROFILE = load_profile("pimlico")


def _verdicts(parts: E2EParts, tmp_path: Path) -> dict[str, list[tuple[str, str]]]:
    """Rule → (verdict, message) of every case of the e2e checks."""
    e2e = open_e2e(parts, PROFILE, "pimlico", log_dir=tmp_path / "logs")
    runs = SidecarRuns(e2e.world, e2e.sidecar, Timing.of(PROFILE.sidecar), PROFILE, tmp_path,
                       links=e2e.links, label=lambda rule: parts.owner_of(rule))
    out: dict[str, list[tuple[str, str]]] = {}
    try:
        for name, fn in vars(path_checks).items():
            if not name.startswith("test_"):
                continue
            marks = getattr(fn, "pytestmark", [])
            rule = next(a for m in marks if m.name == RULES_MARK for a in m.args)
            variants: list[dict[str, object]] = [{}]
            for m in marks:
                if m.name == "parametrize":
                    variants = [{m.args[0]: v} for v in m.args[1]]
            for args in variants:
                params = inspect.signature(fn).parameters
                call = {"runs": runs, "observe": Observer(), **args}
                try:
                    fn(**{k: v for k, v in call.items() if k in params})
                    verdict, message = "PASS", ""
                except CheckFailure as exc:
                    verdict, message = "FAIL", exc.message
                except TargetError as exc:
                    verdict, message = "ERROR", str(exc)
                except pytest.skip.Exception as exc:
                    verdict, message = "SKIP", str(exc)
                out.setdefault(rule, []).append((verdict, message))
    finally:
        e2e.close()
    return out


def _worst(cases: list[tuple[str, str]]) -> str:
    kinds = {v for v, _ in cases}
    for kind in ("FAIL", "ERROR", "PASS"):
        if kind in kinds:
            return kind
    return "SKIP"


def test_reference_path_passes(tmp_path: Path) -> None:
    verdicts = _verdicts(E2EParts(), tmp_path)
    worst = {r: _worst(c) for r, c in verdicts.items()}
    assert worst == {**dict.fromkeys(verdicts, "PASS"), "WH-017": "SKIP"}, verdicts


@pytest.mark.parametrize(("parts", "rule", "hop"), [
    (E2EParts(webhook={"mutant": "plain-base64-pimlico-key"}), "WH-057", "webhook"),
    (E2EParts(account={"mutant": "raw-hash-not-eip191"}), "AC-009", "account"),
    (E2EParts(sidecar={"mutant": "sign-before-sponsorship"}), "SC-011", "sidecar"),
], ids=["webhook", "account", "sidecar"])
def test_a_mutant_at_one_hop_fails_that_hops_rule(parts: E2EParts, rule: str, hop: str,
                                                   tmp_path: Path) -> None:
    verdicts = _verdicts(parts, tmp_path)
    worst = {r: _worst(c) for r, c in verdicts.items()}
    assert worst[rule] == "FAIL", verdicts[rule]
    message = next(m for v, m in verdicts[rule] if v == "FAIL")
    assert message.startswith(f"[{hop}]"), message
    assert worst["SC-028"] != "PASS", verdicts["SC-028"]
    others = {r for r, w in worst.items() if w == "FAIL" and parts.owner_of(r) != hop}
    assert not others, f"FAILs attributed to hops that did nothing wrong: {others}"
