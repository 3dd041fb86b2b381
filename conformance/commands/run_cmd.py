"""``amc run <component>``: run the conformance checks of a component against a target."""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from rich.console import Console

from conformance.cli import add_common_options
from conformance.commands.repeat import run_repeated
from conformance.commands.run_all import ComponentRun, overall_exit_code, run_plan
from conformance.console import ProgressReporter, print_all_summary, print_summary
from conformance.engine.config import COMPONENTS, RunConfig, TargetSpec
from conformance.engine.run import (
    RunAborted,
    default_report_dir,
    new_seed,
    validate_component,
)
from conformance.errors import UsageError, did_you_mean

DEFAULT_PROFILE = {"webhook": "pimlico", "account": "base", "sidecar": "pimlico",
                   "e2e": "pimlico"}
ALL_PLAN = (
    ("webhook", "pimlico"),
    ("webhook", "multi-attestor"),
    ("webhook", "base"),
    ("account", "base"),
    ("account", "multi-attestor"),
    ("sidecar", "pimlico"),
    ("e2e", "pimlico"),
)
_TARGET_KINDS = {
    "webhook": {"reference", "url", "launch"},
    "account": {"reference", "artifact", "rpc"},
    "sidecar": {"reference", "launch"},
    "e2e": {"reference"},
}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("run", help="run a component's conformance checks against a target")
    p.add_argument("component", help=f"one of {', '.join(COMPONENTS)}, or 'all' (reference only)")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--reference", action="store_true", help="the bundled reference")
    target.add_argument("--url", help="an already running webhook")
    target.add_argument("--launch", metavar="CMD", help="a command that starts the target")
    target.add_argument("--artifact", metavar="FILE", help="a compiled account contract (JSON)")
    target.add_argument("--rpc", metavar="URL", help="a JSON-RPC node with a deployed account")
    p.add_argument(
        "--no-token",
        action="store_true",
        help="with --url and ALCHEMY_WEBHOOK_TOKEN unset: run anyway, judging only the rules that "
        "need no token (without this option a missing token stops the run, exit 2)",
    )
    p.add_argument("--mutant", help="with --reference: run against this named mutant")
    p.add_argument("--address", help="with --rpc: the deployed account's address")
    p.add_argument(
        "--evm",
        choices=("pyrevm", "anvil"),
        default="pyrevm",
        help="EVM backend for account checks (default: embedded pyrevm)",
    )
    p.add_argument(
        "--no-proxy",
        action="store_true",
        help="deploy --artifact as is, not behind an ERC1967 proxy",
    )
    p.add_argument(
        "--ready-timeout",
        type=float,
        default=30.0,
        help="seconds a launched target has to become ready",
    )
    p.add_argument(
        "--request-timeout", type=float, default=5.0, help="seconds per request to the target"
    )
    p.add_argument("--target-version", default=None, metavar="V",
                   help="the implementation's release, recorded in results.json (target.version)")
    p.add_argument("--baseline", type=Path, default=None, metavar="FILE",
                   help="known-deviation baseline (TOML): the gate passes on baselined deviations")
    p.add_argument("--repeat", type=int, default=1, metavar="K",
                   help="run every check K times under seeds S..S+K-1: per-rule pass rate, "
                        "flaky rules marked")
    e2e = p.add_argument_group("amc run e2e: swap one hop for an implementation under test")
    e2e.add_argument("--webhook-launch", metavar="CMD", help="the sponsorship webhook to launch")
    e2e.add_argument("--webhook-url", metavar="URL", help=argparse.SUPPRESS)
    e2e.add_argument("--account-artifact", metavar="FILE", help="the account contract (JSON)")
    e2e.add_argument("--sidecar-launch", metavar="CMD", help="the sidecar to launch")
    add_common_options(p)
    p.set_defaults(handler=run_command)


