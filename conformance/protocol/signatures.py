"""secp256k1 keys and 65-byte recoverable signatures (PROTOCOL.md §2 "Signature", §4 "Public keys").

A valid signature is 65 bytes ``r ‖ s ‖ v`` with v ∈ {27, 28}, 0 < r, s < n and s ≤ n/2, and
it must recover. Everything else is invalid; ``classify_signature`` says which way. The order
of the classification follows OpenZeppelin ``ECDSA.tryRecover`` (length, then s, then v, then
recovery), which is what the on-chain account and cluster use.

All curve work is done by coincurve (libsecp256k1); keccak by eth-hash.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum

from coincurve import PrivateKey, PublicKey

from conformance.protocol.hexutil import keccak

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
"""Order n of the secp256k1 group."""

SECP256K1_P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
"""Field prime p of secp256k1 (x coordinates of 33-byte keys are read modulo p, §4)."""

HALF_N = SECP256K1_N // 2
"""The largest valid s: a signature with s > n/2 is invalid (PROTOCOL.md §2, low s)."""

EIP191_PREFIX = b"\x19Ethereum Signed Message:\n32"
"""The personal-message prefix of a 32-byte message (PROTOCOL.md §2)."""

DUMMY_SIGNATURE = bytes.fromhex(
    "6f79009346b958973a8481f680a44b5075d56562b39aff2104395323b6bc666a"
    "2302f4e19a7da13bef02c866971d5b35ce8c0ad27542a1c476e103b99a7b6cd6"
    "1b"
)
"""The live dummy signature: real, recoverable, low-s, 65 bytes (PROTOCOL.md §2)."""


class SignatureClass(StrEnum):
    """How a signature byte string stands against PROTOCOL.md §2 (only VALID is accepted)."""

    VALID = "valid"
    COMPACT_64 = "compact-64"
    WRONG_LENGTH = "wrong-length"
    HIGH_S = "high-s"
    BAD_V = "bad-v"
    UNRECOVERABLE = "unrecoverable"
    """r or s zero, r ≥ n, or r not the x coordinate of a curve point."""


class PublicKeyErrorKind(StrEnum):
    """Why a byte string is not a usable public key (PROTOCOL.md §4, cluster error names)."""

    BAD_LENGTH = "InvalidPubKeyLength"
    NOT_ON_CURVE = "PointNotOnCurve"


class PublicKeyError(ValueError):
    """A public key of a length other than 33/64/65 bytes, or a 33-byte key off the curve."""

    def __init__(self, kind: PublicKeyErrorKind, detail: str) -> None:
        super().__init__(f"{kind.value}: {detail}")
        self.kind = kind


@dataclass(frozen=True)
class KeyPair:
    """A private key with its address and both SEC1 public key encodings."""

    private: int
    address: bytes
    public_compressed: bytes
    public_uncompressed: bytes


@functools.lru_cache(maxsize=1024)
def key_pair(private: int) -> KeyPair:
    """The key pair of a private key 1 ≤ k < n (cached: generators draw from small pools)."""
    if not 0 < private < SECP256K1_N:
        raise ValueError(f"private={private:#x}: must be in [1, n)")
    public = PrivateKey.from_int(private).public_key
    uncompressed = public.format(compressed=False)
    return KeyPair(
        private=private,
        address=keccak(uncompressed[1:])[12:],
        public_compressed=public.format(compressed=True),
        public_uncompressed=uncompressed,
    )


def eip191_digest(message32: bytes) -> bytes:
    """keccak256("\\x19Ethereum Signed Message:\\n32" ‖ message) (PROTOCOL.md §2)."""
    if len(message32) != 32:
        raise ValueError(f"message length={len(message32)}: must be 32 bytes")
    return keccak(EIP191_PREFIX + message32)


@functools.lru_cache(maxsize=256)
def _signing_key(private: int) -> PrivateKey:
    """The coincurve key object of ``private`` (building one costs more than a signature)."""
    return PrivateKey.from_int(private)


def sign_digest(private: int, digest: bytes) -> bytes:
    """Sign a 32-byte digest as-is: 65 bytes r ‖ s ‖ v, v 27/28, low s, RFC 6979.

    libsecp256k1 always emits the low-s form and derives the nonce by RFC 6979.
    """
    if len(digest) != 32:
        raise ValueError(f"digest length={len(digest)}: must be 32 bytes")
    raw = _signing_key(private).sign_recoverable(digest, hasher=None)
    return raw[:64] + bytes([27 + raw[64]])


def sign_eip191(private: int, message32: bytes) -> bytes:
    """Sign the EIP-191 personal-message digest of a 32-byte message (PROTOCOL.md §2)."""
    return sign_digest(private, eip191_digest(message32))


def _r_s(sig: bytes) -> tuple[int, int]:
    return int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big")


def _recover_raw(digest: bytes, sig: bytes, parity: int) -> bytes | None:
    try:
        public = PublicKey.from_signature_and_message(
            sig[:64] + bytes([parity]), digest, hasher=None
        )
    except ValueError:  # coincurve: unparsable signature or no point for r
        return None
    return keccak(public.format(compressed=False)[1:])[12:]


def classify_signature(sig: bytes, digest: bytes | None = None) -> SignatureClass:
    """Classify ``sig`` (PROTOCOL.md §2); order: length, s, v, recoverability.

    Whether r is a curve point depends on r alone, so ``digest`` is optional; when given, the
    recovery itself is attempted over it.
    """
    if len(sig) == 64:
        return SignatureClass.COMPACT_64
    if len(sig) != 65:
        return SignatureClass.WRONG_LENGTH
    r, s = _r_s(sig)
    if s > HALF_N:
        return SignatureClass.HIGH_S
    if sig[64] not in (27, 28):
        return SignatureClass.BAD_V
    if not (0 < r < SECP256K1_N and s > 0):
        return SignatureClass.UNRECOVERABLE
    probe = digest if digest is not None else b"\x01" * 32
    if _recover_raw(probe, sig, sig[64] - 27) is None:
        return SignatureClass.UNRECOVERABLE
    return SignatureClass.VALID


def recover_digest(digest: bytes, sig: bytes) -> bytes | None:
    """The 20-byte signer of a strictly valid signature over ``digest``, else None (§2)."""
    if len(digest) != 32 or len(sig) != 65:
        return None
    r, s = _r_s(sig)
    if sig[64] not in (27, 28) or not (0 < r < SECP256K1_N and 0 < s <= HALF_N):
        return None
    return _recover_raw(digest, sig, sig[64] - 27)


def recover_eip191(message32: bytes, sig: bytes) -> bytes | None:
    """The signer of a strictly valid signature over the EIP-191 digest of a 32-byte message."""
    return recover_digest(eip191_digest(message32), sig)


def with_v(sig: bytes, v: int) -> bytes:
    """``sig`` with its last byte replaced by ``v`` (0 ≤ v ≤ 255)."""
    return sig[:64] + bytes([v])


def normalise_v(sig: bytes) -> bytes:
    """Map v 0/1 (as dstack emits, §4) to 27/28; any other signature is returned unchanged."""
    if len(sig) == 65 and sig[64] in (0, 1):
        return with_v(sig, sig[64] + 27)
    return sig


def to_high_s(sig: bytes) -> bytes:
    """The malleated twin ``(r, n − s, v flipped)``: recovers the same signer, but high s.

    v is flipped within its own convention (27↔28, 0↔1), so a lenient verifier that skips the
    low-s check accepts it for the same signer — which is exactly what it must not do (§2).
    """
    if len(sig) != 65:
        raise ValueError(f"signature length={len(sig)}: must be 65 bytes")
    _, s = _r_s(sig)
    v = sig[64]
    flipped = {0: 1, 1: 0, 27: 28, 28: 27}.get(v, v)
    return sig[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([flipped])


def to_compact(sig: bytes) -> bytes:
    """The EIP-2098 64-byte form ``r ‖ (yParity << 255 | s)`` of a low-s 65-byte signature.

    EIP-2098 (not plain r ‖ s) because it is the compact form lenient verifiers (older
    OpenZeppelin ECDSA) really accept for the same signer; §2 says it is invalid.
    """
    if len(sig) != 65 or sig[64] not in (0, 1, 27, 28):
        raise ValueError("to_compact needs a 65-byte signature with v in {0, 1, 27, 28}")
    r, s = _r_s(sig)
    if s > HALF_N:
        raise ValueError("to_compact needs a low-s signature")
    parity = sig[64] - 27 if sig[64] >= 27 else sig[64]
    return sig[:32] + ((parity << 255) | s).to_bytes(32, "big")


def from_compact(sig64: bytes) -> bytes:
    """Expand an EIP-2098 64-byte signature back to 65-byte r ‖ s ‖ v (v 27/28)."""
    if len(sig64) != 64:
        raise ValueError(f"signature length={len(sig64)}: must be 64 bytes")
    vs = int.from_bytes(sig64[32:], "big")
    s = vs & ((1 << 255) - 1)
    return sig64[:32] + s.to_bytes(32, "big") + bytes([27 + (vs >> 255)])


def address_of_public_key(pub: bytes) -> bytes:
    """The address of a public key as the cluster reads it (PROTOCOL.md §4 "Public keys").

    - 33 bytes: x with y parity from the prefix byte's low bit (any prefix byte, as the
      cluster does); x is taken modulo p for the curve check and must give a curve point,
      else NOT_ON_CURVE. The address hashes the x word as given.
    - 64 bytes ``x ‖ y`` and 65 bytes ``prefix ‖ x ‖ y``: keccak of x ‖ y, with no curve or
      prefix check (an off-curve key just has an address nobody can sign for).
    - any other length: BAD_LENGTH.
    """
    if len(pub) == 33:
        x_word = pub[1:]
        x = int.from_bytes(x_word, "big") % SECP256K1_P
        sec1 = bytes([0x02 | (pub[0] & 1)]) + x.to_bytes(32, "big")
        try:
            point = PublicKey(sec1).format(compressed=False)
        except ValueError as exc:
            raise PublicKeyError(
                PublicKeyErrorKind.NOT_ON_CURVE, f"x={x_word.hex()} is not on secp256k1"
            ) from exc
        return keccak(x_word + point[33:])[12:]
    if len(pub) == 64:
        return keccak(pub)[12:]
    if len(pub) == 65:
        return keccak(pub[1:])[12:]
    raise PublicKeyError(
        PublicKeyErrorKind.BAD_LENGTH, f"public key length={len(pub)}: expected 33, 64 or 65"
    )
