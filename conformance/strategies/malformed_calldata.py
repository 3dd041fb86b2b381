"""Malformed ``execute`` callData, each case labelled (PROTOCOL.md §1, §3, §5 steps 4-6).

Every case starts from a canonical ``execute(target, 0, allowlisted inner)`` and breaks it in
one way, named by a ``CalldataFlaw``; ``CALLDATA_LABELS`` says what the strict decoder and
Solidity's decoder do with it and which policy denial it must draw. The text level (odd
length, case) is ``malformed_calldata_texts``: upper-case hex is valid bytes, only
non-canonical text.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from conformance.protocol.calldata import (
    CANONICAL_DATA_START,
    EXECUTE_SELECTOR,
    HEAD_END,
    ExecuteCall,
    encode_call,
    encode_execute,
)
from conformance.protocol.hexutil import word
from conformance.protocol.selectors import (
    DSTACK_REGISTER,
    EXECUTE,
    HISTORIC_WRONG,
    NEVER_SPONSORABLE,
    OPERATOR,
    PIMLICO_EXTRA,
    allowlist,
    known_methods,
)
from conformance.rules import GENERATIONS
from conformance.strategies._validation import (
    check_bool,
    check_generation,
    check_kinds,
    check_strategy,
    composite_named,
)
from conformance.strategies.calldata import (
    DEFAULT_GENERATION,
    execute_calls,
    inner_calls,
    method_calls,
)
from conformance.strategies.keys import addresses
from conformance.strategies.labels import (
    CALLDATA_LABELS,
    CalldataExpectation,
    CalldataFlaw,
    Malformed,
)

UINT64_MAX = (1 << 64) - 1
UINT256_MAX = (1 << 256) - 1
EXECUTE_BATCH_SIGNATURE = "executeBatch((address,uint256,bytes)[])"
EXECUTE_FOUR_ARGS_SIGNATURE = "execute(address,uint256,bytes,uint8)"

_ANY_ALLOWED = frozenset().union(*(allowlist(g, operator_enabled=True) for g in GENERATIONS))


@dataclass(frozen=True)
class _Base:
    """The canonical call a case breaks, and the options it was drawn under."""

    call: ExecuteCall
    generation: str
    operator_enabled: bool

    @property
    def calldata(self) -> bytes:
        return self.call.encode()

    def with_inner(self, inner: bytes) -> bytes:
        return encode_execute(self.call.target, 0, inner)


def available_calldata_flaws(generation: str, operator_enabled: bool) -> tuple[CalldataFlaw, ...]:
    """The flaws that exist under a generation: an OPERATOR inner is only a flaw where the
    allowlist lacks it, publishEd25519Key only outside ``pimlico`` (PROTOCOL.md §0)."""
    allowed = allowlist(generation, operator_enabled=operator_enabled)
    flaws = list(CalldataFlaw)
    if all(m.selector in allowed for m in OPERATOR):
        flaws.remove(CalldataFlaw.OPERATOR_NOT_ENABLED)
    if all(m.selector in allowed for m in PIMLICO_EXTRA):
        flaws.remove(CalldataFlaw.PIMLICO_ONLY_INNER)
    return tuple(flaws)


def malformed_execute_calldata(
    *,
    generation: str = DEFAULT_GENERATION,
    operator_enabled: bool = False,
    targets: SearchStrategy[bytes] | None = None,
    kinds: Collection[CalldataFlaw | str] | None = None,
) -> SearchStrategy[Malformed[bytes, CalldataExpectation]]:
    """callData broken in one labelled way (``CalldataFlaw``), for ``generation``'s webhook.

    Wrong outer selector (random, ``executeBatch``, 4-argument ``execute``, under 4 bytes),
    non-zero value, forbidden inner selectors (never-sponsorable, historic 0xe143887b and
    0x3f330b63, ``execute`` as inner, OPERATOR where not enabled, publishEd25519Key outside
    pimlico, unknown), empty/short inner selector, dirty address bits, non-canonical offsets
    (forward, into the head, backward, past the end), truncations, length words too large,
    missing or dirty padding and trailing bytes. ``kinds`` limits the flaws drawn.
    """
    check_generation(generation)
    check_bool("operator_enabled", operator_enabled)
    check_strategy("targets", targets)
    available = available_calldata_flaws(generation, operator_enabled)
    chosen = None if kinds is None else check_kinds("kinds", kinds, CalldataFlaw, available)
    return _malformed_execute_calldata(
        generation=generation, operator_enabled=operator_enabled, targets=targets, kinds=chosen
    )


@composite_named("malformed_execute_calldata")
def _malformed_execute_calldata(
    draw: st.DrawFn,
    *,
    generation: str = DEFAULT_GENERATION,
    operator_enabled: bool = False,
    targets: SearchStrategy[bytes] | None = None,
    kinds: tuple[CalldataFlaw, ...] | None = None,
) -> Malformed[bytes, CalldataExpectation]:
    kind = draw(st.sampled_from(kinds or available_calldata_flaws(generation, operator_enabled)))
    call = draw(
        execute_calls(generation=generation, operator_enabled=operator_enabled, targets=targets)
    )
    value = _BREAKERS[kind](draw, _Base(call, generation, operator_enabled))
    expected, rule_ids = CALLDATA_LABELS[kind]
    return Malformed(value, kind, rule_ids, expected)


# ------------------------------------------------------------------- selector and value flaws


def _wrong_outer_selector(draw: st.DrawFn, base: _Base) -> bytes:
    selector = draw(st.binary(min_size=4, max_size=4).filter(lambda s: s != EXECUTE_SELECTOR))
    return selector + base.calldata[4:]


def _execute_batch(draw: st.DrawFn, base: _Base) -> bytes:
    return encode_call(EXECUTE_BATCH_SIGNATURE, [[(base.call.target, 0, base.call.data)]])


def _execute_four_args(draw: st.DrawFn, base: _Base) -> bytes:
    operation = draw(st.integers(0, 255))
    return encode_call(
        EXECUTE_FOUR_ARGS_SIGNATURE, [base.call.target, 0, base.call.data, operation]
    )


def _no_selector(draw: st.DrawFn, base: _Base) -> bytes:
    size = draw(st.integers(0, 3))
    return draw(
        st.one_of(st.just(EXECUTE_SELECTOR[:size]), st.binary(min_size=size, max_size=size))
    )


def _nonzero_value(draw: st.DrawFn, base: _Base) -> bytes:
    value = draw(st.one_of(st.integers(1, 10**18), st.integers(1, UINT256_MAX)))
    return encode_execute(base.call.target, value, base.call.data)


_NEVER = tuple(m for m in NEVER_SPONSORABLE if m.selector != EXECUTE.selector)


def _never_sponsorable_inner(draw: st.DrawFn, base: _Base) -> bytes:
    return base.with_inner(draw(method_calls(draw(st.sampled_from(_NEVER)))))


def _historic_inner(draw: st.DrawFn, base: _Base) -> bytes:
    register = draw(method_calls(DSTACK_REGISTER))
    return base.with_inner(draw(st.sampled_from(HISTORIC_WRONG)) + register[4:])


def _execute_as_inner(draw: st.DrawFn, base: _Base) -> bytes:
    inner = draw(inner_calls(generation=base.generation, operator_enabled=base.operator_enabled))
    return base.with_inner(encode_execute(draw(addresses()), 0, inner))


def _operator_not_enabled(draw: st.DrawFn, base: _Base) -> bytes:
    return base.with_inner(draw(method_calls(draw(st.sampled_from(OPERATOR)))))


def _pimlico_only_inner(draw: st.DrawFn, base: _Base) -> bytes:
    return base.with_inner(draw(method_calls(draw(st.sampled_from(PIMLICO_EXTRA)))))


def _is_unknown(selector: bytes) -> bool:
    return (
        selector not in _ANY_ALLOWED
        and selector not in known_methods()
        and selector not in HISTORIC_WRONG
    )


def _unknown_inner(draw: st.DrawFn, base: _Base) -> bytes:
    selector = draw(st.binary(min_size=4, max_size=4).filter(_is_unknown))
    return base.with_inner(selector + draw(st.binary(max_size=64)))


def _empty_inner(draw: st.DrawFn, base: _Base) -> bytes:
    prefix = st.integers(0, 3).map(lambda n: base.call.data[:n])
    return base.with_inner(draw(st.one_of(st.binary(max_size=3), prefix)))


# ------------------------------------------------------------------- encoding flaws
# Canonical layout (PROTOCOL.md §3): [0,4) selector, [4,36) target, [36,68) value,
# [68,100) offset = 0x60, [100,132) length, [132, 132 + len) data, zero padding to 32.


def _with_offset(calldata: bytes, offset: int, gap: bytes = b"") -> bytes:
    return calldata[:68] + word(offset) + gap + calldata[HEAD_END:]


def _dirty_address(draw: st.DrawFn, base: _Base) -> bytes:
    dirty = draw(st.binary(min_size=12, max_size=12).filter(any))
    return base.calldata[:4] + dirty + base.calldata[16:]


def _offset_forward(draw: st.DrawFn, base: _Base) -> bytes:
    """Data moved forward past a gap; the gap may hold a decoy allowlisted inner call where a
    fixed-layout reader looks for the data (solidity_abi ``decode_execute_fixed_offset``)."""
    decoy = draw(inner_calls(generation=base.generation, operator_enabled=base.operator_enabled))
    decoy_tail = encode_execute(base.call.target, 0, decoy)[HEAD_END:]
    gap = draw(st.one_of(st.just(decoy_tail), st.binary(min_size=1, max_size=96)))
    return _with_offset(base.calldata, 0x60 + len(gap), gap)


def _offset_into_head(draw: st.DrawFn, base: _Base) -> bytes:
    """0x20: the value word (0) is read as the length, so the data is empty; 0x40: the offset
    word itself (0x40) is the length, so the data is the length word and 32 bytes after it."""
    return _with_offset(base.calldata, draw(st.sampled_from((0x20, 0x40))))


def _offset_backward(draw: st.DrawFn, base: _Base) -> bytes:
    """Offsets below 0x60 whose length word is far beyond the end: 0x41..0x5f read the offset
    word's own low byte into the length (≥ 0x4100), 0x00 reads a target word ≥ 2**152."""
    offset = draw(st.one_of(st.integers(0x41, 0x5F), st.just(0)))
    calldata = base.calldata
    if offset == 0:
        high = draw(st.integers(1, 255))
        calldata = calldata[:16] + bytes([high]) + calldata[17:]
    return _with_offset(calldata, offset)


