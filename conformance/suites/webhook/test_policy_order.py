"""Step order (PROTOCOL.md §5 "Policy, in order, first failure wins"): WH-015.

A case breaks several steps at once; the answer must be the first broken step's reason. When
a webhook answers a later broken step instead, the first step is sent again alone: only if the
webhook then denies it correctly is the order itself wrong (a missing step is its own rule's
FAIL, judged by that rule's checks).
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.oracle.webhook import REASONS
from conformance.protocol.selectors import selector
from conformance.suites.webhook import cases
from conformance.suites.webhook.harness import Harness
from conformance.suites.webhook.reproduce import RecordedRequest
from conformance.targets.webhook_http import Answer

FAULTS = ("token", "chain", "provenance", "outer", "value", "inner", "target")
"""Breakable steps in policy order (the cap is judged by the daily-cap checks)."""


@dataclass(frozen=True)
class Broken:
    """Which steps a request breaks."""

    steps: frozenset[str]

    def build(self, wh: Harness) -> RecordedRequest:
        """The request breaking exactly ``steps`` (fresh sender and target)."""
        role = "stranger" if "provenance" in self.steps else "member"
        sender = wh.add_sender(role)
        target = bytes.fromhex("7a" * 20) if "target" in self.steps else wh.actors.cluster
        forbidden = selector("transferOwnership(address)") + bytes(32)
        inner = forbidden if "inner" in self.steps else cases.DEFAULT_INNER
        call = cases.execute(target, inner, 1 if "value" in self.steps else 0)
        if "outer" in self.steps:
            call = selector("executeBatch((address,uint256,bytes)[])") + call[4:]
        chain = "0x1" if "chain" in self.steps else wh.chain_hex()
        query = "token=wrong" if "token" in self.steps else "token={token}"
        return RecordedRequest("POST", "/", query, cases.alchemy(sender, call, chain))


def _breaks() -> st.SearchStrategy[frozenset[str]]:
    steps = st.sets(st.sampled_from(FAULTS), min_size=2, max_size=4)
    return steps.filter(lambda s: not ("outer" in s and ({"value", "inner"} & s))).map(frozenset)


def _reason(answer: Answer) -> str | None:
    return answer.reason if answer.status == 200 and isinstance(answer.json, dict) else None


@rules("WH-015")
@given(steps=_breaks())
def test_first_failing_step_wins(wh: Harness, observe: Observer, steps: frozenset[str]) -> None:
    """With several steps broken, the answer is the reason of the first one in policy order."""
    wh.need_chain()
    wh.need_token()
    wh.confirm_baseline("WH-015")
    observe.case()
    record = Broken(steps).build(wh)
    answer = wh.send(record)
    first = next(step for step in FAULTS if step in steps)
    reason = _reason(answer)
    if reason == REASONS[first] or reason not in {REASONS[s] for s in steps}:
        return  # right, or wrong in a way another rule judges
    alone_record = Broken(frozenset({first})).build(wh)
    alone = wh.send(alone_record)
    if _reason(alone) == REASONS[first]:
        raise wh.failure("WH-015", f"steps {sorted(steps, key=FAULTS.index)} broken: answered "
                         f"{reason} instead of {REASONS[first]} (which it gives alone)", record,
                         answer, wh.expect_alchemy(record))
