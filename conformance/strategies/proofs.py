"""Attestation proofs with everything needed to verify them (PROTOCOL.md §4).

``dstack_proofs`` and ``operator_proofs`` draw valid registrations; ``broken_dstack_proofs``
and ``broken_operator_proofs`` break exactly one link, labelled with the ``ProofFailure`` the
reference verifier (``verify_dstack_proof`` / ``verify_operator_proof``) must raise.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import Any

from coincurve import PublicKey
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from conformance.protocol.attestation import (
    DEFAULT_PURPOSE,
    DstackProof,
    ProofFailure,
    build_dstack_proof,
    code_id_of,
    encode_dstack_register,
    verify_dstack_proof,
)
from conformance.protocol.signatures import SECP256K1_P, key_pair, to_high_s, with_v
from conformance.strategies._validation import check_kinds, check_strategy, composite_named
from conformance.strategies.keys import addresses, distinct_private_keys, private_keys
from conformance.strategies.labels import PROOF_LABELS, Malformed, ProofFlaw

KEY_LENGTHS = (33, 64, 65)
"""Public key encodings a proof may carry: compressed, x ‖ y, 0x04 ‖ x ‖ y (§4)."""


@dataclass(frozen=True)
class DstackProofCase:
    """A DstackProof and the registration it is checked against (PROTOCOL.md §4)."""

    proof: DstackProof
    cluster: bytes
    member: bytes
    x_pub_key: bytes
    wg_pub_key: bytes
    allowed_kms_roots: tuple[bytes, ...]
    owner: bytes
    """The derived key's address: the owner a valid registration installs (AT-020)."""

    def verify(self) -> bytes:
        """``verify_dstack_proof`` of this case: the owner, or ProofError."""
        return verify_dstack_proof(
            self.proof,
            cluster=self.cluster,
            member=self.member,
            x_pub_key=self.x_pub_key,
            wg_pub_key=self.wg_pub_key,
            allowed_kms_roots=self.allowed_kms_roots,
        )

    def register_calldata(self) -> bytes:
        """Inner ``dstack_register(proof, member, xPubKey, wgPubKey)`` calldata."""
        return encode_dstack_register(self.proof, self.member, self.x_pub_key, self.wg_pub_key)


@dataclass(frozen=True)
class _Parts:
    """What a proof is built from: keys, encodings, the registration, the allowed roots."""

    kms: int
    app: int
    derived: int
    cluster: bytes
    member: bytes
    x: bytes
    wg: bytes
    purpose: str
    derived_length: int
    app_length: int
    other_roots: tuple[bytes, ...]

    def build(self, **overrides: object) -> DstackProof:
        """A proof of these parts (``build_dstack_proof``), with keyword overrides."""
        arguments: dict[str, object] = {
            "kms_private": self.kms,
            "app_private": self.app,
            "derived_private": self.derived,
            "cluster": self.cluster,
            "member": self.member,
            "x_pub_key": self.x,
            "wg_pub_key": self.wg,
            "purpose": self.purpose,
            "derived_pubkey": encode_public_key(self.derived, self.derived_length),
            "app_pubkey": encode_public_key(self.app, self.app_length),
        }
        arguments.update(overrides)
        return build_dstack_proof(**arguments)  # type: ignore[arg-type]

    def case(self, proof: DstackProof) -> DstackProofCase:
        """The case of ``proof`` checked against these parts' registration."""
        roots = (key_pair(self.kms).address, *self.other_roots)
        return DstackProofCase(
            proof, self.cluster, self.member, self.x, self.wg, roots, key_pair(self.derived).address
        )


def encode_public_key(private: int, length: int) -> bytes:
    """The public key of ``private`` in the 33-, 64- or 65-byte encoding of §4."""
    pair = key_pair(private)
    encodings = {
        33: pair.public_compressed,
        64: pair.public_uncompressed[1:],
        65: pair.public_uncompressed,
    }
    return encodings[length]


def _purposes() -> SearchStrategy[str]:
    return st.one_of(st.just(DEFAULT_PURPOSE), st.text(st.characters(codec="utf-8")))


def _check_key_lengths(key_lengths: object) -> tuple[int, ...]:
    if (
        not isinstance(key_lengths, Collection)
        or isinstance(key_lengths, str | bytes)
        or not key_lengths
        or not set(key_lengths) <= set(KEY_LENGTHS)
    ):
        raise InvalidArgument(
            f"key_lengths={key_lengths!r}: expected a non-empty collection of 33, 64 and 65"
        )
    return tuple(sorted(set(key_lengths)))


