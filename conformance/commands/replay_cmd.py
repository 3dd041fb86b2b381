"""``amc replay RESULTS``: replay every recorded FAIL and say which still fail (ARCHITECTURE.md
"Reproducers"; README "Replaying failures").

``RESULTS`` is a results.json or the report directory holding it. Each failure (``--rule``
keeps one rule's, ``--index`` one of them) is replayed and printed as ``reproduced`` /
``not reproduced`` / ``not judged`` with its rule and a one-line cause; the exit code is 1
when any reproduced, 0 when none did (a regression gate), 2 on unusable input.

Webhook: the failure's recorded world (settings, chain, faults, cache state, earlier requests
of the case, variants) is recreated on a chain the replay owns for ``--reference`` (optionally
``--mutant``) and ``--launch CMD``, so the verdict is exact; against ``--url`` only failures
that need no chain of the suite are judged. Requests are re-signed with this replay's secrets
(``--url``: the variables the profile names) and a fresh timestamp.

Account: the recorded world is rebuilt around the recorded target (or ``--reference``
[``--mutant``]) and the case's steps replayed; the last step is judged against the recorded
expectation. A target whose ``creation_code_keccak`` differs from the record's is warned about.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from conformance.errors import UsageError, did_you_mean
from conformance.secrecy import scrub


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("replay", help="replay every recorded FAIL: reproduced or not (exit 1/0)")
    p.add_argument("results", type=Path,
                   help="a results.json written by amc run, or its report directory")
    p.add_argument("--rule", default=None, help="only this rule's failures")
    p.add_argument("--index", type=int, default=None,
                   help="only this failure of the selection (0-based)")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--url", default=None, help="a running webhook")
    target.add_argument("--reference", action="store_true", help="the bundled reference")
    target.add_argument("--launch", default=None, metavar="CMD",
                        help="a command that starts the webhook (the replay owns its chain)")
    p.add_argument("--mutant", default=None, help="with --reference: this mutant")
    p.add_argument("--profile", default=None, help="profile (default: the run's)")
    p.add_argument("--ready-timeout", type=float, default=30.0,
                   help="seconds a launched webhook has to become ready")
    p.add_argument("--request-timeout", type=float, default=5.0, help="seconds per request")
    p.set_defaults(handler=replay_command)


def load_results(path: Path) -> dict[str, Any]:
    """The results document at ``path`` (a file, or a report directory holding results.json);
    UsageError with the cause when it is missing or not a results document."""
    file = path / "results.json" if path.is_dir() else path
    try:
        doc = json.loads(file.read_text())
    except FileNotFoundError:
        raise UsageError(
            f"{file}: no such file (give a results.json or its report directory)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(
            f"{file}: not a readable results.json ({exc.__class__.__name__})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise UsageError(f"{file}: not a results document (no 'results' list)")
    return doc


def select_failures(doc: dict[str, Any], rule: str | None, index: int | None,
                    report_dir: Path) -> list[tuple[str, dict[str, Any]]]:
    """(rule id, failure) pairs to replay, each ``minimal_input`` read through its pointer
    when the report wrote it to a file; UsageError when the selection is empty."""
    from conformance.report.external import resolve

    failures = [(r["rule_id"], f) for r in doc.get("results", []) for f in r.get("failures", [])
                if rule is None or r["rule_id"] == rule]
    if not failures:
        raise UsageError(f"no recorded failure{' of ' + rule if rule else ''} in the results")
    if index is not None:
        if not 0 <= index < len(failures):
            raise UsageError(f"--index={index}: there are {len(failures)} matching failures")
        failures = [failures[index]]
    out = []
    for rule_id, failure in failures:
        minimal = resolve(failure.get("minimal_input"), report_dir)
        if not isinstance(minimal, dict):
            raise UsageError(f"{rule_id}: its recorded input is not readable "
                             f"({failure.get('minimal_input')!r:.80})")
        out.append((rule_id, {**failure, "minimal_input": minimal}))
    return out


def pick_failure(doc: dict[str, Any], rule: str | None, index: int) -> tuple[str, dict[str, Any]]:
    """One (rule id, failure) by ``--rule``/``--index`` (inline records only)."""
    return select_failures(doc, rule, index, Path("."))[0]


def replay_command(args: argparse.Namespace) -> int:
    path = Path(args.results)
    doc = load_results(path)
    report_dir = path if path.is_dir() else path.parent
    component = doc.get("component")
    if component not in ("webhook", "account", "sidecar"):
        raise UsageError(f"{path}: a {component!r} report; amc replay replays webhook, "
                         "account and sidecar failures")
    _check_mutant(component, args)
    failures = select_failures(doc, args.rule, args.index, report_dir)
    if component == "account":
        from conformance.commands.replay_account import replay_account

        return replay_account(failures, args, doc)
    if component == "sidecar":
        from conformance.commands.replay_sidecar import replay_sidecar

        return replay_sidecar(failures, args, doc)
    return _replay_webhook(failures, args, doc)


def _check_mutant(component: str, args: argparse.Namespace) -> None:
    if args.mutant is None:
        return
    if not args.reference:
        raise UsageError("--mutant needs --reference")
    from conformance.commands.mutants_cmd import mutants_of

    names = [m["name"] for m in mutants_of(component) if "name" in m]
    if args.mutant not in names:
        raise UsageError(f"--mutant={args.mutant!r}: not a {component} mutant"
                         + did_you_mean(args.mutant, names) + " (see amc mutants list)")


def print_outcome(verdict: str, rule_id: str, failure: dict[str, Any], detail: str) -> None:
    """One failure's lines: verdict, rule, cause; then what the replay saw."""
    cause = str(failure.get("message", "")).splitlines()[0] if failure.get("message") else ""
    print(scrub(f"{verdict:<15} {rule_id}  {cause[:110]}"))
    print(scrub(f"{'':<15} {detail[:300]}"))


