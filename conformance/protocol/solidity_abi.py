"""How other readers read ``execute`` calldata: Solidity's ABI decoder and lenient parsers.

PROTOCOL.md §3, decoder agreement: for every callData the webhook's reading, the account's
reading and the EVM's own ABI reading must agree, or the webhook must deny. Each reader here
takes calldata bytes and returns an ``ExecuteCall`` or raises ``DecodeError``; ``READERS``
names them so a differential check can say *which* reading disagrees and why.

``decode_execute_solidity`` models what solc 0.8.24 (ABI coder v2, legacy and via-IR alike)
generates for ``execute(address target, uint256 value, bytes calldata data)``; the tests run
it against real solc bytecode in an EVM (tests/fixtures/SolidityDecoderProbe.sol).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

import eth_abi
from eth_abi.exceptions import (
    DecodingError,
    InsufficientDataBytes,
    InvalidPointer,
    NonEmptyPaddingBytes,
)

from conformance.protocol.calldata import (
    EXECUTE_SELECTOR,
    EXECUTE_TYPES,
    DecodeError,
    DecodeErrorKind,
    ExecuteCall,
    decode_execute_strict,
)
from conformance.protocol.selectors import selector

UINT64_MAX = (1 << 64) - 1
"""solc's bound on calldata offsets and lengths (``0xffffffffffffffff``)."""

FREE_MEMORY_START = 0x80
"""The free memory pointer when a fresh call decodes its arguments (``memoryguard(128)``)."""

PANIC_ALLOCATION = selector("Panic(uint256)") + (0x41).to_bytes(32, "big")
"""Revert data of ``Panic(0x41)``: solc's too-large memory allocation."""

_ADDRESS_LIMIT = 1 << 160
_K = DecodeErrorKind


class SolidityRevert(DecodeError):
    """Where Solidity's decoder reverts; ``revert_data`` is what the EVM returns (often empty)."""

    def __init__(self, kind: DecodeErrorKind, detail: str, revert_data: bytes = b"") -> None:
        super().__init__(kind, detail)
        self.revert_data = revert_data


def _word(calldata: bytes, position: int) -> int:
    """``calldataload(position)``: 32 bytes big-endian, zero-filled past the end."""
    chunk = calldata[position : position + 32]
    return int.from_bytes(chunk, "big") << (8 * (32 - len(chunk)))


