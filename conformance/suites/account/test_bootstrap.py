"""The bootstrap path: with the owner unset only ``execute(ownCluster, 0, dstack_register(proof,
this, x, wg))`` is read, and the expected signer is the key that signed the binding hash the
account computes itself (PROTOCOL.md §1, §6 step 3; AC-004…AC-011, UO-015, UO-016)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.protocol.attestation import build_operator_proof, encode_operator_register
from conformance.protocol.calldata import EXECUTE_SELECTOR, encode_execute
from conformance.protocol.selectors import (
    CORE,
    DSTACK,
    HISTORIC_WRONG,
    NEVER_SPONSORABLE,
    OPERATOR,
    PIMLICO_EXTRA,
)
from conformance.protocol.selectors import selector as selector_of
from conformance.protocol.signatures import SignatureClass, to_compact, to_high_s, with_v
from conformance.strategies.keys import KEY_POOL
from conformance.strategies.labels import Malformed, SignatureFlaw
from conformance.strategies.signatures import malformed_signatures
from conformance.suites.account._support import (
    bootstrap_inner,
    confirm_baseline,
    examples,
    fail,
    judge,
)
from conformance.targets.account_abi import EXECUTE
from conformance.targets.account_world import (
    BINDING_KEY,
    OPERATOR_KEY,
    OTHER_KEY,
    AccountWorld,
    address_of,
)

_KEYS = st.sampled_from(KEY_POOL)
_WORDS = st.binary(min_size=32, max_size=32)
_LOOK_ALIKES = [selector_of("executeBatch((address,uint256,bytes)[])"),
                selector_of("execute(address,uint256,bytes,uint8)")]
"""executeBatch((address,uint256,bytes)[]) and execute(address,uint256,bytes,uint8) (§1)."""


_ZERO_SIG = Malformed(bytes(65), SignatureFlaw.V_OTHER, ("AC-010",), SignatureClass.BAD_V)
"""65 zero bytes as proof.messageSignature: ecrecover's zero answer (explicit examples)."""


def _bootstrap(world: AccountWorld, call_data: bytes, key: int = BINDING_KEY):
    return world.sign(world.user_op(world.fresh, call_data), key)


@rules("AC-009")
@given(derived=_KEYS, signer=_KEYS, x=_WORDS, wg=_WORDS,
       variant=st.sampled_from(["plain", "proof-hash-differs", "signed-other-binding"]))
@example(derived=KEY_POOL[0], signer=KEY_POOL[1], x=bytes(32), wg=bytes(32), variant="plain")
@example(derived=KEY_POOL[0], signer=KEY_POOL[0], x=b"\xff" * 32, wg=bytes(32),
         variant="proof-hash-differs")
@example(derived=KEY_POOL[1], signer=KEY_POOL[2], x=bytes(32), wg=b"\xff" * 32,
         variant="signed-other-binding")
@examples(2)
def test_bootstrap_signer_is_the_binding_signer(world: AccountWorld, observe: Observer,
                                                derived: int, signer: int, x: bytes, wg: bytes,
                                                variant: str) -> None:
    """0 iff the userOp signer signed the binding hash of (cluster, this, x, wg) as computed by
    the account; proof.messageHash is not trusted."""
    member = world.fresh
    if variant == "plain":
        proof = world.proof_for(member, derived, x=x, wg=wg)
    elif variant == "proof-hash-differs":
        proof = world.proof_for(member, derived, x=x, wg=wg)
        proof = replace(proof, message_hash=bytes(31) + b"\x01")
    else:
        proof = world.proof_for(member, derived, x=bytes([x[0] ^ 1]) + x[1:], wg=wg)
    inner = bootstrap_inner(world, member, derived, x=x, wg=wg, proof=proof)
    call_data = encode_execute(world.cluster, 0, inner)
    for key in {signer, derived}:
        observe.case()
        judge(world, _bootstrap(world, call_data, key), ("AC-009",), blame="AC-009")


@rules("AC-004")
@given(selector=st.binary(min_size=4, max_size=4), short=st.binary(max_size=3),
       look_alike=st.sampled_from(_LOOK_ALIKES))
@example(selector=bytes(4), short=b"", look_alike=_LOOK_ALIKES[0])
@example(selector=EXECUTE_SELECTOR[:3] + bytes([EXECUTE_SELECTOR[3] ^ 1]),
         short=EXECUTE_SELECTOR[:3], look_alike=_LOOK_ALIKES[1])
