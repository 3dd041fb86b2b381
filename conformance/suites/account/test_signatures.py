"""Signature classification: an invalid userOp signature returns 1, never reverts, and is found
before callData is read; only EIP-191 signatures with v 27/28 and low s validate
(PROTOCOL.md §2, §6 steps 2 and 6; AC-002, AC-003, AC-014, UO-011, UO-012, UO-013)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.protocol.calldata import encode_execute
from conformance.protocol.signatures import sign_digest, to_compact, to_high_s, with_v
from conformance.strategies.labels import SignatureFlaw
from conformance.strategies.signatures import malformed_signatures
from conformance.suites.account._classes import signature_classes
from conformance.suites.account._support import bootstrap_call, examples, fail, judge
from conformance.targets.account_world import (
    BINDING_KEY,
    OTHER_KEY,
    OWNER_KEY,
    AccountWorld,
)

_CALL_DATA = st.binary(max_size=300)
_FLAWS = malformed_signatures()


def _reverting_bootstrap(world: AccountWorld, draw_kind: int, noise: bytes) -> bytes:
    """callData that makes a bootstrap revert (InvalidBootstrapCall) once it is read."""
    shapes = [
        noise,
        b"\x12\x34\x56\x78" + noise,
        encode_execute(world.cluster_b, 0, noise),
        encode_execute(world.cluster, 1, noise),
        encode_execute(world.cluster, 0, b"\x4b\x01" + noise),
        bootstrap_call(world, world.fresh, BINDING_KEY)[:-32],
    ]
    return shapes[draw_kind % len(shapes)]


@rules("AC-002")
@given(flawed=_FLAWS, call_data=_CALL_DATA, missing=st.integers(0, 10**16))
@examples(1)
def test_invalid_signatures_return_one(world: AccountWorld, observe: Observer, flawed,
                                       call_data: bytes, missing: int) -> None:
    """Every invalid class (wrong length, compact, bad v, high s, unrecoverable) returns 1,
    on the owner path and on the bootstrap path."""
    for member, data in ((world.owned, call_data),
                         (world.fresh, bootstrap_call(world, world.fresh, BINDING_KEY))):
        observe.case()
        op = world.user_op(member, data).replace(signature=flawed.value)
        judge(world, op, ("AC-002",), missing=missing, blame="AC-002")


@rules("AC-002")
def test_every_invalid_signature_class_returns_one(world: AccountWorld,
                                                   observe: Observer) -> None:
    """At any seed: every invalid class of SIGNATURE_CLASSES (lengths 0, 1, 64 compact and
    r ‖ s, 66; v 0/1, 26, 29, all zero; high s and its boundary n/2+1; r or s zero, r = n, r
    off the curve), built from the genuine signature of the very operation, on the owner path
    and on the bootstrap path, with a prefund due and without: 1, never a revert."""
    for member, data, key in ((world.owned, b"\x01\x02", OWNER_KEY),
                              (world.fresh, bootstrap_call(world, world.fresh, BINDING_KEY),
                               BINDING_KEY)):
        op = world.user_op(member, data)
        genuine = world.sign(op, key).signature
        classes = signature_classes(genuine, world.sign(op, OTHER_KEY).signature)
        for name, signature in classes.items():
            if name.startswith("valid"):
                continue
            for missing in (0, 10**15):
                observe.case()
                judge(world, op.replace(signature=signature), ("AC-002",), missing=missing,
                      blame="AC-002")


@rules("AC-003")
def test_every_invalid_class_before_every_reverting_shape(world: AccountWorld,
                                                          observe: Observer) -> None:
    """At any seed: every invalid signature class x every bootstrap shape that reverts once
    read (noise, another selector, another cluster, a value, another inner selector, a
    truncated register): 1, not a revert — the signature is classified first."""
    for shape in range(6):
        op = world.user_op(world.fresh, _reverting_bootstrap(world, shape, b"\x5a" * 40))
        genuine = world.sign(op, BINDING_KEY).signature
        for name, signature in signature_classes(genuine, genuine).items():
            if not name.startswith("valid"):
                observe.case()
                judge(world, op.replace(signature=signature), ("AC-003",), blame="AC-003")


@rules("AC-002")
@given(nonce=st.integers(0, 2**64))
@examples(0.5)
def test_owner_signature_twins_return_one(world: AccountWorld, observe: Observer,
                                         nonce: int) -> None:
    """The malleated twins of the owner's own valid signature (high s, v 0/1, compact) return 1:
    a lenient verifier would recover the owner from each of them."""
    op = world.sign(world.user_op(world.owned, b"", nonce=nonce), OWNER_KEY)
    for twin in (to_high_s(op.signature), with_v(op.signature, op.signature[64] - 27),
                 to_compact(op.signature), op.signature + b"\x00"):
        observe.case()
        judge(world, op.replace(signature=twin), ("AC-002",), blame="AC-002")


@rules("AC-003")
@given(flawed=_FLAWS, shape=st.integers(0, 5), noise=_CALL_DATA)
@examples(1)
def test_signature_is_classified_before_call_data(world: AccountWorld, observe: Observer, flawed,
                                                 shape: int, noise: bytes) -> None:
    """Owner unset, callData no valid bootstrap (it would revert if read), signature invalid:
    1, not a revert. Besides the drawn flaw, every example also tries the malleated twins of a
    real signature over this very operation (high s, v 0/1, compact) and the empty signature:
    a verifier lenient on any of them recovers a signer and goes on to read the callData."""
    call_data = _reverting_bootstrap(world, shape, noise)
    op = world.user_op(world.fresh, call_data)
    genuine = world.sign(op, BINDING_KEY).signature
    for signature in (flawed.value, b"", to_high_s(genuine), with_v(genuine, genuine[64] - 27),
                      to_compact(genuine)):
        observe.case()
        judge(world, op.replace(signature=signature), ("AC-003",), blame="AC-003")


@rules("AC-014")
@given(key=st.sampled_from([OWNER_KEY, BINDING_KEY, OTHER_KEY]), flawed=_FLAWS,
       valid=st.booleans(), call_data=_CALL_DATA, missing=st.integers(0, 10**15))
@examples(1)
def test_answers_are_only_zero_or_one(world: AccountWorld, observe: Observer, key: int, flawed,
                                      valid: bool, call_data: bytes, missing: int) -> None:
    """Whatever the case, a non-reverting validateUserOp returns exactly the word 0 or 1: no
    validUntil/validAfter, no aggregator."""
    cases = [world.user_op(world.owned, call_data),
             world.user_op(world.fresh, bootstrap_call(world, world.fresh, BINDING_KEY))]
    for op in cases:
        op = world.sign(op, key) if valid else op.replace(signature=flawed.value)
        observe.case()
        seen = world.validate(op, missing=missing)
        if seen.success and (len(seen.output) != 32 or seen.word not in (0, 1)):
            fail(world, "AC-014", f"validateUserOp returned 0x{seen.output.hex()}, not 0 or 1",
                 op=op)


@rules("UO-011")
@given(nonce=st.integers(0, 2**64), call_data=_CALL_DATA)
@examples(0.5)
def test_signature_is_over_the_eip191_digest(world: AccountWorld, observe: Observer, nonce: int,
                                             call_data: bytes) -> None:
    """The owner's signature over the raw userOpHash returns 1; over its EIP-191 digest, 0."""
    op = world.user_op(world.owned, call_data, nonce=nonce)
    raw = op.replace(signature=sign_digest(OWNER_KEY, world.op_hash(op)))
    for case in (raw, world.sign(op, OWNER_KEY)):
        observe.case()
        judge(world, case, ("UO-011",), blame="UO-011")
    bootstrap = world.user_op(world.fresh, bootstrap_call(world, world.fresh, BINDING_KEY))
    observe.case()
    judge(world, bootstrap.replace(signature=sign_digest(BINDING_KEY, world.op_hash(bootstrap))),
          ("UO-011",), blame="UO-011")


