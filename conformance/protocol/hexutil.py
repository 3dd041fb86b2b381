"""Hex and hashing primitives of the wire formats (PROTOCOL.md §2: quantities and byte fields).

Quantities are minimal lower-case ``0x`` hex (``0x0`` for zero); byte fields are ``0x`` hex of
even length. The parsers are strict: they reject what the formats do not allow and say why.
"""

from __future__ import annotations

try:  # eth-hash's pysha3 backend (safe-pysha3) is ~4x faster than its pycryptodome one
    from eth_hash.backends.pysha3 import keccak256 as _keccak
except ImportError:  # pragma: no cover - fall back to whichever backend eth-hash finds
    from eth_hash.auto import keccak as _keccak  # type: ignore[assignment]
from eth_utils import to_checksum_address

HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


class HexFormatError(ValueError):
    """A string is not the hex form the protocol requires."""


def keccak(data: bytes) -> bytes:
    """keccak256 of ``data`` (eth-hash)."""
    return _keccak(data)


def to_quantity(value: int) -> str:
    """Minimal lower-case ``0x`` hex of a non-negative integer (``0x0`` for zero)."""
    if value < 0:
        raise HexFormatError(f"quantity={value}: must be non-negative")
    return hex(value)


def parse_quantity(text: str) -> int:
    """Parse a ``0x`` hex quantity; reject a missing prefix, no digits or non-hex digits."""
    if not isinstance(text, str) or not text.startswith(("0x", "0X")):
        raise HexFormatError(f"quantity={text!r}: must be a 0x-prefixed hex string")
    digits = text[2:]
    if not digits or not set(digits) <= HEX_DIGITS:
        raise HexFormatError(f"quantity={text!r}: needs hex digits after 0x")
    return int(digits, 16)


def to_data(data: bytes) -> str:
    """``0x`` + lower-case hex of ``data``."""
    return "0x" + data.hex()


def parse_data(text: str) -> bytes:
    """Parse ``0x`` hex bytes of even length (either case); reject anything else."""
    if not isinstance(text, str) or not text.startswith(("0x", "0X")):
        raise HexFormatError(f"data={text[:20]!r}: must be a 0x-prefixed hex string")
    digits = text[2:]
    if len(digits) % 2:
        raise HexFormatError(f"data={text[:20]!r}: odd number of hex digits")
    if not set(digits) <= HEX_DIGITS:
        raise HexFormatError(f"data={text[:20]!r}: non-hex digit")
    return bytes.fromhex(digits)


def parse_address(text: str) -> bytes:
    """Parse a 20-byte ``0x`` address (either case, checksum not enforced)."""
    raw = parse_data(text)
    if len(raw) != 20:
        raise HexFormatError(f"address={text[:44]!r}: must be 20 bytes, got {len(raw)}")
    return raw


def checksum(address: bytes) -> str:
    """EIP-55 checksummed text of a 20-byte address."""
    if len(address) != 20:
        raise HexFormatError(f"address length={len(address)}: must be 20 bytes")
    return str(to_checksum_address(address))


def word(value: int) -> bytes:
    """A 32-byte big-endian ABI word."""
    return value.to_bytes(32, "big")


def address_word(address: bytes) -> bytes:
    """A 20-byte address left-padded to a 32-byte ABI word."""
    return b"\x00" * 12 + address