@composite_named("_dstack_parts")
def _dstack_parts(
    draw: st.DrawFn,
    *,
    clusters: SearchStrategy[bytes] | None,
    members: SearchStrategy[bytes] | None,
    purposes: SearchStrategy[str] | None,
    key_lengths: tuple[int, ...],
) -> _Parts:
    return _Parts(
        kms=draw(private_keys()),
        app=draw(private_keys()),
        derived=draw(private_keys()),
        cluster=draw(clusters if clusters is not None else addresses()),
        member=draw(members if members is not None else addresses()),
        x=draw(st.binary(min_size=32, max_size=32)),
        wg=draw(st.binary(min_size=32, max_size=32)),
        purpose=draw(purposes if purposes is not None else _purposes()),
        derived_length=draw(st.sampled_from(key_lengths)),
        app_length=draw(st.sampled_from(key_lengths)),
        other_roots=tuple(draw(st.lists(st.binary(min_size=20, max_size=20), max_size=2))),
    )


def dstack_proofs(
    *,
    clusters: SearchStrategy[bytes] | None = None,
    members: SearchStrategy[bytes] | None = None,
    purposes: SearchStrategy[str] | None = None,
    key_lengths: Collection[int] = KEY_LENGTHS,
) -> SearchStrategy[DstackProofCase]:
    """Valid dstack registrations: ``case.verify()`` returns ``case.owner`` (PROTOCOL.md §4).

    ``clusters``/``members`` draw the addresses (default ``addresses()``); ``purposes`` the
    opaque purpose label (default: ``ethereum`` or any text, AT-013); ``key_lengths`` the
    public key encodings carried (33, 64 and/or 65 bytes).
    """
    for name, value in (("clusters", clusters), ("members", members), ("purposes", purposes)):
        check_strategy(name, value)
    lengths = _check_key_lengths(key_lengths)
    return _dstack_proofs(
        clusters=clusters, members=members, purposes=purposes, key_lengths=lengths
    )


@composite_named("dstack_proofs")
def _dstack_proofs(
    draw: st.DrawFn,
    *,
    clusters: SearchStrategy[bytes] | None = None,
    members: SearchStrategy[bytes] | None = None,
    purposes: SearchStrategy[str] | None = None,
    key_lengths: tuple[int, ...] = KEY_LENGTHS,
) -> DstackProofCase:
    parts = draw(
        _dstack_parts(
            clusters=clusters, members=members, purposes=purposes, key_lengths=key_lengths
        )
    )
    return parts.case(parts.build())


def broken_dstack_proofs(
    *,
    clusters: SearchStrategy[bytes] | None = None,
    members: SearchStrategy[bytes] | None = None,
    kinds: Collection[ProofFlaw | str] | None = None,
) -> SearchStrategy[Malformed[DstackProofCase, ProofFailure]]:
    """dstack registrations broken at one link (``ProofFlaw``), labelled with the failure.

    Wrong KMS root, purpose signed differs from purpose stated, codeId low bits set or another
    member, messageHash for another cluster or other keys, app or message signature by another
    key, v 0/1 or high s in each of the three signatures, public keys of a bad length or off
    the curve. ``kinds`` limits the flaws drawn.
    """
    check_strategy("clusters", clusters)
    check_strategy("members", members)
    chosen = None if kinds is None else check_kinds("kinds", kinds, ProofFlaw, tuple(ProofFlaw))
    return _broken_dstack_proofs(clusters=clusters, members=members, kinds=chosen)


@composite_named("broken_dstack_proofs")
def _broken_dstack_proofs(
    draw: st.DrawFn,
    *,
    clusters: SearchStrategy[bytes] | None = None,
    members: SearchStrategy[bytes] | None = None,
    kinds: tuple[ProofFlaw, ...] | None = None,
) -> Malformed[DstackProofCase, ProofFailure]:
    kind = draw(st.sampled_from(kinds or tuple(ProofFlaw)))
    parts = draw(
        _dstack_parts(clusters=clusters, members=members, purposes=None, key_lengths=KEY_LENGTHS)
    )
    case = _BREAKERS[kind](draw, parts)
    expected, rule_ids = PROOF_LABELS[kind]
    return Malformed(case, kind, rule_ids, expected)


# ------------------------------------------------------------------------------ one link each


def _other_key(draw: st.DrawFn, private: int) -> int:
    first, second = draw(distinct_private_keys(count=2))
    return second if first == private else first


def _other_address(draw: st.DrawFn, address: bytes) -> bytes:
    return draw(addresses().filter(lambda a: a != address))


def _is_curve_x(x: bytes) -> bool:
    try:
        PublicKey(b"\x02" + x)
    except ValueError:
        return False
    return True


