"""The engine end to end: a throw-away suite of checks that pass, fail, error and skip is run
through ``run_component`` (a real child pytest with the plugin) and the per-rule verdicts,
cases, failures and exit codes are asserted."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from conformance.engine.config import RunConfig, TargetSpec
from conformance.engine.run import run_component
from conformance.errors import UsageError
from conformance.report.model import Verdict

SUITE = textwrap.dedent(
    """
    import pytest
    from hypothesis import given, strategies as st
    from conformance.engine.checks import CheckFailure, TargetError, rules

    @rules("WH-001")
    def test_passes(observe):
        observe.case(3)

    @rules("WH-002")
    @given(st.integers(min_value=0, max_value=1000))
    def test_fails_minimal(observe, n):
        observe.case()
        if n >= 10:
            raise CheckFailure("WH-002", f"n={n} too big", minimal_input={"n": n},
                               reproducer=f"echo {n}")

    @rules("WH-003")
    def test_target_error(observe):
        observe.case()
        raise TargetError("target hung")

    @rules("WH-004")
    def test_skipped():
        pytest.skip("needs a launched target")

    @rules("WH-005", "WH-006")
    def test_fails_first_rule(observe):
        observe.case()
        raise CheckFailure("WH-005", "bad")

    @rules("WH-007")
    def test_undeclared_failure():
        raise CheckFailure("WH-008", "wrong rule")

    @rules("WH-020")
    def test_pimlico_only():
        pass
    """
)


def _run(tmp_path: Path, suite: str = SUITE, **overrides: object):
    suite_dir = tmp_path / "suite"
    suite_dir.mkdir()
    (suite_dir / "test_fake.py").write_text(suite)
    options: dict[str, object] = dict(
        component="webhook",
        profile="base",
        target=TargetSpec(),
        seed=1234,
        report_dir=str(tmp_path / "report"),
        max_examples=60,
        suite_path=str(suite_dir),
        include=("WH-00*", "WH-020"),
    )
    options.update(overrides)
    return run_component(RunConfig(**options))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory):
    return _run(tmp_path_factory.mktemp("engine"))


def _result(outcome, rule_id):
    return next(r for r in outcome.results.results if r.rule_id == rule_id)


def test_verdicts_per_rule(outcome) -> None:
    verdict = {r.rule_id: r.verdict for r in outcome.results.results}
    assert verdict["WH-001"] is Verdict.PASS
    assert verdict["WH-002"] is Verdict.FAIL
    assert verdict["WH-003"] is Verdict.ERROR
    assert verdict["WH-004"] is Verdict.SKIP
    assert verdict["WH-005"] is Verdict.FAIL
    assert verdict["WH-006"] is Verdict.SKIP  # not judged: its check stopped at WH-005
    assert verdict["WH-007"] is Verdict.ERROR  # failure raised for an undeclared rule
    assert verdict["WH-020"] is Verdict.SKIP  # pimlico-only rule under profile base
    assert verdict["WH-009"] is Verdict.SKIP  # selected, but no check of this suite


def test_cases_and_minimal_failure(outcome) -> None:
    assert _result(outcome, "WH-001").cases == 3
    failure = _result(outcome, "WH-002").failures[0]
    assert failure.minimal_input == {"n": 10}  # hypothesis shrank it
    assert failure.reproducer == "echo 10"


def test_reasons_are_given(outcome) -> None:
    assert "target hung" in " ".join(_result(outcome, "WH-003").reasons)
    assert "needs a launched target" in " ".join(_result(outcome, "WH-004").reasons)
    assert "stopped at a FAIL of WH-005" in " ".join(_result(outcome, "WH-006").reasons)
    assert "not applicable" in " ".join(_result(outcome, "WH-020").reasons)


def test_reports_and_exit_code(outcome) -> None:
    assert outcome.exit_code == 1
    doc = json.loads((outcome.report_dir / "results.json").read_text())
    assert doc["seed"] == 1234 and doc["profile"] == "base"
    assert {"results.json", "junit.xml", "report.html"} <= {
        p.name for p in outcome.report_dir.iterdir()
    }
    events = (outcome.report_dir / "events.ndjson").read_text().splitlines()
    assert json.loads(events[-1])["event"] == "finished"


def test_rule_selection_and_passing_run(tmp_path: Path) -> None:
    result = _run(tmp_path, include=("WH-001",))
    assert [r.rule_id for r in result.results.results] == ["WH-001"]
    assert result.exit_code == 0


def test_each_rule_states_how_many_mutants_it_catches(tmp_path: Path) -> None:
    """Issue 10 §7: with the registries' counts in the run configuration, every rule's result
    (results.json, valid against the schema, and report.html) states its mutants caught; 0 for
    a rule no mutant names; a run without the counts states none."""
    import jsonschema

    result = _run(tmp_path, include=("WH-001", "WH-002"), mutant_kills={"WH-002": 3})
    caught = {r.rule_id: r.mutants_caught for r in result.results.results}
    assert caught == {"WH-001": 0, "WH-002": 3}
    doc = json.loads((result.report_dir / "results.json").read_text())
    schema = json.loads((Path(__file__).resolve().parents[2] / "conformance" / "report"
                         / "results.schema.json").read_text())
    jsonschema.validate(doc, schema)
    assert {r["rule_id"]: r["mutants_caught"] for r in doc["results"]} == caught
    assert "mutants caught" in (result.report_dir / "report.html").read_text()
    (tmp_path / "plain").mkdir()
    plain = _run(tmp_path / "plain", include=("WH-001",))
    assert plain.results.results[0].mutants_caught is None
    assert "mutants_caught" not in (plain.report_dir / "results.json").read_text()


def test_unknown_rule_id_is_a_usage_error(tmp_path: Path) -> None:
    suite = (
        "from conformance.engine.checks import rules\n\n@rules('WH-999')\ndef test_x():\n    pass\n"
    )
    with pytest.raises(UsageError, match="WH-999"):
        _run(tmp_path, suite=suite)


def test_bad_profile_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="basee"):
        _run(tmp_path, profile="basee")


SEEDED_SUITE = textwrap.dedent(
    """
    import os
    from hypothesis import given, strategies as st
    from conformance.engine.checks import rules

    @rules("WH-001")
    @given(st.integers(min_value=0, max_value=2**64))
    def test_draws(observe, n):
        observe.case()
        with open(os.environ["AMC_TEST_DRAWS"], "a") as f:
            f.write(f"{n}\\n")
    """
)


def test_the_seed_decides_the_draws_even_where_ci_is_set(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hypothesis loads a derandomized "ci" profile where CI is set; the run's profile must not
    inherit it, or ``--seed`` would be ignored and a CI failure not reproducible."""
    monkeypatch.setenv("CI", "true")

    def draws(name: str, seed: int) -> list[str]:
        path = tmp_path / f"{name}.txt"
        monkeypatch.setenv("AMC_TEST_DRAWS", str(path))
        (tmp_path / name).mkdir()
        _run(tmp_path / name, suite=SEEDED_SUITE, seed=seed, include=("WH-001",),
             max_examples=20)
        return path.read_text().split()

    first, again, other = draws("a", 11), draws("b", 11), draws("c", 12)
    assert first == again
    assert first != other


