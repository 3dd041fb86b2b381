"""Keys and signatures (PROTOCOL.md §2 "Signature", §4 "Public keys").

Pinned against PROTOCOL.md literals, EIP-2098's own vectors, and an independent secp256k1
(eth-keys' pure-Python backend) and EIP-191 implementation (eth-account).
"""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import defunct_hash_message, encode_defunct
from eth_hash.auto import keccak
from eth_keys import KeyAPI
from eth_keys.backends import NativeECCBackend
from eth_keys.constants import SECPK1_N
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.protocol.signatures import (
    DUMMY_SIGNATURE,
    HALF_N,
    SECP256K1_N,
    PublicKeyError,
    PublicKeyErrorKind,
    SignatureClass,
    address_of_public_key,
    classify_signature,
    eip191_digest,
    from_compact,
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

NATIVE = KeyAPI(NativeECCBackend)
P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F

USEROP_HASH = bytes.fromhex("c97f0ed3aa891d90150732096ea7d6f3a046b3e141e98eb772fcf9be03769af2")
USEROP_DIGEST = bytes.fromhex("abc0e0a2d3b67e0ba6442da27c5deb9fcc63096a20793036b003e3fa7ef92fc4")
USEROP_SIG = bytes.fromhex(
    "37fdeb99e042bb24c3681e94c9197297ddb753ebd729ae89f4a6c38d3c25fcf3"
    "30f0c1be9b539dc8c780a52c2038535365099102eab565b46de047f20b6ccc3d1c"
)
B17D_ADDRESS = bytes.fromhex("a34e80f04240Af8A52604CEB5408B6eD5E50BB42")
KEY1_ADDRESS = bytes.fromhex("7E5F4552091A69125d5DfCb7b8C2659029395Bdf")
KEY2_COMPRESSED = bytes.fromhex(
    "02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5"
)

# EIP-2098's published examples: key 0x1234…1234 signs "Hello World" / "It's a small(er) world".
EIP2098_KEY = 0x1234567890123456789012345678901234567890123456789012345678901234
EIP2098_VECTORS = [
    (
        "Hello World",
        "68a020a209d3d56c46f38cc50a33f704f4a9a10a59377f8dd762ac66910e9b90",
        "7e865ad05c4035ab5792787d4a0297a43617ae897930a6fe4d822b8faea52064",
        27,
        "7e865ad05c4035ab5792787d4a0297a43617ae897930a6fe4d822b8faea52064",
    ),
    (
        "It's a small(er) world",
        "9328da16089fcba9bececa81663203989f2df5fe1faa6291a45381c81bd17f76",
        "139c6d6b623b42da56557e5e734a43dc83345ddfadec52cbe24d0cc64f550793",
        28,
        "939c6d6b623b42da56557e5e734a43dc83345ddfadec52cbe24d0cc64f550793",
    ),
]

KEYS = [1, 2, 3, 0xB17D, 0xC0DE, SECP256K1_N - 1, 0x1234 << 200]


def native_sign(private: int, digest: bytes) -> bytes:
    """r ‖ s ‖ v(27/28) by eth-keys' pure-Python backend."""
    raw = NATIVE.PrivateKey(private.to_bytes(32, "big")).sign_msg_hash(digest).to_bytes()
    return raw[:64] + bytes([raw[64] + 27])


def native_recover(digest: bytes, sig: bytes) -> bytes:
    """The address eth-keys' pure-Python backend recovers (no low-s check)."""
    vrs = NATIVE.Signature(sig[:64] + bytes([sig[64] - 27]))
    return NATIVE.ecdsa_recover(digest, vrs).to_canonical_address()


def off_curve_x() -> int:
    """The smallest x with x³ + 7 a non-residue mod p (Euler's criterion)."""
    x = 1
    while pow((x**3 + 7) % P, (P - 1) // 2, P) == 1:
        x += 1
    return x


def test_constants_are_the_curve_order_and_its_half() -> None:
    assert SECP256K1_N == SECPK1_N
    assert SECP256K1_N == 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    assert HALF_N == 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0


def test_public_test_keys() -> None:
    assert key_pair(1).address == KEY1_ADDRESS
    assert key_pair(2).public_compressed == KEY2_COMPRESSED
    assert key_pair(0xB17D).address == B17D_ADDRESS


@pytest.mark.parametrize("private", KEYS)
def test_key_pair_agrees_with_eth_keys(private: int) -> None:
    pair = key_pair(private)
    public = NATIVE.PrivateKey(private.to_bytes(32, "big")).public_key
    assert pair.private == private
    assert pair.address == public.to_canonical_address()
    assert pair.public_uncompressed == b"\x04" + public.to_bytes()
    assert pair.public_compressed == public.to_compressed_bytes()


@pytest.mark.parametrize("private", [0, SECP256K1_N, -1])
def test_key_pair_rejects_out_of_range(private: int) -> None:
    with pytest.raises(ValueError, match="private="):
        key_pair(private)


def test_eip191_digest_vector() -> None:
    assert eip191_digest(USEROP_HASH) == USEROP_DIGEST
    assert eip191_digest(USEROP_HASH) == defunct_hash_message(primitive=USEROP_HASH)


def test_eip191_digest_needs_32_bytes() -> None:
    with pytest.raises(ValueError):
        eip191_digest(b"\x00" * 31)


def test_deterministic_signature_vector() -> None:
    assert sign_digest(0xB17D, USEROP_DIGEST) == USEROP_SIG
    assert sign_eip191(0xB17D, USEROP_HASH) == USEROP_SIG
    assert recover_digest(USEROP_DIGEST, USEROP_SIG) == B17D_ADDRESS
    assert recover_eip191(USEROP_HASH, USEROP_SIG) == B17D_ADDRESS


@pytest.mark.parametrize("private", KEYS)
def test_sign_and_recover_agree_with_eth_keys_and_eth_account(private: int) -> None:
    digest = keccak(private.to_bytes(32, "big"))
    sig = sign_digest(private, digest)
    assert sig == native_sign(private, digest)
    assert Account.unsafe_sign_hash(digest, private.to_bytes(32, "big")).signature == sig
    assert recover_digest(digest, sig) == key_pair(private).address
    recovered = Account._recover_hash(digest, signature=sig)
    assert recovered.lower() == "0x" + key_pair(private).address.hex()


@settings(max_examples=40, deadline=None)
@given(
    private=st.integers(min_value=1, max_value=SECP256K1_N - 1),
    digest=st.binary(min_size=32, max_size=32),
)
def test_signatures_are_low_s_v27_28_and_recover(private: int, digest: bytes) -> None:
    sig = sign_digest(private, digest)
    assert len(sig) == 65 and sig[64] in (27, 28)
    assert int.from_bytes(sig[32:64], "big") <= HALF_N
    assert sig == sign_digest(private, digest)
    assert native_recover(digest, sig) == key_pair(private).address
    assert recover_digest(digest, sig) == key_pair(private).address


def test_dummy_signature_is_real_low_s_and_65_bytes() -> None:
    assert len(DUMMY_SIGNATURE) == 65 and DUMMY_SIGNATURE[64] in (27, 28)
    assert int.from_bytes(DUMMY_SIGNATURE[32:64], "big") <= HALF_N
    assert classify_signature(DUMMY_SIGNATURE) == SignatureClass.VALID
    digest = keccak(b"any digest")
    assert recover_digest(digest, DUMMY_SIGNATURE) == native_recover(digest, DUMMY_SIGNATURE)


def _with_r_s(r: int, s: int, v: int = 27) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])


