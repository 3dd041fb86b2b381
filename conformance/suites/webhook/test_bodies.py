"""Malformed ``POST /`` bodies (PROTOCOL.md §5 "Alchemy body"): WH-005…WH-009.

Not JSON → 400 (WH-005); JSON of the wrong shape → 400 (WH-006); a sender that is not a 20-byte
address → 400 (WH-007); a chainId of another type, without ``0x`` or with non-hex digits → 400
(WH-008); and nothing malformed — deep nesting, huge numbers, non-UTF-8, multi-megabyte
bodies — ever draws a 5xx (WH-009). Each request carries the right token. The same extreme
family, as correctly signed events to ``POST /pimlico`` (pimlico), must draw §5's answer
there: 200 {"sponsor":false} (unparsable: WH-054; parsed, from a sender that is no member:
WH-047), never a 5xx (WH-009); over 1 MiB, where §5 pins no answer, only a 5xx is judged.
A failure's body over 8 KB is written next to results.json.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.oracle.webhook import expect_pimlico
from conformance.protocol.selectors import EXECUTE
from conformance.suites.webhook import cases
from conformance.suites.webhook.harness import STAND_IN_SENDER, Harness
from conformance.suites.webhook.reproduce import Signing

SENDER = STAND_IN_SENDER
UNPINNED_BODY_BYTES = 1 << 20
"""Over this size §5 pins no answer: PROTOCOL.md names no body limit, so a webhook may refuse to
read a multi-megabyte body (the reference answers 400 on POST / and, unable to verify what it
did not read, 401 on POST /pimlico); only a 5xx is judged there (WH-009)."""
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
        {"userOperation": {"sender": sender, "callData": EXECUTE.selector.hex()}, "chainId": chain},
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


def _extremes(valid: dict[str, Any], chain_key: bytes) -> list[bytes]:
    """Deep nesting (alone and beside a valid body), a huge number, 5000 chainId digits, a 3 MB
    string, a non-UTF-8 byte and a BOM, built from the ``valid`` body whose chainId is
    ``chain_key``."""
    deep = b"[" * 100_000 + b"]" * 100_000
    nested = cases.dumps({**valid, "extra": "PLACEHOLDER"}).replace(
        b'"PLACEHOLDER"', b"[" * 5000 + b"]" * 5000)
    huge_number = cases.dumps({**valid, "nonce": 1}).replace(b'"nonce":1', b'"nonce":1e400')
    long_digits = cases.dumps(valid).replace(chain_key, b'"chainId":' + b"9" * 5000)
    if long_digits == cases.dumps(valid):
        raise ValueError(f"chain_key={chain_key!r} is not in the valid body")
    padding = cases.dumps({**valid, "padding": "a" * (3 << 20)})
    return [deep, nested, huge_number, long_digits, padding,
            cases.dumps(valid).replace(b"0x", b"0x\xff", 1), b"\xef\xbb\xbf" + cases.dumps(valid)]


def _big_bodies(wh: Harness) -> list[bytes]:
    valid = json.loads(cases.alchemy(SENDER, _call(wh), wh.chain_hex()))
    return [*_extremes(valid, b'"chainId":"%s"' % wh.chain_hex().encode()),
            cases.alchemy(SENDER, "0x" + "ab" * 300_000, wh.chain_hex())]


def _big_events(wh: Harness) -> list[bytes]:
    """The same family as Pimlico events from ``SENDER``, which no chain makes a member."""
    chain = wh.profile.chain_id
    valid = json.loads(cases.pimlico(SENDER, _call(wh), chain))
    return [*_extremes(valid, b'"chainId":%d' % chain),
            cases.pimlico(SENDER, "0x" + "ab" * 300_000, chain)]


SERVER_ERROR = {"status_at_least": 500}
"""WH-009's forbidden answer as a failure records it (``amc replay`` judges by it)."""


@rules("WH-009")
def test_extreme_bodies_never_5xx(wh: Harness, observe: Observer) -> None:
    """Deep nesting, huge numbers, non-UTF-8, BOM and multi-megabyte bodies never draw a 5xx."""
    wh.need_token()
    for body in _big_bodies(wh):
        observe.case()
        record, answer = wh.alchemy(body)
        if answer.status >= 500:
            raise wh.failure("WH-009", "a malformed request drew a server error", record,
                           answer, forbidden_answers=[SERVER_ERROR])


@rules("WH-009", "WH-047", "WH-054")
def test_extreme_events_are_sponsor_false(wh: Harness, observe: Observer) -> None:
    """The extreme family, correctly signed, to POST /pimlico: never a 5xx, and up to
    ``UNPINNED_BODY_BYTES`` the oracle's answer — 200 {"sponsor":false}, as the sender is no
    member and an unparsable event is a plain denial (a paymaster retries any non-200)."""
    if not wh.profile.has_pimlico_route:
        pytest.skip("POST /pimlico exists only under the pimlico generation")
    secret = wh.need_secret()
    derivation = wh.settings.key_derivation
    view = wh.view() if wh.peer is not None else wh.view_unknown()
    for body in _big_events(wh):
        observe.case()
        now = int(time.time())
        record, answer = wh.pimlico(body, now=now)
        headers = Signing().headers(secret, derivation.value, body, now)
        expectation = expect_pimlico(body, headers, route=True, secret=secret,
                                     derivation=derivation, now=now, config=wh.policy,
                                     view=view, cap=wh.cap_state(b""))
        if answer.status >= 500:
            raise wh.failure("WH-009", "a malformed event drew a server error", record,
                           answer, expectation)
        if len(body) > UNPINNED_BODY_BYTES:
            continue
        if not expectation.accepts(answer.status, answer.json):
            rule = "WH-054" if expectation.decided_by == "unparsable" else "WH-047"
            raise wh.failure(rule, "an extreme event", record, answer, expectation)


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
        raise wh.failure("WH-009", "a malformed request drew a server error", record, answer,
                         forbidden_answers=[SERVER_ERROR])