@examples(1)
def test_outer_selector_must_be_execute(world: AccountWorld, observe: Observer, selector: bytes,
                                        short: bytes, look_alike: bytes) -> None:
    """Another outer selector (random, look-alikes) over a valid bootstrap body, or callData
    shorter than a selector: InvalidBootstrapCall."""
    body = encode_execute(world.cluster, 0, bootstrap_inner(world, world.fresh, BINDING_KEY))[4:]
    for call_data in (selector + body, look_alike + body, short):
        if call_data[:4] == EXECUTE_SELECTOR:
            continue
        observe.case()
        judge(world, _bootstrap(world, call_data), ("AC-004",), blame="AC-004")


@rules("AC-005")
@given(target=st.binary(min_size=20, max_size=20), named=st.integers(0, 4))
@example(target=bytes(20), named=0)
@example(target=b"\xff" * 20, named=1)
@example(target=bytes(20), named=2)
@example(target=bytes(20), named=3)
@example(target=bytes(20), named=4)
@examples(1)
def test_target_must_be_the_own_cluster(world: AccountWorld, observe: Observer, target: bytes,
                                        named: int) -> None:
    """execute whose target is not the account's cluster (another cluster, the account, the
    EntryPoint, anyone): InvalidBootstrapCall."""
    inner = bootstrap_inner(world, world.fresh, BINDING_KEY)
    known = [world.cluster_b, world.fresh, world.entry_point, world.member_factory, world.owned]
    for candidate in (target, known[named]):
        if candidate == world.cluster:
            continue
        observe.case()
        judge(world, _bootstrap(world, encode_execute(candidate, 0, inner)), ("AC-005",),
              blame="AC-005")


@rules("AC-006")
@given(value=st.one_of(st.integers(1, 10**18), st.integers(1, 2**256 - 1)))
@example(value=1)
@example(value=2**255)
@example(value=2**256 - 1)
@examples(1)
def test_value_must_be_zero(world: AccountWorld, observe: Observer, value: int) -> None:
    """execute with a non-zero value: InvalidBootstrapCall."""
    inner = bootstrap_inner(world, world.fresh, BINDING_KEY)
    observe.case()
    judge(world, _bootstrap(world, encode_execute(world.cluster, value, inner)), ("AC-006",),
          blame="AC-006")


_OTHER_INNER = [m.selector for m in (*CORE, *DSTACK[1:], *PIMLICO_EXTRA, *NEVER_SPONSORABLE)]


@rules("AC-007")
@given(selector=st.one_of(st.sampled_from(_OTHER_INNER + list(HISTORIC_WRONG)),
                          st.binary(min_size=4, max_size=4)),
       short=st.binary(max_size=3))
@example(selector=HISTORIC_WRONG[0], short=b"")
@example(selector=HISTORIC_WRONG[-1], short=b"\x53\x7d\x49")
@example(selector=CORE[0].selector, short=b"\x53")
@example(selector=NEVER_SPONSORABLE[0].selector, short=b"\x53\x7d")
@examples(1)
def test_inner_call_must_be_dstack_register(world: AccountWorld, observe: Observer,
                                            selector: bytes, short: bytes) -> None:
    """Any other inner selector over a valid register body, or inner data under 4 bytes:
    InvalidBootstrapCall."""
    inner = bootstrap_inner(world, world.fresh, BINDING_KEY)
    candidates = [short]
    operator = OPERATOR[0].selector
    if selector not in (inner[:4], operator):
        candidates.append(selector + inner[4:])
    for data in candidates:
        observe.case()
        judge(world, _bootstrap(world, encode_execute(world.cluster, 0, data)), ("AC-007",),
              blame="AC-007")


def _operator_call(world: AccountWorld, owner_key: int, member_arg: bytes | None = None) -> bytes:
    proof = build_operator_proof(
        signer_private=OPERATOR_KEY, cluster=world.cluster, member=world.fresh, x=b"\x11" * 32,
        wg=b"\x22" * 32, owner_key=address_of(owner_key), expiry=2**40,
    )
    inner = encode_operator_register(proof, member_arg or world.fresh, b"\x11" * 32, b"\x22" * 32)
    return encode_execute(world.cluster, 0, inner)


@rules("AC-007")
def test_operator_register_is_no_bootstrap_outside_multi_attestor(world: AccountWorld,
                                                                  observe: Observer) -> None:
    """Under base and pimlico an operator_register bootstrap signed by its ownerKey reverts."""
    if world.multi_attestor:
        observe.case()
        return
    for key in (BINDING_KEY, OTHER_KEY):
        observe.case()
        judge(world, _bootstrap(world, _operator_call(world, key), key), ("AC-007",),
              blame="AC-007")