def target_spec(args: argparse.Namespace, component: str) -> TargetSpec:
    """The TargetSpec the options describe, validated for ``component``."""
    e2e_options = ("webhook_launch", "webhook_url", "account_artifact", "sidecar_launch")
    if component != "e2e" and any(getattr(args, k, None) for k in e2e_options):
        raise UsageError("--webhook-launch/--account-artifact/--sidecar-launch apply to "
                         "amc run e2e only")
    if component == "e2e":
        return _e2e_spec(args)
    kind = next((k for k in ("url", "launch", "artifact", "rpc") if getattr(args, k)), "reference")
    if kind not in _TARGET_KINDS[component]:
        allowed = ", ".join(f"--{k}" for k in sorted(_TARGET_KINDS[component]))
        raise UsageError(f"--{kind} does not apply to {component} (use {allowed})")
    if args.mutant and kind != "reference":
        raise UsageError("--mutant needs --reference")
    if args.mutant:
        _check_mutant(component, args.mutant)
    if kind == "rpc" and not args.address:
        raise UsageError("--rpc needs --address (the deployed account)")
    if kind == "artifact" and not Path(args.artifact).is_file():
        raise UsageError(f"--artifact={args.artifact}: no such file")
    if kind == "artifact":
        from conformance.targets.account_artifact import load_account_artifact

        load_account_artifact(args.artifact)  # unusable JSON or ABI: exit 2 before anything
    if kind == "url":
        _check_token(args, component)
        _check_secret(args.profile or DEFAULT_PROFILE[component])
        _check_url(args.url, min(args.ready_timeout, 10.0))
    return TargetSpec(
        kind=kind,
        mutant=args.mutant,
        url=args.url,
        launch=args.launch,
        artifact=args.artifact,
        rpc=args.rpc,
        address=args.address,
        evm=args.evm,
        proxy=not args.no_proxy,
        ready_timeout=args.ready_timeout,
        request_timeout=args.request_timeout,
        version=args.target_version,
    )


def _e2e_spec(args: argparse.Namespace) -> TargetSpec:
    """``amc run e2e``: every hop the reference unless an e2e option swaps it; ``--mutant
    HOP:NAME`` swaps in a bundled mutant of that hop."""
    if any(getattr(args, k) for k in ("url", "launch", "artifact", "rpc")):
        raise UsageError("amc run e2e swaps hops with --webhook-launch, --account-artifact and "
                         "--sidecar-launch (not --url/--launch/--artifact/--rpc)")
    if args.webhook_url:
        raise UsageError("--webhook-url: a webhook reached by URL reads its own chain, not the "
                         "suite's; amc run e2e needs it on the suite's chain (--webhook-launch)")
    parts: dict[str, dict[str, str]] = {}
    if args.mutant:
        hop, _, name = args.mutant.partition(":")
        if hop not in ("webhook", "account", "sidecar") or not name:
            raise UsageError(f"--mutant={args.mutant}: for e2e write HOP:NAME (webhook:…, "
                             "account:… or sidecar:…)")
        _check_mutant(hop, name)
        parts[hop] = {"mutant": name}
    for hop, key, option in (("webhook", "launch", "webhook_launch"),
                             ("account", "artifact", "account_artifact"),
                             ("sidecar", "launch", "sidecar_launch")):
        value = getattr(args, option)
        if value:
            if hop in parts:
                raise UsageError(f"--mutant {args.mutant} and --{option.replace('_', '-')} both "
                                 f"swap the {hop}")
            parts[hop] = {key: value}
    if "artifact" in parts.get("account", {}) and not Path(parts["account"]["artifact"]).is_file():
        raise UsageError(f"--account-artifact={parts['account']['artifact']}: no such file")
    return TargetSpec(kind="reference", parts=json.dumps(parts, sort_keys=True) if parts else None,
                      ready_timeout=args.ready_timeout, request_timeout=args.request_timeout,
                      version=args.target_version)


