"""The outer ``execute`` call: the call value, its canonical encoder and its strict decoder.

PROTOCOL.md §1 (``execute(address,uint256,bytes)`` = 0xb61d27f6, no ``executeBatch``) and §3
(layout ``selector ‖ word(target) ‖ word(value) ‖ word(0x60) ‖ word(len) ‖ data padded to 32``,
and the non-canonical encodings components may read differently). eth-abi is the encoder; the
strict decoder is a validator of the canonical layout written on bytes for speed. Models of how
other readers (Solidity's decoder, lenient parsers) read the same bytes live in
``conformance.protocol.solidity_abi``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import eth_abi
from eth_abi.exceptions import ParseError
from eth_abi.grammar import TupleType, normalize, parse
from eth_abi.registry import registry as _abi_registry

from conformance.protocol.hexutil import HexFormatError, parse_data
from conformance.protocol.selectors import EXECUTE, selector

EXECUTE_SELECTOR: bytes = EXECUTE.selector
"""0xb61d27f6, the only outer selector (PROTOCOL.md §1)."""

EXECUTE_TYPES: tuple[str, str, str] = ("address", "uint256", "bytes")
"""The argument types of ``execute`` (PROTOCOL.md §1, §3)."""

CANONICAL_OFFSET = 0x60
"""The canonical offset of ``data``: right after the three head words (PROTOCOL.md §3)."""

HEAD_END = 4 + 3 * 32
"""Calldata position where the head (target, value, offset words) ends: 100."""

CANONICAL_DATA_START = HEAD_END + 32
"""Calldata position where canonical ``data`` starts, after its length word: 132."""

UINT256_LIMIT = 1 << 256
_ZERO12 = bytes(12)


class DecodeErrorKind(enum.StrEnum):
    """What is wrong with a callData, in the order a reader meets it (PROTOCOL.md §3)."""

    HEX_FORMAT = "hex-format"
    """The hex text is not ``0x`` followed by an even number of hex digits."""
    TOO_SHORT = "too-short"
    """Fewer bytes than the selector, the head or the length word needs."""
    WRONG_SELECTOR = "wrong-selector"
    """The first four bytes are not 0xb61d27f6."""
    DIRTY_ADDRESS = "dirty-address"
    """The upper 12 bytes of the target word are not zero."""
    OFFSET_NOT_CANONICAL = "offset-not-canonical"
    """The offset word is in range but is not 0x60 (forward, backward or into the head)."""
    OFFSET_OUT_OF_RANGE = "offset-out-of-range"
    """The offset word points where no whole length word fits (or is absurdly large)."""
    LENGTH_OUT_OF_RANGE = "length-out-of-range"
    """The length word asks for more bytes than the calldata holds (or is absurdly large)."""
    MISSING_PADDING = "missing-padding"
    """The data is not followed by the zero padding that rounds it up to 32 bytes."""
    DIRTY_PADDING = "dirty-padding"
    """The padding after the data is not all zero."""
    TRAILING_BYTES = "trailing-bytes"
    """Bytes follow the padded data."""
    LIBRARY_REJECTED = "library-rejected"
    """A library reader refused the input for a reason none of the other kinds names."""


class DecodeError(ValueError):
    """A callData a reader refuses: ``kind`` names the first thing wrong, ``detail`` says how."""

    def __init__(self, kind: DecodeErrorKind, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    def __hash__(self) -> int:
        return hash((type(self), self.kind, self.detail))


@dataclass(frozen=True, slots=True)
class ExecuteCall:
    """One reading of ``execute(target, value, data)`` (PROTOCOL.md §3)."""

    target: bytes
    value: int
    data: bytes

    def __post_init__(self) -> None:
        if len(self.target) != 20:
            raise ValueError(f"target length={len(self.target)}: must be 20 bytes")
        if not 0 <= self.value < UINT256_LIMIT:
            raise ValueError(f"value={self.value}: must fit in uint256")

    @property
    def inner_selector(self) -> bytes:
        """The first four bytes of ``data``; ``b""`` (the never-allowed ``0x``) when shorter."""
        return self.data[:4] if len(self.data) >= 4 else b""

    @property
    def reading(self) -> tuple[bytes, int, bytes]:
        """(target, value, inner selector): what the webhook's policy reads (PROTOCOL.md §5)."""
        return (self.target, self.value, self.inner_selector)

    def encode(self) -> bytes:
        """The canonical calldata of this call (``encode_execute``)."""
        return encode_execute(self.target, self.value, self.data)


def encode_execute(target: bytes, value: int, data: bytes) -> bytes:
    """Canonical ``execute(target, value, data)`` calldata via eth-abi (PROTOCOL.md §3)."""
    return EXECUTE_SELECTOR + eth_abi.encode(EXECUTE_TYPES, (target, value, data))


