"""End to end through the real EntryPoint v0.7 with the TestPaymaster: a fresh member registers
in one sponsored operation, its owner's later operations land with nonces from getNonce, a replay
fails AA25, a wrong key AA24, a malformed bootstrap AA23; EntryPoint.getUserOpHash equals the
§2 hash (PROTOCOL.md §2, §6, §7; AT-020, AC-012, AC-016, AC-004, UO-009)."""

from __future__ import annotations

from hypothesis import given

from conformance.engine.checks import Observer, TargetError, rules
from conformance.protocol.calldata import encode_execute
from conformance.protocol.userop import UserOperation, pack
from conformance.strategies.userops import user_operations
from conformance.suites.account._support import (
    bootstrap_call,
    confirm_baseline,
    examples,
    fail,
    need_entry_point,
    need_owner_path,
)
from conformance.targets.account_abi import GET_USER_OP_HASH, encode_function, error_name
from conformance.targets.account_world import (
    BINDING_KEY,
    OTHER_KEY,
    AccountWorld,
    HandleOpsResult,
)

NEW_WG_KEY = b"\x77" * 32


def _outcome(result: HandleOpsResult) -> str:
    """What handleOps did with one operation, in words: the EntryPoint's FailedOp reason (and
    the account's revert error), the execution's revert error, or that it landed."""
    if result.failed is not None:
        inner = f", inner revert {error_name(result.failed.inner)}" if result.failed.inner else ""
        return f"FailedOp {result.failed.reason!r}{inner}"
    if not result.observation.success:
        return f"handleOps {result.observation.describe()[:160]} (no FailedOp)"
    if not result.events:
        return "no UserOperationEvent"
    if not result.events[0].success:
        reasons = [error_name(r) for r in result.revert_reasons] or ["(no revert reason)"]
        return f"executed and reverted: {', '.join(str(r) for r in reasons)}"
    return "landed"


def _register_through_entry_point(world: AccountWorld, rule: str, *,
                                  judged: bool = True) -> UserOperation:
    """The fresh member's bootstrap, sponsored and signed by the binding key, lands through
    handleOps; else a FAIL of ``rule`` (this flow is the rule's end-to-end proof), or, when
    the registration is only the set-up of what ``rule`` judges (``judged=False``), an ERROR:
    the rule could not be judged."""
    member = world.fresh
    nonce = world.nonce_of(member)
    op = world.sign(world.user_op(member, bootstrap_call(world, member, BINDING_KEY),
                                  nonce=nonce, sponsored=True), BINDING_KEY)
    result = world.handle_ops(op)
    landed = _outcome(result)
    if landed != "landed" and not judged:
        raise TargetError(f"{rule} not judged: the fresh member's valid bootstrap did not land "
                          f"through handleOps ({landed}); AT-020 judges that")
    if landed != "landed":
        fail(world, rule, f"the fresh member's valid bootstrap (registration) operation, "
             f"sponsored and signed by the binding key, did not land through handleOps: "
             f"{landed}", op=op)
    return op


def _publish(world: AccountWorld, member: bytes, key: int, nonce: int):
    inner = encode_function("publishWgKey(bytes32)", NEW_WG_KEY)
    op = world.user_op(member, encode_execute(world.cluster, 0, inner), nonce=nonce,
                       sponsored=True)
    return world.sign(op, key)


@rules("AT-020")
def test_fresh_member_registers_in_one_sponsored_operation(world: AccountWorld,
                                                           observe: Observer) -> None:
    """Bootstrap through handleOps: the member is registered and the derived key is its owner
    (a later operation it signs validates; not judged when no owner's operation validates)."""
    need_entry_point(world)
    confirm_baseline(world, "AT-020")
    observe.case()
    member = _register_through_entry_point(world, "AT-020").sender
    need_owner_path(world)
    (registered, _member_id) = world.read(world.cluster, "memberOf(address)", member,
                                          returns=["bool", "bytes32"])
    observe.case()
    seen = world.validate(_publish(world, member, BINDING_KEY, world.nonce_of(member)))
    if not registered or seen.word != 0:
        fail(world, "AT-020", f"after the bootstrap: registered={registered}, an operation of "
             f"the derived key {seen.describe()}")


