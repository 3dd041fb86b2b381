"""Attestation proofs: the dstack KMS signature chain and the operator voucher (PROTOCOL.md §4).

``verify_dstack_proof`` and ``verify_operator_proof`` are the suite's *reference verifiers*:
they take what the cluster's registration takes, in the cluster's order, and name the failure
by the cluster's custom error. Membership (NotOurMember) and AlreadyRegistered are chain state
and are left to the caller.

Signatures are strict (§2: 65 bytes, v 27/28, low s). A malformed signature anywhere in the
dstack chain is reported as INVALID_SIG_CHAIN (on chain, OpenZeppelin ``ECDSA.recover`` reverts
with its own ``ECDSAInvalidSignature*`` errors there instead); in the operator voucher it is
BINDING_MISMATCH.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from eth_abi import decode, encode
from eth_abi.exceptions import DecodingError

from conformance.protocol.hexutil import keccak, parse_address
from conformance.protocol.selectors import (
    DSTACK_PROOF_TUPLE,
    DSTACK_REGISTER,
    OPERATOR_PROOF_TUPLE,
    OPERATOR_REGISTER,
)
from conformance.protocol.signatures import (
    PublicKeyError,
    address_of_public_key,
    key_pair,
    recover_digest,
    recover_eip191,
    sign_digest,
    sign_eip191,
)

BIND_DOMAIN = "attestmesh.bind.v1"
"""Domain string of the dstack binding hash (PROTOCOL.md §4)."""

OPERATOR_BIND_DOMAIN = "attestmesh.operator.bind.v1"
"""Domain string of the operator voucher hash (PROTOCOL.md §4, multi-attestor)."""

DSTACK_ATTESTOR_ID = keccak(b"attestmesh.attestor.dstack")
"""keccak256("attestmesh.attestor.dstack"), the attestor id in memberId (PROTOCOL.md §4)."""

KMS_ISSUED_PREFIX = b"dstack-kms-issued:"
"""Prefix of the message a KMS root signs over an app key (PROTOCOL.md §4, chain step 2)."""

DEFAULT_PURPOSE = "ethereum"
"""The live purpose label (opaque to verifiers, PROTOCOL.md §4)."""

_REGISTER_TAIL = ["address", "bytes32", "bytes32"]


class ProofFailure(StrEnum):
    """Why a registration proof is refused; values are the cluster's custom error names (§4)."""

    CODE_ID_MISMATCH = "CodeIdMismatch"
    BINDING_MISMATCH = "BindingMismatch"
    INVALID_SIG_CHAIN = "InvalidSigChain"
    INVALID_PUBKEY_LENGTH = "InvalidPubKeyLength"
    POINT_NOT_ON_CURVE = "PointNotOnCurve"
    SIGNER_NOT_ALLOWED = "OperatorSignerNotAllowed"
    VOUCHER_EXPIRED = "VoucherExpired"


class ProofError(ValueError):
    """A proof the cluster must refuse; ``kind`` is the failure in registration order (§4)."""

    def __init__(self, kind: ProofFailure, detail: str) -> None:
        super().__init__(f"{kind.value}: {detail}")
        self.kind = kind


class RegisterCallError(ValueError):
    """Register calldata that is not the canonical ABI encoding of the expected call (§3)."""


@dataclass(frozen=True)
class DstackProof:
    """The DstackProof struct, fields in ABI order (PROTOCOL.md §4)."""

    code_id: bytes
    message_hash: bytes
    message_signature: bytes
    app_signature: bytes
    kms_signature: bytes
    derived_compressed_pubkey: bytes
    app_compressed_pubkey: bytes
    purpose: str

    def as_abi_tuple(self) -> tuple[Any, ...]:
        """The fields as an eth-abi value of ``DSTACK_PROOF_TUPLE``."""
        return (
            self.code_id,
            self.message_hash,
            self.message_signature,
            self.app_signature,
            self.kms_signature,
            self.derived_compressed_pubkey,
            self.app_compressed_pubkey,
            self.purpose,
        )


@dataclass(frozen=True)
class OperatorProof:
    """The OperatorProof struct, fields in ABI order (PROTOCOL.md §4, multi-attestor)."""

    signer: bytes
    owner_key: bytes
    expiry: int
    signature: bytes

    def as_abi_tuple(self) -> tuple[Any, ...]:
        """The fields as an eth-abi value of ``OPERATOR_PROOF_TUPLE``."""
        return (self.signer, self.owner_key, self.expiry, self.signature)


def code_id_of(member: bytes) -> bytes:
    """codeId of a member: its 20-byte address left-aligned in bytes32 (PROTOCOL.md §4)."""
    return member + b"\x00" * 12


def binding_hash(cluster: bytes, member: bytes, x_pub_key: bytes, wg_pub_key: bytes) -> bytes:
    """keccak256(abi.encode("attestmesh.bind.v1", cluster, member, xPubKey, wgPubKey)) (§4)."""
    return keccak(
        encode(
            ["string", "address", "address", "bytes32", "bytes32"],
            [BIND_DOMAIN, cluster, member, x_pub_key, wg_pub_key],
        )
    )


