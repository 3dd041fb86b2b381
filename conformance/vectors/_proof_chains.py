"""``proof_chains.json``: dstack proofs and operator vouchers, valid and broken at each link (§4).

``input.operation``:

- ``dstack``: cluster, member, xPubKey, wgPubKey, allowedKmsRoots and ``proof`` (the eight
  DstackProof fields in ABI order) → ``valid``, ``owner`` (the derived key's address, installed
  as the member's owner), ``failure`` (the cluster's custom error: CodeIdMismatch,
  BindingMismatch, InvalidSigChain, InvalidPubKeyLength, PointNotOnCurve — the first in
  registration order), and helpers: ``bindingHash`` for this cluster, ``appMessageDigest``,
  ``kmsMessageDigest`` and ``registerCalldata`` (the inner ``dstack_register`` call).
- ``operator``: the parties, allowedSigners, ``now`` and ``proof`` (signer, ownerKey, expiry,
  signature) → ``valid``, ``owner``, ``failure`` (OperatorSignerNotAllowed, VoucherExpired,
  BindingMismatch), ``operatorBindingHash`` and ``registerCalldata``.

Keys are PROTOCOL.md §4's public test keys: 1 is the KMS root, 2 the app key, 0xB17D the
derived (binding) key. Provenance (NotOurMember) and AlreadyRegistered are chain state and are
not part of these vectors.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from conformance.protocol.attestation import (
    DstackProof,
    OperatorProof,
    ProofError,
    app_message_digest,
    binding_hash,
    build_dstack_proof,
    build_operator_proof,
    encode_dstack_register,
    encode_operator_register,
    kms_message_digest,
    operator_binding_hash,
    verify_dstack_proof,
    verify_operator_proof,
)
from conformance.protocol.hexutil import keccak
from conformance.protocol.signatures import (
    key_pair,
    sign_digest,
    sign_eip191,
    to_compact,
    to_high_s,
    with_v,
)
from conformance.vectors.model import (
    Case,
    Json,
    VectorInputError,
    hx,
    num,
    read_hex,
    read_hex_list,
    read_num,
    read_obj,
    read_str,
)

KMS, APP, DERIVED, OPERATOR_SIGNER = 1, 2, 0xB17D, 0x0B5E
CLUSTER = bytes(19) + b"\x0a"
MEMBER = bytes(19) + b"\x0b"
X, WG = b"\x11" * 32, b"\x22" * 32
OWNER = bytes(19) + b"\x0d"
NOT_AN_X = (5).to_bytes(32, "big")
"""5 is no x coordinate of secp256k1 (a 33-byte key with it is off the curve)."""

_VALID_RULES = ("AT-001", "AT-004", "AT-005", "AT-006", "AT-007", "AT-008", "AT-020")
_FIELDS = ("codeId", "messageHash", "messageSignature", "appSignature", "kmsSignature",
           "derivedCompressedPubkey", "appCompressedPubkey")


def _parties(inp: Mapping[str, Any]) -> tuple[bytes, bytes, bytes, bytes]:
    return (read_hex(inp, "cluster", size=20), read_hex(inp, "member", size=20),
            read_hex(inp, "xPubKey", size=32), read_hex(inp, "wgPubKey", size=32))


def _read_dstack(obj: Mapping[str, Any]) -> DstackProof:
    code_id, message_hash, message_sig, app_sig, kms_sig, derived, app = (
        read_hex(obj, key) for key in _FIELDS)
    return DstackProof(code_id, message_hash, message_sig, app_sig, kms_sig, derived, app,
                       read_str(obj, "purpose"))


def _eval_dstack(inp: Mapping[str, Any]) -> Json:
    cluster, member, x, wg = _parties(inp)
    proof = _read_dstack(read_obj(inp, "proof"))
    if len(proof.code_id) != 32 or len(proof.message_hash) != 32:
        raise VectorInputError("proof.codeId and proof.messageHash must be 32 bytes")
    try:
        owner: bytes | None = verify_dstack_proof(
            proof, cluster=cluster, member=member, x_pub_key=x, wg_pub_key=wg,
            allowed_kms_roots=read_hex_list(inp, "allowedKmsRoots"))
        failure = None
    except ProofError as exc:
        owner, failure = None, exc.kind.value
    return {
        "valid": failure is None, "owner": None if owner is None else hx(owner),
        "failure": failure, "bindingHash": hx(binding_hash(cluster, member, x, wg)),
        "appMessageDigest": hx(app_message_digest(proof.purpose, proof.derived_compressed_pubkey)),
        "kmsMessageDigest": hx(kms_message_digest(proof.code_id[:20], proof.app_compressed_pubkey)),
        "registerCalldata": hx(encode_dstack_register(proof, member, x, wg)),
    }


def _eval_operator(inp: Mapping[str, Any]) -> Json:
    cluster, member, x, wg = _parties(inp)
    obj = read_obj(inp, "proof")
    proof = OperatorProof(read_hex(obj, "signer", size=20), read_hex(obj, "ownerKey", size=20),
                          read_num(obj, "expiry"), read_hex(obj, "signature"))
    if not 0 <= proof.expiry < 1 << 64:
        raise VectorInputError("proof.expiry must fit in uint64")
    try:
        owner: bytes | None = verify_operator_proof(
            proof, cluster=cluster, member=member, x=x, wg=wg,
            allowed_signers=read_hex_list(inp, "allowedSigners"), now=read_num(inp, "now"))
        failure = None
    except ProofError as exc:
        owner, failure = None, exc.kind.value
    digest = operator_binding_hash(cluster, member, x, wg, proof.owner_key, proof.expiry)
    return {"valid": failure is None, "owner": None if owner is None else hx(owner),
            "failure": failure, "operatorBindingHash": hx(digest),
            "registerCalldata": hx(encode_operator_register(proof, member, x, wg))}


def evaluate(inp: Mapping[str, Any]) -> Json:
    """Verify the proof as the cluster's registration does (PROTOCOL.md §4)."""
    operation = read_str(inp, "operation")
    if operation == "dstack":
        return _eval_dstack(inp)
    if operation == "operator":
        return _eval_operator(inp)
    raise VectorInputError(f"operation={operation!r}: expected dstack or operator")


