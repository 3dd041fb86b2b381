"""``signatures.json``: keys, signing, recovery and the classes of invalid signatures.

PROTOCOL.md §2 "Signature" (65 bytes r ‖ s ‖ v, v 27/28, low s, EIP-191 over the userOpHash)
and §4 "Public keys". ``input.operation`` names what a vector exercises:

- ``key``: privateKey → address and both SEC1 public key encodings.
- ``sign-eip191``: privateKey, message (32 bytes) → EIP-191 digest, signature (RFC 6979), signer.
- ``sign-raw``: privateKey, digest → signature (RFC 6979) and signer (the proof chain's raw form).
- ``recover-eip191``: message, signature → signer (null unless strictly valid).
- ``classify``: signature, digest → class (valid, compact-64, wrong-length, high-s, bad-v,
  unrecoverable; checked in that order: length, s, v, recovery) and signer.
- ``normalise-v``: signature → the signature with v 0/1 mapped to 27/28 (§4, dstack emits 0/1).
- ``public-key``: publicKey (33, 64 or 65 bytes) → address, or error InvalidPubKeyLength /
  PointNotOnCurve.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

from coincurve import PublicKey

from conformance.protocol.hexutil import keccak
from conformance.protocol.signatures import (
    DUMMY_SIGNATURE,
    HALF_N,
    SECP256K1_N,
    PublicKeyError,
    address_of_public_key,
    classify_signature,
    eip191_digest,
    key_pair,
    normalise_v,
    recover_digest,
    recover_eip191,
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
    read_hex,
    read_str,
)

SEED = 0x5167
PROTOCOL_USER_OP_HASH = bytes.fromhex(
    "c97f0ed3aa891d90150732096ea7d6f3a046b3e141e98eb772fcf9be03769af2"
)
"""The §2 userOpHash signed by key 0xB17D in the PROTOCOL.md vector."""

PROTOCOL_SIGNATURE = (
    "0x37fdeb99e042bb24c3681e94c9197297ddb753ebd729ae89f4a6c38d3c25fcf3"
    "30f0c1be9b539dc8c780a52c2038535365099102eab565b46de047f20b6ccc3d1c"
)
B17D_ADDRESS = "0xa34e80f04240af8a52604ceb5408b6ed5e50bb42"
KEY1_ADDRESS = "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf"


def _key(inp: Mapping[str, Any]) -> int:
    private = int.from_bytes(read_hex(inp, "privateKey", size=32), "big")
    if not 0 < private < SECP256K1_N:
        raise VectorInputError("privateKey: must be in [1, n)")
    return private


def _addr(address: bytes | None) -> str | None:
    return None if address is None else hx(address)


def _eval_key(inp: Mapping[str, Any]) -> Json:
    pair = key_pair(_key(inp))
    return {"address": hx(pair.address), "publicKeyCompressed": hx(pair.public_compressed),
            "publicKeyUncompressed": hx(pair.public_uncompressed)}


def _eval_sign_eip191(inp: Mapping[str, Any]) -> Json:
    message = read_hex(inp, "message", size=32)
    signature = sign_eip191(_key(inp), message)
    return {"digest": hx(eip191_digest(message)), "signature": hx(signature),
            "signer": _addr(recover_eip191(message, signature))}


def _eval_sign_raw(inp: Mapping[str, Any]) -> Json:
    digest = read_hex(inp, "digest", size=32)
    signature = sign_digest(_key(inp), digest)
    return {"signature": hx(signature), "signer": _addr(recover_digest(digest, signature))}


def _eval_recover(inp: Mapping[str, Any]) -> Json:
    message = read_hex(inp, "message", size=32)
    return {"signer": _addr(recover_eip191(message, read_hex(inp, "signature")))}


def _eval_classify(inp: Mapping[str, Any]) -> Json:
    signature, digest = read_hex(inp, "signature"), read_hex(inp, "digest", size=32)
    return {"class": classify_signature(signature, digest).value,
            "signer": _addr(recover_digest(digest, signature))}


def _eval_normalise(inp: Mapping[str, Any]) -> Json:
    return {"signature": hx(normalise_v(read_hex(inp, "signature")))}


def _eval_public_key(inp: Mapping[str, Any]) -> Json:
    try:
        return {"address": hx(address_of_public_key(read_hex(inp, "publicKey"))), "error": None}
    except PublicKeyError as exc:
        return {"address": None, "error": exc.kind.value}


_OPERATIONS: dict[str, Callable[[Mapping[str, Any]], Json]] = {
    "key": _eval_key,
    "sign-eip191": _eval_sign_eip191,
    "sign-raw": _eval_sign_raw,
    "recover-eip191": _eval_recover,
    "classify": _eval_classify,
    "normalise-v": _eval_normalise,
    "public-key": _eval_public_key,
}


def evaluate(inp: Mapping[str, Any]) -> Json:
    """Dispatch on ``input.operation`` (see the module docstring)."""
    operation = read_str(inp, "operation")
    if operation not in _OPERATIONS:
        raise VectorInputError(f"operation={operation!r}: expected one of {', '.join(_OPERATIONS)}")
    return _OPERATIONS[operation](inp)


def _pk(private: int) -> str:
    return hx(private.to_bytes(32, "big"))


def _key_cases(rng: random.Random) -> list[Case]:
    rules = ("AT-009",)
    keys = [("key-1", 1, "private key 1, the §4 KMS root", KEY1_ADDRESS),
            ("key-2", 2, "private key 2, the §4 app key", None),
            ("key-b17d", 0xB17D, "private key 0xB17D, the §4 binding key", B17D_ADDRESS),
            ("key-n-minus-1", SECP256K1_N - 1, "the largest private key n - 1", None),
            ("key-seeded", rng.randrange(1, SECP256K1_N), f"a random key (seed {SEED:#x})", None)]
    out = []
    for name, private, text, address in keys:
        pinned = {"address": address} if address else {}
        literal = " (PROTOCOL.md §4 literal address)" if address else ""
        inp = {"operation": "key", "privateKey": _pk(private)}
        out.append(Case(name, text + literal, rules, inp, pinned))
    return out


def _sign_cases(rng: random.Random) -> list[Case]:
    rules = ("UO-011", "UO-012")
    out = [Case("sign-protocol-b17d", "PROTOCOL.md §2 literal: key 0xB17D signs the EIP-191 "
                "digest of the canonical-EntryPoint userOpHash (RFC 6979)", rules,
                {"operation": "sign-eip191", "privateKey": _pk(0xB17D),
                 "message": hx(PROTOCOL_USER_OP_HASH)},
                {"signature": PROTOCOL_SIGNATURE, "signer": B17D_ADDRESS,
                 "digest": "0xabc0e0a2d3b67e0ba6442da27c5deb9fcc63096a20793036b003e3fa7ef92fc4"})]
    for i, (private, message) in enumerate([(1, bytes(32)), (2, b"\xff" * 32),
                                            (rng.randrange(1, SECP256K1_N), rng.randbytes(32))]):
        out.append(Case(f"sign-eip191-{i}", "EIP-191 signature of a 32-byte message", rules,
                        {"operation": "sign-eip191", "privateKey": _pk(private),
                         "message": hx(message)}))
    for i, private in enumerate([1, 2]):
        digest = keccak(f"raw digest {i}".encode())
        out.append(Case(f"sign-raw-{i}", "a raw (not EIP-191) signature of a 32-byte digest, as "
                        "the app key and KMS root sign in the proof chain", ("AT-004", "AT-006"),
                        {"operation": "sign-raw", "privateKey": _pk(private),
                         "digest": hx(digest)}))
    out.append(Case("recover-protocol-b17d", "PROTOCOL.md §2 literal signature recovers to "
                    "0xB17D's address", rules,
                    {"operation": "recover-eip191", "message": hx(PROTOCOL_USER_OP_HASH),
                     "signature": PROTOCOL_SIGNATURE}, {"signer": B17D_ADDRESS}))
    return out


def _first_non_point() -> int:
    """The smallest r ≥ 1 that is no x coordinate of secp256k1 (found with coincurve)."""
    r = 1
    while True:
        try:
            PublicKey(b"\x02" + r.to_bytes(32, "big"))
        except ValueError:
            return r
        r += 1


def _classify_cases() -> list[Case]:
    digest = eip191_digest(PROTOCOL_USER_OP_HASH)
    good = bytes.fromhex(PROTOCOL_SIGNATURE[2:])
    r_word = good[:32]
    off_curve = _first_non_point().to_bytes(32, "big")
    variants: list[tuple[str, str, bytes, tuple[str, ...]]] = [
        ("valid", "the §2 literal signature", good, ("UO-012",)),
        ("valid-dummy", "the live dummy signature (§2): real, recoverable, low s", DUMMY_SIGNATURE,
         ("UO-012", "SC-010")),
        ("valid-s-half-n", "s exactly n/2 (floor): the largest valid s",
         r_word + HALF_N.to_bytes(32, "big") + b"\x1b", ("UO-012",)),
        ("compact-eip2098", "the EIP-2098 64-byte form of a valid signature", to_compact(good),
         ("UO-013",)),
        ("compact-r-s", "64 bytes r ‖ s without v", good[:64], ("UO-013",)),
        ("empty", "no bytes", b"", ("UO-013",)),
        ("length-63", "63 bytes", good[:63], ("UO-013",)),
        ("length-66", "a valid signature plus one zero byte", good + b"\x00", ("UO-013",)),
        ("length-130", "two signatures concatenated", good + good, ("UO-013",)),
        ("high-s", "the malleated twin (r, n - s, v flipped)", to_high_s(good),
         ("UO-012", "UO-013")),
        ("s-half-n-plus-1", "s = n/2 + 1: the smallest high s",
         r_word + (HALF_N + 1).to_bytes(32, "big") + b"\x1b", ("UO-012", "UO-013")),
        ("high-s-and-bad-v", "high s and v 0: s is checked before v", with_v(to_high_s(good), 0),
         ("UO-013",)),
        *[(f"v-{v}", f"v = {v}", with_v(good, v), ("UO-012", "UO-013"))
          for v in (0, 1, 26, 29, 255)],
        ("r-zero", "r = 0", bytes(32) + good[32:], ("UO-012",)),
        ("s-zero", "s = 0", r_word + bytes(32) + good[64:], ("UO-012",)),
        ("r-n", "r = n (out of range)", SECP256K1_N.to_bytes(32, "big") + good[32:], ("UO-012",)),
        ("r-not-on-curve", "r is no x coordinate of a curve point", off_curve + good[32:],
         ("UO-012",)),
    ]
    return [Case(f"classify-{name}", text, rules,
                 {"operation": "classify", "signature": hx(sig), "digest": hx(digest)})
            for name, text, sig, rules in variants]


def _misc_cases(rng: random.Random) -> list[Case]:
    good = bytes.fromhex(PROTOCOL_SIGNATURE[2:])
    out = [Case(f"normalise-v-{v}", f"v = {v} as dstack emits it (§4), normalised to 27/28",
                ("SC-020",), {"operation": "normalise-v", "signature": hx(with_v(good, v))})
           for v in (0, 1, 27, 28)]
    pair = key_pair(0xB17D)
    off_curve = b"\x02" + _first_non_point().to_bytes(32, "big")
    keys = [("compressed", pair.public_compressed, ("AT-009",)),
            ("x-y-64", pair.public_uncompressed[1:], ("AT-009",)),
            ("uncompressed-65", pair.public_uncompressed, ("AT-009",)),
            ("length-32", pair.public_compressed[1:], ("AT-009",)),
            ("length-0", b"", ("AT-009",)),
            ("length-66", pair.public_uncompressed + b"\x00", ("AT-009",)),
            ("not-on-curve", off_curve, ("AT-010",)),
            ("random-compressed", key_pair(rng.randrange(1, SECP256K1_N)).public_compressed,
             ("AT-009",))]
    out += [Case(f"public-key-{name}", f"public key encoding: {name}", rules,
                 {"operation": "public-key", "publicKey": hx(pub)}) for name, pub, rules in keys]
    return out


def cases() -> list[Case]:
    """Every signatures case."""
    rng = random.Random(SEED)
    return [*_key_cases(rng), *_sign_cases(rng), *_classify_cases(), *_misc_cases(rng)]