CLASS_CASES = [
    ("vector", USEROP_SIG, SignatureClass.VALID),
    ("dummy", DUMMY_SIGNATURE, SignatureClass.VALID),
    ("compact-64", USEROP_SIG[:64], SignatureClass.COMPACT_64),
    ("empty", b"", SignatureClass.WRONG_LENGTH),
    ("63", USEROP_SIG[:63], SignatureClass.WRONG_LENGTH),
    ("66", USEROP_SIG + b"\x00", SignatureClass.WRONG_LENGTH),
    ("v0", USEROP_SIG[:64] + b"\x00", SignatureClass.BAD_V),
    ("v1", USEROP_SIG[:64] + b"\x01", SignatureClass.BAD_V),
    ("v29", USEROP_SIG[:64] + b"\x1d", SignatureClass.BAD_V),
    ("high-s", _with_r_s(1, SECP256K1_N - 1), SignatureClass.HIGH_S),
    ("half-n+1", _with_r_s(1, HALF_N + 1), SignatureClass.HIGH_S),
    ("s=n", _with_r_s(1, SECP256K1_N), SignatureClass.HIGH_S),
    ("high-s-and-v0", _with_r_s(1, SECP256K1_N - 1, 0), SignatureClass.HIGH_S),
    ("r=0", _with_r_s(0, 1), SignatureClass.UNRECOVERABLE),
    ("s=0", _with_r_s(int.from_bytes(USEROP_SIG[:32], "big"), 0), SignatureClass.UNRECOVERABLE),
    ("r=n", _with_r_s(SECP256K1_N, 1), SignatureClass.UNRECOVERABLE),
    ("r-off-curve", _with_r_s(off_curve_x(), 1), SignatureClass.UNRECOVERABLE),
]