def _proof(**changes: Any) -> DstackProof:
    params: dict[str, Any] = dict(kms_private=KMS, app_private=APP, derived_private=DERIVED,
                                  cluster=CLUSTER, member=MEMBER, x_pub_key=X, wg_pub_key=WG)
    params.update(changes)
    return build_dstack_proof(**params)


def valid_register_call() -> bytes:
    """The inner ``dstack_register`` call of the valid §4 proof (used by calldata vectors)."""
    return encode_dstack_register(_proof(), MEMBER, X, WG)


def _dstack_case(name: str, text: str, rules: tuple[str, ...], proof: DstackProof,
                 roots: tuple[int, ...] = (KMS,)) -> Case:
    values = proof.as_abi_tuple()
    proof_json: Json = {key: hx(value) for key, value in zip(_FIELDS, values, strict=False)}
    proof_json["purpose"] = proof.purpose
    inp: Json = {"operation": "dstack", "cluster": hx(CLUSTER), "member": hx(MEMBER),
                 "xPubKey": hx(X), "wgPubKey": hx(WG),
                 "allowedKmsRoots": [hx(key_pair(k).address) for k in roots], "proof": proof_json}
    return Case(f"dstack-{name}", text, rules, inp)


def _valid_cases() -> list[Case]:
    derived, app = key_pair(DERIVED), key_pair(APP)
    return [
        _dstack_case("valid", "a valid chain with compressed keys (KMS 1, app 2, derived 0xB17D)",
                     _VALID_RULES, _proof()),
        _dstack_case("valid-64-byte-keys", "derived and app keys as 64-byte x ‖ y",
                     (*_VALID_RULES, "AT-009"),
                     _proof(derived_pubkey=derived.public_uncompressed[1:],
                            app_pubkey=app.public_uncompressed[1:])),
        _dstack_case("valid-65-byte-keys", "derived and app keys as 65-byte 0x04 ‖ x ‖ y",
                     (*_VALID_RULES, "AT-009"),
                     _proof(derived_pubkey=derived.public_uncompressed,
                            app_pubkey=app.public_uncompressed)),
        _dstack_case("valid-other-purpose", "purpose 'attestmesh-test': the label is opaque",
                     (*_VALID_RULES, "AT-013"), _proof(purpose="attestmesh-test")),
        _dstack_case("valid-two-roots", "two allowed KMS roots, the signing one second",
                     _VALID_RULES, _proof(), roots=(4, KMS)),
        _dstack_case("valid-other-keys", "KMS 0x1001, app 0x2002, derived 0x3003",
                     _VALID_RULES, _proof(kms_private=0x1001, app_private=0x2002,
                                          derived_private=0x3003), roots=(0x1001,)),
    ]


