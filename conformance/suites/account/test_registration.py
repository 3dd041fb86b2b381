"""Registration on the cluster: provenance, codeId, binding, signature chain, already
registered — in that order — then the derived key installed as the member's owner
(PROTOCOL.md §4 "Registration"; AC-027…AC-033, AT-013, AT-014, AT-020)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.protocol.attestation import binding_hash, code_id_of
from conformance.strategies.keys import KEY_POOL
from conformance.strategies.labels import ProofFlaw
from conformance.strategies.proofs import broken_dstack_proofs, encode_public_key
from conformance.suites.account._registration import (
    broken,
    expect_registered,
    expect_rejected,
    outside_member,
    owner_is,
    set_allowlisted,
    use_kms_roots,
)
from conformance.suites.account._support import examples, fail, need_owner_path
from conformance.targets.account_abi import encode_function
from conformance.targets.account_world import OTHER_KEY, OWNER_KEY, AccountWorld, address_of

_KEYS = st.sampled_from(KEY_POOL)
ORDER = ("NotOurMember", "CodeIdMismatch", "BindingMismatch", "InvalidSigChain",
         "AlreadyRegistered")
"""Registration gates in order (PROTOCOL.md §4)."""


@rules("AC-027")
@given(eoa=st.binary(min_size=20, max_size=20))
@examples(0.3)
def test_member_without_provenance_is_refused(world: AccountWorld, observe: Observer,
                                              eoa: bytes) -> None:
    """A member deployed outside the factory and not allowlisted, or any other address, with an
    otherwise valid proof: NotOurMember."""
    for member in (outside_member(world), eoa):
        observe.case()
        seen = world.register(member, world.proof_for(member, OWNER_KEY), persist=False)
        expect_rejected(world, "AC-027", seen, "a member of no provenance", ("NotOurMember",))


@rules("AC-028")
def test_path_a_member_registers(world: AccountWorld, observe: Observer) -> None:
    """A member outside the factory whose app id is allowlisted (Path A) registers."""
    member = outside_member(world, allowlisted=True)
    observe.case()
    seen = world.register(member, world.proof_for(member, OWNER_KEY))
    expect_registered(world, "AC-028", seen, "an allowlisted Path A member")


_CODE_ID = [ProofFlaw.CODE_ID_LOW_BITS, ProofFlaw.CODE_ID_OTHER_MEMBER]
_BINDING = [ProofFlaw.BINDING_OTHER_CLUSTER, ProofFlaw.BINDING_OTHER_KEYS]
_CHAIN = [f for f in ProofFlaw if f not in (*_CODE_ID, *_BINDING)]


def _run_broken(world: AccountWorld, observe: Observer, rule: str, case, exact: bool) -> None:
    """Register a labelled broken proof with exactly its allowed KMS roots on the cluster."""
    proof_case, expected = case.value, case.expected.value
    with world.isolated():
        use_kms_roots(world, proof_case.allowed_kms_roots)
        observe.case()
        seen = world.call(world.cluster, proof_case.register_calldata(), sender=world.cluster_owner)
        expect_rejected(world, rule, seen, f"{case.kind.value}", (expected,) if exact else ())


def _broken(world: AccountWorld, kinds: list[ProofFlaw]):
    return broken_dstack_proofs(clusters=st.just(world.cluster), members=st.just(world.fresh),
                                kinds=kinds)


@rules("AC-029")
@given(data=st.data())
@examples(0.5)
def test_code_id_mismatch(world: AccountWorld, observe: Observer, data: st.DataObject) -> None:
    """codeId with low bits set or naming another member: CodeIdMismatch."""
    _run_broken(world, observe, "AC-029", data.draw(_broken(world, _CODE_ID)), exact=True)


@rules("AC-030")
@given(data=st.data())
@examples(0.5)
def test_binding_mismatch(world: AccountWorld, observe: Observer, data: st.DataObject) -> None:
    """messageHash for another cluster or other keys: BindingMismatch."""
    _run_broken(world, observe, "AC-030", data.draw(_broken(world, _BINDING)), exact=True)


@rules("AC-031")
@given(data=st.data())
@examples(1)
def test_signature_chain_failures(world: AccountWorld, observe: Observer,
                                  data: st.DataObject) -> None:
    """Every broken link of the chain: InvalidSigChain, or the public-key error."""
    _run_broken(world, observe, "AC-031", data.draw(_broken(world, _CHAIN)), exact=True)


@rules("AC-032")
def test_already_registered(world: AccountWorld, observe: Observer) -> None:
    """Registering a registered member again (a fresh valid proof, same or other key):
    AlreadyRegistered."""
    for key in (OWNER_KEY, OTHER_KEY):
        observe.case()
        seen = world.register(world.owned, world.proof_for(world.owned, key), persist=False)
        expect_rejected(world, "AC-032", seen, "an already registered member",
                        ("AlreadyRegistered",))


@rules("AC-033")
@given(faults=st.sets(st.sampled_from(ORDER), min_size=1))
@examples(1)
def test_gates_run_in_order(world: AccountWorld, observe: Observer, faults: set[str]) -> None:
    """With several gates failing at once, the first in §4's order names the revert."""
    with world.isolated():
        member = _member_for(world, faults)
        proof = world.proof_for(member, OWNER_KEY)
        if "CodeIdMismatch" in faults:
            proof = broken(proof, code_id=code_id_of(world.cluster_b))
        if "BindingMismatch" in faults:
            proof = broken(proof, message_hash=binding_hash(world.cluster_b, member, b"\x11" * 32,
                                                            b"\x22" * 32))
        if "InvalidSigChain" in faults:
            proof = broken(proof, kms_signature=proof.kms_signature[:64])
        expected = next(gate for gate in ORDER if gate in faults)
        observe.case()
        seen = world.register(member, proof, persist=False)
        expect_rejected(world, "AC-033", seen, f"faults {sorted(faults)}", (expected,))


