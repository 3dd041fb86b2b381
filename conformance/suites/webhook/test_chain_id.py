"""The chain id (PROTOCOL.md §5 policy step 2): WH-013 chain-mismatch, WH-014 missing or ``0x``.

Bodies are otherwise approvable (a fresh factory member calling the standard cluster), so a
webhook that skips the step approves.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.suites.webhook import cases
from conformance.suites.webhook.harness import Harness


def _send(wh: Harness, observe: Observer, rule: str, chain_id: Any, *,
          approvable: bool = False) -> None:
    """Otherwise approvable with the suite's chain; with ``--url`` (no chain of ours) only
    denials at step 2 are judged, from a made-up sender."""
    if approvable:
        wh.need_chain()
    wh.need_token()
    observe.case()
    sender, call = wh.approvable_or_stand_in()
    record, answer = wh.alchemy(cases.alchemy(sender, call, chain_id))
    wh.judge(rule, record, answer, wh.expect_alchemy(record), "wrong answer for this chainId")


def _forms(value: int, expected: int) -> list[str]:
    digits = hex(value)[2:]
    return ["0x" + digits, "0x0" + digits, "0x" + digits.upper(), "0x" + digits.zfill(64)]


@rules("WH-013")
def test_other_chain_ids_are_chain_mismatch(wh: Harness, observe: Observer) -> None:
    """Base mainnet, Base Sepolia, 0, 1, off-by-one and 2**256 in every hex spelling → denied;
    the expected id with leading zeros or upper-case digits is the same chain."""
    expected = wh.profile.chain_id
    others = {8453, 84532, 0, 1, expected - 1, expected + 1, 2**64, 2**256} - {expected}
    for value in sorted(others):
        for form in _forms(value, expected):
            _send(wh, observe, "WH-013", form)
    if wh.peer is not None:
        for form in _forms(expected, expected):
            _send(wh, observe, "WH-013", form, approvable=True)


@rules("WH-013")
@given(value=st.integers(min_value=0, max_value=2**80))
@example(value=8453)
def test_generated_chain_ids(wh: Harness, observe: Observer, value: int) -> None:
    """Any other chain id → chain-mismatch."""
    if value == wh.profile.chain_id and wh.peer is None:
        return
    _send(wh, observe, "WH-013", hex(value))


@rules("WH-014")
def test_missing_or_empty_chain_id_is_chain_mismatch(wh: Harness, observe: Observer) -> None:
    """No chainId key, or exactly ``0x``, is a chain-mismatch denial, not a 400."""
    for chain_id in (cases.ABSENT, "0x", cases.ABSENT, "0x"):
        _send(wh, observe, "WH-014", chain_id)
