"""Keys and addresses: a small pool of private keys whose key pairs are cached.

Drawing from a pool of 16 keys keeps generation fast (``key_pair`` is lru-cached, so each
public key and address is computed once) and lets a test tell "a pool key signed this" from
"nobody we know did". The pool starts with the public test keys of PROTOCOL.md §4.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from conformance.protocol.hexutil import keccak
from conformance.protocol.signatures import SECP256K1_N, KeyPair, key_pair
from conformance.strategies._validation import check_int, composite_named

PUBLIC_TEST_KEYS: tuple[int, ...] = (1, 2, 0xB17D)
"""PROTOCOL.md §4: 1 (a KMS root), 2 (an app key), 0xB17D (a binding key)."""


def _pool_key(index: int) -> int:
    seed = keccak(f"attestmesh-conformance/strategies/key/{index}".encode())
    return int.from_bytes(seed, "big") % (SECP256K1_N - 1) + 1


KEY_POOL: tuple[int, ...] = PUBLIC_TEST_KEYS + tuple(_pool_key(i) for i in range(13))
"""The 16 private keys strategies draw from (the public test keys, then 13 fixed others)."""

POOL_ADDRESSES: frozenset[bytes] = frozenset(key_pair(k).address for k in KEY_POOL)
"""The addresses of ``KEY_POOL``: whoever recovers to one of these, a pool key signed."""

_SPECIAL_ADDRESSES = (bytes(20), b"\xff" * 20, bytes(19) + b"\x01", b"\x01" * 20)


def private_keys() -> SearchStrategy[int]:
    """Private keys from ``KEY_POOL`` (shrinking towards private key 1)."""
    return _PRIVATE_KEYS


_KEY_POOL_SAMPLES = st.sampled_from(KEY_POOL)


@composite_named("private_keys")
def _private_keys(draw: st.DrawFn) -> int:
    return draw(_KEY_POOL_SAMPLES)


_PRIVATE_KEYS = _private_keys()
"""Built once: a fresh strategy object per draw re-validates it every time (speed only)."""


def key_pairs() -> SearchStrategy[KeyPair]:
    """Key pairs (private key, address, both public encodings) of ``private_keys()``."""
    return _key_pairs()


@composite_named("key_pairs")
def _key_pairs(draw: st.DrawFn) -> KeyPair:
    return key_pair(draw(_PRIVATE_KEYS))


def distinct_private_keys(*, count: int) -> SearchStrategy[tuple[int, ...]]:
    """``count`` different keys of the pool, for "signed by another key" cases (1 ≤ count ≤ 16)."""
    check_int("count", count, 1, len(KEY_POOL))
    return _distinct_private_keys(count=count)


@composite_named("distinct_private_keys")
def _distinct_private_keys(draw: st.DrawFn, *, count: int) -> tuple[int, ...]:
    keys = draw(st.lists(private_keys(), min_size=count, max_size=count, unique=True))
    return tuple(keys)


def addresses() -> SearchStrategy[bytes]:
    """20-byte addresses: pool-key addresses, edge values (zero, all 0xff, 0x…01) and any other."""
    return _ADDRESS_STRATEGY


_ADDRESSES = st.one_of(
    st.sampled_from(sorted(POOL_ADDRESSES)),
    st.sampled_from(_SPECIAL_ADDRESSES),
    st.binary(min_size=20, max_size=20),
)


@composite_named("addresses")
def _addresses(draw: st.DrawFn) -> bytes:
    return draw(_ADDRESSES)


_ADDRESS_STRATEGY = _addresses()
"""Built once, like ``_PRIVATE_KEYS``."""