CASELESS_SUITE = textwrap.dedent(
    """
    from conformance.engine.checks import rules

    @rules("WH-001")
    def test_passes_without_a_case(observe):
        pass

    @rules("WH-002")
    def test_never_counts():
        pass
    """
)


def test_pass_needs_at_least_one_case(tmp_path: Path) -> None:
    """A check that returns without ``observe.case()``, or never takes ``observe``, exercised
    nothing anyone counted: its rule is ERROR with the reason, never PASS (ARCHITECTURE.md
    "Verdicts", engine/outcomes.py)."""
    result = _run(tmp_path, suite=CASELESS_SUITE, include=("WH-001", "WH-002"))
    first, second = result.results.results
    assert (first.rule_id, first.verdict, first.cases) == ("WH-001", Verdict.ERROR, 0)
    assert "checks passed but exercised no case" in first.reasons
    assert (second.rule_id, second.verdict, second.cases) == ("WH-002", Verdict.ERROR, 0)
    assert any("counts no cases" in reason for reason in second.reasons)
    assert result.exit_code != 0


def test_two_workers_give_the_same_verdicts(outcome, tmp_path: Path) -> None:
    """The xdist path (``workers=2``: ``-n 2 --dist loadgroup``) folds the workers' outcomes
    into the same per-rule verdicts, cases and minimal failure as one process."""
    parallel = _run(tmp_path, workers=2)
    assert "bringing up nodes" in (parallel.report_dir / "pytest.log").read_text()  # xdist ran
    verdicts = {r.rule_id: (r.verdict, r.cases) for r in outcome.results.results}
    assert {r.rule_id: (r.verdict, r.cases) for r in parallel.results.results} == verdicts
    assert _result(parallel, "WH-002").failures[0].minimal_input == {"n": 10}
    assert parallel.exit_code == outcome.exit_code == 1