def member_id(cluster: bytes, member: bytes) -> bytes:
    """keccak256(abi.encode(cluster, member, keccak256("attestmesh.attestor.dstack"))) (§4)."""
    return keccak(encode(["address", "address", "bytes32"], [cluster, member, DSTACK_ATTESTOR_ID]))


def app_message_digest(purpose: str, derived_pubkey: bytes) -> bytes:
    """Chain step 1 digest: raw keccak256(purpose ‖ ":" ‖ lowercase hex of the derived key)."""
    return keccak(purpose.encode("utf-8") + b":" + derived_pubkey.hex().encode("ascii"))


def kms_message_digest(app_id: bytes, app_pubkey: bytes) -> bytes:
    """Chain step 2 digest: raw keccak256("dstack-kms-issued:" ‖ app_id (20 B) ‖ app key)."""
    return keccak(KMS_ISSUED_PREFIX + app_id + app_pubkey)


def build_dstack_proof(
    *,
    kms_private: int,
    app_private: int,
    derived_private: int,
    cluster: bytes,
    member: bytes,
    x_pub_key: bytes,
    wg_pub_key: bytes,
    purpose: str = DEFAULT_PURPOSE,
    derived_pubkey: bytes | None = None,
    app_pubkey: bytes | None = None,
) -> DstackProof:
    """A valid dstack proof for (cluster, member, keys) (PROTOCOL.md §4).

    ``derived_pubkey`` / ``app_pubkey`` override the key encodings carried in the proof
    (default 33-byte compressed); the signatures cover the bytes as given.
    """
    derived = derived_pubkey
    if derived is None:
        derived = key_pair(derived_private).public_compressed
    app = app_pubkey if app_pubkey is not None else key_pair(app_private).public_compressed
    message_hash = binding_hash(cluster, member, x_pub_key, wg_pub_key)
    return DstackProof(
        code_id=code_id_of(member),
        message_hash=message_hash,
        message_signature=sign_eip191(derived_private, message_hash),
        app_signature=sign_digest(app_private, app_message_digest(purpose, derived)),
        kms_signature=sign_digest(kms_private, kms_message_digest(member, app)),
        derived_compressed_pubkey=derived,
        app_compressed_pubkey=app,
        purpose=purpose,
    )


def _pubkey_address(pub: bytes, which: str) -> bytes:
    try:
        return address_of_public_key(pub)
    except PublicKeyError as exc:
        raise ProofError(ProofFailure(exc.kind.value), f"{which}: {exc}") from exc


def _verify_chain(proof: DstackProof, allowed_kms_roots: Collection[bytes]) -> bytes:
    """The signature chain in the cluster's order (app, KMS, derived key, message, app key)."""
    chain = ProofFailure.INVALID_SIG_CHAIN
    app_digest = app_message_digest(proof.purpose, proof.derived_compressed_pubkey)
    recovered_app = recover_digest(app_digest, proof.app_signature)
    if recovered_app is None:
        raise ProofError(chain, "appSignature is not a valid signature")
    kms_digest = kms_message_digest(proof.code_id[:20], proof.app_compressed_pubkey)
    kms_signer = recover_digest(kms_digest, proof.kms_signature)
    if kms_signer is None or kms_signer not in {bytes(a) for a in allowed_kms_roots}:
        raise ProofError(chain, "kmsSignature is not by an allowed KMS root")
    derived = _pubkey_address(proof.derived_compressed_pubkey, "derivedCompressedPubkey")
    if recover_eip191(proof.message_hash, proof.message_signature) != derived:
        raise ProofError(chain, "messageSignature is not by the derived key")
    if _pubkey_address(proof.app_compressed_pubkey, "appCompressedPubkey") != recovered_app:
        raise ProofError(chain, "appSignature is not by the app key")
    return derived


def verify_dstack_proof(
    proof: DstackProof,
    *,
    cluster: bytes,
    member: bytes,
    x_pub_key: bytes,
    wg_pub_key: bytes,
    allowed_kms_roots: Collection[bytes],
) -> bytes:
    """The owner the cluster installs for ``proof`` (the derived key's address), or ProofError.

    Order as registration (PROTOCOL.md §4): codeId == member left-aligned (a codeId with any
    of its low 12 bytes set can never equal it: CODE_ID_MISMATCH); messageHash == the binding
    hash for *this* cluster; then the chain. Public keys: 33/64/65-byte encodings.
    """
    if proof.code_id != code_id_of(member):
        raise ProofError(ProofFailure.CODE_ID_MISMATCH, "codeId is not the member left-aligned")
    if proof.message_hash != binding_hash(cluster, member, x_pub_key, wg_pub_key):
        raise ProofError(ProofFailure.BINDING_MISMATCH, "messageHash is not this binding")
    return _verify_chain(proof, allowed_kms_roots)