def _solidity(
    calldata: bytes,
    *,
    memory: bool = False,
    mask_address: bool = False,
    fixed_offset: bool = False,
) -> ExecuteCall:
    """The decoder solc emits, step by step; the flags switch on one departure each.

    Yul of ``abi_decode_tuple_t_addresst_uint256t_bytes_calldata_ptr(4, calldatasize())``,
    paraphrased (headStart = 4, end = calldatasize):
      dispatch   calldatasize < 4, or no selector matches -> revert (no fallback)
      head       slt(sub(end, 4), 96) -> revert
      address    value := calldataload(4); iszero(eq(value, and(value, 2^160-1))) -> revert
      offset     calldataload(68) > 0xffffffffffffffff -> revert; pos := add(4, offset)
      tail       iszero(slt(add(pos, 0x1f), end)) -> revert   (a whole length word fits)
      length     calldataload(pos) > 0xffffffffffffffff -> revert
      bounds     gt(add(add(pos, 0x20), length), end) -> revert; data = [pos+32, +length)
    ``bytes memory`` (``abi_decode_t_bytes_memory_ptr``) checks head, address, offset and tail
    alike, then allocates before the bounds check: length > 0xffffffffffffffff, or a new free
    pointer ``0x80 + roundup32(length) + 32`` above 0xffffffffffffffff -> Panic(0x41); then
    ``gt(add(pos+32, length), end)`` -> plain revert. Same accepted inputs, same fields; only
    the revert data of huge lengths differs. Nothing else is checked: trailing bytes, dirty
    padding and any in-range offset (forward, backward, into the head) are accepted.
    """
    if type(calldata) is not bytes:
        calldata = bytes(calldata)
    end = len(calldata)
    if end < 4:
        raise SolidityRevert(_K.TOO_SHORT, f"{end} bytes: no selector, no fallback")
    if calldata[:4] != EXECUTE_SELECTOR:
        raise SolidityRevert(_K.WRONG_SELECTOR, f"selector 0x{calldata[:4].hex()}: no match")
    if end - 4 < 96:
        raise SolidityRevert(_K.TOO_SHORT, f"slt(sub(end, 4), 96): {end - 4} head bytes")
    target = int.from_bytes(calldata[4:36], "big")
    if target >= _ADDRESS_LIMIT and not mask_address:
        raise SolidityRevert(_K.DIRTY_ADDRESS, f"address word {target:#066x} is not clean")
    offset = 0x60 if fixed_offset else int.from_bytes(calldata[68:100], "big")
    if offset > UINT64_MAX:
        raise SolidityRevert(_K.OFFSET_OUT_OF_RANGE, f"offset {offset:#x} > 0xffffffffffffffff")
    pos = 4 + offset
    if not pos + 0x1F < end:
        raise SolidityRevert(_K.OFFSET_OUT_OF_RANGE, f"slt(add({pos:#x}, 0x1f), {end:#x}) false")
    length = int.from_bytes(calldata[pos : pos + 32], "big")
    if memory and _allocation_panics(length):
        raise SolidityRevert(_K.LENGTH_OUT_OF_RANGE, f"allocating {length:#x}", PANIC_ALLOCATION)
    if length > UINT64_MAX:
        raise SolidityRevert(_K.LENGTH_OUT_OF_RANGE, f"length {length:#x} > 0xffffffffffffffff")
    start = pos + 32
    if start + length > end:
        kind = _K.LENGTH_OUT_OF_RANGE
        raise SolidityRevert(kind, f"data [{start:#x}, +{length:#x}) passes end {end:#x}")
    value = int.from_bytes(calldata[36:68], "big")
    address = (target % _ADDRESS_LIMIT).to_bytes(20, "big")
    return ExecuteCall(address, value, calldata[start : start + length])


def _allocation_panics(length: int) -> bool:
    """solc's ``array_allocation_size`` / ``finalize_allocation`` checks for ``bytes memory``."""
    if length > UINT64_MAX:
        return True
    return FREE_MEMORY_START + ((length + 31) & ~31) + 32 > UINT64_MAX


def decode_execute_solidity(calldata: bytes) -> ExecuteCall:
    """What solc 0.8.24 reads for ``execute(address,uint256,bytes calldata)`` (PROTOCOL.md §3).

    Raises SolidityRevert exactly where the EVM reverts (always with empty revert data). See
    ``_solidity`` for the checks, paraphrased from the Yul solc generates. Calldata under 4
    bytes or with another selector reverts in a contract without ``fallback``/``receive``; a
    contract that has one runs it instead, which is no reading of ``execute`` either way.
    """
    return _solidity(calldata)


def decode_execute_solidity_memory(calldata: bytes) -> ExecuteCall:
    """The same for ``bytes memory data``: same verdicts and fields (PROTOCOL.md §3).

    The one difference: a length above ``0xffffffffffffffff - 0xbf`` (roughly) reverts with
    ``Panic(0x41)`` (memory allocation) instead of empty revert data.
    """
    return _solidity(calldata, memory=True)


def decode_execute_dirty_address_ignoring(calldata: bytes) -> ExecuteCall:
    """Solidity's reading, except the target word is masked to its low 20 bytes.

    Mimics readers that take ``word[-20:]``: viem's and ox's ``decodeAddress`` slice the last 20
    bytes without checking the rest, as do hand-written ``'0x' + word.slice(-40)`` parsers and
    ``address(uint160(uint256(word)))`` in assembly. Solidity reverts on the same input, so a
    webhook reading this way approves what the account cannot execute, or names a target the
    EVM never sees.
    """
    return _solidity(calldata, mask_address=True)


def decode_execute_fixed_offset(calldata: bytes) -> ExecuteCall:
    """Solidity's reading, except the offset word is ignored: the length is read at 0x64.

    Mimics parsers that hard-code the canonical layout (inner selector at calldata bytes
    132..136, i.e. ``callData.slice(266, 274)`` in hex text). With a non-canonical offset the
    EVM follows the offset word to other data, so the two readings name different inner calls.
    """
    return _solidity(calldata, fixed_offset=True)


