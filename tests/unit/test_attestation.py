"""Attestation proofs: dstack chain and operator voucher (PROTOCOL.md §4).

Pinned against the §4 vectors, the public test keys, and independent recomputation with raw
eth-abi / eth-hash and eth-account (signatures recovered without the code under test).
"""

from __future__ import annotations

import dataclasses

import pytest
from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_hash.auto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.protocol.attestation import (
    DstackProof,
    OperatorProof,
    ProofError,
    ProofFailure,
    RegisterCallError,
    binding_hash,
    build_dstack_proof,
    build_operator_proof,
    decode_dstack_register,
    decode_operator_register,
    encode_dstack_register,
    encode_operator_register,
    member_id,
    operator_binding_hash,
    verify_dstack_proof,
    verify_operator_proof,
)
from conformance.protocol.signatures import key_pair, normalise_v, to_high_s, with_v

CLUSTER = bytes(19) + b"\x0a"
MEMBER = bytes(19) + b"\x0b"
OWNER = bytes(19) + b"\x0d"
X = b"\x11" * 32
WG = b"\x22" * 32

KMS_ROOT = bytes.fromhex("7E5F4552091A69125d5DfCb7b8C2659029395Bdf")  # private key 1
B17D = bytes.fromhex("a34e80f04240Af8A52604CEB5408B6eD5E50BB42")  # private key 0xB17D
APP_COMPRESSED = bytes.fromhex(
    "02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5"
)  # private key 2
P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F


def address_text(address: bytes) -> str:
    return "0x" + address.hex()


def recover_raw(digest: bytes, sig: bytes) -> bytes:
    """eth-account's recovery of a raw-digest signature, as bytes."""
    return bytes.fromhex(Account._recover_hash(digest, signature=sig)[2:])