def operator_binding_hash(
    cluster: bytes, member: bytes, x: bytes, wg: bytes, owner_key: bytes, expiry: int
) -> bytes:
    """keccak256(abi.encode("attestmesh.operator.bind.v1", cluster, member, x, wg, ownerKey,
    uint64 expiry)) (PROTOCOL.md §4, multi-attestor)."""
    return keccak(
        encode(
            ["string", "address", "address", "bytes32", "bytes32", "address", "uint64"],
            [OPERATOR_BIND_DOMAIN, cluster, member, x, wg, owner_key, expiry],
        )
    )


def build_operator_proof(
    *,
    signer_private: int,
    cluster: bytes,
    member: bytes,
    x: bytes,
    wg: bytes,
    owner_key: bytes,
    expiry: int,
) -> OperatorProof:
    """A valid operator voucher: the signer's EIP-191 signature over the operator hash (§4)."""
    digest = operator_binding_hash(cluster, member, x, wg, owner_key, expiry)
    return OperatorProof(
        signer=key_pair(signer_private).address,
        owner_key=owner_key,
        expiry=expiry,
        signature=sign_eip191(signer_private, digest),
    )


def verify_operator_proof(
    proof: OperatorProof,
    *,
    cluster: bytes,
    member: bytes,
    x: bytes,
    wg: bytes,
    allowed_signers: Collection[bytes],
    now: int,
) -> bytes:
    """The owner (``proof.owner_key``) the cluster installs, or ProofError (§4).

    Order as ``operator_register``: signer allowlisted; ``now <= expiry`` (equal is valid);
    the signature over the operator hash recovers to the signer.
    """
    if proof.signer not in {bytes(a) for a in allowed_signers}:
        raise ProofError(ProofFailure.SIGNER_NOT_ALLOWED, "signer is not an operator signer")
    if now > proof.expiry:
        raise ProofError(ProofFailure.VOUCHER_EXPIRED, f"expiry {proof.expiry} < now {now}")
    digest = operator_binding_hash(cluster, member, x, wg, proof.owner_key, proof.expiry)
    if recover_eip191(digest, proof.signature) != proof.signer:
        raise ProofError(ProofFailure.BINDING_MISMATCH, "signature is not by signer")
    return proof.owner_key


def encode_dstack_register(proof: DstackProof, member: bytes, x: bytes, wg: bytes) -> bytes:
    """Inner calldata ``dstack_register(proof, member, xPubKey, wgPubKey)`` (§1, §3)."""
    values = [proof.as_abi_tuple(), member, x, wg]
    return DSTACK_REGISTER.selector + encode([DSTACK_PROOF_TUPLE, *_REGISTER_TAIL], values)


def encode_operator_register(proof: OperatorProof, member: bytes, x: bytes, wg: bytes) -> bytes:
    """Inner calldata ``operator_register(proof, member, xPubKey, wgPubKey)`` (§1, §4)."""
    values = [proof.as_abi_tuple(), member, x, wg]
    return OPERATOR_REGISTER.selector + encode([OPERATOR_PROOF_TUPLE, *_REGISTER_TAIL], values)


def _decode_call(selector: bytes, proof_type: str, data: bytes) -> tuple[Any, ...]:
    """Strictly decode ``selector ‖ abi.encode(proof, address, bytes32, bytes32)``."""
    if data[:4] != selector:
        raise RegisterCallError(f"selector=0x{data[:4].hex()}: expected 0x{selector.hex()}")
    types = [proof_type, *_REGISTER_TAIL]
    try:
        values = decode(types, data[4:])
    except (DecodingError, UnicodeDecodeError, ValueError, OverflowError) as exc:
        raise RegisterCallError(f"not an ABI encoding of {proof_type}: {exc}") from exc
    if encode(types, list(values)) != data[4:]:
        raise RegisterCallError("non-canonical ABI encoding (offsets, padding or trailing bytes)")
    return values


def decode_dstack_register(data: bytes) -> tuple[DstackProof, bytes, bytes, bytes]:
    """(proof, member, xPubKey, wgPubKey) of canonical ``dstack_register`` calldata, else
    RegisterCallError (wrong selector, bad or non-canonical encoding, non-UTF-8 purpose)."""
    fields, member, x, wg = _decode_call(DSTACK_REGISTER.selector, DSTACK_PROOF_TUPLE, data)
    return DstackProof(*fields), parse_address(member), x, wg


def decode_operator_register(data: bytes) -> tuple[OperatorProof, bytes, bytes, bytes]:
    """(proof, member, xPubKey, wgPubKey) of canonical ``operator_register`` calldata."""
    fields, member, x, wg = _decode_call(OPERATOR_REGISTER.selector, OPERATOR_PROOF_TUPLE, data)
    signer, owner_key, expiry, signature = fields
    proof = OperatorProof(parse_address(signer), parse_address(owner_key), expiry, signature)
    return proof, parse_address(member), x, wg