def _off_curve_key(draw: st.DrawFn) -> bytes:
    x = draw(
        st.integers(0, SECP256K1_P - 1)
        .map(lambda n: n.to_bytes(32, "big"))
        .filter(lambda x: not _is_curve_x(x))
    )
    return bytes([draw(st.sampled_from((2, 3)))]) + x


def _bad_length_key(draw: st.DrawFn) -> bytes:
    length = draw(st.integers(0, 100).filter(lambda n: n not in KEY_LENGTHS))
    return draw(st.binary(min_size=length, max_size=length))


def _replace_signature(field: str, change: Callable[[bytes], bytes]) -> _Breaker:
    def breaker(draw: st.DrawFn, parts: _Parts) -> DstackProofCase:
        proof = parts.build()
        changes: dict[str, Any] = {field: change(getattr(proof, field))}
        return parts.case(replace(proof, **changes))

    return breaker


def _code_id_low_bits(draw: st.DrawFn, parts: _Parts) -> DstackProofCase:
    low = draw(st.binary(min_size=12, max_size=12).filter(any))
    return parts.case(replace(parts.build(), code_id=parts.member + low))


def _code_id_other_member(draw: st.DrawFn, parts: _Parts) -> DstackProofCase:
    other = _other_address(draw, parts.member)
    return parts.case(replace(parts.build(), code_id=code_id_of(other)))


def _binding_other_cluster(draw: st.DrawFn, parts: _Parts) -> DstackProofCase:
    return parts.case(parts.build(cluster=_other_address(draw, parts.cluster)))


def _binding_other_keys(draw: st.DrawFn, parts: _Parts) -> DstackProofCase:
    other = draw(st.binary(min_size=32, max_size=32).filter(lambda k: k not in (parts.x, parts.wg)))
    field = draw(st.sampled_from(("x_pub_key", "wg_pub_key")))
    return parts.case(parts.build(**{field: other}))


def _kms_not_allowed(draw: st.DrawFn, parts: _Parts) -> DstackProofCase:
    return parts.case(parts.build(kms_private=_other_key(draw, parts.kms)))


def _purpose_mismatch(draw: st.DrawFn, parts: _Parts) -> DstackProofCase:
    stated = draw(_purposes().filter(lambda p: p != parts.purpose))
    return parts.case(replace(parts.build(), purpose=stated))


def _app_signed_by_other_key(draw: st.DrawFn, parts: _Parts) -> DstackProofCase:
    return parts.case(parts.build(app_private=_other_key(draw, parts.app)))


def _message_signed_by_other_key(draw: st.DrawFn, parts: _Parts) -> DstackProofCase:
    return parts.case(parts.build(derived_private=_other_key(draw, parts.derived)))


def _v_raw(sig: bytes) -> bytes:
    return with_v(sig, sig[64] - 27)


_Breaker = Callable[[st.DrawFn, _Parts], DstackProofCase]
_P = ProofFlaw
_BREAKERS: dict[ProofFlaw, _Breaker] = {
    _P.CODE_ID_LOW_BITS: _code_id_low_bits,
    _P.CODE_ID_OTHER_MEMBER: _code_id_other_member,
    _P.BINDING_OTHER_CLUSTER: _binding_other_cluster,
    _P.BINDING_OTHER_KEYS: _binding_other_keys,
    _P.KMS_NOT_ALLOWED: _kms_not_allowed,
    _P.PURPOSE_MISMATCH: _purpose_mismatch,
    _P.APP_SIGNED_BY_OTHER_KEY: _app_signed_by_other_key,
    _P.MESSAGE_SIGNED_BY_OTHER_KEY: _message_signed_by_other_key,
    _P.MESSAGE_SIG_V_RAW: _replace_signature("message_signature", _v_raw),
    _P.APP_SIG_V_RAW: _replace_signature("app_signature", _v_raw),
    _P.KMS_SIG_V_RAW: _replace_signature("kms_signature", _v_raw),
    _P.MESSAGE_SIG_HIGH_S: _replace_signature("message_signature", to_high_s),
    _P.APP_SIG_HIGH_S: _replace_signature("app_signature", to_high_s),
    _P.KMS_SIG_HIGH_S: _replace_signature("kms_signature", to_high_s),
    _P.DERIVED_KEY_BAD_LENGTH: lambda draw, p: p.case(
        p.build(derived_pubkey=_bad_length_key(draw))
    ),
    _P.APP_KEY_BAD_LENGTH: lambda draw, p: p.case(p.build(app_pubkey=_bad_length_key(draw))),
    _P.DERIVED_KEY_OFF_CURVE: lambda draw, p: p.case(p.build(derived_pubkey=_off_curve_key(draw))),
    _P.APP_KEY_OFF_CURVE: lambda draw, p: p.case(p.build(app_pubkey=_off_curve_key(draw))),
}