def off_curve_x() -> int:
    x = 1
    while pow((x**3 + 7) % P, (P - 1) // 2, P) == 1:
        x += 1
    return x


def build(**overrides: object) -> DstackProof:
    args: dict[str, object] = {
        "kms_private": 1,
        "app_private": 2,
        "derived_private": 0xB17D,
        "cluster": CLUSTER,
        "member": MEMBER,
        "x_pub_key": X,
        "wg_pub_key": WG,
    }
    args.update(overrides)
    return build_dstack_proof(**args)  # type: ignore[arg-type]


def verify(proof: DstackProof, **overrides: object) -> bytes:
    args: dict[str, object] = {
        "cluster": CLUSTER,
        "member": MEMBER,
        "x_pub_key": X,
        "wg_pub_key": WG,
        "allowed_kms_roots": {KMS_ROOT},
    }
    args.update(overrides)
    return verify_dstack_proof(proof, **args)  # type: ignore[arg-type]


def failure(proof: DstackProof, **overrides: object) -> ProofFailure:
    with pytest.raises(ProofError) as info:
        verify(proof, **overrides)
    return info.value.kind


# --- hashes -------------------------------------------------------------------------------


def test_binding_hash_vector_and_independent_recomputation() -> None:
    expected = bytes.fromhex("2de4c55a4fed77e1a8b1423735d699b594f71eca394ed97a14293b0a61b37d84")
    assert binding_hash(CLUSTER, MEMBER, X, WG) == expected
    preimage = encode(
        ["string", "address", "address", "bytes32", "bytes32"],
        ["attestmesh.bind.v1", "0x" + CLUSTER.hex(), "0x" + MEMBER.hex(), X, WG],
    )
    assert len(preimage) == 224
    assert keccak(preimage) == expected


def test_binding_hash_depends_on_every_input() -> None:
    base = binding_hash(CLUSTER, MEMBER, X, WG)
    assert binding_hash(MEMBER, CLUSTER, X, WG) != base
    assert binding_hash(CLUSTER, MEMBER, WG, X) != base
    assert binding_hash(CLUSTER, OWNER, X, WG) != base


def test_operator_binding_hash_vector() -> None:
    expected = bytes.fromhex("07676eaf539da47f4192973b1183aadfe5284aca19cf536153de084bea91ab2f")
    assert operator_binding_hash(CLUSTER, MEMBER, X, WG, OWNER, 1000) == expected
    preimage = encode(
        ["string", "address", "address", "bytes32", "bytes32", "address", "uint64"],
        ["attestmesh.operator.bind.v1", CLUSTER, MEMBER, X, WG, OWNER, 1000],
    )
    assert keccak(preimage) == expected


def test_member_id_independent_recomputation() -> None:
    attestor = keccak(b"attestmesh.attestor.dstack")
    expected = keccak(encode(["address", "address", "bytes32"], [CLUSTER, MEMBER, attestor]))
    assert member_id(CLUSTER, MEMBER) == expected
    assert member_id(MEMBER, CLUSTER) != expected


def test_public_test_keys() -> None:
    assert key_pair(1).address == KMS_ROOT
    assert key_pair(2).public_compressed == APP_COMPRESSED
    assert key_pair(0xB17D).address == B17D


# --- the valid chain ----------------------------------------------------------------------


def test_valid_chain_verifies_to_the_binding_key() -> None:
    assert verify(build()) == B17D


def test_built_chain_checked_with_eth_account() -> None:
    """Each link of the built proof, recovered by eth-account from the §4 preimages."""
    proof = build()
    derived = key_pair(0xB17D).public_compressed
    assert proof.code_id == MEMBER + bytes(12)
    assert proof.message_hash == bytes.fromhex(
        "2de4c55a4fed77e1a8b1423735d699b594f71eca394ed97a14293b0a61b37d84"
    )
    assert proof.derived_compressed_pubkey == derived
    assert proof.app_compressed_pubkey == APP_COMPRESSED
    assert proof.purpose == "ethereum"
    app_digest = keccak(b"ethereum:" + derived.hex().encode())
    assert recover_raw(app_digest, proof.app_signature) == key_pair(2).address
    kms_digest = keccak(b"dstack-kms-issued:" + MEMBER + APP_COMPRESSED)
    assert recover_raw(kms_digest, proof.kms_signature) == KMS_ROOT
    message = encode_defunct(primitive=proof.message_hash)
    recovered = Account.recover_message(message, signature=proof.message_signature)
    assert recovered.lower() == address_text(B17D)
    for sig in (proof.app_signature, proof.kms_signature, proof.message_signature):
        assert len(sig) == 65 and sig[64] in (27, 28)


@pytest.mark.parametrize("encoding", ["compressed", "xy64", "uncompressed65"])
def test_every_public_key_encoding_is_accepted(encoding: str) -> None:
    def encoded(private: int) -> bytes:
        pair = key_pair(private)
        return {
            "compressed": pair.public_compressed,
            "xy64": pair.public_uncompressed[1:],
            "uncompressed65": pair.public_uncompressed,
        }[encoding]

    proof = build(derived_pubkey=encoded(0xB17D), app_pubkey=encoded(2))
    assert verify(proof) == B17D


def test_purpose_is_opaque() -> None:
    assert verify(build(purpose="attestmesh-custom")) == B17D


@settings(max_examples=15, deadline=None)
@given(
    kms=st.integers(min_value=1, max_value=2**64),
    app=st.integers(min_value=1, max_value=2**64),
    derived=st.integers(min_value=1, max_value=2**64),
    cluster=st.binary(min_size=20, max_size=20),
    member=st.binary(min_size=20, max_size=20),
)
def test_any_keys_build_a_verifying_chain(
    kms: int, app: int, derived: int, cluster: bytes, member: bytes
) -> None:
    proof = build(
        kms_private=kms, app_private=app, derived_private=derived, cluster=cluster, member=member
    )
    owner = verify(proof, cluster=cluster, member=member, allowed_kms_roots=[key_pair(kms).address])
    assert owner == key_pair(derived).address


# --- each broken link ---------------------------------------------------------------------


def test_wrong_kms_root() -> None:
    assert failure(build(), allowed_kms_roots={key_pair(3).address}) == "InvalidSigChain"
    assert failure(build(kms_private=5)) == ProofFailure.INVALID_SIG_CHAIN
    assert failure(build(), allowed_kms_roots=set()) == ProofFailure.INVALID_SIG_CHAIN


def test_wrong_purpose() -> None:
    proof = dataclasses.replace(build(), purpose="ethereum2")
    assert failure(proof) == ProofFailure.INVALID_SIG_CHAIN


def test_app_key_not_the_app_signer() -> None:
    proof = dataclasses.replace(build(), app_signature=build(app_private=4).app_signature)
    assert failure(proof) == ProofFailure.INVALID_SIG_CHAIN


def test_message_signed_by_another_key() -> None:
    other = build(derived_private=0xB17E)
    proof = dataclasses.replace(build(), message_signature=other.message_signature)
    assert failure(proof) == ProofFailure.INVALID_SIG_CHAIN


@pytest.mark.parametrize(
    "code_id",
    [MEMBER + bytes(11) + b"\x01", MEMBER + b"\x80" + bytes(11), OWNER + bytes(12), bytes(32)],
    ids=["low-bit-set", "byte-20-set", "other-member", "zero"],
)
def test_code_id_mismatch(code_id: bytes) -> None:
    proof = dataclasses.replace(build(), code_id=code_id)
    assert failure(proof) == ProofFailure.CODE_ID_MISMATCH


def test_code_id_is_checked_before_the_binding() -> None:
    proof = dataclasses.replace(build(), code_id=OWNER + bytes(12), message_hash=bytes(32))
    assert failure(proof) == ProofFailure.CODE_ID_MISMATCH


def test_message_hash_for_another_cluster() -> None:
    proof = build(cluster=OWNER)
    assert failure(proof) == ProofFailure.BINDING_MISMATCH
    assert verify(proof, cluster=OWNER) == B17D
    assert failure(build(), x_pub_key=WG) == ProofFailure.BINDING_MISMATCH


@pytest.mark.parametrize("length", [0, 32, 34, 63, 66])
def test_bad_derived_pubkey_length(length: int) -> None:
    proof = build(derived_pubkey=b"\x02" * length)
    assert failure(proof) == ProofFailure.INVALID_PUBKEY_LENGTH


@pytest.mark.parametrize("length", [0, 20, 34])
def test_bad_app_pubkey_length(length: int) -> None:
    proof = build(app_pubkey=b"\x03" * length)
    assert failure(proof) == ProofFailure.INVALID_PUBKEY_LENGTH


def test_off_curve_compressed_keys() -> None:
    off = b"\x02" + off_curve_x().to_bytes(32, "big")
    assert failure(build(derived_pubkey=off)) == ProofFailure.POINT_NOT_ON_CURVE
    assert failure(build(app_pubkey=off)) == ProofFailure.POINT_NOT_ON_CURVE


def test_kms_failure_comes_before_a_bad_app_key() -> None:
    """The cluster checks the KMS link before it reads the app key (§4 chain order)."""
    proof = build(app_pubkey=b"\x03" * 20)
    assert failure(proof, allowed_kms_roots=set()) == ProofFailure.INVALID_SIG_CHAIN


@pytest.mark.parametrize("field", ["message_signature", "app_signature", "kms_signature"])
@pytest.mark.parametrize("damage", ["v-parity", "high-s", "compact", "empty"])
def test_malformed_signatures_break_the_chain(field: str, damage: str) -> None:
    proof = build()
    sig: bytes = getattr(proof, field)
    broken = {
        "v-parity": with_v(sig, sig[64] - 27),
        "high-s": to_high_s(sig),
        "compact": sig[:64],
        "empty": b"",
    }[damage]
    damaged = dataclasses.replace(proof, **{field: broken})  # type: ignore[arg-type]
    assert failure(damaged) == "InvalidSigChain"


def test_dstack_v_parity_normalised_verifies() -> None:
    proof = build()
    raw = dataclasses.replace(proof, message_signature=with_v(proof.message_signature, 0))
    assert failure(raw) == ProofFailure.INVALID_SIG_CHAIN
    parity = proof.message_signature[64] - 27
    dstack = dataclasses.replace(proof, message_signature=with_v(proof.message_signature, parity))
    assert failure(dstack) == ProofFailure.INVALID_SIG_CHAIN
    fixed = dataclasses.replace(dstack, message_signature=normalise_v(dstack.message_signature))
    assert fixed == proof
    assert verify(fixed) == B17D


# --- register calldata --------------------------------------------------------------------


def test_dstack_register_round_trip_and_selector() -> None:
    proof = build()
    data = encode_dstack_register(proof, MEMBER, X, WG)
    assert data[:4] == bytes.fromhex("537d491c")
    assert data[4:] == encode(
        ["(bytes32,bytes32,bytes,bytes,bytes,bytes,bytes,string)", "address", "bytes32", "bytes32"],
        [proof.as_abi_tuple(), MEMBER, X, WG],
    )
    assert data[4 + 32 : 4 + 64] == MEMBER.rjust(32, b"\x00")
    assert decode_dstack_register(data) == (proof, MEMBER, X, WG)


def _bad_register_data() -> dict[str, bytes]:
    data = encode_dstack_register(build(), MEMBER, X, WG)
    offset_plus_32 = data[:4] + (0x100).to_bytes(32, "big") + data[36:]
    return {
        "short": data[:3],
        "selector": bytes.fromhex("e143887b") + data[4:],
        "truncated": data[:-1],
        "trailing": data + b"\x00" * 32,
        "dirty-address": data[: 4 + 32] + b"\x01" + data[4 + 33 :],
        "offset": offset_plus_32,
        "empty-args": data[:4],
    }


@pytest.mark.parametrize("case", list(_bad_register_data()))
def test_decode_dstack_register_is_strict(case: str) -> None:
    with pytest.raises(RegisterCallError):
        decode_dstack_register(_bad_register_data()[case])


def test_decode_rejects_non_utf8_purpose() -> None:
    data = encode_dstack_register(build(purpose="zz"), MEMBER, X, WG)
    bad = data.replace(b"zz" + bytes(30), b"\xff\xfe" + bytes(30))
    assert bad != data
    with pytest.raises(RegisterCallError):
        decode_dstack_register(bad)


# --- operator voucher ---------------------------------------------------------------------

OP_SIGNER = 0xC0DE


def build_op(**overrides: object) -> OperatorProof:
    args: dict[str, object] = {
        "signer_private": OP_SIGNER,
        "cluster": CLUSTER,
        "member": MEMBER,
        "x": X,
        "wg": WG,
        "owner_key": OWNER,
        "expiry": 1000,
    }
    args.update(overrides)
    return build_operator_proof(**args)  # type: ignore[arg-type]


def verify_op(proof: OperatorProof, **overrides: object) -> bytes:
    args: dict[str, object] = {
        "cluster": CLUSTER,
        "member": MEMBER,
        "x": X,
        "wg": WG,
        "allowed_signers": [key_pair(OP_SIGNER).address],
        "now": 999,
    }
    args.update(overrides)
    return verify_operator_proof(proof, **args)  # type: ignore[arg-type]


def op_failure(proof: OperatorProof, **overrides: object) -> ProofFailure:
    with pytest.raises(ProofError) as info:
        verify_op(proof, **overrides)
    return info.value.kind


def test_operator_proof_signature_checked_with_eth_account() -> None:
    proof = build_op()
    vector = bytes.fromhex("07676eaf539da47f4192973b1183aadfe5284aca19cf536153de084bea91ab2f")
    recovered = Account.recover_message(encode_defunct(primitive=vector), signature=proof.signature)
    assert recovered.lower() == address_text(key_pair(OP_SIGNER).address)
    assert proof.signer == key_pair(OP_SIGNER).address
    assert (proof.owner_key, proof.expiry) == (OWNER, 1000)


def test_operator_proof_verifies_until_expiry_inclusive() -> None:
    assert verify_op(build_op()) == OWNER
    assert verify_op(build_op(), now=1000) == OWNER
    assert op_failure(build_op(), now=1001) == ProofFailure.VOUCHER_EXPIRED


def test_operator_failures() -> None:
    assert op_failure(build_op(), allowed_signers=[KMS_ROOT]) == "OperatorSignerNotAllowed"
    assert op_failure(build_op(cluster=OWNER)) == ProofFailure.BINDING_MISMATCH
    other_owner = dataclasses.replace(build_op(), owner_key=CLUSTER)
    assert op_failure(other_owner) == ProofFailure.BINDING_MISMATCH
    longer = dataclasses.replace(build_op(), expiry=2000)
    assert op_failure(longer) == ProofFailure.BINDING_MISMATCH
    high_s = dataclasses.replace(build_op(), signature=to_high_s(build_op().signature))
    assert op_failure(high_s) == ProofFailure.BINDING_MISMATCH
    impostor = dataclasses.replace(build_op(signer_private=7), signer=key_pair(OP_SIGNER).address)
    assert op_failure(impostor) == ProofFailure.BINDING_MISMATCH


def test_operator_signer_checked_before_expiry() -> None:
    assert op_failure(build_op(), allowed_signers=[], now=5000) == "OperatorSignerNotAllowed"


def test_operator_register_round_trip_and_selector() -> None:
    proof = build_op()
    data = encode_operator_register(proof, MEMBER, X, WG)
    assert data[:4] == bytes.fromhex("57977c40")
    assert decode_operator_register(data) == (proof, MEMBER, X, WG)
    with pytest.raises(RegisterCallError):
        decode_operator_register(encode_dstack_register(build(), MEMBER, X, WG))