@rules("AC-012")
def test_owner_operations_land_with_getnonce(world: AccountWorld, observe: Observer) -> None:
    """After the bootstrap, operations signed by the owner land one after the other with the
    nonce EntryPoint.getNonce(sender, 0) gives; one signed by another key fails AA24."""
    need_entry_point(world)
    confirm_baseline(world, "AC-012")
    observe.case()
    member = _register_through_entry_point(world, "AC-012").sender
    for step in range(3):
        nonce = world.nonce_of(member)
        observe.case()
        if nonce != step + 1:
            fail(world, "AC-012", f"getNonce(sender, 0) = {nonce} after {step + 1} operations")
        op = _publish(world, member, BINDING_KEY, nonce)
        landed = _outcome(world.handle_ops(op))
        if landed != "landed":
            fail(world, "AC-012", f"owner operation {step + 1} did not land: {landed}", op=op)
    observe.case()
    wrong = _publish(world, member, OTHER_KEY, world.nonce_of(member))
    result = world.handle_ops(wrong)
    if result.failed is None or result.failed.code != "AA24":
        fail(world, "AC-012", f"an operation signed by another key: handleOps "
             f"{result.observation.describe()} ({result.failed}); expected FailedOp AA24", op=wrong)


@rules("AC-016")
def test_replayed_operation_fails_aa25(world: AccountWorld, observe: Observer) -> None:
    """Replaying an executed operation (the bootstrap, then an owner operation) fails AA25."""
    need_entry_point(world)
    confirm_baseline(world, "AC-016")
    observe.case()
    bootstrap = _register_through_entry_point(world, "AC-016", judged=False)
    member = bootstrap.sender
    later = _publish(world, member, BINDING_KEY, world.nonce_of(member))
    observe.case()
    landed = _outcome(world.handle_ops(later))
    if landed != "landed":
        raise TargetError(f"AC-016 not judged: the owner's first operation after the bootstrap "
                          f"(nonce {later.nonce}) did not land ({landed}), so there is nothing "
                          "to replay; AC-012 judges that")
    for op in (bootstrap, later):
        observe.case()
        result = world.handle_ops(op)
        if result.failed is None or result.failed.code != "AA25":
            fail(world, "AC-016", f"a replayed operation: handleOps "
                 f"{result.observation.describe()} ({result.failed}); expected FailedOp AA25",
                 op=op)


@rules("AC-004")
def test_malformed_bootstrap_fails_aa23(world: AccountWorld, observe: Observer) -> None:
    """A fresh member's first operation that is not a registration (publishWgKey) reverts in
    validation: FailedOp AA23."""
    need_entry_point(world)
    observe.case()
    op = world.sign(world.user_op(world.fresh, b"\xde\xad\xbe\xef" + bytes(64), sponsored=True),
                    BINDING_KEY)
    result = world.handle_ops(op)
    if result.failed is None or result.failed.code != "AA23":
        fail(world, "AC-004", f"a bootstrap with another outer selector: handleOps "
             f"{result.observation.describe()} ({result.failed}); expected FailedOp AA23", op=op)


@rules("UO-009")
@given(op=user_operations(signed=False))
@examples(1)
def test_entry_point_hash_is_the_protocol_hash(world: AccountWorld, observe: Observer,
                                               op) -> None:
    """EntryPoint v0.7 getUserOpHash equals the §2 userOpHash for any operation."""
    need_entry_point(world)
    observe.case()
    seen = world.call(world.entry_point,
                      encode_function(GET_USER_OP_HASH, pack(op).as_abi_tuple()))
    if not seen.success or seen.output != world.op_hash(op):
        fail(world, "UO-009", f"getUserOpHash {seen.describe()}; §2 gives "
             f"0x{world.op_hash(op).hex()}", op=op)


@rules("UO-009")
def test_published_vector_on_its_chain(world: AccountWorld, observe: Observer) -> None:
    """The §2 vector (nonce 0, callData 0x010203, gas 0, chain 8453) on a Base mainnet chain."""
    need_entry_point(world)
    op = world.user_op(bytes([1]) * 20, bytes.fromhex("010203"), call_gas_limit=0,
                       verification_gas_limit=0, pre_verification_gas=0, max_fee_per_gas=0,
                       max_priority_fee_per_gas=0)
    observe.case()
    seen = world.call(world.entry_point,
                      encode_function(GET_USER_OP_HASH, pack(op).as_abi_tuple()))
    vector = bytes.fromhex("c97f0ed3aa891d90150732096ea7d6f3a046b3e141e98eb772fcf9be03769af2")
    expected = vector if world.chain_id == 8453 else world.op_hash(op)
    if seen.output != expected:
        fail(world, "UO-009", f"getUserOpHash {seen.describe()}; expected 0x{expected.hex()}",
             op=op)
