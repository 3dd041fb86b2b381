"""How the oracle reads a webhook request body (PROTOCOL.md §5 "Alchemy body", "Pimlico body").

The oracle's own reading, independent of any implementation. Where §5 leaves room (a JSON
parser that accepts NaN or deeper nesting, text that is not UTF-8 inside a string, an upper-case
``0X`` prefix, an odd number of callData digits), the reading is marked ``lenient``: a
conforming webhook may answer 400 *or* go on as if it read the body this way. Rules WH-005…WH-009,
WH-013, WH-014, WH-054…WH-056.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from typing import Any

SPONSORSHIP_EVENT = "user_operation.sponsorship.requested"
"""The only Pimlico event type that asks for a decision (§5)."""

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_ADDRESS_ANY_PREFIX = re.compile(r"0[xX][0-9a-fA-F]{40}")
_HEX = re.compile(r"0x[0-9a-fA-F]*")
_HEX_ANY_PREFIX = re.compile(r"0[xX][0-9a-fA-F]*")
_HEX_DIGITS = re.compile(r"[0-9a-fA-F]+")
_DECIMAL = re.compile(r"[0-9]+")


class Chain(enum.Enum):
    """What policy step 2 makes of a body's chainId."""

    MATCH = "match"
    MISMATCH = "mismatch"


@dataclass(frozen=True)
class BodyReading:
    """A body the policy can judge: the sender, the callData bytes (None: odd-length hex) and
    the chain verdict. ``lenient``: a 400 is also acceptable (see the module docstring)."""

    sender: bytes
    call_data: bytes | None
    chain: Chain
    lenient: bool = False
    chain_lenient: bool = False
    """True when §5 does not pin how this chainId form reads: either chain verdict is fine."""


@dataclass(frozen=True)
class Malformed:
    """A body §5 answers 400 (Alchemy) or ``{"sponsor":false}`` (Pimlico); ``why`` says why."""

    why: str
    rule: str = "WH-006"


def _load(raw: bytes) -> tuple[Any, bool] | Malformed:
    """(JSON value, lenient) — strict UTF-8 JSON without NaN; looser parses are lenient."""
    lenient = False
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text, lenient = raw.decode("utf-8", errors="replace"), True
    try:
        return json.loads(text, parse_constant=_refuse), lenient
    except RecursionError:
        return Malformed("nesting too deep for the oracle's parser", "WH-005")
    except ValueError:
        pass
    try:  # NaN / Infinity: JavaScript refuses them, Python accepts them
        return json.loads(text), True
    except (ValueError, RecursionError):
        return Malformed("not JSON", "WH-005")


def _refuse(name: str) -> Any:
    raise ValueError(name)


def _sender(user_op: dict[str, Any]) -> tuple[bytes, bool] | Malformed:
    sender = user_op.get("sender")
    if isinstance(sender, str) and _ADDRESS.fullmatch(sender):
        return bytes.fromhex(sender[2:]), False
    if isinstance(sender, str) and _ADDRESS_ANY_PREFIX.fullmatch(sender):
        return bytes.fromhex(sender[2:]), True
    return Malformed(f"sender {_show(sender)} is not a 20-byte 0x address", "WH-007")


def _call_data(user_op: dict[str, Any]) -> tuple[bytes | None, bool] | Malformed:
    text = user_op.get("callData")
    if not isinstance(text, str) or not _HEX_ANY_PREFIX.fullmatch(text):
        return Malformed(f"callData {_show(text)} is not 0x hex", "WH-006")
    lenient = not _HEX.fullmatch(text)
    digits = text[2:]
    if len(digits) % 2:
        return None, True
    return bytes.fromhex(digits), lenient


