"""Signatures: valid 65-byte r ‖ s ‖ v signatures and every invalid class (PROTOCOL.md §2).

Invalid signatures are derived from a real signature of a pool key, so a lenient verifier
(one that skips a check) would recover a real signer from many of them — which is the point.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from coincurve import PublicKey
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from conformance.protocol.signatures import (
    SECP256K1_N,
    SignatureClass,
    key_pair,
    sign_digest,
    to_compact,
    to_high_s,
    with_v,
)
from conformance.strategies._validation import check_kinds, check_strategy, composite_named
from conformance.strategies.keys import private_keys
from conformance.strategies.labels import SIGNATURE_LABELS, Malformed, SignatureFlaw


@dataclass(frozen=True)
class SignedDigest:
    """A 32-byte digest, a valid signature over it (signed as-is) and the signer's address."""

    digest: bytes
    signature: bytes
    signer: bytes


def _digests() -> SearchStrategy[bytes]:
    return st.binary(min_size=32, max_size=32)


def signed_digests(*, digests: SearchStrategy[bytes] | None = None) -> SearchStrategy[SignedDigest]:
    """Digests (any 32 bytes by default) signed as-is by a pool key: r ‖ s ‖ v, v 27/28, low s."""
    check_strategy("digests", digests)
    return _signed_digests(digests=digests)


@composite_named("signed_digests")
def _signed_digests(
    draw: st.DrawFn, *, digests: SearchStrategy[bytes] | None = None
) -> SignedDigest:
    digest = draw(digests if digests is not None else _digests())
    private = draw(private_keys())
    return SignedDigest(digest, sign_digest(private, digest), key_pair(private).address)


def signatures(*, digests: SearchStrategy[bytes] | None = None) -> SearchStrategy[bytes]:
    """Valid 65-byte signatures (class VALID) by pool keys over ``digests``."""
    check_strategy("digests", digests)
    return _signatures(digests=digests)


@composite_named("signatures")
def _signatures(draw: st.DrawFn, *, digests: SearchStrategy[bytes] | None = None) -> bytes:
    return draw(_signed_digests(digests=digests)).signature


def malformed_signatures(
    *,
    digests: SearchStrategy[bytes] | None = None,
    kinds: Collection[SignatureFlaw | str] | None = None,
) -> SearchStrategy[Malformed[bytes, SignatureClass]]:
    """Invalid signatures, each labelled with the class ``classify_signature`` must return.

    Covers WRONG_LENGTH, COMPACT_64 (EIP-2098 and plain r ‖ s), BAD_V (0/1 and others),
    HIGH_S (the malleated twin) and UNRECOVERABLE (r or s zero, r ≥ n, r off the curve).
    ``kinds`` limits the flaws drawn (SignatureFlaw members or their values).
    """
    check_strategy("digests", digests)
    chosen = (
        None if kinds is None else check_kinds("kinds", kinds, SignatureFlaw, tuple(SignatureFlaw))
    )
    return _malformed_signatures(digests=digests, kinds=chosen)


@composite_named("malformed_signatures")
def _malformed_signatures(
    draw: st.DrawFn,
    *,
    digests: SearchStrategy[bytes] | None = None,
    kinds: tuple[SignatureFlaw, ...] | None = None,
) -> Malformed[bytes, SignatureClass]:
    kind = draw(st.sampled_from(kinds or tuple(SignatureFlaw)))
    base = draw(_signatures(digests=digests))
    value = _BREAKERS[kind](draw, base)
    expected, rule_ids = SIGNATURE_LABELS[kind]
    return Malformed(value, kind, rule_ids, expected)


def _wrong_length(draw: st.DrawFn, sig: bytes) -> bytes:
    length = draw(st.one_of(st.integers(0, 63), st.integers(66, 200)))
    filler = draw(st.binary(min_size=max(0, length - 65), max_size=max(0, length - 65)))
    return (sig + filler)[:length]


def _v_other(draw: st.DrawFn, sig: bytes) -> bytes:
    v = draw(st.integers(0, 255).filter(lambda v: v not in (0, 1, 27, 28)))
    return with_v(sig, v)


def _is_curve_x(x: int) -> bool:
    try:
        PublicKey(b"\x02" + x.to_bytes(32, "big"))
    except ValueError:
        return False
    return True


def _r_off_curve(draw: st.DrawFn, sig: bytes) -> bytes:
    r = draw(st.integers(1, SECP256K1_N - 1).filter(lambda r: not _is_curve_x(r)))
    return r.to_bytes(32, "big") + sig[32:]


def _r_not_below_n(draw: st.DrawFn, sig: bytes) -> bytes:
    r = draw(st.integers(SECP256K1_N, (1 << 256) - 1))
    return r.to_bytes(32, "big") + sig[32:]


_Breaker = Callable[[st.DrawFn, bytes], bytes]
_BREAKERS: dict[SignatureFlaw, _Breaker] = {
    SignatureFlaw.WRONG_LENGTH: _wrong_length,
    SignatureFlaw.COMPACT_EIP2098: lambda draw, sig: to_compact(sig),
    SignatureFlaw.COMPACT_PLAIN: lambda draw, sig: sig[:64],
    SignatureFlaw.V_RAW: lambda draw, sig: with_v(sig, sig[64] - 27),
    SignatureFlaw.V_OTHER: _v_other,
    SignatureFlaw.HIGH_S: lambda draw, sig: to_high_s(sig),
    SignatureFlaw.R_ZERO: lambda draw, sig: bytes(32) + sig[32:],
    SignatureFlaw.S_ZERO: lambda draw, sig: sig[:32] + bytes(32) + sig[64:],
    SignatureFlaw.R_NOT_BELOW_N: _r_not_below_n,
    SignatureFlaw.R_OFF_CURVE: _r_off_curve,
}
