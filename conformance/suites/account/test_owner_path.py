"""The owner path and what a signature binds: with the owner set only the owner validates; an
operation signed for another chain, EntryPoint or paymaster field set does not, nor one signed
for the chain the account was deployed on once the chain id has changed
(PROTOCOL.md §2, §6 step 4; AC-012, AC-015, UO-010)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.protocol.calldata import encode_execute
from conformance.protocol.userop import ENTRY_POINT_V07, UserOperation, pack, user_op_hash
from conformance.strategies.keys import KEY_POOL
from conformance.suites.account._support import (
    bootstrap_call,
    examples,
    fail,
    judge,
    need_entry_point,
)
from conformance.targets.account_abi import GET_USER_OP_HASH, encode_function
from conformance.targets.account_world import BINDING_KEY, OWNER_KEY, AccountWorld
from conformance.targets.evm.backend import MAX_CHAIN_ID, BackendError

_KEYS = st.sampled_from(sorted({*KEY_POOL, OWNER_KEY}))


@rules("AC-012")
@given(key=_KEYS, call_data=st.binary(max_size=400), nonce=st.integers(0, 2**200),
       missing=st.integers(0, 10**15))
@examples(2)
def test_only_the_owner_validates(world: AccountWorld, observe: Observer, key: int,
                                  call_data: bytes, nonce: int, missing: int) -> None:
    """Owner set: 0 iff the signer is the owner, 1 otherwise, whatever the callData."""
    op = world.sign(world.user_op(world.owned, call_data, nonce=nonce), key)
    observe.case()
    judge(world, op, ("AC-012",), missing=missing, blame="AC-012")
    if key != OWNER_KEY:
        observe.case()
        judge(world, world.sign(op, OWNER_KEY), ("AC-012",), missing=missing, blame="AC-012")


@rules("AC-012")
def test_owner_path_ignores_bootstrap_shape(world: AccountWorld, observe: Observer) -> None:
    """Owner set: a bootstrap-shaped operation signed by the binding key is not the owner's."""
    call_data = bootstrap_call(world, world.owned, BINDING_KEY)
    for key in (BINDING_KEY, OWNER_KEY):
        observe.case()
        judge(world, world.sign(world.user_op(world.owned, call_data), key), ("AC-012",),
              blame="AC-012")


@rules("AC-015")
@given(chain_id=st.integers(1, 2**64),
       entry_point=st.binary(min_size=20, max_size=20), owned=st.booleans())
@examples(1)
def test_signatures_for_another_chain_or_entry_point_fail(
    world: AccountWorld, observe: Observer, chain_id: int, entry_point: bytes, owned: bool
) -> None:
    """Signed over the userOpHash of another chain id, or of another EntryPoint: 1."""
    if owned:
        op, key = world.user_op(world.owned, b"\x01"), OWNER_KEY
    else:
        call_data = bootstrap_call(world, world.fresh, BINDING_KEY)
        op, key = world.user_op(world.fresh, call_data), BINDING_KEY
    signed = []
    if chain_id != world.chain_id:
        signed.append(world.sign(op, key, chain_id=chain_id))
    if entry_point != world.entry_point:
        signed.append(world.sign(op, key, entry_point=entry_point))
    for case in signed:
        observe.case()
        judge(world, case, ("AC-015",), blame="AC-015")


@rules("AC-015")
def test_signature_for_the_old_chain_fails_after_a_chain_id_change(world: AccountWorld,
                                                                   observe: Observer) -> None:
    """The chain id changes under the deployed world (a fork, or the same code on another
    chain): an operation signed for the old chain, given the userOpHash of the new one, returns
    1, and through handleOps fails AA24. Catches a chain id cached at deployment."""
    fresh_call = bootstrap_call(world, world.fresh, BINDING_KEY)
    signed = [world.sign(world.user_op(world.owned, b"\x01"), OWNER_KEY),
              world.sign(world.user_op(world.fresh, fresh_call), BINDING_KEY)]
    landing = None
    if world.entry_point_missing is None:
        call = encode_execute(world.recorder, 0, b"\x01")
        op = world.user_op(world.owned, call, nonce=world.nonce_of(world.owned), sponsored=True)
        landing = world.sign(op, OWNER_KEY)
    with world.isolated():
        world.set_chain_id(world.chain_id % MAX_CHAIN_ID + 1)
        for op in signed:
            observe.case()
            judge(world, op, ("AC-015",), blame="AC-015")
        if landing is not None:
            observe.case()
            _require_replay_refused(world, landing)


def _require_replay_refused(world: AccountWorld, op: UserOperation) -> None:
    """On the new chain, handleOps of ``op`` (signed for the old one) fails AA24."""
    if _entry_point_hash(world, op) != world.op_hash(op):
        raise BackendError(f"after set_chain_id({world.chain_id}) the EntryPoint's "
                           "getUserOpHash is not the new chain's: the switch did not take")
    result = world.handle_ops(op)
    if result.failed is None or result.failed.code != "AA24":
        fail(world, "AC-015", f"on chain {world.chain_id}, an operation signed for the previous "
             f"chain: handleOps {result.observation.describe()[:160]} ({result.failed}); "
             "expected FailedOp AA24 (a cross-chain replay)", op=op)


@rules("UO-010")
@given(field=st.sampled_from(["paymaster", "paymaster_verification_gas_limit",
                              "paymaster_post_op_gas_limit", "paymaster_data"]),
       value=st.integers(1, 2**64))
@examples(0.5)
def test_paymaster_fields_are_bound_by_the_hash(world: AccountWorld, observe: Observer,
                                                field: str, value: int) -> None:
    """An operation signed before a paymaster field changed does not validate (sign after
    sponsoring), and the EntryPoint's getUserOpHash changes with that field too."""
    op = world.user_op(world.owned, b"\x07", sponsored=True)
    signed = world.sign(op, OWNER_KEY)
    if field == "paymaster":
        changed_value: object = value.to_bytes(20, "big")
    elif field == "paymaster_data":
        changed_value = value.to_bytes(9, "big")
    else:
        changed_value = value % 2**128
    changed = signed.replace(**{field: changed_value})
    if changed == signed:
        return
    observe.case()
    judge(world, changed, ("UO-010",), blame="UO-010")
    if world.entry_point_missing is None:
        observe.case()
        first, second = (_entry_point_hash(world, o) for o in (signed, changed))
        if first == second or second != world.op_hash(changed):
            fail(world, "UO-010", f"getUserOpHash 0x{first.hex()} → 0x{second.hex()} after "
                 f"changing {field}", op=changed)


def _entry_point_hash(world: AccountWorld, op) -> bytes:
    seen = world.call(world.entry_point, encode_function(GET_USER_OP_HASH, pack(op).as_abi_tuple()))
    return seen.output[:32]


@rules("UO-010")
def test_entry_point_hash_binds_chain_and_entry_point(world: AccountWorld,
                                                      observe: Observer) -> None:
    """The same operation hashed for another chain or EntryPoint differs (the account's
    answer to such a signature is checked under AC-015)."""
    need_entry_point(world)
    op = world.user_op(world.owned, b"\x07")
    observe.case()
    here = _entry_point_hash(world, op)
    if here != world.op_hash(op) or world.entry_point != ENTRY_POINT_V07:
        fail(world, "UO-010", f"getUserOpHash 0x{here.hex()} is not the §2 hash", op=op)
    others = {user_op_hash(op, world.entry_point, world.chain_id + 1),
              user_op_hash(op, b"\x01" * 20, world.chain_id)}
    observe.case()
    if here in others:
        fail(world, "UO-010", "userOpHash does not change with chain id or EntryPoint", op=op)
