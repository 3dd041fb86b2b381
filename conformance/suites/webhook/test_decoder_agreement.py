"""Decoder agreement (PROTOCOL.md §3): WH-066 and WH-067.

``decode_execute_solidity`` (the model of solc's decoder, pinned against real bytecode) is the
judge. callData Solidity rejects must never be approved (WH-067); callData Solidity reads but
that is not canonical may be denied with any reason, or answered exactly as Solidity's fields
say — an approval is wrong when Solidity's reading would be denied (WH-066). The sharpest
cases put two inner calls in one callData: the one at the canonical place and the one the
offset word really points to.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.protocol.calldata import EXECUTE_SELECTOR, DecodeError
from conformance.protocol.hexutil import address_word, word
from conformance.protocol.selectors import selector
from conformance.protocol.solidity_abi import decode_execute_solidity
from conformance.strategies.labels import CALLDATA_LABELS
from conformance.strategies.malformed_calldata import malformed_execute_calldata
from conformance.suites.webhook import cases
from conformance.suites.webhook.harness import Harness

REJECTED_FLAWS = tuple(f for f, (exp, _ids) in CALLDATA_LABELS.items()
                       if exp.solidity is not None and "WH-067" in _ids)
"""Flaws Solidity's decoder rejects (dirty address bits, offsets and lengths out of range)."""

NON_CANONICAL_FLAWS = tuple(f for f, (exp, _ids) in CALLDATA_LABELS.items()
                            if exp.solidity is None and exp.strict is not None)
"""Flaws Solidity reads but the strict decoder does not (offsets, padding, trailing bytes)."""

FORBIDDEN_INNER = selector("transferOwnership(address)") + bytes(32)
"""transferOwnership(address): never sponsorable (PROTOCOL.md §1)."""


def _padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % 32)


def two_blobs(target: bytes, canonical_inner: bytes, real_inner: bytes, gap: bytes = b"") -> bytes:
    """callData whose canonical place (0x60) holds ``canonical_inner`` while the offset word
    points past it, to ``real_inner`` — what Solidity executes."""
    first = word(len(canonical_inner)) + _padded(canonical_inner)
    offset = 0x60 + len(first) + len(gap)
    return (EXECUTE_SELECTOR + address_word(target) + word(0) + word(offset) + first + gap
            + word(len(real_inner)) + _padded(real_inner))


def _send(wh: Harness, observe: Observer, rule: str, call: bytes, label: str) -> None:
    wh.need_chain()
    wh.need_token()
    wh.confirm_baseline(rule)
    observe.case()
    sender = wh.add_sender("member")
    record, answer = wh.alchemy(cases.alchemy(sender, call, wh.chain_hex()))
    if answer.json != {"approved": True}:
        return  # any denial is allowed for callData that is not canonical
    try:
        reading = decode_execute_solidity(call)
    except DecodeError as exc:
        if rule == "WH-067":
            raise wh.failure("WH-067", f"approved callData Solidity rejects ({exc.kind}, {label})",
                             record, answer) from None
        return
    expectation = wh.expect_alchemy(record)
    if rule == "WH-066" and not expectation.approves:
        raise wh.failure("WH-066", f"approved callData whose Solidity reading (target "
                         f"0x{reading.target.hex()}, value {reading.value}, inner "
                         f"0x{reading.inner_selector.hex()}) the policy denies ({label})",
                         record, answer, expectation)


@rules("WH-067")
@given(data=st.data())
def test_solidity_rejected_calldata_is_never_approved(wh: Harness, observe: Observer,
                                                     data: st.DataObject) -> None:
    """Dirty address bits, offsets past the end, truncations and length words past the end,
    around an otherwise approvable call: never approved."""
    case = data.draw(malformed_execute_calldata(
        generation=wh.generation, operator_enabled=wh.settings.operator_method,
        targets=st.just(wh.actors.cluster), kinds=REJECTED_FLAWS))
    _send(wh, observe, "WH-067", case.value, str(case.kind))


@rules("WH-067")
@given(dirt=st.binary(min_size=12, max_size=12).filter(any))
@example(dirt=b"\x00" * 11 + b"\x01")
@example(dirt=b"\xff" * 12)
def test_dirty_target_word(wh: Harness, observe: Observer, dirt: bytes) -> None:
    """The deployed cluster's address with dirty upper bits in its word: never approved."""
    call = bytearray(cases.execute(wh.actors.cluster))
    call[4:16] = dirt
    _send(wh, observe, "WH-067", bytes(call), "dirty address bits")


@rules("WH-066")
@given(data=st.data())
def test_non_canonical_calldata_reads_as_solidity(wh: Harness, observe: Observer,
                                                  data: st.DataObject) -> None:
    """Forward, head and backward offsets, missing or dirty padding, trailing bytes: an
    approval only where Solidity's own reading would be approved."""
    case = data.draw(malformed_execute_calldata(
        generation=wh.generation, operator_enabled=wh.settings.operator_method,
        targets=st.just(wh.actors.cluster), kinds=NON_CANONICAL_FLAWS))
    _send(wh, observe, "WH-066", case.value, str(case.kind))


@rules("WH-066")
@given(gap=st.binary(max_size=64), swap=st.booleans())
@example(gap=b"", swap=False)
def test_offset_points_elsewhere(wh: Harness, observe: Observer, gap: bytes, swap: bool) -> None:
    """An allowed call at the canonical place while the offset points to a forbidden one
    (and the reverse): approved only when what Solidity reads is allowed."""
    allowed, forbidden = cases.DEFAULT_INNER, FORBIDDEN_INNER
    first, real = (forbidden, allowed) if swap else (allowed, forbidden)
    call = two_blobs(wh.actors.cluster, first, real, _padded(gap))
    _send(wh, observe, "WH-066", call, "offset past the canonical data")
