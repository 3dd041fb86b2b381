"""Replaying recorded sidecar FAILs (``amc replay``; issue 9): the peers' side of the recorded
scenario — the same chain state, work and faults — is played again against the recorded
sidecar (or ``--reference [--mutant]``, or ``--launch CMD``), and the check that failed judges
the new transcript: reproduced (it FAILs again), not reproduced, or not judged."""

from __future__ import annotations

import argparse
import importlib
import inspect
import tempfile
from pathlib import Path
from typing import Any

from conformance.commands.replay_cmd import print_outcome, print_summary
from conformance.engine.checks import CheckFailure, Observer
from conformance.errors import TargetError, UsageError


def _target(args: argparse.Namespace, doc: dict[str, Any]) -> Any:
    from conformance.targets.sidecar import SidecarTarget

    if args.launch:
        return SidecarTarget(kind="launch", launch=args.launch)
    if args.reference:
        return SidecarTarget(mutant=args.mutant)
    recorded = doc.get("target") or {}
    if recorded.get("kind") == "launch":
        return SidecarTarget(kind="launch", launch=recorded.get("launch"))
    return SidecarTarget(mutant=recorded.get("mutant"))


def _check(failure: dict[str, Any]) -> Any:
    """The check function a failure names (``sidecar/test_x.py::test_y[...]``)."""
    name = str(failure.get("check", ""))
    module, _, function = name.partition("::")
    if not module.startswith("sidecar/") or not function:
        raise UsageError(f"failure names no sidecar check ({name!r})")
    path = "conformance.suites.sidecar." + module.removeprefix("sidecar/").removesuffix(".py")
    return getattr(importlib.import_module(path), function.split("[")[0])


def replay_sidecar(failures: list[tuple[str, dict[str, Any]]], args: argparse.Namespace,
                   doc: dict[str, Any]) -> int:
    """Replay each failure; print the verdicts; exit 1 when any reproduced."""
    from conformance.profiles import load_profile
    from conformance.suites.sidecar._support import SidecarRuns
    from conformance.targets.sidecar import Timing
    from conformance.targets.sidecar_world import open_sidecar_world

    profile = load_profile(args.profile or str(doc.get("profile") or "pimlico"))
    target = _target(args, doc)
    counts = {"reproduced": 0, "not reproduced": 0, "not judged": 0}
    world = open_sidecar_world(profile)
    try:
        with tempfile.TemporaryDirectory(prefix="amc-replay-") as tmp:
            runs = SidecarRuns(world, target, Timing.of(profile.sidecar), profile, Path(tmp))
            for rule_id, failure in failures:
                verdict, detail = _replay_one(runs, rule_id, failure)
                counts[verdict] += 1
                print_outcome(verdict, rule_id, failure, detail)
    finally:
        world.close()
    described = target.launch if target.kind == "launch" else (
        f"the reference{' mutant ' + target.mutant if target.mutant else ''} sidecar")
    return print_summary(counts, described)


def _replay_one(runs: Any, rule_id: str, failure: dict[str, Any]) -> tuple[str, str]:
    fn = _check(failure)
    scenario = failure["minimal_input"].get("scenario")
    call = {"runs": runs, "observe": Observer(), "scenario": scenario}
    params = inspect.signature(fn).parameters
    try:
        fn(**{k: v for k, v in call.items() if k in params})
    except CheckFailure as exc:
        if exc.rule_id != rule_id:
            return "not judged", f"the check failed another rule: {exc.rule_id}"
        return "reproduced", f"scenario {scenario}: {exc.message}"
    except TargetError as exc:
        return "not judged", str(exc)
    return "not reproduced", f"scenario {scenario} played again: the rule held"
