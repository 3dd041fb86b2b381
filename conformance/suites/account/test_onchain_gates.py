"""On-chain gates stand on their own: a sponsored admin call from a mere member, or a
member-gated call from an account that is not a registered member, reverts on chain whatever the
webhook decided (PROTOCOL.md §6; AC-025, AC-026).

The operations go through the real EntryPoint's handleOps with the TestPaymaster sponsoring
them (it approves everything, like a webhook that approved garbage); validation passes (the
signer is the account's owner), so only the cluster's gate can stop the call.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, TargetError, rules
from conformance.protocol.calldata import encode_execute
from conformance.suites.account._support import examples, fail, need_entry_point
from conformance.targets.account_abi import encode_function, error_name
from conformance.targets.account_world import OWNER_KEY, STRANGER_KEY, AccountWorld

_WORD = b"\x5a" * 32
ADMIN_CALLS = (
    ("addComposeHash(bytes32)", _WORD), ("removeComposeHash(bytes32)", _WORD),
    ("addDevice(bytes32)", _WORD), ("removeDevice(bytes32)", _WORD),
    ("setAllowAnyDevice(bool)", True), ("setRequireTcbUpToDate(bool)", True),
    ("addAllowedKmsRoot(address)", b"\x5a" * 20), ("removeAllowedKmsRoot(address)", b"\x5a" * 20),
    ("addOperatorSigner(address)", b"\x5a" * 20), ("removeOperatorSigner(address)", b"\x5a" * 20),
    ("addAllowedAppId(address)", b"\x5a" * 20), ("removeAllowedAppId(address)", b"\x5a" * 20),
    ("transferClusterOwnership(address)", b"\x5a" * 20),
    ("transferBothOwners(address)", b"\x5a" * 20),
)  # fmt: skip
"""Owner-gated (admin) operations of a cluster (PROTOCOL.md §1 CORE/DSTACK/OPERATOR sets)."""

MEMBER_CALLS = (
    ("publishWgKey(bytes32)", (_WORD,)), ("setCskCommitment(bytes32)", (_WORD,)),
    ("send(bytes32,bytes32,bytes)", (_WORD, _WORD, b"\x01\x02")),
    ("publishEd25519Key(bytes32)", (_WORD,)),
)  # fmt: skip
"""Member-gated operations of a cluster."""


def _sponsored(world: AccountWorld, member: bytes, key: int, inner: bytes, nonce: int):
    op = world.user_op(member, encode_execute(world.cluster, 0, inner), nonce=nonce,
                       sponsored=True)
    return world.sign(op, key)


def _must_not_land(world: AccountWorld, rule: str, member: bytes, key: int, inner: bytes,
                   what: str) -> None:
    """handleOps runs the op; its execution must fail (UserOperationEvent success = false).
    The op is validly signed by the account's owner and sponsored: when it does not even pass
    validation the gate was never reached, so ``rule`` cannot be judged here (an ERROR naming
    the EntryPoint's reason; the owner path's own rules, AC-012, judge that failure)."""
    op = _sponsored(world, member, key, inner, world.nonce_of(member))
    result = world.handle_ops(op)
    failed = result.failed
    if failed is not None or not result.events:
        if failed is None:
            reason = f"handleOps {result.observation.describe()[:160]}, no UserOperationEvent"
        else:
            reason = f"FailedOp {failed.reason!r}"
            if failed.inner:
                reason += f", inner revert {error_name(failed.inner)}"
        raise TargetError(f"{rule} not judged: the cluster's gate was not reached: {what} from "
                          f"0x{member.hex()}, validly signed by its owner and sponsored, failed "
                          f"before execution: {reason}")
    if result.events[0].success:
        fail(world, rule, f"{what} sent by 0x{member.hex()} executed successfully; the cluster's "
             "gate must revert it", op=op)


@rules("AC-025")
def test_admin_calls_from_a_member_revert(world: AccountWorld, observe: Observer) -> None:
    """Every admin operation, sponsored and validly signed by a registered member, reverts."""
    need_entry_point(world)
    for signature, argument in ADMIN_CALLS:
        observe.case()
        _must_not_land(world, "AC-025", world.owned, OWNER_KEY,
                       encode_function(signature, argument), signature)


@rules("AC-026")
def test_member_calls_from_a_non_member_revert(world: AccountWorld, observe: Observer) -> None:
    """Member operations sent to the cluster by a member of another cluster (validly signed by
    its owner, sponsored) revert."""
    need_entry_point(world)
    for signature, arguments in MEMBER_CALLS:
        observe.case()
        _must_not_land(world, "AC-026", world.stranger, STRANGER_KEY,
                       encode_function(signature, *arguments), signature)


@rules("AC-026")
@given(caller=st.binary(min_size=20, max_size=20), which=st.integers(0, len(MEMBER_CALLS) - 1))
@examples(0.3)
def test_member_calls_from_anyone_revert(world: AccountWorld, observe: Observer, caller: bytes,
                                         which: int) -> None:
    """Outside any operation: a member call from any address but a registered member reverts."""
    if caller == world.owned:
        return
    signature, arguments = MEMBER_CALLS[which]
    observe.case()
    seen = world.call(world.cluster, encode_function(signature, *arguments), sender=caller)
    if seen.success:
        fail(world, "AC-026", f"{signature} from non-member 0x{caller.hex()} {seen.describe()}",
             expect={"reverts": True, "errors": []})