def print_summary(counts: dict[str, int], target: str) -> int:
    """The closing line; the exit code (1 when any reproduced)."""
    print(f"replayed against {target}: {counts['reproduced']} reproduced, "
          f"{counts['not reproduced']} not reproduced, {counts['not judged']} not judged")
    return 1 if counts["reproduced"] else 0


def _replay_webhook(failures: list[tuple[str, dict[str, Any]]], args: argparse.Namespace,
                    doc: dict[str, Any]) -> int:
    from conformance.commands.replay_webhook import replay_failure
    from conformance.errors import TargetError

    counts = {"reproduced": 0, "not reproduced": 0, "not judged": 0}
    with tempfile.TemporaryDirectory(prefix="amc-replay-") as tmp:
        bench = _webhook_bench(failures, args, doc, Path(tmp))
        try:
            bench.__enter__()
        except (TargetError, OSError) as exc:
            bench.__exit__(None, None, None)
            raise UsageError(f"the webhook to replay against never became ready: {exc}") from None
        try:
            target = bench.describe(args.launch)
            print(f"amc replay · webhook · profile {bench.profile.name} · target {target} · "
                  f"{len(failures)} failure{'s' if len(failures) != 1 else ''}")
            for rule_id, failure in failures:
                outcome = replay_failure(bench, failure["minimal_input"])
                counts[outcome.verdict] += 1
                print_outcome(outcome.verdict, rule_id, failure, bench.scrub(outcome.detail))
        finally:
            bench.__exit__(None, None, None)
    sys.stdout.flush()
    return print_summary(counts, target)


def _webhook_bench(failures: list[tuple[str, dict[str, Any]]], args: argparse.Namespace,
                   doc: dict[str, Any], log_dir: Path) -> Any:
    """The ``ReplayBench`` the options name (not started); UsageError when they name none."""
    from conformance.profiles import load_profile
    from conformance.suites.webhook.world_record import recorded_settings
    from conformance.targets.webhook import launch_command, reference_command
    from conformance.targets.webhook_replay import ReplayBench

    if not (args.url or args.reference or args.launch):
        raise UsageError("say where to replay: --reference [--mutant M], --launch CMD or --url URL")
    profile_arg = args.profile or doc.get("profile", "pimlico")
    profile = load_profile(profile_arg)
    command = None
    if args.launch is not None:
        try:
            command = launch_command(args.launch)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    elif args.reference:
        command = reference_command(profile_arg, args.mutant)
    if args.url and not os.environ.get(profile.webhook.token_env):
        raise UsageError(f"--url: set {profile.webhook.token_env} to the webhook's token")
    return ReplayBench(profile, url=args.url, command=command, mutant=args.mutant,
                       environ=os.environ, settings=_recorded_settings(failures,
                                                                       recorded_settings),
                       log_dir=log_dir, request_timeout=args.request_timeout,
                       ready_timeout=args.ready_timeout)


def _recorded_settings(failures: list[tuple[str, dict[str, Any]]], pick: Any) -> dict[str, str]:
    """The launch settings the failures were recorded under (the first that names them)."""
    for _, failure in failures:
        world = failure["minimal_input"].get("world")
        if isinstance(world, dict) and world.get("settings"):
            return pick(world["settings"])
    return {}