def decode_execute_offset_trusting(calldata: bytes) -> ExecuteCall:
    """Follows the offset and length words with no bounds or canonicality checks.

    Mimics hand-rolled slicing (JS ``slice``, Python slices, assembly ``calldataload``): words
    past the end read as zero-filled, the target is the word's low 20 bytes, and data is cut
    short at the end of the calldata instead of being refused. Only a missing or wrong
    selector is refused; nothing else can make it fail.
    """
    if type(calldata) is not bytes:
        calldata = bytes(calldata)
    if len(calldata) < 4:
        raise DecodeError(_K.TOO_SHORT, f"{len(calldata)} bytes: no selector")
    if calldata[:4] != EXECUTE_SELECTOR:
        raise DecodeError(_K.WRONG_SELECTOR, f"selector 0x{calldata[:4].hex()}")
    target = (_word(calldata, 4) % _ADDRESS_LIMIT).to_bytes(20, "big")
    pos = 4 + _word(calldata, 68)
    length = _word(calldata, pos)
    data = calldata[pos + 32 : pos + 32 + length]
    return ExecuteCall(target, _word(calldata, 36), data)


def decode_execute_eth_abi(calldata: bytes) -> ExecuteCall:
    """eth-abi's reading: selector check, then ``eth_abi.decode(EXECUTE_TYPES, body)`` (strict).

    A real library some webhooks use. eth-abi 6 accepts forward offsets and trailing bytes,
    refuses backward offsets (``InvalidPointer``), dirty address bits and dirty padding
    (``NonEmptyPaddingBytes``), and raises ``OverflowError``, not a ``DecodingError``, on a
    huge length word: all mapped to DecodeError here.
    """
    if len(calldata) < 4:
        raise DecodeError(_K.TOO_SHORT, f"{len(calldata)} bytes: no selector")
    if calldata[:4] != EXECUTE_SELECTOR:
        raise DecodeError(_K.WRONG_SELECTOR, f"selector 0x{calldata[:4].hex()}")
    try:
        target, value, data = eth_abi.decode(EXECUTE_TYPES, calldata[4:])
    except (DecodingError, OverflowError) as exc:
        raise DecodeError(_eth_abi_kind(calldata, exc), f"eth-abi {exc!r}") from exc
    return ExecuteCall(bytes.fromhex(target[2:]), value, data)


def _eth_abi_kind(calldata: bytes, exc: Exception) -> DecodeErrorKind:
    """The closest kind for an eth-abi exception."""
    if isinstance(exc, NonEmptyPaddingBytes):
        return _K.DIRTY_ADDRESS if any(calldata[4:16]) else _K.DIRTY_PADDING
    if isinstance(exc, InvalidPointer):
        return _K.OFFSET_OUT_OF_RANGE
    if isinstance(exc, InsufficientDataBytes):
        return _K.TOO_SHORT if len(calldata) < 100 else _K.LENGTH_OUT_OF_RANGE
    if isinstance(exc, OverflowError):
        return _K.LENGTH_OUT_OF_RANGE
    return _K.LIBRARY_REJECTED


Reader = Callable[[bytes], ExecuteCall]

READERS: Mapping[str, Reader] = MappingProxyType(
    {
        "strict": decode_execute_strict,
        "solidity": decode_execute_solidity,
        "solidity_memory": decode_execute_solidity_memory,
        "eth_abi": decode_execute_eth_abi,
        "offset_trusting": decode_execute_offset_trusting,
        "fixed_offset": decode_execute_fixed_offset,
        "dirty_address_ignoring": decode_execute_dirty_address_ignoring,
    }
)
"""Every reader by name (PROTOCOL.md §3, decoder agreement)."""


def compare_readers(
    calldata: bytes, readers: Mapping[str, Reader] = READERS
) -> dict[str, ExecuteCall | DecodeError]:
    """Each reader's outcome on ``calldata``: its reading, or the DecodeError it raised."""
    outcomes: dict[str, ExecuteCall | DecodeError] = {}
    for name, reader in readers.items():
        try:
            outcomes[name] = reader(calldata)
        except DecodeError as exc:
            outcomes[name] = exc
    return outcomes
