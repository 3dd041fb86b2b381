"""How each ``BodyFlaw`` breaks a well-formed webhook body (PROTOCOL.md §5).

Every flaw is placed so that its verdict does not depend on the reader: invalid UTF-8 sits
inside the sender (a decoder that substitutes U+FFFD still sees a non-address), deep nesting
replaces the top level or the ``userOperation`` (a parser that copes with the depth still
sees the wrong shape).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from conformance.strategies.labels import BodyFlaw

_MARKER = "@@attestmesh-marker@@"
_INVALID_UTF8 = (b"\xff", b"\xfe", b"\x80", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xf5\x80")
_WRONG_TYPES: tuple[Any, ...] = (None, True, False, 0, 12345, -1, 1.5, [], {}, ["0x"], {"0x": 1})
_OP_FIELDS = (
    "nonce", "callGasLimit", "verificationGasLimit", "preVerificationGas", "maxFeePerGas",
    "maxPriorityFeePerGas", "signature",
)  # fmt: skip
_NON_HEX = "ghxzGZ -_.:/\u00e9"


@dataclass(frozen=True)
class Body:
    """A well-formed body: ``root`` is what is sent, ``payload`` holds userOperation/chainId."""

    root: dict[str, Any]
    payload: dict[str, Any]

    @property
    def op(self) -> dict[str, Any]:
        """The ``userOperation`` object."""
        op: dict[str, Any] = self.payload["userOperation"]
        return op


def _dump(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def apply_flaw(draw: st.DrawFn, kind: BodyFlaw, body: Body, *, route: str, max_size: int) -> bytes:
    """The raw bytes of ``body`` broken by ``kind`` (at most ``max_size`` bytes where the flaw
    is about size: OVERSIZED, DEEP_NESTING)."""
    if kind is BodyFlaw.OVERSIZED:
        return _oversized(draw, body, max_size)
    if kind is BodyFlaw.DEEP_NESTING:
        return _deep_nesting(draw, body, max_size)
    return _BREAKERS[kind](draw, body, route)


def _not_utf8(draw: st.DrawFn, body: Body, route: str) -> bytes:
    sender = body.op["sender"]
    at = draw(st.integers(0, len(sender)))
    body.op["sender"] = sender[:at] + _MARKER + sender[at:]
    return _dump(body.root).replace(_MARKER.encode(), draw(st.sampled_from(_INVALID_UTF8)))


def _not_json(draw: st.DrawFn, body: Body, route: str) -> bytes:
    raw = _dump(body.root)
    variant = draw(st.integers(0, 5))
    if variant == 0:
        return raw[: draw(st.integers(0, len(raw) - 1))]
    if variant == 1:
        return raw + draw(st.sampled_from((b"}", b"x", b",{}", b"]", b"\x00")))
    if variant == 2:
        return raw.replace(b'"', b"'")
    if variant == 3:
        return raw[:-1] + b",}"
    if variant == 4:
        return (
            b'{"x":' + draw(st.sampled_from((b"NaN", b"Infinity", b"-Infinity"))) + b"," + raw[1:]
        )
    return b"/* comment */" + raw


def _deep_nesting(draw: st.DrawFn, body: Body, max_size: int) -> bytes:
    top_level = draw(st.booleans())
    if not top_level:
        body.payload["userOperation"] = _MARKER
    raw = _dump(body.root)
    budget = (max_size - (0 if top_level else len(raw))) // 2
    cap = min(budget, 50_000)
    depth = draw(st.integers(min(1_100, cap), cap))
    nested = b"[" * depth + b"]" * depth
    return nested if top_level else raw.replace(b'"' + _MARKER.encode() + b'"', nested)


def _not_an_object(draw: st.DrawFn, body: Body, route: str) -> bytes:
    return _dump(draw(st.sampled_from(([body.root], [], "body", 1, None, True))))


def _foreign_event(draw: st.DrawFn, body: Body, route: str) -> bytes:
    choice = draw(
        st.sampled_from(
            (
                None,
                "user_operation.sponsorship.finalized",
                "USER_OPERATION.SPONSORSHIP.REQUESTED",
                "",
                5,
                ["user_operation.sponsorship.requested"],
            )
        )
    )
    if choice is None:
        del body.root["type"]
    else:
        body.root["type"] = choice
    return _dump(body.root)


_MISSING = object()
"""Drawn in place of a value: the key is removed instead."""


def _replace_or_delete(
    container: dict[str, Any], key: str, choices: tuple[Any, ...], draw: st.DrawFn
) -> None:
    """Set ``key`` to a value drawn from ``choices``, or remove it when ``_MISSING`` is drawn."""
    choice = draw(st.sampled_from(choices))
    if choice is _MISSING:
        container.pop(key, None)
    else:
        container[key] = choice


def _data_not_object(draw: st.DrawFn, body: Body, route: str) -> bytes:
    _replace_or_delete(body.root, "data", (_MISSING, None, [], "data", 1, [body.payload]), draw)
    return _dump(body.root)


def _object_not_object(draw: st.DrawFn, body: Body, route: str) -> bytes:
    body.root["data"] = {"object": draw(st.sampled_from((None, [], "object", 1, [body.payload])))}
    return _dump(body.root)


def _delete(container_of: Callable[[Body], dict[str, Any]], key: str) -> _Breaker:
    def breaker(draw: st.DrawFn, body: Body, route: str) -> bytes:
        del container_of(body)[key]
        return _dump(body.root)

    return breaker


def _wrong_type(key: str) -> _Breaker:
    def breaker(draw: st.DrawFn, body: Body, route: str) -> bytes:
        original = body.op[key]
        body.op[key] = draw(st.sampled_from((*_WRONG_TYPES, [original], {"value": original})))
        return _dump(body.root)

    return breaker


def _user_operation_not_object(draw: st.DrawFn, body: Body, route: str) -> bytes:
    op = body.op
    body.payload["userOperation"] = draw(st.sampled_from((None, [op], op["sender"], 1, True, [])))
    return _dump(body.root)


def _sender_not_address(draw: st.DrawFn, body: Body, route: str) -> bytes:
    digits = body.op["sender"][2:]
    pad = draw(st.sampled_from("0123456789abcdef"))
    body.op["sender"] = draw(
        st.sampled_from(
            (
                "0x" + digits[:38],  # 19 bytes
                "0x" + digits + pad + pad,  # 21 bytes
                "0x" + digits[:39],  # 39 digits
                digits,  # no 0x
                "0x" + digits[:39] + "g",  # non-hex digit
                "0x" + digits[:20] + "-" + digits[21:],
                " 0x" + digits,
                "0x" + digits + " ",
                "0x",
                "",
                "vitalik.eth",
            )
        )
    )
    return _dump(body.root)


def _calldata_not_hex(draw: st.DrawFn, body: Body, route: str) -> bytes:
    digits = body.op["callData"][2:]
    at = draw(st.integers(0, len(digits)))
    bad = draw(st.sampled_from(_NON_HEX))
    body.op["callData"] = draw(
        st.sampled_from((digits, "0x" + digits[:at] + bad + digits[at:], " 0x" + digits, ""))
    )
    return _dump(body.root)


def _other_field_wrong_type(draw: st.DrawFn, body: Body, route: str) -> bytes:
    top_level = "entryPoint" if route == "alchemy" else "sponsorshipPolicyId"
    field = draw(st.sampled_from((*_OP_FIELDS, top_level)))
    container = body.payload if field == top_level else body.op
    container[field] = draw(st.sampled_from((*_WRONG_TYPES, "0xzz", "12")))
    return _dump(body.root)


def _oversized(draw: st.DrawFn, body: Body, max_size: int) -> bytes:
    """A body of up to ``max_size`` bytes whose bulk is a sender of hundreds of hex digits."""
    body.op["sender"] = "0x"
    room = max_size - len(_dump(body.root))
    digits = draw(st.integers(max(41, room // 2), room))
    body.op["sender"] = "0x" + "a" * digits
    return _dump(body.root)


_Breaker = Callable[[st.DrawFn, Body, str], bytes]
_B = BodyFlaw
_BREAKERS: dict[BodyFlaw, _Breaker] = {
    _B.NOT_UTF8: _not_utf8,
    _B.NOT_JSON: _not_json,
    _B.NOT_AN_OBJECT: _not_an_object,
    _B.FOREIGN_EVENT: _foreign_event,
    _B.DATA_NOT_OBJECT: _data_not_object,
    _B.OBJECT_NOT_OBJECT: _object_not_object,
    _B.USER_OPERATION_MISSING: _delete(lambda body: body.payload, "userOperation"),
    _B.USER_OPERATION_NOT_OBJECT: _user_operation_not_object,
    _B.SENDER_MISSING: _delete(lambda body: body.op, "sender"),
    _B.SENDER_WRONG_TYPE: _wrong_type("sender"),
    _B.SENDER_NOT_ADDRESS: _sender_not_address,
    _B.CALLDATA_MISSING: _delete(lambda body: body.op, "callData"),
    _B.CALLDATA_WRONG_TYPE: _wrong_type("callData"),
    _B.CALLDATA_NOT_HEX: _calldata_not_hex,
    _B.OTHER_FIELD_WRONG_TYPE: _other_field_wrong_type,
}
