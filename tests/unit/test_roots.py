"""Root-cause grouping (issue 7 §4 "one defect, one finding"): FAILs with the same cause are one
defect, ranked by the rules they affect, in results.json, the terminal summary and the HTML
report; ``cause`` survives the plugin and the JSON round trip."""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace

from rich.console import Console

from conformance.console import print_summary
from conformance.engine.checks import CheckFailure
from conformance.engine.plugin import outcome_from_report
from conformance.report import Failure, RuleResult, RunResults, Verdict, read_results, write_reports
from conformance.report.roots import cause_of, find_roots, format_roots_headline


def _fail(rule_id: str, *failures: Failure) -> RuleResult:
    return RuleResult(rule_id, Verdict.FAIL, 1, list(failures), "MUST", "webhook", "s", ["c"])


def _deny(reason: str) -> str:
    return ('wrong answer: expected 200 {"approved":true}, '
            f'got 200 {{"approved":false,"reason":"{reason}"}}')


def _run(results: list[RuleResult]) -> RunResults:
    return RunResults("0.1", "sha256:1", "webhook", "base", {"url": "http://127.0.0.1:1/"}, 1,
                      "2026-01-01T00:00:00Z", 1.0, results)


def _cascade() -> list[RuleResult]:
    """One defect (chain reads of fresh members fail) across 25 rules, one other defect with
    an explicit key, a third found once; a PASS that must not count."""
    results = [_fail(f"WH-{n:03d}", Failure(_deny("chain-read-failed"), check=f"t{n}"))
               for n in range(10, 35)]
    results += [_fail("WH-066", Failure("approved a dirty address word", cause="decoder:dirty")),
                _fail("WH-067", Failure("approved 0xdeadbeef", cause="decoder:dirty")),
                _fail("WH-003", Failure("answer was 201 after 3 tries")),
                RuleResult("WH-001", Verdict.PASS, 4)]
    return results


def test_one_defect_is_one_root_ranked_by_rules_affected() -> None:
    """25 FAILs denied with the same reason are one root, listed first; the cause keyword
    groups across messages; the headline counts defects and rules."""
    roots = find_roots(_cascade())
    assert [r.cause for r in roots] == ["deny:chain-read-failed", "decoder:dirty",
                                        "answer was N after N tries"]
    assert roots[0].rules == tuple(f"WH-{n:03d}" for n in range(10, 35))
    assert roots[0].first_rule == "WH-010" and roots[0].first_failure.check == "t10"
    assert roots[1].rules == ("WH-066", "WH-067")
    assert format_roots_headline(roots) == "3 defects, 28 rules affected"


def test_fallback_keys_revert_on_the_same_kind_of_input() -> None:
    """Without a cause: the revert error and the §6 step of the input; values never split."""
    a = Failure("validateUserOp reverted InvalidBootstrapCall (0xaa); §6 requires return 0 "
                "(bootstrap-signer: userOp signer is the expected 0x12)")
    b = Failure("validateUserOp reverted InvalidBootstrapCall (0xbb); §6 requires return 1 "
                "(bootstrap-signer: userOp signer is not the expected 0x34)")
    assert cause_of(a) == cause_of(b) == "revert:InvalidBootstrapCall on bootstrap-signer"
    assert cause_of(Failure("x", cause="mine")) == "mine"


def test_roots_in_results_json_terminal_and_html(tmp_path: Path) -> None:
    """results.json carries ``roots`` (schema-valid, cause round trip); the terminal summary
    and the HTML page put them first."""
    run = _run(_cascade())
    paths = write_reports(run, tmp_path)
    doc = json.loads(paths["json"].read_text())
    assert doc["roots"][0]["cause"] == "deny:chain-read-failed"
    assert len(doc["roots"][0]["rules"]) == 25
    assert doc["roots"][0]["first_failure"]["rule_id"] == "WH-010"
    back = read_results(paths["json"])
    assert {f.cause for r in back.results for f in r.failures} >= {"decoder:dirty"}
    html = paths["html"].read_text()
    assert html.index("3 defects, 28 rules affected") < html.index('id="rule-WH-001"')
    buffer = io.StringIO()
    print_summary(Console(file=buffer, width=200, color_system=None), run, str(tmp_path))
    text = buffer.getvalue()
    assert text.splitlines()[0] == "3 defects, 28 rules affected"
    assert text.index("deny:chain-read-failed -> WH-010") < text.index("WH-001")


def test_no_fail_no_roots(tmp_path: Path) -> None:
    run = _run([RuleResult("WH-001", Verdict.PASS, 3)])
    doc = json.loads(write_reports(run, tmp_path)["json"].read_text())
    assert doc["roots"] == []


def test_plugin_carries_the_cause_from_the_check_to_the_failure() -> None:
    """CheckFailure(cause=...) -> report user properties -> Failure.cause."""
    exc = CheckFailure("WH-012", "denied", cause="deny:rpc-failure")
    assert exc.cause == "deny:rpc-failure"
    data = {"rule_id": "WH-012", "message": "denied", "minimal_input": None,
            "reproducer": "", "cause": exc.cause}
    report = SimpleNamespace(
        user_properties=[("amc_rules", ["WH-012"]), ("amc_cases", 2),
                         ("amc_failure", json.dumps(data))],
        nodeid="conformance/suites/webhook/test_x.py::test_y", duration=0.1,
        skipped=False, passed=False, when="call", longreprtext="")
    outcome = outcome_from_report(report)  # type: ignore[arg-type]
    assert outcome is not None and outcome.failure is not None
    assert outcome.failure.cause == "deny:rpc-failure"


def test_fallback_keys_failed_op_and_apostrophes() -> None:
    """The EntryPoint's FailedOp code is the key; an apostrophe is not a quote."""
    a = Failure("the fresh member's valid bootstrap did not land: FailedOp 'AA24 signature error'")
    b = Failure("owner operation 3 did not land through handleOps: FailedOp 'AA24 signature error'")
    assert cause_of(a) == cause_of(b) == "handleOps FailedOp AA24 signature error"
    assert cause_of(Failure("member's 3 tries and 'x' 2")) == "member's N tries and … N"


def test_several_failing_examples_are_a_fail_not_an_error() -> None:
    """Hypothesis raises an ExceptionGroup when several (explicit) examples fail: the plugin
    takes its first CheckFailure as the FAIL, nested groups included."""
    from conformance.engine.checks import TargetError
    from conformance.engine.plugin import _decisive

    first = CheckFailure("WH-067", "approved a dirty target")
    group = ExceptionGroup("2 failures", [TargetError("hung"),
                                          ExceptionGroup("inner", [first, ValueError("x")])])
    assert _decisive(group) is first
    only_errors = ExceptionGroup("e", [TargetError("hung")])
    assert isinstance(_decisive(only_errors), TargetError)
    assert _decisive(None) is None
