"""Decoder agreement (PROTOCOL.md §3): WH-066 and WH-067.

``decode_execute_solidity`` (the model of solc's decoder, pinned against real bytecode) is the
judge. callData Solidity rejects must never be approved (WH-067); callData Solidity reads but
that is not canonical may be denied with any reason, or answered exactly as Solidity's fields
say — an approval is wrong when Solidity's reading would be denied (WH-066). The sharpest
cases put two inner calls in one callData: the one at the canonical place and the one the
offset word really points to.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.protocol.calldata import (
    CANONICAL_DATA_START,
    EXECUTE_SELECTOR,
    HEAD_END,
    DecodeError,
)
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


_WORD = 2**256 - 1
_NUMBERS = st.one_of(st.integers(0, 4096), st.integers(0, _WORD))


def _set_word(call: bytes, at: int, value: int) -> bytes:
    return call[:at] + word(min(value, _WORD)) + call[at + 32:]


def _padding(call: bytes) -> tuple[int, int]:
    """[start, end) of the zero padding after the canonical call's inner data."""
    length = int.from_bytes(call[HEAD_END:CANONICAL_DATA_START], "big")
    return CANONICAL_DATA_START + length, len(call)


REJECTED_LAYOUTS: dict[str, Callable[[bytes, int], bytes]] = {
    "dirty-address": lambda c, n: c[:4] + (n % 2**96 or 1).to_bytes(12, "big") + c[16:],
    "offset-past-end": lambda c, n: _set_word(c, 68, len(c) - 35 + n),
    "offset-backward": lambda c, n: _set_word(c, 68, 0x41 + n % 0x1F),
    "length-past-end": lambda c, n: _set_word(c, HEAD_END, len(c) - CANONICAL_DATA_START + 1 + n),
    "truncated": lambda c, n: c[: max(4, _padding(c)[0] - 1 - n)],
}
"""Layouts of the canonical call Solidity's decoder rejects; ``n`` places the flaw (WH-067)."""

ACCEPTED_LAYOUTS: dict[str, Callable[[bytes, int], bytes]] = {
    "offset-forward": lambda c, n: (_set_word(c, 68, 0x60 + 1 + n % 96)[:HEAD_END]
                                    + b"\xee" * (1 + n % 96) + c[HEAD_END:]),
    "offset-into-head": lambda c, n: _set_word(c, 68, 0x40 if n % 2 else 0x20),
    "missing-padding": lambda c, n: c[: _padding(c)[0] + n % (len(c) - _padding(c)[0])],
    "dirty-padding": lambda c, n: (lambda at: c[:at] + b"\x01" + c[at + 1:])(
        _padding(c)[0] + n % (len(c) - _padding(c)[0])),
    "trailing": lambda c, n: c + bytes(1 + n % 64),
}
"""Non-canonical layouts Solidity's decoder reads (WH-066)."""


def relay(call: bytes, kind: str, number: int) -> bytes:
    """The canonical ``call`` laid out as ``kind`` (a key of REJECTED_LAYOUTS or
    ACCEPTED_LAYOUTS) says, ``number`` placing the flaw."""
    return {**REJECTED_LAYOUTS, **ACCEPTED_LAYOUTS}[kind](call, number)


def _padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % 32)


def two_blobs(target: bytes, canonical_inner: bytes, real_inner: bytes, gap: bytes = b"") -> bytes:
    """callData whose canonical place (0x60) holds ``canonical_inner`` while the offset word
    points past it, to ``real_inner`` — what Solidity executes."""
    first = word(len(canonical_inner)) + _padded(canonical_inner)
    offset = 0x60 + len(first) + len(gap)
    return (EXECUTE_SELECTOR + address_word(target) + word(0) + word(offset) + first + gap
            + word(len(real_inner)) + _padded(real_inner))