def _broken_gate_cases() -> list[Case]:
    good = _proof()
    wrong_low = MEMBER + bytes(11) + b"\x01"
    return [
        _dstack_case("codeid-right-aligned", "codeId = the member address right-aligned",
                     ("AT-002", "AC-029"), dataclasses.replace(good, code_id=bytes(12) + MEMBER)),
        _dstack_case("codeid-low-byte", "codeId with its last byte set", ("AT-002", "AC-029"),
                     dataclasses.replace(good, code_id=wrong_low)),
        _dstack_case("binding-other-cluster", "messageHash (and its signature) for cluster 0x..0c",
                     ("AT-011", "AC-030"), _proof(cluster=bytes(19) + b"\x0c")),
        _dstack_case("binding-keys-swapped", "messageHash over (wg, x) instead of (x, wg)",
                     ("AT-011", "AC-030"), _proof(x_pub_key=WG, wg_pub_key=X)),
        _dstack_case("codeid-and-binding", "codeId and messageHash both wrong: codeId is "
                     "checked first", ("AC-033", "AC-029"),
                     dataclasses.replace(_proof(cluster=bytes(19) + b"\x0c"), code_id=wrong_low)),
        _dstack_case("no-allowed-root", "no KMS root allowed", ("AT-007", "AC-031"), good,
                     roots=()),
    ]


def _broken_signature_cases() -> list[Case]:
    good = _proof()
    derived, app = good.derived_compressed_pubkey, good.app_compressed_pubkey
    app_digest = app_message_digest(good.purpose, derived)
    kms_digest = kms_message_digest(MEMBER, app)
    chain = "AC-031"

    def broken(field: str, value: bytes) -> DstackProof:
        changes: dict[str, Any] = {field: value}
        return dataclasses.replace(good, **changes)

    items = [
        ("app-sig-eip191", "appSignature over the EIP-191 digest instead of the raw hash",
         ("AT-004",), broken("app_signature", sign_eip191(APP, app_digest))),
        ("app-sig-upper-hex", "app message written with upper-case hex of the derived key",
         ("AT-004",), broken("app_signature", sign_digest(APP, keccak(
             b"ethereum:" + derived.hex().upper().encode())))),
        ("app-sig-0x-prefix", "app message with 0x before the derived key's hex", ("AT-004",),
         broken("app_signature", sign_digest(APP, keccak(
             b"ethereum:0x" + derived.hex().encode())))),
        ("app-sig-other-key", "appSignature by key 3, not the app key", ("AT-005",),
         broken("app_signature", sign_digest(3, app_digest))),
        ("app-sig-high-s", "appSignature in its high-s twin", ("AT-003",),
         broken("app_signature", to_high_s(good.app_signature))),
        ("kms-sig-other-root", "kmsSignature by key 4, not an allowed root", ("AT-007",),
         broken("kms_signature", sign_digest(4, kms_digest))),
        ("kms-sig-eip191", "kmsSignature over the EIP-191 digest", ("AT-006",),
         broken("kms_signature", sign_eip191(KMS, kms_digest))),
        ("kms-sig-other-encoding", "KMS signed the 65-byte app key, the proof carries 33 bytes",
         ("AT-006",), broken("kms_signature", sign_digest(KMS, kms_message_digest(
             MEMBER, key_pair(APP).public_uncompressed)))),
        ("kms-sig-32-byte-app-id", "KMS signed the 32-byte codeId, not the 20-byte app id",
         ("AT-006",), broken("kms_signature", sign_digest(KMS, keccak(
             b"dstack-kms-issued:" + good.code_id + app)))),
        ("kms-sig-compact", "kmsSignature in 64-byte EIP-2098 form", ("AT-003",),
         broken("kms_signature", to_compact(good.kms_signature))),
        ("message-sig-raw", "messageSignature over the raw messageHash, not EIP-191",
         ("AT-008",), broken("message_signature", sign_digest(DERIVED, good.message_hash))),
        ("message-sig-other-key", "messageSignature by key 5, not the derived key", ("AT-008",),
         broken("message_signature", sign_eip191(5, good.message_hash))),
        ("message-sig-v-0-1", "messageSignature with v 0/1 as dstack emits it (not normalised)",
         ("AT-003", "SC-020"), broken("message_signature", with_v(
             good.message_signature, good.message_signature[64] - 27))),
    ]
    return [_dstack_case(name, text, (*rules, chain), proof) for name, text, rules, proof in items]


