"""``calldata.json``: canonical and non-canonical ``execute`` calldata, read two ways (§3).

Input: ``callData``, the hex *text* as it appears in a UserOperation (it may be odd-length,
upper-case or not hex at all). Expected:

- ``hexCanonical``: the text is ``0x`` followed by even-length lower-case hex (§2).
- ``strict``: the suite's strict reading (canonical layout only) — ``accepted`` with the fields
  it reads (``target``, ``value``, ``data``, ``innerSelector``), or ``accepted: false`` with the
  ``errorKind`` of the first thing wrong in reading order: hex-format, too-short,
  wrong-selector, dirty-address, offset-not-canonical, offset-out-of-range,
  length-out-of-range, missing-padding, dirty-padding, trailing-bytes.
- ``solidity``: what solc 0.8.24's ABI decoder reads for ``execute(address,uint256,bytes
  calldata)`` (the account's own reading): the same shape, or null when the text is not hex.

Decoder agreement (WH-066, WH-067, AC-035): a webhook may approve only callData both readings
accept with the same fields; every non-canonical vector here is one a webhook must deny.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from conformance.protocol.calldata import (
    DecodeError,
    ExecuteCall,
    decode_execute_strict,
    encode_call,
    encode_execute,
    is_canonical_hex,
    parse_calldata_hex,
)
from conformance.protocol.selectors import EXECUTE, NEVER_SPONSORABLE
from conformance.protocol.solidity_abi import decode_execute_solidity
from conformance.vectors._proof_chains import valid_register_call
from conformance.vectors.model import Case, Json, hx, num, read_str

CLUSTER = bytes.fromhex("5a" * 20)
"""The target of every vector: stands for the sender's own cluster."""

SEL = EXECUTE.selector
WG_INNER = encode_call("publishWgKey(bytes32)", [b"\x11" * 32])
SEND_INNER = encode_call("send(bytes32,bytes32,bytes)", [b"\x01" * 32, b"\x02" * 32, b"\xc1" * 70])
UPGRADE_INNER = encode_call("upgradeToAndCall(address,bytes)", [b"\x66" * 20, b""])
_AGREEMENT = ("WH-066", "WH-067", "AC-035")
_CANONICAL = ("UO-017", "UO-015")


def _reading(reader: Callable[[bytes], ExecuteCall], data: bytes) -> Json:
    try:
        call = reader(data)
    except DecodeError as exc:
        return {"accepted": False, "errorKind": exc.kind.value}
    return {"accepted": True, "target": hx(call.target), "value": num(call.value),
            "data": hx(call.data), "innerSelector": hx(call.inner_selector)}


def evaluate(inp: Mapping[str, Any]) -> Json:
    """Both readings of a callData text (PROTOCOL.md §3)."""
    text = read_str(inp, "callData")
    expected: Json = {"hexCanonical": is_canonical_hex(text)}
    try:
        data = parse_calldata_hex(text)
    except DecodeError as exc:
        expected.update(strict={"accepted": False, "errorKind": exc.kind.value}, solidity=None)
        return expected
    expected["strict"] = _reading(decode_execute_strict, data)
    expected["solidity"] = _reading(decode_execute_solidity, data)
    return expected