@pytest.mark.parametrize(
    ("sig", "expected"), [c[1:] for c in CLASS_CASES], ids=[c[0] for c in CLASS_CASES]
)
def test_classify_signature(sig: bytes, expected: SignatureClass) -> None:
    assert classify_signature(sig) == expected
    assert classify_signature(sig, USEROP_DIGEST) == expected
    recovered = recover_digest(USEROP_DIGEST, sig)
    assert (recovered is not None) == (expected == SignatureClass.VALID)


def test_half_n_is_still_low_s() -> None:
    r = int.from_bytes(USEROP_SIG[:32], "big")
    assert classify_signature(_with_r_s(r, HALF_N)) == SignatureClass.VALID


@pytest.mark.parametrize("private", KEYS)
def test_high_s_twin_recovers_same_signer_but_is_invalid(private: int) -> None:
    digest = keccak(b"twin" + private.to_bytes(32, "big"))
    sig = sign_digest(private, digest)
    twin = to_high_s(sig)
    assert int.from_bytes(twin[32:64], "big") == SECP256K1_N - int.from_bytes(sig[32:64], "big")
    assert twin[64] == (55 - sig[64])  # 27 <-> 28
    assert native_recover(digest, twin) == key_pair(private).address
    assert classify_signature(twin) == SignatureClass.HIGH_S
    assert recover_digest(digest, twin) is None


def test_to_high_s_keeps_the_v_convention() -> None:
    assert to_high_s(with_v(USEROP_SIG, 0))[64] == 1
    assert to_high_s(with_v(USEROP_SIG, 1))[64] == 0


@pytest.mark.parametrize(("text", "r", "s", "v", "compact_vs"), EIP2098_VECTORS)
def test_to_compact_is_eip2098(text: str, r: str, s: str, v: int, compact_vs: str) -> None:
    sig = bytes.fromhex(r + s) + bytes([v])
    assert Account.sign_message(encode_defunct(text=text), EIP2098_KEY).signature == sig
    assert to_compact(sig) == bytes.fromhex(r + compact_vs)
    assert from_compact(to_compact(sig)) == sig
    assert classify_signature(to_compact(sig)) == SignatureClass.COMPACT_64


def test_to_compact_rejects_high_s() -> None:
    with pytest.raises(ValueError):
        to_compact(to_high_s(USEROP_SIG))


def test_normalise_v_maps_dstack_parity() -> None:
    assert normalise_v(with_v(USEROP_SIG, 1)) == USEROP_SIG
    assert normalise_v(with_v(USEROP_SIG, 0)) == with_v(USEROP_SIG, 27)
    assert normalise_v(USEROP_SIG) == USEROP_SIG
    assert normalise_v(with_v(USEROP_SIG, 5)) == with_v(USEROP_SIG, 5)
    assert recover_digest(USEROP_DIGEST, with_v(USEROP_SIG, 1)) is None


@pytest.mark.parametrize("private", KEYS)
def test_address_of_public_key_all_encodings(private: int) -> None:
    public = NATIVE.PrivateKey(private.to_bytes(32, "big")).public_key
    expected = public.to_canonical_address()
    assert address_of_public_key(public.to_compressed_bytes()) == expected
    assert address_of_public_key(public.to_bytes()) == expected
    assert address_of_public_key(b"\x04" + public.to_bytes()) == expected


def test_compressed_parity_comes_from_the_prefix_low_bit() -> None:
    compressed = NATIVE.PrivateKey((7).to_bytes(32, "big")).public_key.to_compressed_bytes()
    odd_prefix = 0x05 if compressed[0] == 0x03 else 0x04
    expected = NATIVE.PrivateKey((7).to_bytes(32, "big")).public_key.to_canonical_address()
    assert address_of_public_key(bytes([odd_prefix]) + compressed[1:]) == expected
    flipped = bytes([compressed[0] ^ 1]) + compressed[1:]
    assert address_of_public_key(flipped) != expected


def test_off_curve_compressed_key_is_rejected() -> None:
    with pytest.raises(PublicKeyError) as info:
        address_of_public_key(b"\x02" + off_curve_x().to_bytes(32, "big"))
    assert info.value.kind == PublicKeyErrorKind.NOT_ON_CURVE


@pytest.mark.parametrize("length", [0, 1, 20, 32, 34, 63, 66, 128])
def test_public_key_bad_length(length: int) -> None:
    with pytest.raises(PublicKeyError) as info:
        address_of_public_key(b"\x02" * length)
    assert info.value.kind == PublicKeyErrorKind.BAD_LENGTH
    assert info.value.kind.value == "InvalidPubKeyLength"
