"""Operator vouchers of the multi-attestor generation (PROTOCOL.md §4 "OperatorProof").

Valid ones verify at ``now`` (expiry equal to now included, AT-016); broken ones are expired,
signed by a signer off the allowlist, signed by another key than the one named, or signed
over another binding — each labelled with the ``ProofFailure`` of ``verify_operator_proof``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, replace

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from conformance.protocol.attestation import (
    OperatorProof,
    ProofFailure,
    build_operator_proof,
    encode_operator_register,
    verify_operator_proof,
)
from conformance.protocol.signatures import key_pair
from conformance.strategies._validation import check_kinds, check_strategy, composite_named
from conformance.strategies.keys import addresses, distinct_private_keys
from conformance.strategies.labels import (
    OPERATOR_PROOF_LABELS,
    Malformed,
    OperatorProofFlaw,
)

MAX_UINT64 = (1 << 64) - 1


@dataclass(frozen=True)
class OperatorProofCase:
    """An OperatorProof and the registration it is checked against, at time ``now``."""

    proof: OperatorProof
    cluster: bytes
    member: bytes
    x_pub_key: bytes
    wg_pub_key: bytes
    allowed_signers: tuple[bytes, ...]
    now: int
    """``block.timestamp`` of the registration."""

    def verify(self) -> bytes:
        """``verify_operator_proof`` of this case: the owner key, or ProofError."""
        return verify_operator_proof(
            self.proof,
            cluster=self.cluster,
            member=self.member,
            x=self.x_pub_key,
            wg=self.wg_pub_key,
            allowed_signers=self.allowed_signers,
            now=self.now,
        )

    def register_calldata(self) -> bytes:
        """Inner ``operator_register(proof, member, xPubKey, wgPubKey)`` calldata."""
        return encode_operator_register(self.proof, self.member, self.x_pub_key, self.wg_pub_key)


@dataclass(frozen=True)
class _Parts:
    signer: int
    other: int
    cluster: bytes
    member: bytes
    x: bytes
    wg: bytes
    owner: bytes
    expiry: int
    now: int

    def build(self, **overrides: object) -> OperatorProof:
        arguments: dict[str, object] = {
            "signer_private": self.signer,
            "cluster": self.cluster,
            "member": self.member,
            "x": self.x,
            "wg": self.wg,
            "owner_key": self.owner,
            "expiry": self.expiry,
        }
        arguments.update(overrides)
        return build_operator_proof(**arguments)  # type: ignore[arg-type]

    def case(
        self, proof: OperatorProof, allowed: tuple[bytes, ...] | None = None
    ) -> OperatorProofCase:
        signers = allowed if allowed is not None else (key_pair(self.signer).address,)
        return OperatorProofCase(
            proof, self.cluster, self.member, self.x, self.wg, signers, self.now
        )


@composite_named("_operator_parts")
def _operator_parts(
    draw: st.DrawFn, *, clusters: SearchStrategy[bytes] | None, expired: bool
) -> _Parts:
    signer, other = draw(distinct_private_keys(count=2))
    if expired:
        expiry = draw(st.integers(0, MAX_UINT64 - 1))
        now = draw(st.integers(expiry + 1, expiry + 10**6))
    else:
        expiry = draw(st.integers(0, MAX_UINT64))
        now = draw(st.one_of(st.just(expiry), st.integers(max(0, expiry - 10**6), expiry)))
    return _Parts(
        signer=signer,
        other=other,
        cluster=draw(clusters if clusters is not None else addresses()),
        member=draw(addresses()),
        x=draw(st.binary(min_size=32, max_size=32)),
        wg=draw(st.binary(min_size=32, max_size=32)),
        owner=draw(addresses()),
        expiry=expiry,
        now=now,
    )


def operator_proofs(
    *, clusters: SearchStrategy[bytes] | None = None
) -> SearchStrategy[OperatorProofCase]:
    """Valid operator vouchers: ``case.verify()`` returns ``case.proof.owner_key`` (§4).

    ``now`` is at most the expiry, and often equal to it (equality is still valid, AT-016).
    """
    check_strategy("clusters", clusters)
    return _operator_proofs(clusters=clusters)


@composite_named("operator_proofs")
def _operator_proofs(
    draw: st.DrawFn, *, clusters: SearchStrategy[bytes] | None = None
) -> OperatorProofCase:
    parts = draw(_operator_parts(clusters=clusters, expired=False))
    return parts.case(parts.build())


def broken_operator_proofs(
    *,
    clusters: SearchStrategy[bytes] | None = None,
    kinds: Collection[OperatorProofFlaw | str] | None = None,
) -> SearchStrategy[Malformed[OperatorProofCase, ProofFailure]]:
    """Operator vouchers registration must refuse, labelled with the failure (§4)."""
    check_strategy("clusters", clusters)
    chosen = (
        None
        if kinds is None
        else check_kinds("kinds", kinds, OperatorProofFlaw, tuple(OperatorProofFlaw))
    )
    return _broken_operator_proofs(clusters=clusters, kinds=chosen)


@composite_named("broken_operator_proofs")
def _broken_operator_proofs(
    draw: st.DrawFn,
    *,
    clusters: SearchStrategy[bytes] | None = None,
    kinds: tuple[OperatorProofFlaw, ...] | None = None,
) -> Malformed[OperatorProofCase, ProofFailure]:
    kind = draw(st.sampled_from(kinds or tuple(OperatorProofFlaw)))
    parts = draw(_operator_parts(clusters=clusters, expired=kind is OperatorProofFlaw.EXPIRED))
    case = _BREAKERS[kind](draw, parts)
    expected, rule_ids = OPERATOR_PROOF_LABELS[kind]
    return Malformed(case, kind, rule_ids, expected)


def _signer_not_allowed(draw: st.DrawFn, parts: _Parts) -> OperatorProofCase:
    return parts.case(parts.build(), allowed=(key_pair(parts.other).address,))


def _signed_by_other_key(draw: st.DrawFn, parts: _Parts) -> OperatorProofCase:
    forged = replace(parts.build(signer_private=parts.other), signer=key_pair(parts.signer).address)
    return parts.case(forged)


def _other_binding(draw: st.DrawFn, parts: _Parts) -> OperatorProofCase:
    cluster = draw(addresses().filter(lambda a: a != parts.cluster))
    return parts.case(parts.build(cluster=cluster))


_Breaker = Callable[[st.DrawFn, _Parts], OperatorProofCase]
_BREAKERS: dict[OperatorProofFlaw, _Breaker] = {
    OperatorProofFlaw.EXPIRED: lambda draw, parts: parts.case(parts.build()),
    OperatorProofFlaw.SIGNER_NOT_ALLOWED: _signer_not_allowed,
    OperatorProofFlaw.SIGNED_BY_OTHER_KEY: _signed_by_other_key,
    OperatorProofFlaw.OTHER_BINDING: _other_binding,
}