def argument_types(signature: str) -> tuple[str, ...]:
    """The top-level argument types of a canonical signature such as ``f((bytes32,bytes),address)``.

    Raises ValueError when the signature is malformed, uses aliases (``uint``) or names a type
    eth-abi cannot encode (a struct name such as ``DstackProof``, PROTOCOL.md §1: selectors are
    computed over the expanded tuple).
    """
    name, paren, arg_text = signature.partition("(")
    if not name or not paren or not signature.endswith(")"):
        raise ValueError(f"signature={signature!r}: expected name(type,...)")
    arg_text = paren + arg_text
    if arg_text == "()":
        return ()
    try:
        canonical = normalize(arg_text)
        parsed = parse(arg_text)
    except (ParseError, ValueError) as exc:
        raise ValueError(f"signature={signature!r}: {exc}") from exc
    if canonical != arg_text:
        raise ValueError(
            f"signature={signature!r}: not canonical (did you mean {name}{canonical}?)"
        )
    assert isinstance(parsed, TupleType)
    types = tuple(c.to_type_str() for c in parsed.components)
    for type_str in types:
        if not _abi_registry.has_encoder(type_str):
            raise ValueError(f"signature={signature!r}: eth-abi cannot encode {type_str!r}")
    return types


def encode_call(signature: str, args: Sequence[Any]) -> bytes:
    """``selector(signature) ‖ abi.encode(args)`` for an inner call (PROTOCOL.md §1, §3)."""
    types = argument_types(signature)
    if len(args) != len(types):
        raise ValueError(f"signature={signature!r}: takes {len(types)} arguments, got {len(args)}")
    return selector(signature) + eth_abi.encode(types, tuple(args))


def decode_execute_strict(calldata: bytes) -> ExecuteCall:
    """Read canonical ``execute`` calldata only; anything else raises DecodeError (PROTOCOL.md §3).

    Canonical: selector 0xb61d27f6, a clean address word, offset exactly 0x60, a length that
    fits, data zero-padded to a multiple of 32 and nothing after it. The error names the first
    thing wrong in reading order (selector, target, offset, length, padding, trailing bytes).
    """
    if type(calldata) is not bytes:
        calldata = bytes(calldata)
    size = len(calldata)
    if size < 4:
        raise DecodeError(DecodeErrorKind.TOO_SHORT, f"{size} bytes: no selector")
    if calldata[:4] != EXECUTE_SELECTOR:
        raise DecodeError(DecodeErrorKind.WRONG_SELECTOR, f"selector 0x{calldata[:4].hex()}")
    if size < HEAD_END:
        raise DecodeError(DecodeErrorKind.TOO_SHORT, f"{size} bytes: the head needs {HEAD_END}")
    if calldata[4:16] != _ZERO12:
        raise DecodeError(DecodeErrorKind.DIRTY_ADDRESS, f"upper bytes 0x{calldata[4:16].hex()}")
    offset = int.from_bytes(calldata[68:HEAD_END], "big")
    if offset != CANONICAL_OFFSET:
        if offset > size - 36:
            kind = DecodeErrorKind.OFFSET_OUT_OF_RANGE
            raise DecodeError(kind, f"offset {offset:#x}: no length word there in {size} bytes")
        raise DecodeError(DecodeErrorKind.OFFSET_NOT_CANONICAL, f"offset {offset:#x}, not 0x60")
    if size < CANONICAL_DATA_START:
        kind = DecodeErrorKind.TOO_SHORT
        raise DecodeError(kind, f"{size} bytes: the length word needs {CANONICAL_DATA_START}")
    length = int.from_bytes(calldata[HEAD_END:CANONICAL_DATA_START], "big")
    if length > size - CANONICAL_DATA_START:
        kind = DecodeErrorKind.LENGTH_OUT_OF_RANGE
        raise DecodeError(kind, f"length {length:#x}: only {size - CANONICAL_DATA_START} follow")
    end = CANONICAL_DATA_START + length
    padded_end = CANONICAL_DATA_START + ((length + 31) & ~31)
    if size < padded_end:
        kind = DecodeErrorKind.MISSING_PADDING
        raise DecodeError(kind, f"data of {length} bytes needs padding to {padded_end}")
    if calldata[end:padded_end].count(0) != padded_end - end:
        raise DecodeError(DecodeErrorKind.DIRTY_PADDING, f"0x{calldata[end:padded_end].hex()}")
    if size != padded_end:
        kind = DecodeErrorKind.TRAILING_BYTES
        raise DecodeError(kind, f"{size - padded_end} bytes after the padded data")
    return ExecuteCall(
        calldata[16:36], int.from_bytes(calldata[36:68], "big"), calldata[CANONICAL_DATA_START:end]
    )


def parse_calldata_hex(text: str) -> bytes:
    """callData bytes from its JSON hex text; DecodeError(HEX_FORMAT) when not ``0x`` hex.

    PROTOCOL.md §2, §3. Odd length, non-hex digits, whitespace or a missing prefix are refused.
    Upper-case (or mixed-case) digits are valid hex and accepted, as ``hexutil.parse_data`` does:
    case changes the text, never the bytes, so every reader here sees the same calldata.
    Whether a component treats upper-case text differently is a finding at the text level; use
    ``is_canonical_hex`` to tell such inputs apart.
    """
    if not isinstance(text, str):
        raise DecodeError(DecodeErrorKind.HEX_FORMAT, f"{type(text).__name__}, not a string")
    try:
        return parse_data(text)
    except HexFormatError as exc:
        raise DecodeError(DecodeErrorKind.HEX_FORMAT, str(exc)) from exc


def is_canonical_hex(text: str) -> bool:
    """True when ``text`` is ``0x`` followed by even-length lower-case hex (PROTOCOL.md §2)."""
    try:
        data = parse_calldata_hex(text)
    except DecodeError:
        return False
    return text == "0x" + data.hex()