def _check_mutant(component: str, name: str) -> None:
    """``--mutant`` must name a bundled mutant of ``component`` (``amc mutants list``)."""
    from conformance.commands.mutants_cmd import MUTANT_COMPONENTS, mutants_of

    if component not in MUTANT_COMPONENTS:
        raise UsageError(f"--mutant={name}: {component} has no bundled mutants")
    names = [str(m["name"]) for m in mutants_of(component) if "name" in m]
    if name not in names:
        raise UsageError(f"--mutant={name}: no such {component} mutant"
                         f"{did_you_mean(name, names)} (see amc mutants list)")


def _check_token(args: argparse.Namespace, component: str) -> None:
    """``--url`` needs the target's token in the environment, unless ``--no-token`` says to
    run only the rules that need none (a missing token must not pass as a short green run)."""
    from conformance.profiles import load_profile

    profile = load_profile(args.profile or DEFAULT_PROFILE[component])
    name = profile.webhook.token_env
    if not os.environ.get(name) and not args.no_token:
        raise UsageError(f"--url: {name} is not set; export the target's token in {name}, or "
                         "pass --no-token to run only the rules that need no token")


def _check_secret(profile_name: str) -> None:
    """``--url``: a set but malformed HMAC secret is a usage error (one line, never the value),
    not five ERROR verdicts (issue 7 §2)."""
    from conformance.profiles import load_profile
    from conformance.targets.webhook import check_url_secrets

    check_url_secrets(load_profile(profile_name), os.environ)


def _check_url(url: str, timeout: float) -> None:
    """``--url`` must be an http(s) URL of a server that answers (any HTTP status will do: a
    503 from /healthz is a judgeable target); else a usage error, not a run of ERRORs."""
    import httpx

    parsed = urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise UsageError(f"--url={url}: not an http(s) URL")
    try:
        httpx.get(url.rstrip("/") + "/healthz", timeout=timeout)
    except httpx.HTTPError as exc:
        raise UsageError(f"--url={url}: no answer from the target "
                         f"({type(exc).__name__}: {exc})".splitlines()[0]) from None


def _writable_report_dir(path: Path) -> bool:
    """Create ``path`` if needed (UsageError when it cannot be written); True if created."""
    created = not path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".amc-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(f"--report-dir={path}: cannot write there ({reason})") from None
    return created


def _remove_if_empty(path: Path, created: bool) -> None:
    """Remove a report folder this command made when the run left nothing in it."""
    if created and path.is_dir() and not any(path.iterdir()):
        shutil.rmtree(path, ignore_errors=True)


