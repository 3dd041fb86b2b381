"""Decoder agreement: the account's bootstrap reading of a callData agrees with Solidity's ABI
reading of the same ``execute`` call, or validation reverts; an inner ``dstack_register``
encoding Solidity rejects makes validation revert, never validate (PROTOCOL.md §3; AC-034,
AC-035).

Each generated callData is compared with the canonical encoding of what Solidity's decoder
reads in it (the oracle's model of solc): the account must revert, or answer both alike; where
Solidity rejects the callData it must revert. Each is signed twice, by the key of the real
registration and by the key of a decoy a fixed-offset reader would find at the canonical place,
so a reading that differs from Solidity's shows up as a 0 where the twin gets 1, or the reverse.
Whether the twin's answer is right is the other rules' business (AC-004…AC-010).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from eth_abi import encode
from hypothesis import example, given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.oracle.account import DSTACK_PROOF_FIELDS, InnerRejected, read_register_call
from conformance.protocol.calldata import DecodeError, encode_execute
from conformance.protocol.selectors import DSTACK_PROOF_TUPLE, DSTACK_REGISTER
from conformance.protocol.solidity_abi import decode_execute_solidity
from conformance.strategies.malformed_calldata import malformed_execute_calldata
from conformance.suites.account._layouts import (
    PINNED_INNER,
    PINNED_OUTER,
    Layout,
    inner_layouts,
    outer_layouts,
    pinned_outer_layouts,
)
from conformance.suites.account._support import bootstrap_inner, examples, fail
from conformance.targets.account_world import BINDING_KEY, AccountWorld

F = TypeVar("F", bound=Callable[..., Any])

DECOY_KEY = 0xDEC0
"""The binding key of the decoy registration."""

_REGISTER_TYPES = [DSTACK_PROOF_TUPLE.replace("string", "bytes"), "address", "bytes32", "bytes32"]


def _canonical_twin(world: AccountWorld, call_data: bytes) -> bytes | None:
    """The canonical encoding of what Solidity reads in ``call_data`` (outer execute and, for
    a dstack_register inner, the register arguments); None when Solidity rejects it."""
    try:
        call = decode_execute_solidity(call_data)
    except DecodeError:
        return None
    inner = call.data
    if inner[:4] == DSTACK_REGISTER.selector:
        try:
            reading = read_register_call(inner, DSTACK_PROOF_FIELDS)
        except InnerRejected:
            return None
        values = [reading.proof, reading.member, reading.x_pub_key, reading.wg_pub_key]
        inner = inner[:4] + encode(_REGISTER_TYPES, values)
    return encode_execute(call.target, call.value, inner)


def _answer(world: AccountWorld, call_data: bytes, key: int):
    op = world.sign(world.user_op(world.fresh, call_data), key)
    seen = world.validate(op)
    return op, seen, (seen.word if seen.success else None)


def _judge_both(world: AccountWorld, observe: Observer, rule: str, call_data: bytes,
                label: str) -> None:
    """Signed by the binding and the decoy key: the answer on ``call_data`` is a revert, or
    the account's answer on the canonical encoding of Solidity's reading of it."""
    twin = _canonical_twin(world, call_data)
    for key in (BINDING_KEY, DECOY_KEY):
        observe.case()
        op, seen, answer = _answer(world, call_data, key)
        if answer is None:
            continue
        if twin is None:
            fail(world, rule, f"{label}: Solidity's decoder rejects this callData but "
                 f"validateUserOp {seen.describe()}; it must revert", op=op)
        _, twin_seen, twin_answer = _answer(world, twin, key)
        if answer != twin_answer:
            fail(world, rule, f"{label}: validateUserOp {seen.describe()}, but on the canonical "
                 f"encoding of Solidity's reading (0x{twin.hex()[:120]}…) it "
                 f"{twin_seen.describe()}: the account reads the callData differently", op=op)


def pinned(layouts: tuple[Layout, ...]) -> Callable[[F], F]:
    """One explicit ``@example(layout=…)`` per layout: every kind is tried at any seed."""
    def decorate(check: F) -> F:
        for layout in reversed(layouts):
            check = example(layout=layout)(check)
        return check
    return decorate


@rules("AC-035")
@pinned(PINNED_OUTER)
@given(layout=outer_layouts())
@examples(3)
def test_outer_readings_agree_with_solidity(world: AccountWorld, observe: Observer,
                                            layout: Layout) -> None:
    """Non-canonical execute layouts around a real and a decoy registration: the account reverts
    or answers as Solidity's reading of the call requires. Every kind of OUTER_KINDS is pinned
    at its boundaries (PINNED_OUTER: dirty target bits, gap and trailing bytes not a multiple
    of 32, offsets into the head / forward / past the end, lengths past the end or short)."""
    inner = bootstrap_inner(world, world.fresh, BINDING_KEY)
    decoy = bootstrap_inner(world, world.fresh, DECOY_KEY, x=b"\x33" * 32)
    _judge_both(world, observe, "AC-035", layout.outer(world.cluster, inner, decoy),
                _label(layout))


def _label(layout: Layout) -> str:
    return f"{layout.kind} ({layout.number:#x}, 0x{layout.blob.hex()}, field {layout.field})"


@rules("AC-035")
def test_offset_word_is_followed(world: AccountWorld, observe: Observer) -> None:
    """Deterministic, at any seed: a real and a decoy registration, each in turn at the canonical
    place with the offset word pointing past it to the other; the account reverts or answers as
    Solidity's reading (the call the offset word finds) requires."""
    inner = bootstrap_inner(world, world.fresh, BINDING_KEY)
    decoy = bootstrap_inner(world, world.fresh, DECOY_KEY, x=b"\x33" * 32)
    for label, call_data in pinned_outer_layouts(world.cluster, inner, decoy):
        _judge_both(world, observe, "AC-035", call_data, label)


@rules("AC-035")
@given(data=st.data())
@examples(1)
def test_malformed_execute_calldata_agrees(world: AccountWorld, observe: Observer,
                                           data: st.DataObject) -> None:
    """The suite's labelled malformed execute callData (targeting the account's cluster):
    reverted, or read as Solidity reads it."""
    generation = "multi-attestor" if world.multi_attestor else "base"
    case = data.draw(malformed_execute_calldata(generation=generation,
                                                targets=st.just(world.cluster)), label="case")
    _judge_both(world, observe, "AC-035", case.value, case.kind.value)


@rules("AC-034")
@pinned(PINNED_INNER)
@given(layout=inner_layouts())
@examples(3)
def test_inner_register_is_decoded_strictly(world: AccountWorld, observe: Observer,
                                            layout: Layout) -> None:
    """dstack_register encodings truncated, re-laid or with out-of-range offsets and lengths:
    revert where Solidity's decoder rejects them, else Solidity's reading (or a revert). Every
    kind of INNER_KINDS is pinned at its boundaries (PINNED_INNER: dirty memberContract bits,
    proof offsets into the head / forward / at 2^64-1, 2^64, 2^256-1, member offsets and
    lengths past the end, trailing bytes, padding short of a multiple of 32)."""
    mutated = layout.inner(bootstrap_inner(world, world.fresh, BINDING_KEY))
    _judge_both(world, observe, "AC-034", encode_execute(world.cluster, 0, mutated),
                _label(layout))