def _offset_past_end(draw: st.DrawFn, base: _Base) -> bytes:
    size = len(base.calldata)
    offset = draw(
        st.one_of(
            st.integers(size - 35, size + 1024),
            st.integers(UINT64_MAX, UINT256_MAX),
            st.sampled_from((UINT64_MAX, UINT256_MAX)),
        )
    )
    return _with_offset(base.calldata, offset)


def _cut(low: int, high_exclusive: int) -> Callable[[st.DrawFn, _Base], bytes]:
    def cut(draw: st.DrawFn, base: _Base) -> bytes:
        return base.calldata[: draw(st.integers(low, high_exclusive - 1))]

    return cut


def _truncated_data(draw: st.DrawFn, base: _Base) -> bytes:
    end = CANONICAL_DATA_START + len(base.call.data)
    return base.calldata[: draw(st.integers(CANONICAL_DATA_START, end - 1))]


def _with_length(calldata: bytes, length: int) -> bytes:
    return calldata[:HEAD_END] + word(length) + calldata[CANONICAL_DATA_START:]


def _length_exceeds_calldata(draw: st.DrawFn, base: _Base) -> bytes:
    remaining = len(base.calldata) - CANONICAL_DATA_START
    near, far = st.integers(remaining + 1, remaining + 64), st.integers(remaining + 1, UINT64_MAX)
    length = draw(st.one_of(near, far))
    return _with_length(base.calldata, length)