def run_command(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    if args.component == "all":
        if not args.reference and any(
            getattr(args, k) for k in ("url", "launch", "artifact", "rpc")
        ):
            raise UsageError(
                "'amc run all' runs the bundled references only (drop the target option)"
            )
        plan = [(c, args.profile or p) for c, p in ALL_PLAN]
        plan = list(dict.fromkeys(plan))
    else:
        component = validate_component(args.component)
        plan = [(component, args.profile or DEFAULT_PROFILE[component])]
    plan = _selected_plan(args, plan, console)
    if args.baseline:
        from conformance.commands.report_cmd import load_run_baseline

        args.baseline = load_run_baseline(args.baseline)  # a bad baseline: exit 2 before the run
    if args.component != "all":
        return _run_one(args, *plan[0], console, seconds=args.seconds).exit_code
    runs = run_plan(plan, args.seconds,
                    lambda c, p, budget: _run_one(args, c, p, console, seconds=budget))
    print_all_summary(console, runs)
    from conformance.commands.report_cmd import write_combined

    combined = write_combined([r.report_dir for r in runs if r.report_dir], args.report_dir)
    console.print(f"combined report: {combined['html']}")
    return overall_exit_code(runs)


def _selected_plan(args: argparse.Namespace, plan: list[tuple[str, str]],
                   console: Console) -> list[tuple[str, str]]:
    """The runs whose component has a rule that ``--rule``/``--exclude-rule`` select; a glob
    matching no rule at all, or a selection leaving a single component nothing, is a usage
    error (a mistyped id in a CI gate must not pass as an empty, green run)."""
    if not args.rule and not args.exclude_rule:
        return plan
    from conformance.rules import load_catalogue

    catalogue = load_catalogue()
    for glob in args.rule:
        if not catalogue.select((glob,)):
            raise UsageError(f"--rule {glob}: matches no rule of the catalogue"
                             f"{did_you_mean(glob.upper(), catalogue.ids)} (see amc rules)")
    chosen = catalogue.select(tuple(args.rule), tuple(args.exclude_rule))
    kept = [(c, p) for c, p in plan  # e2e judges rules of every component
            if c == "e2e" or any(r.component in (c, "protocol") for r in chosen)]
    if not kept:
        names = " ".join(f"--rule {g}" for g in args.rule) or "--exclude-rule"
        components = ", ".join(dict.fromkeys(c for c, _ in plan))
        raise UsageError(f"{names}: no rule of {components} is selected")
    for component, profile in plan:
        if (component, profile) not in kept:
            console.print(f"amc run {component} · profile {profile}: no selected rule, not run")
    return kept


def _run_one(args: argparse.Namespace, component: str, profile: str, console: Console, *,
             seconds: float | None) -> ComponentRun:
    from conformance.profiles import load_profile

    load_profile(profile)  # a bad profile is a usage error before anything starts
    spec = target_spec(args, component)  # so is an unusable target: before any folder exists
    seed = args.seed if args.seed is not None else new_seed()
    report_dir = args.report_dir or default_report_dir(component, seed)
    if args.report_dir and args.component == "all":
        report_dir = Path(args.report_dir) / f"{component}-{profile}"
    created = _writable_report_dir(Path(report_dir))
    config = RunConfig(
        component=component,
        profile=profile,
        target=spec,
        seed=seed,
        seconds=seconds,
        include=tuple(args.rule),
        exclude=tuple(args.exclude_rule),
        strict=args.strict,
        report_dir=str(report_dir),
        max_examples=args.max_examples,
        workers=args.workers,
        slow=args.slow,
        hypothesis_db=args.hypothesis_db,
        mutant_kills=_mutant_kills(),
    )
    console.print(
        f"[bold]amc run {component}[/] · profile {profile} · target "
        f"{config.target.kind}{' ' + config.target.mutant if config.target.mutant else ''}"
        f" · seed {seed} (replay with --seed {seed})"
    )
    try:
        with ProgressReporter(console, f"{component} checks") as progress:
            outcome = run_repeated(config, args.repeat, on_event=progress)
    except RunAborted as exc:  # partial reports written: they say aborted
        outcome = exc.outcome
        print_summary(console, outcome.results, str(outcome.report_dir))
        return ComponentRun(component, profile, outcome.exit_code, outcome.results.summary(),
                            str(outcome.report_dir), note=f"aborted: {exc}")
    except UsageError:
        _remove_if_empty(Path(report_dir), created)
        raise
    print_summary(console, outcome.results, str(outcome.report_dir))
    code = outcome.exit_code
    if args.baseline:
        from conformance.report.baseline import gate_run

        code = gate_run(outcome.results, args.baseline, outcome.report_dir, outcome.exit_code,
                        console.print)
    return ComponentRun(component, profile, code, outcome.results.summary(),
                        str(outcome.report_dir))


def _mutant_kills() -> dict[str, int] | None:
    """Per rule, the bundled mutants it catches, for the reports (issue 10 §7); ``None`` when
    a registry cannot be read (the reports then state no figure rather than a wrong one)."""
    from conformance.commands.report_cmd import mutant_kills

    try:
        return mutant_kills()
    except Exception:  # noqa: BLE001 - a missing registry must not stop a conformance run
        return None
