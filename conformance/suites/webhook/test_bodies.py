"""Malformed ``POST /`` bodies (PROTOCOL.md §5 "Alchemy body"): WH-005…WH-009.

Not JSON → 400 (WH-005); JSON of the wrong shape → 400 (WH-006); a sender that is not a 20-byte
address → 400 (WH-007); a chainId of another type, without ``0x`` or with non-hex digits → 400
(WH-008); and nothing malformed — deep nesting, huge numbers, non-UTF-8, multi-megabyte
bodies — ever draws a 5xx (WH-009). Each request carries the right token.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.suites.webhook import cases
from conformance.suites.webhook.harness import Harness

SENDER = bytes.fromhex("5e" * 20)
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                         st.text(max_size=20))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)


def _post(wh: Harness, rule: str, body: bytes, observe: Observer) -> None:
    wh.need_token()
    observe.case()
    record, answer = wh.alchemy(body)
    wh.judge(rule, record, answer, wh.expect_alchemy(record))


def _call(wh: Harness) -> str:
    return "0x" + cases.execute(wh.actors.cluster).hex()


NOT_JSON = [b"", b"not json", b"{", b"{'userOperation': {}}", b'{"userOperation": }',
            b"\xff\xfe\x00", b'{"a":1}{"b":2}', b"[1,2", b"\x00", b'{"userOperation":{"sender":']


@rules("WH-005")
@given(raw=st.binary(max_size=64))
@example(raw=b"")
@example(raw=b"\xff\xfe\x00")
@example(raw=b"{")
def test_not_json_is_400(wh: Harness, observe: Observer, raw: bytes) -> None:
    """A body that is not JSON is answered 400."""
    try:
        json.loads(raw)
        return
    except (ValueError, UnicodeDecodeError):
        pass
    _post(wh, "WH-005", raw, observe)


@rules("WH-005")
def test_listed_non_json_bodies_are_400(wh: Harness, observe: Observer) -> None:
    """Truncated, single-quoted, concatenated and binary bodies are answered 400."""
    for raw in NOT_JSON:
        _post(wh, "WH-005", raw, observe)


def _shapes(wh: Harness) -> list[Any]:
    call = _call(wh)
    sender = "0x" + SENDER.hex()
    chain = wh.chain_hex()
    return [
        {}, [], "text", 1, None, True, {"userOperation": []}, {"userOperation": "x"},
        {"userOperation": None}, {"UserOperation": {"sender": sender, "callData": call}},
        {"userOperation": {"callData": call}, "chainId": chain},
        {"userOperation": {"sender": sender}, "chainId": chain},
        {"userOperation": {"sender": 12, "callData": call}, "chainId": chain},
        {"userOperation": {"sender": None, "callData": call}, "chainId": chain},
        {"userOperation": {"sender": sender, "callData": "b61d27f6"}, "chainId": chain},
        {"userOperation": {"sender": sender, "callData": "0xzz"}, "chainId": chain},
        {"userOperation": {"sender": sender, "callData": 1234}, "chainId": chain},
        {"userOperation": {"sender": sender, "callData": ["0x"]}, "chainId": chain},
        {"userOperation": {"sender": sender, "callData": "0x12 34"}, "chainId": chain},
        {"userOperation": {"sender": sender, "callData": ""}, "chainId": chain},
    ]


@rules("WH-006")
def test_wrong_shape_is_400(wh: Harness, observe: Observer) -> None:
    """No userOperation object, sender or callData missing, or callData not 0x hex → 400."""
    for shape in _shapes(wh):
        _post(wh, "WH-006", cases.dumps(shape), observe)


@rules("WH-006")
@given(value=JSON_VALUES, where=st.sampled_from(["top", "userOperation", "callData"]))
def test_generated_wrong_shapes_are_400(wh: Harness, observe: Observer, value: Any,
                                       where: str) -> None:
    """Generated JSON in place of the body, the userOperation or the callData → 400."""
    if where == "top":
        body: Any = value
    elif where == "userOperation":
        body = {"userOperation": value, "chainId": wh.chain_hex()}
    else:
        if isinstance(value, str) and value.startswith(("0x", "0X")):
            return
        body = {"userOperation": {"sender": "0x" + SENDER.hex(), "callData": value},
                "chainId": wh.chain_hex()}
    if isinstance(body, dict) and isinstance(body.get("userOperation"), dict) and where == "top":
        return
    _post(wh, "WH-006", cases.dumps(body), observe)


BAD_SENDERS = ["", "0x", "0x" + "ab" * 19, "0x" + "ab" * 21, "ab" * 20, "0x" + "zz" * 20,
               "0x" + "ab" * 19 + "a", " 0x" + "ab" * 20, "0x" + "ab" * 20 + " ",
               "0x" + "ab" * 20 + "\n", "0x" + "\u0661" * 40, "0x0x" + "ab" * 19]


@rules("WH-007")
@given(sender=st.text(max_size=44))
@example(sender="0x" + "ab" * 19)
@example(sender="0x" + "ab" * 21)
def test_non_address_sender_is_400(wh: Harness, observe: Observer, sender: str) -> None:
    """A sender string that is not 0x + 40 hex digits is answered 400."""
    if len(sender) == 42 and sender[:2] in ("0x", "0X") and all(
            c in "0123456789abcdefABCDEF" for c in sender[2:]):
        return
    _post(wh, "WH-007", cases.alchemy(sender, _call(wh), wh.chain_hex()), observe)


@rules("WH-007")
def test_listed_non_address_senders_are_400(wh: Harness, observe: Observer) -> None:
    """Short, long, unprefixed, non-hex, padded and non-ASCII-digit senders → 400."""
    for sender in BAD_SENDERS:
        _post(wh, "WH-007", cases.alchemy(sender, _call(wh), wh.chain_hex()), observe)


def _bad_chain_ids(chain_id: int) -> list[Any]:
    return [chain_id, str(chain_id), hex(chain_id)[2:], None, True, [hex(chain_id)],
            {"id": hex(chain_id)}, float(chain_id), "0xzz", "0x" + hex(chain_id)[2:] + "g",
            " " + hex(chain_id), "x" + hex(chain_id)[2:], "00x" + hex(chain_id)[2:]]


@rules("WH-008")
def test_malformed_chain_id_is_400(wh: Harness, observe: Observer) -> None:
    """A chainId that is a number, null, a decimal or unprefixed string, or has non-hex
    digits is answered 400 (a missing chainId or ``0x`` alone is WH-014's denial)."""
    for chain_id in _bad_chain_ids(wh.profile.chain_id):
        _post(wh, "WH-008", cases.alchemy(SENDER, _call(wh), chain_id), observe)


@rules("WH-008")
@given(chain_id=st.one_of(st.integers(min_value=0), st.text(alphabet="0123456789", min_size=1),
                          st.text(alphabet="0123456789abcdef", min_size=1, max_size=12)))
def test_generated_unprefixed_chain_ids_are_400(wh: Harness, observe: Observer,
                                                chain_id: int | str) -> None:
    """Numbers and unprefixed digit strings as chainId → 400."""
    _post(wh, "WH-008", cases.alchemy(SENDER, _call(wh), chain_id), observe)


def _big_bodies(wh: Harness) -> list[bytes]:
    call = _call(wh)
    valid = json.loads(cases.alchemy(SENDER, call, wh.chain_hex()))
    deep = b"[" * 100_000 + b"]" * 100_000
    nested_op = cases.dumps({**valid, "extra": "PLACEHOLDER"}).replace(
        b'"PLACEHOLDER"', b"[" * 5000 + b"]" * 5000)
    huge_number = cases.dumps({**valid, "nonce": 1}).replace(b'"nonce":1', b'"nonce":1e400')
    long_digits = cases.dumps({**valid, "chainId": 1}).replace(
        b'"chainId":1', b'"chainId":' + b"9" * 5000)
    padding = cases.dumps({**valid, "padding": "a" * (3 << 20)})
    return [deep, nested_op, huge_number, long_digits, padding,
            cases.dumps(valid).replace(b"0x", b"0x\xff", 1), b"\xef\xbb\xbf" + cases.dumps(valid),
            cases.alchemy(SENDER, "0x" + "ab" * 300_000, wh.chain_hex())]


@rules("WH-009")
def test_extreme_bodies_never_5xx(wh: Harness, observe: Observer) -> None:
    """Deep nesting, huge numbers, non-UTF-8, BOM and multi-megabyte bodies never draw a 5xx."""
    wh.need_token()
    for body in _big_bodies(wh):
        observe.case()
        record, answer = wh.alchemy(body)
        if answer.status >= 500:
            raise wh.failure("WH-009", "a malformed request drew a server error", record, answer)


@rules("WH-009")
@given(sender=st.one_of(st.text(max_size=44), JSON_VALUES), call=st.one_of(st.text(max_size=20),
       JSON_VALUES), chain_id=JSON_VALUES, token=st.sampled_from(["token={token}", "", "token=x"]))
@example(sender="0x1234", call="0x", chain_id="0x1", token="token={token}")
def test_generated_malformed_bodies_never_5xx(wh: Harness, observe: Observer, sender: Any,
                                             call: Any, chain_id: Any, token: str) -> None:
    """Generated senders, callData and chainIds of any JSON type never draw a 5xx."""
    wh.need_token()
    observe.case()
    body = cases.dumps({"userOperation": {"sender": sender, "callData": call},
                        "chainId": chain_id})
    record, answer = wh.alchemy(body, query=token)
    if answer.status >= 500:
        raise wh.failure("WH-009", "a malformed request drew a server error", record, answer)