def _broken_key_cases() -> list[Case]:
    derived, app = key_pair(DERIVED), key_pair(APP)
    items = [
        ("derived-key-32-bytes", "derivedCompressedPubkey of 32 bytes (signatures cover it)",
         ("AT-009",), _proof(derived_pubkey=derived.public_compressed[1:])),
        ("derived-key-off-curve", "derivedCompressedPubkey 0x02 ‖ 5: no curve point",
         ("AT-010",), _proof(derived_pubkey=b"\x02" + NOT_AN_X)),
        ("app-key-66-bytes", "appCompressedPubkey of 66 bytes (signatures cover it)",
         ("AT-009",), _proof(app_pubkey=app.public_uncompressed + b"\x00")),
        ("app-key-off-curve", "appCompressedPubkey 0x03 ‖ 5: no curve point", ("AT-010",),
         _proof(app_pubkey=b"\x03" + NOT_AN_X)),
    ]
    return [_dstack_case(name, text, (*rules, "AC-031"), proof)
            for name, text, rules, proof in items]


def _operator_case(name: str, text: str, rules: tuple[str, ...], proof: OperatorProof, *,
                   now: int, signers: tuple[int, ...] = (OPERATOR_SIGNER,)) -> Case:
    inp: Json = {"operation": "operator", "cluster": hx(CLUSTER), "member": hx(MEMBER),
                 "xPubKey": hx(X), "wgPubKey": hx(WG),
                 "allowedSigners": [hx(key_pair(k).address) for k in signers], "now": num(now),
                 "proof": {"signer": hx(proof.signer), "ownerKey": hx(proof.owner_key),
                           "expiry": num(proof.expiry), "signature": hx(proof.signature)}}
    return Case(f"operator-{name}", text, rules, inp)


def _operator_cases() -> list[Case]:
    def voucher(**changes: Any) -> OperatorProof:
        params: dict[str, Any] = dict(signer_private=OPERATOR_SIGNER, cluster=CLUSTER,
                                      member=MEMBER, x=X, wg=WG, owner_key=OWNER, expiry=1000)
        params.update(changes)
        return build_operator_proof(**params)

    good = voucher()
    digest = operator_binding_hash(CLUSTER, MEMBER, X, WG, OWNER, 1000)
    ok = ("AT-015", "AT-016", "AT-018", "AT-019")
    return [
        _operator_case("valid", "a valid voucher, now before expiry", ok, good, now=999),
        _operator_case("valid-at-expiry", "now equals expiry: still valid", ("AT-016",), good,
                       now=1000),
        _operator_case("expired", "now one second after expiry", ("AT-016",), good, now=1001),
        _operator_case("signer-not-allowed", "the signer is not on the operator allowlist",
                       ("AT-015",), good, now=999, signers=(0x0B5F,)),
        _operator_case("signature-other-key", "signed by another key than the named signer",
                       ("AT-018",),
                       dataclasses.replace(good, signature=sign_eip191(0x0B5F, digest)), now=999),
        _operator_case("signature-raw", "signed over the raw operator hash, not EIP-191",
                       ("AT-018",), dataclasses.replace(good, signature=sign_digest(
                           OPERATOR_SIGNER, digest)), now=999),
        _operator_case("other-cluster", "a voucher for cluster 0x..0c", ("AT-017", "AT-018"),
                       voucher(cluster=bytes(19) + b"\x0c"), now=999),
        _operator_case("owner-changed", "ownerKey changed after signing", ("AT-018", "AT-019"),
                       dataclasses.replace(good, owner_key=bytes(19) + b"\x0e"), now=999),
        _operator_case("expiry-max", "expiry 2^64 - 1 (a decimal string)", ok,
                       voucher(expiry=(1 << 64) - 1), now=1 << 62),
    ]


def cases() -> list[Case]:
    """Every proof_chains case: valid chains, then one break per link, then vouchers."""
    return [*_valid_cases(), *_broken_gate_cases(), *_broken_signature_cases(),
            *_broken_key_cases(), *_operator_cases()]
