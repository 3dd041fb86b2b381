"""The check API: how a conformance check names its rules, counts cases and fails.

A check is a pytest test function in ``conformance/suites/<component>/``::

    @rules("WH-012")
    def test_value_nonzero_is_denied(webhook, observe):
        observe.case()
        answer = webhook.send(...)
        if answer.reason != "value-nonzero":
            raise CheckFailure("WH-012", "non-zero value was not denied", minimal_input=...,
                               reproducer=...)

It passes by returning and fails by raising ``CheckFailure`` (the rule it broke, the minimal
case and a reproducer). ``TargetError`` means the suite could not judge (a hung or crashed
target, a harness fault): ERROR. ``pytest.skip(reason)`` is SKIP.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from conformance.errors import TargetError

__all__ = ["CheckFailure", "Observer", "TargetError", "rules"]

F = TypeVar("F", bound=Callable[..., Any])

RULES_MARK = "amc_rules"


def rules(*rule_ids: str) -> Callable[[F], F]:
    """Mark a check with the rule ids it proves (validated against the catalogue at collection)."""
    if not rule_ids:
        raise ValueError("rules() needs at least one rule id")
    return getattr(pytest.mark, RULES_MARK)(*rule_ids)  # type: ignore[no-any-return]


class CheckFailure(AssertionError):
    """The implementation broke ``rule_id``: a FAIL, with what is needed to replay it."""

    def __init__(
        self,
        rule_id: str,
        message: str,
        *,
        minimal_input: Any = None,
        reproducer: str = "",
        cause: str = "",
    ) -> None:
        super().__init__(f"{rule_id}: {message}")
        self.rule_id = rule_id
        self.message = message
        self.minimal_input = minimal_input
        self.reproducer = reproducer
        self.cause = cause
        """A short root-cause key (e.g. ``deny:chain-read-failed`` or ``revert:InvalidBootstrapCall
        on bootstrap``): FAILs of different rules with the same key are one defect in the report
        (``conformance.report.roots``). Empty: the report falls back to the message."""


class Observer:
    """Counts the cases a check exercised; PASS needs at least one."""

    def __init__(self) -> None:
        self.cases = 0
        self.unjudged: list[str] = []

    def case(self, n: int = 1) -> None:
        """Record ``n`` exercised cases."""
        self.cases += n

    def not_judged(self, reason: str) -> None:
        """Record a case the check did not judge because its outcome is another rule's finding
        (e.g. a revert where §6 requires an answer); it counts as no case. A passing check
        reports them: "N cases not judged: <first reason>"."""
        self.unjudged.append(reason)

    def describe_unjudged(self) -> str:
        """One line for the report: how many cases were not judged, and the first reason."""
        n = len(self.unjudged)
        return f"{n} case{'s' if n != 1 else ''} not judged: {self.unjudged[0]}" if n else ""