def _send(wh: Harness, observe: Observer, rule: str, call: bytes, label: str,
          upper: bool = False) -> None:
    wh.need_chain()
    wh.need_token()
    wh.confirm_baseline(rule)
    observe.case()
    sender = wh.add_sender("member")
    text = "0x" + call.hex().upper() if upper else call
    record, answer = wh.alchemy(cases.alchemy(sender, text, wh.chain_hex()))
    if answer.json != {"approved": True}:
        return  # any denial is allowed for callData that is not canonical
    try:
        reading = decode_execute_solidity(call)
    except DecodeError as exc:
        if rule == "WH-067":
            raise wh.failure("WH-067", f"approved callData Solidity rejects ({exc.kind}, {label})",
                             record, answer,
                             cause=f"approved callData Solidity rejects ({exc.kind})",
                             forbidden_answers=[{"status": 200, "body": {"approved": True}}],
                             ) from None
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
@given(layout=st.tuples(st.sampled_from(tuple(REJECTED_LAYOUTS)), _NUMBERS), upper=st.booleans())
@example(layout=("dirty-address", 1 << 95), upper=False)
@example(layout=("dirty-address", 1), upper=False)
@example(layout=("dirty-address", _WORD - 1 >> 160), upper=False)
@example(layout=("dirty-address", _WORD - 1 >> 160), upper=True)
@example(layout=("offset-past-end", 0), upper=False)
@example(layout=("offset-past-end", 36), upper=False)
@example(layout=("offset-past-end", 2**64), upper=False)
@example(layout=("offset-past-end", _WORD), upper=False)
@example(layout=("offset-backward", 0), upper=False)
@example(layout=("offset-backward", 0x1E), upper=False)
@example(layout=("length-past-end", 0), upper=False)
@example(layout=("length-past-end", 2**64), upper=False)
@example(layout=("length-past-end", _WORD), upper=False)
@example(layout=("truncated", 0), upper=False)
@example(layout=("truncated", 127), upper=False)
@example(layout=("truncated", _WORD), upper=True)
def test_every_rejected_layout_is_never_approved(wh: Harness, observe: Observer,
                                                 layout: tuple[str, int], upper: bool) -> None:
    """Each layout Solidity's decoder rejects, pinned at its boundaries around the approvable
    call, in lower- and upper-case hex: dirty target bits (top, bottom, all), the offset just
    where no length word fits, at the end, 2^64 and 2^256-1, backward into the head, the length
    one past the end, 2^64 and 2^256-1, the data cut by one byte, into the head, to the
    selector. Never approved (WH-067)."""
    call = relay(cases.execute(wh.actors.cluster), *layout)
    _send(wh, observe, "WH-067", call, f"{layout[0]} ({layout[1]:#x})", upper)


@rules("WH-066")
@given(layout=st.tuples(st.sampled_from(tuple(ACCEPTED_LAYOUTS)), _NUMBERS), upper=st.booleans())
@example(layout=("offset-forward", 0), upper=False)
@example(layout=("offset-forward", 31), upper=False)
@example(layout=("offset-into-head", 0), upper=False)
@example(layout=("offset-into-head", 1), upper=False)
@example(layout=("missing-padding", 0), upper=False)
@example(layout=("missing-padding", 27), upper=False)
@example(layout=("dirty-padding", 0), upper=False)
@example(layout=("dirty-padding", 27), upper=False)
@example(layout=("trailing", 0), upper=False)
@example(layout=("trailing", 31), upper=False)
@example(layout=("trailing", 0), upper=True)
@example(layout=("offset-forward", 0), upper=True)
def test_every_accepted_layout_reads_as_solidity(wh: Harness, observe: Observer,
                                                 layout: tuple[str, int], upper: bool) -> None:
    """Each non-canonical layout Solidity reads, pinned at its boundaries, in lower- and
    upper-case hex: the data a byte and a word forward, the offset into the head (0x20,
    0x40), padding missing entirely or short by a byte, dirty first or last padding byte,
    trailing one byte or a word. An approval only where Solidity's reading is (WH-066)."""
    call = relay(cases.execute(wh.actors.cluster), *layout)
    _send(wh, observe, "WH-066", call, f"{layout[0]} ({layout[1]:#x})", upper)


@rules("WH-067")
@given(dirt=st.binary(min_size=12, max_size=12).filter(any))
@example(dirt=b"\x00" * 11 + b"\x01")
@example(dirt=b"\x80" + b"\x00" * 11)
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
@example(gap=b"", swap=True)
@example(gap=b"\x01", swap=False)
def test_offset_points_elsewhere(wh: Harness, observe: Observer, gap: bytes, swap: bool) -> None:
    """An allowed call at the canonical place while the offset points to a forbidden one
    (and the reverse): approved only when what Solidity reads is allowed."""
    allowed, forbidden = cases.DEFAULT_INNER, FORBIDDEN_INNER
    first, real = (forbidden, allowed) if swap else (allowed, forbidden)
    call = two_blobs(wh.actors.cluster, first, real, _padded(gap))
    _send(wh, observe, "WH-066", call, "offset past the canonical data")
