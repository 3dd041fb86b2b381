"""Equivalence classes of the account checks' inputs, one explicit example each (issue 7 §9).

A gate must hold for every class of input, not only for the values its author thought of: the
EntryPoint gate (AC-001) is crossed with every signature class of PROTOCOL.md §2, every owner
state and a prefund due or not, so an account that answers a stranger before its gate (on the
invalid-signature early return, say) is caught at any seed.

``signature_classes`` builds one signature of each class from a genuine one (so a lenient
verifier would recover a real signer from many of them); ``SIGNATURE_CLASSES`` names them with
their boundary. ``INPUT_CLASSES`` is the table of the account rules' input classes and where
each is pinned.
"""

from __future__ import annotations

from types import MappingProxyType

from conformance.protocol.signatures import (
    HALF_N,
    SECP256K1_N,
    to_compact,
    to_high_s,
    with_v,
)

R_OFF_CURVE = 5
"""The smallest r with no curve point of that x (x³ + 7 = 132 is not a square mod p)."""

SIGNATURE_CLASSES: MappingProxyType[str, str] = MappingProxyType({
    "valid-signer": "65 bytes, v 27/28, low s, recovers the expected signer",
    "valid-other": "65 bytes, v 27/28, low s, recovers another key",
    "empty": "length 0",
    "one-byte": "length 1",
    "compact-eip2098": "length 64, yParity folded into s (EIP-2098)",
    "compact-r-s": "length 64, r ‖ s without v",
    "length-66": "the 65-byte signature and one more byte (boundary above 65)",
    "v-0-or-1": "raw recovery id instead of 27/28",
    "v-29": "first v above 28 (boundary)",
    "v-26": "last v below 27 (boundary)",
    "high-s": "the malleated twin: s' = n - s > n/2",
    "s-half-n-plus-1": "s = n/2 + 1, the first high s (boundary)",
    "r-zero": "r = 0",
    "s-zero": "s = 0",
    "r-at-least-n": "r = n",
    "r-off-curve": f"r = {R_OFF_CURVE}, no point with that x",
    "all-zero": "65 zero bytes",
})
"""Every class of userOp signature PROTOCOL.md §2 distinguishes, with its boundary."""

OWNER_STATES: tuple[str, ...] = ("fresh-valid-bootstrap", "fresh-reverting-calldata", "owned")
"""Owner states a gate is crossed with: unset with a bootstrap callData that validates, unset
with one that would revert if read, and set."""

INPUT_CLASSES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType({
    "AC-001": ("caller: named actors (cluster, owners, members, paymaster, bundler, zero, "
               "look-alike and v0.6 EntryPoints) x every signature class x every owner state "
               "x prefund 0 / due; random callers x valid and invalid signatures",),
    "AC-002": ("every invalid signature class (SIGNATURE_CLASSES minus valid-*) on the owner and "
               "the bootstrap path; the owner's own signature's malleated twins",),
    "AC-003": ("invalid signature x each reverting bootstrap shape (noise, wrong selector, "
               "wrong target, value, wrong inner selector, truncated)",),
    "AC-034": ("dstack_register layouts: truncate, proof offset (head, past end, 2^64, 2^256-1), "
               "member offset / length past end, dirty memberContract bits, trailing bytes, "
               "data not a multiple of 32, flipped head byte",),
    "AC-035": ("execute layouts: decoy before, gap (not a multiple of 32), offset into head "
               "(0x00/0x20/0x40), dirty target bits, trailing bytes, dirty / missing padding, "
               "length past end / too small, offset past end, offset forward, duplicate after",),
})
"""Input classes per account rule and their boundaries (the checks' docstrings say more)."""


def signature_classes(genuine: bytes, other: bytes) -> dict[str, bytes]:
    """One signature of every class of ``SIGNATURE_CLASSES``: ``genuine`` by the expected signer,
    ``other`` valid by another key; the invalid ones are built from ``genuine``."""
    r, v = genuine[:32], genuine[64]
    return {
        "valid-signer": genuine,
        "valid-other": other,
        "empty": b"",
        "one-byte": genuine[:1],
        "compact-eip2098": to_compact(genuine),
        "compact-r-s": genuine[:64],
        "length-66": genuine + b"\x00",
        "v-0-or-1": with_v(genuine, v - 27),
        "v-29": with_v(genuine, 29),
        "v-26": with_v(genuine, 26),
        "high-s": to_high_s(genuine),
        "s-half-n-plus-1": r + (HALF_N + 1).to_bytes(32, "big") + bytes([v]),
        "r-zero": bytes(32) + genuine[32:],
        "s-zero": r + bytes(32) + bytes([v]),
        "r-at-least-n": SECP256K1_N.to_bytes(32, "big") + genuine[32:],
        "r-off-curve": R_OFF_CURVE.to_bytes(32, "big") + genuine[32:],
        "all-zero": bytes(65),
    }
