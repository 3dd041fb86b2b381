"""Prefund: whenever validateUserOp does not revert it pays missingAccountFunds to the
EntryPoint, even when it returns 1 (PROTOCOL.md §6 step 5; AC-013)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.oracle.account import ValidationInput, expect_validation
from conformance.protocol.calldata import encode_execute
from conformance.protocol.signatures import SignatureClass
from conformance.strategies.labels import Malformed, SignatureFlaw
from conformance.strategies.signatures import malformed_signatures
from conformance.suites.account._support import (
    bootstrap_call,
    bootstrap_inner,
    examples,
    fail,
    view_of,
)
from conformance.targets.account_world import BINDING_KEY, OTHER_KEY, OWNER_KEY, AccountWorld

_PINNED_FLAW = Malformed(b"\x00" * 64, SignatureFlaw.COMPACT_PLAIN, ("AC-002",),
                         SignatureClass.COMPACT_64)
"""An invalid signature for the explicit examples (64 bytes: no v)."""

_CASES = ("owner-valid", "owner-wrong-key", "bad-signature", "bootstrap-valid",
          "bootstrap-wrong-key", "bootstrap-zero-signer")


def _case(world: AccountWorld, name: str, bad_signature: bytes):
    if name.startswith("owner"):
        op = world.user_op(world.owned, b"\x01\x02\x03")
        return world.sign(op, OWNER_KEY if name == "owner-valid" else OTHER_KEY)
    if name == "bad-signature":
        return world.user_op(world.owned, b"").replace(signature=bad_signature)
    if name == "bootstrap-zero-signer":
        proof = replace(world.proof_for(world.fresh, BINDING_KEY), message_signature=b"\x00" * 65)
        inner = bootstrap_inner(world, world.fresh, BINDING_KEY, proof=proof)
        return world.sign(world.user_op(world.fresh, encode_execute(world.cluster, 0, inner)),
                          BINDING_KEY)
    op = world.user_op(world.fresh, bootstrap_call(world, world.fresh, BINDING_KEY))
    return world.sign(op, BINDING_KEY if name == "bootstrap-valid" else OTHER_KEY)


@rules("AC-013")
@given(missing=st.integers(0, 10**18), flawed=malformed_signatures())
@example(missing=0, flawed=_PINNED_FLAW)
@example(missing=1, flawed=_PINNED_FLAW)
@example(missing=10**18, flawed=_PINNED_FLAW)
@examples(0.5)
def test_prefund_is_paid_whatever_the_answer(world: AccountWorld, observe: Observer,
                                             missing: int, flawed) -> None:
    """The EntryPoint's balance grows by exactly missingAccountFunds on every non-reverting
    validation (0 and 1 alike: owner, other key, invalid signature, bootstrap, zero expected
    signer), and by nothing when missingAccountFunds is zero.

    Input classes: the answer (0 on the owner and the bootstrap path; 1 for another key, an
    invalid signature, a zero expected signer) x missingAccountFunds (0, 1 wei, drawn up to
    10^18). AC-013 judges only the cases that did not revert: a revert where §6 requires an
    answer is the finding of the rule that decides that answer (AC-002 for an invalid
    signature, AC-012 on the owner path, AC-009/AC-010 on the bootstrap), so the case is
    "not judged" here, not a second FAIL."""
    for name in _CASES:
        op = _case(world, name, flawed.value)
        expected = expect_validation(view_of(world, op.sender), ValidationInput(
            world.op_hash(op), op.signature, op.call_data, missing))
        seen, paid = world.validate_paying(op, missing=missing)
        if not seen.success:
            observe.not_judged(f"{name} reverted {seen.error} where §6 returns "
                               f"{expected.returns} (see {expected.rule})")
            continue
        observe.case()
        if paid != expected.prefund:
            fail(world, "AC-013", f"validateUserOp {seen.describe()} ({name}) paid {paid} wei to "
                 f"the EntryPoint; §6 step 5 requires {expected.prefund}", op=op,
                 missingAccountFunds=missing, expect={"paid": expected.prefund})
