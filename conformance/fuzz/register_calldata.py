"""Fuzz target ``register_calldata``: ``dstack_register`` / ``operator_register`` inner calls
with their proof structs, decoded and verified by the reference proof verifier (PROTOCOL.md §4;
rules AT-001, AT-003, AT-005, AT-007, AT-008, AT-015, AT-016).

Input: one transform byte, then the inner call. The transform is structure the byte mutator
cannot reach on its own: 1, 2, 3 malleate the app, KMS or message signature to its high-s twin
(``r, n - s, v flipped``: same signer), anything else leaves the call as is.

Invariant: decoding raises only ``RegisterCallError`` and verifying only ``ProofError``; a proof
the verifier accepts passes an independent check of the chain on coincurve directly: every
signature 65 bytes, v 27/28, low s (AT-003), the KMS signer an allowed root (AT-007), the app
signer the app key's address (AT-005) and the message signer the derived key's (AT-008); an
accepted voucher is by an allowlisted signer, unexpired (AT-015, AT-016).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from coincurve import PublicKey
from eth_hash.auto import keccak

from conformance.fuzz.base import require, unique
from conformance.fuzz.dictionaries import CALLDATA_TOKENS
from conformance.fuzz.mutators import prefixed_calldata_mutator
from conformance.protocol.attestation import (
    DstackProof,
    OperatorProof,
    ProofError,
    RegisterCallError,
    app_message_digest,
    build_dstack_proof,
    build_operator_proof,
    decode_dstack_register,
    decode_operator_register,
    encode_dstack_register,
    encode_operator_register,
    kms_message_digest,
    verify_dstack_proof,
    verify_operator_proof,
)
from conformance.protocol.selectors import DSTACK_REGISTER, OPERATOR_REGISTER
from conformance.protocol.signatures import eip191_digest, key_pair, to_high_s

NAME = "register_calldata"
RULES = ("AT-001", "AT-003", "AT-005", "AT-007", "AT-008", "AT-015", "AT-016")
DICTIONARY = CALLDATA_TOKENS
MUTATOR = prefixed_calldata_mutator

CLUSTER = bytes.fromhex("c1" * 20)
"""The cluster every fuzzed registration is checked against."""
KMS_ROOTS = (key_pair(1).address,)
OPERATOR_SIGNERS = (key_pair(0x0BE7).address,)
NOW = 1_700_000_000
_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

VerifyDstack = Callable[..., bytes]
VERIFY_DSTACK: VerifyDstack = verify_dstack_proof
"""The dstack verifier under test (a planted bug replaces it)."""


def setup() -> None:
    """Nothing to prepare (pure Python)."""


def _malleate(proof: DstackProof, transform: int) -> DstackProof:
    name = {1: "app_signature", 2: "kms_signature", 3: "message_signature"}.get(transform)
    if name is None or len(getattr(proof, name)) != 65:
        return proof
    changes: dict[str, Any] = {name: to_high_s(getattr(proof, name))}
    return dataclasses.replace(proof, **changes)


def _signer(digest: bytes, sig: bytes, what: str) -> bytes:
    """coincurve's recovery of a signature §2 calls valid (AT-003), else a Finding."""
    require(len(sig) == 65, "AT-003", f"{what}: accepted a {len(sig)}-byte signature")
    s = int.from_bytes(sig[32:64], "big")
    require(s <= _N // 2, "AT-003", f"{what}: accepted a high-s signature")
    require(sig[64] in (27, 28), "AT-003", f"{what}: accepted v={sig[64]}")
    public = PublicKey.from_signature_and_message(sig[:64] + bytes([sig[64] - 27]), digest,
                                                  hasher=None)
    return keccak(public.format(compressed=False)[1:])[12:]


def _pub_address(pub: bytes) -> bytes:
    return keccak(PublicKey(pub).format(compressed=False)[1:])[12:]


def _check_dstack(proof: DstackProof, member: bytes, owner: bytes) -> None:
    app = _signer(app_message_digest(proof.purpose, proof.derived_compressed_pubkey),
                  proof.app_signature, "appSignature")
    require(app == _pub_address(proof.app_compressed_pubkey), "AT-005",
            "accepted an app signature not by the app key")
    kms = _signer(kms_message_digest(member, proof.app_compressed_pubkey), proof.kms_signature,
                  "kmsSignature")
    require(kms in KMS_ROOTS, "AT-007", "accepted a KMS signature not by an allowed root")
    derived = _signer(eip191_digest(proof.message_hash), proof.message_signature,
                      "messageSignature")
    require(derived == _pub_address(proof.derived_compressed_pubkey) == owner, "AT-008",
            "accepted a message signature not by the derived key")


def _dstack(call: bytes, transform: int) -> None:
    try:
        proof, member, x, wg = decode_dstack_register(call)
    except RegisterCallError:
        return
    proof = _malleate(proof, transform)
    try:
        owner = VERIFY_DSTACK(proof, cluster=CLUSTER, member=member, x_pub_key=x, wg_pub_key=wg,
                              allowed_kms_roots=KMS_ROOTS)
    except ProofError:
        return
    _check_dstack(proof, member, owner)


def _operator(call: bytes) -> None:
    try:
        proof, member, x, wg = decode_operator_register(call)
    except RegisterCallError:
        return
    try:
        verify_operator_proof(proof, cluster=CLUSTER, member=member, x=x, wg=wg,
                              allowed_signers=OPERATOR_SIGNERS, now=NOW)
    except ProofError:
        return
    require(proof.signer in OPERATOR_SIGNERS, "AT-015", "accepted a signer not allowlisted")
    require(proof.expiry >= NOW, "AT-016", "accepted an expired voucher")


def TestOneInput(data: bytes) -> None:  # noqa: N802 (libFuzzer's name)
    """Decode and verify the register call after the transform byte."""
    if not data:
        return
    transform, call = data[0], data[1:]
    if call[:4] == OPERATOR_REGISTER.selector:
        _operator(call)
    else:
        _dstack(call, transform)


def _dstack_call(derived: int, member: bytes, x: bytes) -> bytes:
    proof = build_dstack_proof(kms_private=1, app_private=2, derived_private=derived,
                               cluster=CLUSTER, member=member, x_pub_key=x, wg_pub_key=b"\x22" * 32)
    return encode_dstack_register(proof, member, x, b"\x22" * 32)


def _operator_call(member: bytes, expiry: int) -> bytes:
    proof: OperatorProof = build_operator_proof(
        signer_private=0x0BE7, cluster=CLUSTER, member=member, x=b"\x11" * 32, wg=b"\x22" * 32,
        owner_key=key_pair(0xA11CE).address, expiry=expiry)
    return encode_operator_register(proof, member, b"\x11" * 32, b"\x22" * 32)


def seeds(*, canonical_only: bool = False) -> list[bytes]:
    """Valid registrations (transform byte 0): dstack for a few keys and members, vouchers
    before and at expiry; with broken-link variants unless ``canonical_only``."""
    found = [b"\x00" + _dstack_call(k, bytes([k % 251 + 1]) * 20, bytes([k % 256]) * 32)
             for k in (0xB17D, 0xA11CE, 7, 9)]
    found += [b"\x00" + _operator_call(b"\x44" * 20, e) for e in (NOW, NOW + 3600)]
    if not canonical_only:
        found += [bytes([t]) + found[0][1:] for t in (1, 2, 3)]
        found += [b"\x00" + DSTACK_REGISTER.selector, b"\x00" + OPERATOR_REGISTER.selector]
    return unique(found)
