"""The pytest plugin that turns check outcomes into per-rule verdicts (STYLE.md 4, 8).

pytest is the engine (xdist for parallelism). The plugin is registered through the ``pytest11``
entry point and stays inert unless ``--amc-config`` names a run configuration. When active it:

- validates every check's rule ids against the catalogue and deselects checks outside the
  ``--rule``/``--exclude-rule`` selection; checks whose rules do not apply to the profile's
  generation are skipped with that reason;
- records each check's cases, and a ``CheckFailure`` as structured data, on the test report
  (so xdist ships them to the controller);
- emits NDJSON events (``events.ndjson``) that the CLI renders as progress — it never prints;
- at the end, folds the outcomes into one verdict per rule and writes the reports; a run that
  ended early (``abort_run``, SIGINT/SIGTERM) is marked ``aborted`` and the checks it never ran
  are ERROR "not judged" (``engine.aborts``).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conformance import __version__
from conformance.engine import aborts
from conformance.engine.checks import RULES_MARK, CheckFailure, Observer, TargetError
from conformance.engine.config import RunConfig
from conformance.errors import UsageError
from conformance.protocol.webhook_wire import SecretFormatError, derive_hmac_key
from conformance.report.model import Aborted, CheckOutcome, Failure, RunResults, Verdict
from conformance.secrecy import register, register_key, scrub

ABORT_FILE = aborts.ABORT_FILE
EVENTS_FILE = "events.ndjson"
LOG_DIR = "logs"
SLOW_REASON = "waits on the wall clock (minutes): off by default, run with --slow (nightly)"
"""Why a ``slow`` check did not run; it is reported as SKIP, not silently deselected."""
TARGET_FILE = "target-identity.json"
"""What checks learned of the target (``RunState.record_target``), merged into results.json."""
_LOG_LIMIT = 64_000


@dataclass
class RunState:
    """What the plugin keeps for one conformance session."""

    config: RunConfig
    report_dir: Path
    catalogue: Any
    profile: Any
    started: float = field(default_factory=time.monotonic)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    outcomes: list[CheckOutcome] = field(default_factory=list)

    @property
    def deadline(self) -> float | None:
        """Monotonic time after which no further check starts."""
        if self.config.seconds is None:
            return None
        return self.started + self.config.seconds

    def record_target(self, info: dict[str, Any]) -> None:
        """Add what the session learned about the target (e.g. the account's runtime code
        hash) to its identity in results.json; any worker may call it, the values agree."""
        path = self.report_dir / TARGET_FILE
        path.write_text(json.dumps(info, sort_keys=True, default=str))

    def emit(self, event: str, **data: Any) -> None:
        """Append one NDJSON event for the CLI's progress display."""
        line = json.dumps({"event": event, "t": round(time.monotonic() - self.started, 3), **data})
        with open(self.report_dir / EVENTS_FILE, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


STATE = pytest.StashKey[RunState]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("amc", "attestmesh-conformance")
    group.addoption("--amc-config", default=None, help="run configuration JSON (set by `amc run`)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{RULES_MARK}(*ids): the rule ids a check proves")
    path = config.getoption("--amc-config", default=None)
    if not path:
        return
    run = RunConfig.read(Path(path))
    report_dir = Path(run.report_dir)
    try:
        from conformance.profiles import load_profile
        from conformance.rules import load_catalogue

        state = RunState(run, report_dir, load_catalogue(), load_profile(run.profile))
    except UsageError as exc:
        _abort(report_dir, str(exc))
        raise
    config.stash[STATE] = state
    _register_secrets(state.profile)
    aborts.install_stop_handlers()
    _configure_hypothesis(run)


def _configure_hypothesis(run: RunConfig) -> None:
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis.database import DirectoryBasedExampleDatabase

    database = DirectoryBasedExampleDatabase(run.hypothesis_db) if run.hypothesis_db else None
    settings.register_profile(
        "amc",
        # Built on hypothesis' "default" profile, not the current one: where CI is set in the
        # environment hypothesis loads its "ci" profile (derandomize=True), which would ignore
        # --hypothesis-seed and make a run's seed a lie.
        parent=settings.get_profile("default"),
        derandomize=False,
        max_examples=run.max_examples,
        deadline=None,
        database=database,
        # The explain phase re-runs a failing case under tracing (seconds per failure) and adds
        # nothing a report shows: the minimal input and reproducer come from the shrink phase.
        phases=tuple(p for p in Phase if p is not Phase.explain),
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        print_blob=True,
    )
    settings.load_profile("amc")


def _abort(report_dir: Path, message: str) -> None:
    aborts.write_abort(report_dir, message)


def rule_ids_of(item: pytest.Item) -> tuple[str, ...]:
    """The rule ids a collected check names (all ``amc_rules`` marks, in order)."""
    ids: list[str] = []
    for mark in item.iter_markers(RULES_MARK):
        ids.extend(str(a) for a in mark.args)
    return tuple(dict.fromkeys(ids))


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    state = config.stash.get(STATE, None)
    if state is None:
        return
    catalogue, generation = state.catalogue, state.profile.generation
    selected = {r.id for r in _selected_rules(state)}
    keep: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        ids = rule_ids_of(item)
        if not ids:
            _abort(state.report_dir, f"check {item.nodeid} names no rule id")
            pytest.exit(f"check {item.nodeid} names no rule id", returncode=3)
        for rule_id in ids:
            try:
                catalogue.by_id(rule_id)
            except (KeyError, UsageError) as exc:
                message = f"check {item.nodeid} names an unknown rule: {exc}"
                _abort(state.report_dir, message)
                pytest.exit(message, returncode=3)
        chosen = [i for i in ids if i in selected]
        if not chosen:
            deselected.append(item)
            continue
        if not any(catalogue.applies(catalogue.by_id(i), generation) for i in chosen):
            item.add_marker(
                pytest.mark.skip(reason=f"not applicable under generation '{generation}'")
            )
        elif item.get_closest_marker("slow") is not None and not state.config.slow:
            item.add_marker(pytest.mark.skip(reason=SLOW_REASON))
        keep.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = keep
    aborts.write_collected(state.report_dir, [_collected(item) for item in items])
    state.emit("collected", total=len(items))


def _collected(item: pytest.Item) -> dict[str, Any]:
    """A collected check as ``collected.json`` records it (its skip reason, if skipped now)."""
    skip = item.get_closest_marker("skip")
    reason = (skip.kwargs.get("reason") or (skip.args[0] if skip.args else "skipped")) if skip \
        else None
    return {"check": item.nodeid.split("suites/", 1)[-1], "rules": list(rule_ids_of(item)),
            "skip": reason}


def _named_ids(outcomes: list[CheckOutcome]) -> set[str]:
    return {rule_id for outcome in outcomes for rule_id in outcome.rule_ids}


def _selected_rules(state: RunState, named: set[str] | None = None) -> list[Any]:
    """The component's rules, plus the shared ``protocol`` rules its checks name, filtered by
    ``--rule``/``--exclude-rule``."""
    if state.config.component == "e2e":  # the whole path: the rules its checks name, any hop
        rules = [r for r in state.catalogue.rules if named is None or r.id in named]
    else:
        rules = list(state.catalogue.for_component(state.config.component))
        shared = state.catalogue.for_component("protocol")
        rules += [r for r in shared if named is None or r.id in named]
    chosen = state.catalogue.select(state.config.include, state.config.exclude)
    chosen_ids = {r.id for r in chosen}
    return [r for r in rules if r.id in chosen_ids]


@pytest.fixture
def observe() -> Observer:
    """Count the cases a check exercises (PASS needs at least one)."""
    return Observer()


@pytest.fixture(scope="session")
def amc_state(pytestconfig: pytest.Config) -> RunState:
    """The active run (configuration, catalogue, profile, report directory)."""
    state = pytestconfig.stash.get(STATE, None)
    if state is None:
        pytest.skip("not inside an `amc run` session")
    return state


def pytest_runtest_setup(item: pytest.Item) -> None:
    state = item.config.stash.get(STATE, None)
    if state is not None and state.deadline is not None and time.monotonic() > state.deadline:
        raise TargetError(f"time budget of {state.config.seconds:g} s exhausted before this check")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if STATE not in item.config.stash:
        return report
    props: list[tuple[str, Any]] = [("amc_rules", list(rule_ids_of(item)))]
    funcargs = getattr(item, "funcargs", {})
    observer = funcargs.get("observe")
    props.append(("amc_cases", observer.cases if isinstance(observer, Observer) else None))
    if isinstance(observer, Observer) and observer.unjudged:
        props.append(("amc_not_judged", observer.describe_unjudged()))
    exc = _decisive(call.excinfo.value if call.excinfo is not None else None)
    if isinstance(exc, CheckFailure):
        failure = {
            "rule_id": exc.rule_id,
            "message": exc.message,
            "minimal_input": _jsonable(exc.minimal_input),
            "reproducer": exc.reproducer,
            "cause": getattr(exc, "cause", ""),
        }
        props.append(("amc_failure", scrub(json.dumps(failure))))
    elif exc is not None and not isinstance(exc, pytest.skip.Exception):
        props.append(("amc_error", scrub(f"{type(exc).__name__}: {exc}")[:2000]))
    report.user_properties = [p for p in report.user_properties if not p[0].startswith("amc_")]
    report.user_properties.extend(props)
    _scrub_report(report)
    return report


def _decisive(exc: BaseException | None) -> BaseException | None:
    """The exception that decides a check's verdict. Hypothesis raises an ExceptionGroup when
    several examples fail (several explicit @examples, say): its first CheckFailure is the FAIL
    (not an ERROR), else its first member."""
    if isinstance(exc, BaseExceptionGroup):
        members = [_decisive(sub) for sub in exc.exceptions]
        failures = [m for m in members if isinstance(m, CheckFailure)]
        return failures[0] if failures else (members[0] if members else exc)
    return exc


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except TypeError:
        if isinstance(value, bytes):
            return "0x" + value.hex()
        return repr(value)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    state = _controller_state()
    if state is None:
        return
    if report.when == "call" or (report.when in ("setup", "teardown") and not report.passed):
        outcome = outcome_from_report(report)
        if outcome is not None:
            state.outcomes.append(outcome)
            state.emit(
                "check",
                check=outcome.check,
                rules=list(outcome.rule_ids),
                verdict=outcome.verdict.value,
                cases=outcome.cases,
                failed_rule=outcome.failed_rule,
            )


_CONTROLLER: list[RunState] = []


def _controller_state() -> RunState | None:
    return _CONTROLLER[0] if _CONTROLLER else None


def pytest_sessionstart(session: pytest.Session) -> None:
    state = session.config.stash.get(STATE, None)
    if state is not None and not hasattr(session.config, "workerinput"):
        _CONTROLLER[:] = [state]
        state.report_dir.mkdir(parents=True, exist_ok=True)
        (state.report_dir / LOG_DIR).mkdir(exist_ok=True)
        state.emit("started", component=state.config.component, seed=state.config.seed)


def outcome_from_report(report: pytest.TestReport) -> CheckOutcome | None:
    """Translate one pytest report (call, or a failed/skipped setup/teardown) to an outcome."""
    props: dict[str, Any] = dict(report.user_properties)
    rule_ids = tuple(props.get("amc_rules") or ())
    if not rule_ids:
        return None
    check = report.nodeid.split("suites/", 1)[-1]
    duration = float(getattr(report, "duration", 0.0))
    if report.skipped:
        reason = _skip_reason(report)
        return CheckOutcome(check, rule_ids, Verdict.SKIP, reason=reason, duration=duration)
    if report.passed:
        cases = props.get("amc_cases")
        if cases is None:  # never took ``observe``: nothing says a case was exercised
            reason = "the check counts no cases (it must take the observe fixture)"
            return CheckOutcome(check, rule_ids, Verdict.ERROR, reason=reason, duration=duration)
        return CheckOutcome(check, rule_ids, Verdict.PASS, cases=cases, duration=duration,
                            reason=props.get("amc_not_judged", ""))
    raw = props.get("amc_failure")
    if raw and report.when == "call":
        data = json.loads(raw)
        if data["rule_id"] not in rule_ids:
            reason = f"raised a failure for undeclared rule {data['rule_id']}: {data['message']}"
            return CheckOutcome(check, rule_ids, Verdict.ERROR, reason=reason, duration=duration)
        failure = Failure(data["message"], data["minimal_input"], data["reproducer"], check,
                          cause=data.get("cause", ""))
        return CheckOutcome(
            check,
            rule_ids,
            Verdict.FAIL,
            cases=props.get("amc_cases") or 1,
            failure=failure,
            failed_rule=data["rule_id"],
            duration=duration,
        )
    reason = props.get("amc_error") or _short(report.longreprtext)
    return CheckOutcome(
        check, rule_ids, Verdict.ERROR, reason=f"{report.when}: {reason}", duration=duration
    )


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return _short(str(longrepr))


def _short(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:500] if lines else "unknown error"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(STATE, None)
    if state is None or hasattr(session.config, "workerinput"):
        return
    run = build_results(state, interrupted=exitstatus == pytest.ExitCode.INTERRUPTED)
    from conformance.report import write_reports

    write_reports(run, state.report_dir, redactor=_redactor(state))
    state.emit("finished", summary=run.summary(), exit_code=run.exit_code())


def build_results(state: RunState, *, interrupted: bool = False,
                  aborted: Aborted | None = None) -> RunResults:
    """Fold the session's outcomes into the run's ``RunResults``; a run that ended early is
    ``aborted`` (found by ``engine.aborts`` unless given) and each check it never ran counts as
    ERROR "not judged"."""
    from conformance.engine.outcomes import fold_outcomes

    aborted = aborted or aborts.aborted_of(state.report_dir, interrupted)
    outcomes = list(state.outcomes)
    collected = aborts.read_collected(state.report_dir) if aborted else None
    if aborted is not None and collected is not None:
        done = {o.check for o in outcomes}
        outcomes += aborts.not_judged(collected, done, aborted.cause)
    results = fold_outcomes(
        _selected_rules(state, named=_named_ids(outcomes)),
        outcomes,
        generation=state.profile.generation,
        catalogue=state.catalogue,
    )
    if aborted is not None and collected is None:  # ended before its checks were collected
        for result in results:
            if result.verdict is Verdict.SKIP:
                result.verdict = Verdict.ERROR
                result.reasons = [f"not judged: {aborted.cause}"]
    if state.config.mutant_kills is not None:
        for result in results:
            result.mutants_caught = state.config.mutant_kills.get(result.rule_id, 0)
    return RunResults(
        suite_version=__version__,
        catalogue_digest=state.catalogue.digest,
        component=state.config.component,
        profile=state.profile.name,
        target={**state.config.target.identity(), **_recorded_target(state.report_dir)},
        seed=state.config.seed,
        started_at=state.started_at,
        duration_seconds=time.monotonic() - state.started,
        results=results,
        strict=state.config.strict,
        logs=_read_logs(state.report_dir / LOG_DIR),
        aborted=aborted,
    )


def _recorded_target(report_dir: Path) -> dict[str, Any]:
    path = report_dir / TARGET_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def _read_logs(directory: Path) -> dict[str, str]:
    logs: dict[str, str] = {}
    if directory.is_dir():
        for path in sorted(directory.glob("*.log")):
            text = path.read_text(errors="replace")
            logs[path.stem] = text[-_LOG_LIMIT:]
    return logs


def _redactor(state: RunState) -> Any:
    from conformance.report import Redactor

    return Redactor.for_process(state.profile.secret_env_names())


def _register_secrets(profile: Any) -> None:
    """Mask the environment's token and HMAC secret (and the key it derives) in every text this
    process makes (``conformance.secrecy``; issue 7 §2)."""
    hook = profile.webhook
    for name in profile.secret_env_names():
        register(os.environ.get(name), "$" + name)
    secret = os.environ.get(hook.hmac_secret_env)
    if secret:
        with contextlib.suppress(SecretFormatError):
            register_key(derive_hmac_key(secret, hook.key_derivation), "<hmac-key>")


def _scrub_report(report: pytest.TestReport) -> None:
    """Mask secrets in what pytest itself writes (terminal, pytest.log, pytest-junit.xml): the
    traceback (arguments' reprs, exception text) and the captured output."""
    if report.longrepr is not None and not isinstance(report.longrepr, tuple):
        text = str(report.longrepr)
        clean = scrub(text)
        if clean != text:
            report.longrepr = clean
    report.sections = [(title, scrub(content)) for title, content in report.sections]


def abort_run(config: pytest.Config, message: str) -> None:
    """End the whole run as unable to start (exit code 2), e.g. a target that never got ready."""
    state = config.stash.get(STATE, None)
    if state is not None:
        _abort(state.report_dir, message)
    pytest.exit(message, returncode=3)
