"""Cases a check leaves to another rule's finding (issue 7 §4): ``Observer.not_judged`` is
reported on a PASS, and a check that judged no case at all is ERROR, naming why."""

from __future__ import annotations

from conformance.engine.checks import Observer
from conformance.engine.outcomes import fold_outcomes
from conformance.report.model import CheckOutcome, Verdict
from conformance.rules import load_catalogue

CATALOGUE = load_catalogue()
AC_013 = CATALOGUE.by_id("AC-013")


def _fold(outcome: CheckOutcome):
    (result,) = fold_outcomes([AC_013], [outcome], generation="base", catalogue=CATALOGUE)
    return result


def test_observer_describes_the_cases_it_left() -> None:
    observe = Observer()
    assert observe.describe_unjudged() == ""
    observe.not_judged("bad-signature reverted Error where §6 returns 1 (see AC-002)")
    observe.not_judged("again")
    assert observe.cases == 0
    assert observe.describe_unjudged() == ("2 cases not judged: bad-signature reverted Error "
                                           "where §6 returns 1 (see AC-002)")


def test_a_pass_reports_its_unjudged_cases() -> None:
    reason = "1 case not judged: x reverted (see AC-002)"
    result = _fold(CheckOutcome("account/test_prefund.py::t", ("AC-013",), Verdict.PASS,
                                cases=4, reason=reason))
    assert result.verdict is Verdict.PASS and result.cases == 4
    assert result.reasons == [f"account/test_prefund.py::t: {reason}"]


def test_a_check_that_judged_nothing_is_an_error_saying_why() -> None:
    reason = "3 cases not judged: x reverted (see AC-002)"
    result = _fold(CheckOutcome("t", ("AC-013",), Verdict.PASS, cases=0, reason=reason))
    assert result.verdict is Verdict.ERROR
    assert any("(see AC-002)" in r for r in result.reasons)