@rules("UO-012")
@given(nonce=st.integers(0, 2**64))
@examples(0.5)
def test_valid_signatures_have_v_27_or_28_and_low_s(world: AccountWorld, observe: Observer,
                                                   nonce: int) -> None:
    """v moved off 27/28 on the owner's own signature returns 1. (That the low-s v 27/28
    original validates is the owner path, AC-012.)"""
    op = world.sign(world.user_op(world.owned, b"", nonce=nonce), OWNER_KEY)
    for v in (op.signature[64] - 27, op.signature[64] + 2, 29 if op.signature[64] == 27 else 26):
        observe.case()
        judge(world, op.replace(signature=with_v(op.signature, v)), ("UO-012",), blame="UO-012")


@rules("UO-013")
@given(flawed=malformed_signatures(kinds=[SignatureFlaw.COMPACT_EIP2098, SignatureFlaw.V_RAW,
                                          SignatureFlaw.HIGH_S, SignatureFlaw.WRONG_LENGTH,
                                          SignatureFlaw.COMPACT_PLAIN]))
@examples(0.5)
def test_compact_raw_v_high_s_and_other_lengths_are_invalid(world: AccountWorld,
                                                           observe: Observer, flawed) -> None:
    """64-byte compact, v 0/1, high s and other lengths return 1 (also built from the owner's
    own signature, where a lenient verifier would recover the owner)."""
    op = world.sign(world.user_op(world.owned, b"\x01"), OWNER_KEY)
    own = {SignatureFlaw.COMPACT_EIP2098: to_compact(op.signature),
           SignatureFlaw.COMPACT_PLAIN: op.signature[:64],
           SignatureFlaw.V_RAW: with_v(op.signature, op.signature[64] - 27),
           SignatureFlaw.HIGH_S: to_high_s(op.signature),
           SignatureFlaw.WRONG_LENGTH: op.signature + b"\x00" * 2}
    for signature in (flawed.value, *own.values()):
        observe.case()
        judge(world, op.replace(signature=signature), ("UO-013",), blame="UO-013")