@rules("AC-008")
@given(member=st.binary(min_size=20, max_size=20), named=st.integers(0, 2))
@example(member=bytes(20), named=0)
@example(member=b"\xff" * 20, named=1)
@example(member=bytes(20), named=2)
@examples(1)
def test_member_contract_must_be_the_account(world: AccountWorld, observe: Observer,
                                             member: bytes, named: int) -> None:
    """dstack_register whose memberContract is not the account (its proof still binds the
    account): InvalidBootstrapCall."""
    for other in (member, [world.owned, world.cluster, world.stranger][named]):
        if other == world.fresh:
            continue
        inner = bootstrap_inner(world, world.fresh, BINDING_KEY, member_arg=other)
        observe.case()
        judge(world, _bootstrap(world, encode_execute(world.cluster, 0, inner)), ("AC-008",),
              blame="AC-008")


@rules("AC-010")
@given(flawed=malformed_signatures(), signer=_KEYS, twin=st.integers(0, 3))
@example(flawed=_ZERO_SIG, signer=BINDING_KEY, twin=0)
@example(flawed=_ZERO_SIG, signer=OTHER_KEY, twin=1)
@example(flawed=_ZERO_SIG, signer=BINDING_KEY, twin=2)
@example(flawed=_ZERO_SIG, signer=BINDING_KEY, twin=3)
@examples(1)
def test_zero_expected_signer_never_validates(world: AccountWorld, observe: Observer, flawed,
                                              signer: int, twin: int) -> None:
    """proof.messageSignature invalid (so the expected signer is zero): 1 whoever signed,
    also for the malleated twins of the binding key's own signature."""
    proof = world.proof_for(world.fresh, BINDING_KEY)
    good = proof.message_signature
    twins = [to_high_s(good), with_v(good, good[64] - 27), to_compact(good),
             good[:64] + b"\x1b\x00"]
    for bad in (flawed.value, twins[twin]):
        broken = replace(proof, message_signature=bad)
        inner = bootstrap_inner(world, world.fresh, BINDING_KEY, proof=broken)
        for key in {signer, BINDING_KEY}:
            observe.case()
            judge(world, _bootstrap(world, encode_execute(world.cluster, 0, inner), key),
                  ("AC-010",), blame="AC-010")


@rules("AC-011")
@given(owner=_KEYS, signer=_KEYS)
@examples(0.5)
def test_operator_bootstrap_signer_is_the_owner_key(world: AccountWorld, observe: Observer,
                                                    owner: int, signer: int) -> None:
    """multi-attestor: an operator_register bootstrap returns 0 iff signed by proof.ownerKey
    (not judged when the account validates no well-formed operation: see AC-012/AC-009)."""
    confirm_baseline(world, "AC-011")
    call_data = _operator_call(world, owner)
    for key in {owner, signer}:
        observe.case()
        judge(world, _bootstrap(world, call_data, key), ("AC-011",), blame="AC-011")
    observe.case()
    judge(world, _bootstrap(world, _operator_call(world, owner, world.owned), owner),
          ("AC-011",), blame="AC-011")


@rules("UO-015")
def test_no_batch_form_exists(world: AccountWorld, observe: Observer) -> None:
    """executeBatch and the 4-argument execute are no bootstrap, and the EntryPoint cannot call
    them on an owned account (no such functions)."""
    body = encode_execute(world.cluster, 0, bootstrap_inner(world, world.fresh, BINDING_KEY))[4:]
    for selector in _LOOK_ALIKES:
        observe.case()
        judge(world, _bootstrap(world, selector + body), ("UO-015",), blame="UO-015")
        observe.case()
        seen = world.call(world.owned, selector + body, sender=world.entry_point)
        if seen.success:
            fail(world, "UO-015", f"0x{selector.hex()} on the account {seen.describe()}: a batch "
                 "or look-alike execute must not exist")
    observe.case()
    seen = world.call(world.owned, EXECUTE_SELECTOR + body, sender=world.entry_point)
    if not seen.success:
        fail(world, "UO-015", f"{EXECUTE} from the EntryPoint {seen.describe()}")


@rules("UO-016")
def test_register_selector_is_over_the_expanded_tuple(world: AccountWorld,
                                                      observe: Observer) -> None:
    """Only 0x537d491c (over the expanded DstackProof tuple) is read; 0xe143887b (the struct
    name) and 0x3f330b63 (an older tuple) are InvalidBootstrapCall."""
    inner = bootstrap_inner(world, world.fresh, BINDING_KEY)
    for selector in HISTORIC_WRONG:
        observe.case()
        call_data = encode_execute(world.cluster, 0, selector + inner[4:])
        judge(world, _bootstrap(world, call_data), ("UO-016",), blame="UO-016")
    observe.case()
    op = _bootstrap(world, encode_execute(world.cluster, 0, inner))
    seen = world.validate(op)
    if not seen.success:
        fail(world, "UO-016", f"the expanded-tuple dstack_register bootstrap {seen.describe()}",
             op=op)