def _w(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _head(offset: int, target_word: bytes | None = None, value: int = 0) -> bytes:
    return SEL + (target_word or bytes(12) + CLUSTER) + _w(value) + _w(offset)


def _tail(data: bytes) -> bytes:
    return _w(len(data)) + data + bytes(-len(data) % 32)


def _case(name: str, text: str, calldata: bytes | str, rules: tuple[str, ...]) -> Case:
    call_text = calldata if isinstance(calldata, str) else hx(calldata)
    return Case(name, text, rules, {"callData": call_text})


def _canonical_cases() -> list[Case]:
    items = [
        ("publish-wg-key", "publishWgKey(0x11..11): a 36-byte inner call", WG_INNER),
        ("send", "send(recipient, envelopeId, 70-byte ciphertext)", SEND_INNER),
        ("dstack-register", "the valid §4 proof's dstack_register call (bootstrap shape)",
         valid_register_call()),
        ("empty-data", "empty inner data: inner selector 0x", b""),
        ("three-byte-data", "3 bytes of inner data: inner selector 0x", WG_INNER[:3]),
        ("data-32", "inner data of exactly 32 bytes (no padding needed)", b"\x42" * 32),
        ("never-sponsorable-inner", "a well-formed execute whose inner call is "
         "upgradeToAndCall (decoders agree; the policy denies it at step 6)", UPGRADE_INNER),
    ]
    out = [_case(f"canonical-{n}", t, encode_execute(CLUSTER, 0, d), _CANONICAL)
           for n, t, d in items]
    out.append(_case("canonical-value-1", "value 1: well-formed, the policy denies it at step 5",
                     encode_execute(CLUSTER, 1, WG_INNER), (*_CANONICAL, "WH-024")))
    out.append(_case("canonical-value-max", "value 2^256 - 1 (a decimal string)",
                     encode_execute(CLUSTER, (1 << 256) - 1, WG_INNER), (*_CANONICAL, "WH-024")))
    upper = "0x" + encode_execute(CLUSTER, 0, WG_INNER).hex().upper()
    out.append(_case("upper-case-hex", "canonical bytes written in upper-case hex: same bytes, "
                     "not canonical text", upper, ("WH-029", "UO-002")))
    return out


def _offset_cases() -> list[Case]:
    good = _tail(WG_INNER)
    decoy = _tail(UPGRADE_INNER)
    items = [
        ("offset-forward-gap", "offset 0x80 with 32 zero bytes before the data",
         _head(0x80) + bytes(32) + good),
        ("offset-smuggle", f"offset {0x60 + len(good):#x}: an allowed inner call sits where a "
         "fixed-layout parser looks (0x60), the call Solidity follows is upgradeToAndCall",
         _head(0x60 + len(good)) + good + decoy),
        ("offset-backward-into-head", "offset 0x40: the length word is the offset word itself",
         _head(0x40) + WG_INNER.ljust(64, b"\x00")),
        ("offset-overlap-value", "offset 0x20: the value word doubles as the length word",
         _head(0x20, value=4) + good),
        ("offset-zero", "offset 0: the target word read as a length", _head(0) + good),
        ("offset-past-end", "offset 0x1000, far past the end", _head(0x1000) + good),
        ("offset-2-64", "offset 2^64 (above solc's uint64 bound)", _head(1 << 64) + good),
        ("offset-max", "offset 2^256 - 1", _head((1 << 256) - 1) + good),
    ]
    return [_case(n, t, c, (*_AGREEMENT, "UO-017")) for n, t, c in items]


def _length_and_tail_cases() -> list[Case]:
    head = _head(0x60)
    inner = WG_INNER
    padded = inner + bytes(-len(inner) % 32)
    items = [
        ("length-plus-one", "length word 37 over 36 bytes of data: the first padding byte "
         "becomes data, which is again canonical (both readings agree on 37 bytes)",
         head + _w(len(inner) + 1) + padded),
        ("length-past-end", "length word 0x100 with 64 bytes following", head + _w(0x100) + padded),
        ("length-2-64", "length word 2^64", head + _w(1 << 64) + padded),
        ("length-max", "length word 2^256 - 1", head + _w((1 << 256) - 1) + padded),
        ("missing-padding", "36 bytes of data, no padding", head + _w(len(inner)) + inner),
        ("dirty-padding", "padding byte 0x01 after the data",
         head + _w(len(inner)) + inner + b"\x01" + bytes(len(padded) - len(inner) - 1)),
        ("trailing-zero-byte", "one zero byte after the padded data",
         encode_execute(CLUSTER, 0, inner) + b"\x00"),
        ("trailing-word", "a whole extra word after the padded data",
         encode_execute(CLUSTER, 0, inner) + b"\xff" * 32),
        ("no-length-word", "the 100-byte head only", head),
    ]
    return [_case(n, t, c, (*_AGREEMENT, "UO-017")) for n, t, c in items]


def _address_and_selector_cases() -> list[Case]:
    body = encode_execute(CLUSTER, 0, WG_INNER)[4:]
    dirty_top = b"\x01" + bytes(11) + CLUSTER
    dirty_low = bytes(11) + b"\xff" + CLUSTER
    batch, execute4 = NEVER_SPONSORABLE[-2].selector, NEVER_SPONSORABLE[-1].selector
    items = [
        ("dirty-address-top", "upper byte of the target word set", SEL + dirty_top + body[32:],
         _AGREEMENT),
        ("dirty-address-low", "12th byte of the target word set (just above the address)",
         SEL + dirty_low + body[32:], _AGREEMENT),
        ("selector-execute-batch", "executeBatch look-alike selector 0x34fcd5be, same body",
         batch + body, ("WH-023", "UO-015")),
        ("selector-execute-4-args", "execute(address,uint256,bytes,uint8) 0x51945447, same body",
         execute4 + body, ("WH-023", "UO-015")),
        ("selector-inner-as-outer", "the inner publishWgKey call sent as the outer call",
         WG_INNER, ("WH-023",)),
        ("too-short-empty", "empty callData 0x", b"", ("WH-023",)),
        ("too-short-selector-only", "the execute selector alone", SEL, ("WH-023",)),
        ("too-short-99", "99 bytes: the head is cut", (SEL + body)[:99], ("WH-023",)),
    ]
    return [_case(n, t, c, rules) for n, t, c, rules in items]


def _text_cases() -> list[Case]:
    good = encode_execute(CLUSTER, 0, WG_INNER).hex()
    items = [
        ("hex-odd-length", "odd number of hex digits", "0x" + good[:-1]),
        ("hex-no-prefix", "hex without the 0x prefix", good),
        ("hex-non-hex-digit", "a non-hex digit", "0x" + good[:-2] + "zz"),
        ("hex-whitespace", "a space inside the hex", "0x" + good[:8] + " " + good[8:]),
    ]
    return [_case(n, t, c, ("WH-023", "UO-002")) for n, t, c in items]


PROMOTED = Path(__file__).resolve().parents[2] / "corpora" / "promoted.json"
"""Fuzzer findings promoted to vectors (``amc fuzz promote``): calldata entries become cases."""


def _promoted_cases(path: Path = PROMOTED) -> list[Case]:
    entries = json.loads(path.read_text()).get("promoted", []) if path.is_file() else []
    return [_case(f"fuzz-{e['name']}", f"fuzzer finding ({e['rule']}) promoted from "
                  f"{e['target']}", "0x" + e["input"], tuple(e["rules"]))
            for e in entries if e.get("vector")]


def cases() -> list[Case]:
    """Every calldata case: canonical first, then each family of non-canonical encodings, then
    promoted fuzzer findings."""
    return [*_canonical_cases(), *_offset_cases(), *_length_and_tail_cases(),
            *_address_and_selector_cases(), *_text_cases(), *_promoted_cases()]