def _oversized_length(draw: st.DrawFn, base: _Base) -> bytes:
    length = draw(st.one_of(st.integers(UINT64_MAX + 1, UINT256_MAX), st.just(UINT256_MAX)))
    return _with_length(base.calldata, length)


def _padding(base: _Base) -> tuple[int, int]:
    """[start, end) of the zero padding after the data (non-empty: inner data is 4 + 32k)."""
    start = CANONICAL_DATA_START + len(base.call.data)
    end = len(base.calldata)
    assert start < end, "inner data of a whole number of words has no padding to break"
    return start, end


def _missing_padding(draw: st.DrawFn, base: _Base) -> bytes:
    start, end = _padding(base)
    return base.calldata[: draw(st.integers(start, end - 1))]


def _dirty_padding(draw: st.DrawFn, base: _Base) -> bytes:
    start, end = _padding(base)
    at = draw(st.integers(start, end - 1))
    return base.calldata[:at] + bytes([draw(st.integers(1, 255))]) + base.calldata[at + 1 :]


def _trailing_bytes(draw: st.DrawFn, base: _Base) -> bytes:
    return base.calldata + draw(st.binary(min_size=1, max_size=64))


_Breaker = Callable[[st.DrawFn, _Base], bytes]
_F = CalldataFlaw
_BREAKERS: dict[CalldataFlaw, _Breaker] = {
    _F.WRONG_OUTER_SELECTOR: _wrong_outer_selector,
    _F.EXECUTE_BATCH: _execute_batch,
    _F.EXECUTE_FOUR_ARGS: _execute_four_args,
    _F.NO_SELECTOR: _no_selector,
    _F.NONZERO_VALUE: _nonzero_value,
    _F.NEVER_SPONSORABLE_INNER: _never_sponsorable_inner,
    _F.HISTORIC_INNER: _historic_inner,
    _F.EXECUTE_AS_INNER: _execute_as_inner,
    _F.OPERATOR_NOT_ENABLED: _operator_not_enabled,
    _F.PIMLICO_ONLY_INNER: _pimlico_only_inner,
    _F.UNKNOWN_INNER: _unknown_inner,
    _F.EMPTY_INNER: _empty_inner,
    _F.DIRTY_ADDRESS: _dirty_address,
    _F.OFFSET_FORWARD: _offset_forward,
    _F.OFFSET_INTO_HEAD: _offset_into_head,
    _F.OFFSET_BACKWARD: _offset_backward,
    _F.OFFSET_PAST_END: _offset_past_end,
    _F.TRUNCATED_HEAD: _cut(4, HEAD_END),
    _F.TRUNCATED_LENGTH_WORD: _cut(HEAD_END, CANONICAL_DATA_START),
    _F.TRUNCATED_DATA: _truncated_data,
    _F.LENGTH_EXCEEDS_CALLDATA: _length_exceeds_calldata,
    _F.OVERSIZED_LENGTH: _oversized_length,
    _F.MISSING_PADDING: _missing_padding,
    _F.DIRTY_PADDING: _dirty_padding,
    _F.TRAILING_BYTES: _trailing_bytes,
}
