"""Caller gates: validateUserOp and execute answer only the EntryPoint, __setOwnerFromCluster
only the stored cluster (PROTOCOL.md §6; AC-001, AC-017, AC-020, UO-014)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.protocol.calldata import encode_execute
from conformance.protocol.userop import UserOperation
from conformance.strategies.signatures import malformed_signatures
from conformance.suites.account._classes import OWNER_STATES, signature_classes
from conformance.suites.account._support import bootstrap_call, examples, fail, judge
from conformance.targets.account_abi import EXECUTE, SET_OWNER_FROM_CLUSTER, encode_function
from conformance.targets.account_world import (
    BINDING_KEY,
    BUNDLER,
    OTHER_KEY,
    OWNER_KEY,
    AccountWorld,
    address_of,
)

_ADDRESSES = st.binary(min_size=20, max_size=20)
_V06_ENTRY_POINT = bytes.fromhex("5FF137D4b0FDCD49DcA30c7CF57E578a026d2789")


def _named_callers(world: AccountWorld) -> list[bytes]:
    """Everyone but the EntryPoint who might try: the cluster and its owner, the member's
    owner, the member itself and other members, the paymaster, the bundler, look-alikes."""
    look_alike = bytes(world.entry_point[:-1]) + bytes([world.entry_point[-1] ^ 1])
    return [world.cluster, world.cluster_owner, address_of(OWNER_KEY), world.owned, world.fresh,
            world.stranger, world.paymaster, BUNDLER, bytes(20), look_alike, _V06_ENTRY_POINT,
            world.cluster_b]


def _ops(world: AccountWorld) -> list:
    bootstrap = world.sign(world.user_op(world.fresh, bootstrap_call(world, world.fresh,
                                                                     BINDING_KEY)), BINDING_KEY)
    owned = world.sign(world.user_op(world.owned, b"\x01\x02"), OWNER_KEY)
    return [bootstrap, owned]


@rules("AC-001")
def test_validate_user_op_rejects_named_callers(world: AccountWorld, observe: Observer) -> None:
    """Valid operations (that the EntryPoint's call would accept) from anyone else revert."""
    for op in _ops(world):
        for caller in _named_callers(world):
            observe.case()
            judge(world, op, ("AC-001",), caller=caller, missing=10**15)


def _owner_states(world: AccountWorld) -> dict[str, tuple[UserOperation, int, int]]:
    """Each owner state of ``OWNER_STATES``: an unsigned op, its expected signer's key and
    another key."""
    bootstrap = world.user_op(world.fresh, bootstrap_call(world, world.fresh, BINDING_KEY))
    reverting = world.user_op(world.fresh, encode_execute(world.cluster_b, 0, b"\x01\x02"))
    owned = world.user_op(world.owned, b"\x01\x02")
    states = {"fresh-valid-bootstrap": (bootstrap, BINDING_KEY, OTHER_KEY),
              "fresh-reverting-calldata": (reverting, BINDING_KEY, OTHER_KEY),
              "owned": (owned, OWNER_KEY, OTHER_KEY)}
    assert tuple(states) == OWNER_STATES
    return states


@rules("AC-001")
def test_gate_holds_for_every_signature_class(world: AccountWorld, observe: Observer) -> None:
    """The gate comes first, whatever the signature: every class of SIGNATURE_CLASSES (valid by
    the expected signer or another key; empty, short, 64-byte compact, 66 bytes; v 0/1, 26, 29;
    high s and its boundary n/2+1; r or s zero, r = n, r off the curve; all zero) x every owner
    state x prefund 0 / due x callers that are not the EntryPoint (another member, the bundler,
    the paymaster, a look-alike). Each must revert OnlyEntryPoint: an account that answers 1 to
    an invalid signature before its gate pays a stranger the prefund (fund draining)."""
    callers = [world.stranger, BUNDLER, world.paymaster, _named_callers(world)[9]]
    for op, key, other in _owner_states(world).values():
        genuine, foreign = world.sign(op, key).signature, world.sign(op, other).signature
        for signature in signature_classes(genuine, foreign).values():
            for caller in callers:
                for missing in (0, 10**15):
                    observe.case()
                    judge(world, op.replace(signature=signature), ("AC-001",), caller=caller,
                          missing=missing, blame="AC-001")


@rules("AC-001")
@given(caller=_ADDRESSES, key=st.sampled_from([BINDING_KEY, OWNER_KEY, OTHER_KEY]),
       flawed=st.none() | malformed_signatures(), missing=st.sampled_from([0, 10**15]))
@examples(1)
def test_validate_user_op_rejects_any_caller(world: AccountWorld, observe: Observer,
                                            caller: bytes, key: int, flawed, missing: int) -> None:
    """Random callers (never the EntryPoint) are refused with OnlyEntryPoint, with a valid or
    an invalid signature, a prefund due or not."""
    if caller == world.entry_point:
        return
    for op in _ops(world):
        observe.case()
        op = world.sign(op, key) if flawed is None else op.replace(signature=flawed.value)
        judge(world, op, ("AC-001",), caller=caller, missing=missing, blame="AC-001")


@rules("UO-014")
def test_canonical_entry_point_is_the_one_trusted(world: AccountWorld, observe: Observer) -> None:
    """The account answers the canonical v0.7 EntryPoint 0x…71727De22E5E9d8BAf0edAc6f37da032
    (and not the v0.6 one or a look-alike), on the bootstrap and the owner path."""
    for op in _ops(world):
        observe.case()
        seen = world.validate(op)
        if not seen.success:
            fail(world, "UO-014", f"validateUserOp from the canonical EntryPoint "
                 f"{seen.describe()}", op=op)
        for caller in (_V06_ENTRY_POINT, _named_callers(world)[9]):
            observe.case()
            judge(world, op, ("UO-014",), caller=caller, exact_error=False)


def _execute_data(world: AccountWorld) -> bytes:
    return encode_function(EXECUTE, world.recorder, 0, b"\xde\xad\xbe\xef")


@rules("AC-017")
def test_execute_rejects_named_callers(world: AccountWorld, observe: Observer) -> None:
    """execute from anyone but the EntryPoint reverts OnlyEntryPoint and performs no call."""
    for member in (world.owned, world.fresh):
        for caller in _named_callers(world):
            observe.case()
            _expect_execute_refused(world, member, caller)


@rules("AC-017")
@given(caller=_ADDRESSES)
@examples(0.5)
def test_execute_rejects_any_caller(world: AccountWorld, observe: Observer, caller: bytes) -> None:
    """Random callers of execute are refused."""
    if caller == world.entry_point:
        return
    observe.case()
    _expect_execute_refused(world, world.owned, caller)


def _expect_execute_refused(world: AccountWorld, member: bytes, caller: bytes) -> None:
    seen = world.call(member, _execute_data(world), sender=caller)
    if seen.success or seen.error != "OnlyEntryPoint":
        fail(world, "AC-017", f"execute from 0x{caller.hex()} on 0x{member.hex()} "
             f"{seen.describe()}; §6 requires revert OnlyEntryPoint",
             expect={"reverts": True, "errors": ["OnlyEntryPoint"]})


@rules("AC-017")
def test_execute_answers_the_entry_point(world: AccountWorld, observe: Observer) -> None:
    """Control: the same call from the EntryPoint goes through (the gate is not a wall)."""
    observe.case()
    seen = world.call(world.owned, _execute_data(world), sender=world.entry_point)
    if not seen.success:
        fail(world, "AC-017", f"execute from the EntryPoint {seen.describe()}",
             expect={"succeeds": True})


@rules("AC-020")
def test_set_owner_rejects_everyone_but_the_cluster(world: AccountWorld, observe: Observer) -> None:
    """__setOwnerFromCluster from the EntryPoint, the cluster owner, another cluster, the member
    itself or anyone else reverts OnlyCluster; the owner stays unset."""
    callers = [c for c in _named_callers(world) if c != world.cluster] + [world.entry_point]
    for caller in callers:
        observe.case()
        data = encode_function(SET_OWNER_FROM_CLUSTER, address_of(OTHER_KEY))
        seen = world.call(world.fresh, data, sender=caller)
        if seen.success or seen.error != "OnlyCluster":
            fail(world, "AC-020", f"__setOwnerFromCluster from 0x{caller.hex()} "
                 f"{seen.describe()}; §6 requires revert OnlyCluster",
                 expect={"reverts": True, "errors": ["OnlyCluster"]})


@rules("AC-020")
@given(caller=_ADDRESSES)
@examples(0.5)
def test_set_owner_rejects_any_caller(world: AccountWorld, observe: Observer,
                                      caller: bytes) -> None:
    """Random callers cannot install an owner (nor can they on an owned member)."""
    if caller == world.cluster:
        return
    for member in (world.fresh, world.owned):
        observe.case()
        seen = world.call(member, encode_function(SET_OWNER_FROM_CLUSTER, caller), sender=caller)
        if seen.success or seen.error != "OnlyCluster":
            fail(world, "AC-020", f"__setOwnerFromCluster from 0x{caller.hex()} "
                 f"{seen.describe()}; §6 requires revert OnlyCluster",
                 expect={"reverts": True, "errors": ["OnlyCluster"]})
