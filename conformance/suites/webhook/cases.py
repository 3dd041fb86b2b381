"""Request bodies for the webhook checks (PROTOCOL.md §2 unpacked UserOperation, §5 bodies).

Builders take raw values and return the exact JSON bytes sent, so a FAIL's minimal input is the
body byte for byte. Canonical callData comes from ``protocol.calldata.encode_execute`` (eth-abi).
"""

from __future__ import annotations

import json
from typing import Any

from conformance.protocol.calldata import encode_call, encode_execute
from conformance.protocol.hexutil import to_data
from conformance.protocol.webhook_wire import SPONSORSHIP_EVENT, alchemy_body, pimlico_event

CANONICAL_ENTRY_POINT = "0x0000000071727De22E5E9d8BAf0edAc6f37da032"
"""EntryPoint v0.7 (PROTOCOL.md §1)."""

DUMMY_SIGNATURE = (
    "0x6f79009346b958973a8481f680a44b5075d56562b39aff2104395323b6bc666a2302f4e19a7da13bef02c8"
    "66971d5b35ce8c0ad27542a1c476e103b99a7b6cd61b"
)
"""The live dummy signature (PROTOCOL.md §2)."""

DEFAULT_INNER = encode_call("publishWgKey(bytes32)", [b"\x11" * 32])
"""An inner call every generation sponsors (CORE ``publishWgKey``)."""

ABSENT: Any = object()
"""Marker: leave the key out of the body."""


def user_op(sender: bytes | str, call_data: bytes | str, **extra: Any) -> dict[str, Any]:
    """An unpacked v0.7 UserOperation (PROTOCOL.md §2) with ``sender`` and ``callData`` as given."""
    op: dict[str, Any] = {
        "sender": to_data(sender) if isinstance(sender, bytes) else sender,
        "nonce": "0x0",
        "callData": to_data(call_data) if isinstance(call_data, bytes) else call_data,
        "callGasLimit": "0x186a0",
        "verificationGasLimit": "0x186a0",
        "preVerificationGas": "0xc350",
        "maxFeePerGas": "0x1",
        "maxPriorityFeePerGas": "0x1",
        "signature": DUMMY_SIGNATURE,
    }
    op.update(extra)
    return op


def dumps(value: Any) -> bytes:
    """Compact JSON bytes."""
    return json.dumps(value, separators=(",", ":")).encode()


def alchemy(sender: bytes | str, call_data: bytes | str, chain_id: Any,
            *, entry_point: str = CANONICAL_ENTRY_POINT) -> bytes:
    """A ``POST /`` body; ``chain_id`` is the JSON value sent (``ABSENT`` leaves it out)."""
    body = alchemy_body(user_op(sender, call_data), entry_point, None)
    if chain_id is not ABSENT:
        body["chainId"] = chain_id
    return dumps(body)


def pimlico(sender: bytes | str, call_data: bytes | str, chain_id: int, *,
            form: str = "number", nest: bool = True) -> bytes:
    """A ``POST /pimlico`` sponsorship event (PROTOCOL.md §5 "Pimlico body")."""
    return dumps(pimlico_event(user_op(sender, call_data), chain_id, "sp_amc",
                               chain_id_form=form, nest_object=nest))  # type: ignore[arg-type]


def pimlico_raw(payload: Any, *, event_type: str = SPONSORSHIP_EVENT) -> bytes:
    """An event with an arbitrary ``data`` payload."""
    return dumps({"type": event_type, "data": payload})


def execute(target: bytes, inner: bytes = DEFAULT_INNER, value: int = 0) -> bytes:
    """Canonical ``execute(target, value, inner)`` callData (PROTOCOL.md §3)."""
    return encode_execute(target, value, inner)


def hex_chain(chain_id: int) -> str:
    """A chain id as the Alchemy body carries it (minimal ``0x`` hex)."""
    return hex(chain_id)