def _member_for(world: AccountWorld, faults: set[str]) -> bytes:
    """A member with the provenance / registration faults asked for."""
    if "NotOurMember" not in faults:
        return world.owned if "AlreadyRegistered" in faults else world.fresh
    member = outside_member(world, allowlisted="AlreadyRegistered" in faults)
    if "AlreadyRegistered" in faults:
        expect_registered(world, "AC-033", world.register(member, world.proof_for(member, 7)),
                          "a Path A member (set-up)")
        set_allowlisted(world, member, False)
    return member


@rules("AT-020")
@given(key=_KEYS, length=st.sampled_from([33, 64, 65]))
@examples(0.5)
def test_registration_installs_the_derived_key(world: AccountWorld, observe: Observer, key: int,
                                               length: int) -> None:
    """After a valid registration the derived key is the member's owner: its operations
    validate on the owner path, another key's do not."""
    need_owner_path(world)
    with world.isolated():
        proof = world.proof_for(world.fresh, key, derived_pubkey=encode_public_key(key, length))
        observe.case()
        expect_registered(world, "AT-020", world.register(world.fresh, proof), "a valid proof")
        other = OTHER_KEY if key != OTHER_KEY else OWNER_KEY
        if not owner_is(world, world.fresh, key) or owner_is(world, world.fresh, other):
            fail(world, "AT-020", f"after registration 0x{address_of(key).hex()} is not the sole "
                 "owner of the member")


@rules("AT-013")
@given(purpose=st.text(max_size=40))
@examples(0.5)
def test_purpose_is_opaque(world: AccountWorld, observe: Observer, purpose: str) -> None:
    """Any purpose label the proof is consistently signed over is accepted."""
    observe.case()
    seen = world.register(world.fresh, world.proof_for(world.fresh, OWNER_KEY, purpose=purpose),
                          persist=False)
    expect_registered(world, "AT-013", seen, f"purpose {purpose!r}")


@rules("AT-014")
def test_boot_gates_do_not_gate_registration(world: AccountWorld, observe: Observer) -> None:
    """TCB required, no device allowed, compose hashes removed: registration still succeeds."""
    for signature, argument in (("setRequireTcbUpToDate(bool)", True),
                                ("setAllowAnyDevice(bool)", False),
                                ("removeComposeHash(bytes32)", b"\x00" * 32),
                                ("removeDevice(bytes32)", b"\x00" * 32)):
        world.send(world.cluster, encode_function(signature, argument), sender=world.cluster_owner)
        observe.case()
        seen = world.register(world.fresh, world.proof_for(world.fresh, OWNER_KEY), persist=False)
        expect_registered(world, "AT-014", seen, f"boot gate {signature}")