def _alchemy_chain(body: dict[str, Any], expected: int) -> tuple[Chain, bool, bool] | Malformed:
    """§5: absent or ``0x`` → mismatch; not a string or no ``0x`` → 400 (WH-008).

    Returns (verdict, 400 also fine, either verdict fine).
    """
    if "chainId" not in body:
        return Chain.MISMATCH, False, False
    value = body["chainId"]
    if not isinstance(value, str) or value[:2].lower() != "0x":
        return Malformed(f"chainId {_show(value)} is not a 0x hex string", "WH-008")
    digits = value[2:]
    if not digits:
        return Chain.MISMATCH, False, False
    if not _HEX_DIGITS.fullmatch(digits):
        # WH-008 says 400; PROTOCOL.md §5 names only other types and a missing 0x as
        # malformed, so a chain-mismatch denial is accepted too (reported as an ambiguity).
        return Chain.MISMATCH, True, False
    lenient = not value.startswith("0x")
    return (Chain.MATCH if int(digits, 16) == expected else Chain.MISMATCH), lenient, lenient


def read_alchemy_body(raw: bytes, expected_chain_id: int) -> BodyReading | Malformed:
    """Read a ``POST /`` body as §5 describes it (400 cases as ``Malformed``)."""
    loaded = _load(raw)
    if isinstance(loaded, Malformed):
        return loaded
    body, lenient = loaded
    if not isinstance(body, dict):
        return Malformed(f"body is a JSON {type(body).__name__}, not an object")
    user_op = body.get("userOperation")
    if not isinstance(user_op, dict):
        return Malformed("userOperation is missing or not an object")
    sender = _sender(user_op)
    if isinstance(sender, Malformed):
        return sender
    call_data = _call_data(user_op)
    if isinstance(call_data, Malformed):
        return call_data
    chain = _alchemy_chain(body, expected_chain_id)
    if isinstance(chain, Malformed):
        return chain
    lenient = lenient or sender[1] or call_data[1] or chain[1]
    return BodyReading(sender[0], call_data[0], chain[0], lenient=lenient, chain_lenient=chain[2])


def pimlico_chain(value: object, expected: int) -> tuple[Chain, bool]:
    """§5: a JSON number, a ``0x`` string or a decimal-digit string; anything else mismatches.

    An integral JSON number written with a fraction (``84532.0``) is the same number to a
    JavaScript reader and not to a Python one: lenient.
    """
    if isinstance(value, bool):
        return Chain.MISMATCH, False
    if isinstance(value, int):
        return (Chain.MATCH if value == expected else Chain.MISMATCH), False
    if isinstance(value, float):
        same = value.is_integer() and int(value) == expected
        return Chain.MISMATCH, same
    if isinstance(value, str):
        if value.startswith("0x") and _HEX_DIGITS.fullmatch(value[2:]):
            return (Chain.MATCH if int(value[2:], 16) == expected else Chain.MISMATCH), False
        if _DECIMAL.fullmatch(value):
            return (Chain.MATCH if int(value) == expected else Chain.MISMATCH), False
        if value[:2] == "0X" and _HEX_DIGITS.fullmatch(value[2:]):
            return Chain.MISMATCH, int(value[2:], 16) == expected
    return Chain.MISMATCH, False


def read_pimlico_body(raw: bytes, expected_chain_id: int) -> BodyReading | Malformed:
    """Read a ``POST /pimlico`` event; ``Malformed`` means unparsable or foreign (WH-054)."""
    loaded = _load(raw)
    if isinstance(loaded, Malformed):
        return Malformed(loaded.why, "WH-054")
    body, lenient = loaded
    if not isinstance(body, dict) or body.get("type") != SPONSORSHIP_EVENT:
        return Malformed("not a sponsorship-requested event", "WH-054")
    data = body.get("data")
    payload = data.get("object", data) if isinstance(data, dict) else None
    user_op = payload.get("userOperation") if isinstance(payload, dict) else None
    if not isinstance(payload, dict) or not isinstance(user_op, dict):
        return Malformed("no data.object.userOperation object", "WH-054")
    sender = _sender(user_op)
    call_data = _call_data(user_op)
    if isinstance(sender, Malformed) or isinstance(call_data, Malformed):
        return Malformed("sender or callData unreadable", "WH-054")
    chain, chain_lenient = pimlico_chain(payload.get("chainId"), expected_chain_id)
    return BodyReading(sender[0], call_data[0], chain,
                       lenient=lenient or sender[1] or call_data[1], chain_lenient=chain_lenient)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
