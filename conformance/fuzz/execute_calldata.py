"""Fuzz target ``execute_calldata``: the strict decoder of the outer ``execute`` call
(PROTOCOL.md §3; rules UO-015, UO-017, WH-023, WH-066).

Invariant:
- ``decode_execute_strict`` raises only ``DecodeError`` (any other exception escapes and is a
  finding by itself);
- what it accepts re-encodes (eth-abi) to exactly the same bytes (UO-017: canonical only);
- on canonical input it agrees with eth-abi (canonical ⇔ eth-abi decodes it and re-encodes the
  same bytes: the strict decoder must accept it) and with the Solidity-decoding model (WH-066).
"""

from __future__ import annotations

from collections.abc import Callable

import eth_abi
from eth_abi.exceptions import DecodingError

from conformance.fuzz.base import draw_examples, require, unique
from conformance.fuzz.dictionaries import CALLDATA_TOKENS
from conformance.fuzz.mutators import calldata_mutator
from conformance.protocol.calldata import (
    EXECUTE_SELECTOR,
    EXECUTE_TYPES,
    DecodeError,
    ExecuteCall,
    decode_execute_strict,
    encode_execute,
)
from conformance.protocol.solidity_abi import decode_execute_solidity

NAME = "execute_calldata"
RULES = ("UO-015", "UO-017", "WH-023", "WH-066")
DICTIONARY = CALLDATA_TOKENS
MUTATOR = calldata_mutator

DECODER: Callable[[bytes], ExecuteCall] = decode_execute_strict
"""The decoder under test (a planted bug or a candidate replaces it)."""


def setup() -> None:
    """Nothing to prepare (pure Python)."""


def _eth_abi_canonical(data: bytes) -> bool:
    """The execute selector, and eth-abi re-encodes what it decodes to the same bytes."""
    if data[:4] != EXECUTE_SELECTOR:
        return False
    try:
        values = eth_abi.decode(EXECUTE_TYPES, data[4:])
    except (DecodingError, OverflowError):
        return False
    return eth_abi.encode(EXECUTE_TYPES, values) == data[4:]


def TestOneInput(data: bytes) -> None:  # noqa: N802 (libFuzzer's name)
    """Decode ``data`` strictly and hold the reading to eth-abi and the Solidity model."""
    try:
        call = DECODER(data)
    except DecodeError as exc:
        if data[:4] == EXECUTE_SELECTOR and len(data) % 32 == 4:
            require(not _eth_abi_canonical(data), "UO-017",
                    f"canonical callData refused ({exc.kind}: {exc.detail})")
        return
    encoded = encode_execute(call.target, call.value, call.data)
    require(encoded == data, "UO-017",
            lambda: f"accepted callData that is not canonical: it re-encodes to "
                    f"{len(encoded)} bytes differing from the {len(data)} given")
    require(decode_execute_solidity(data) == call, "WH-066",
            "the strict reading differs from the Solidity model's")


def seeds(*, canonical_only: bool = False) -> list[bytes]:
    """Canonical callData from the hypothesis generators; with every vector unless
    ``canonical_only``."""
    from conformance.fuzz.corpus import calldata_vectors
    from conformance.strategies import execute_calldata

    found = draw_examples(execute_calldata(), 32)
    found += draw_examples(execute_calldata(generation="multi-attestor", operator_enabled=True), 8)
    if not canonical_only:
        found += calldata_vectors()
    return unique(found)
