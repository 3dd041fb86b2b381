"""Webhook wire formats (PROTOCOL.md §5): bodies, key derivations, Standard Webhooks signatures.

Expected values are literals from PROTOCOL.md §5 or the Standard Webhooks specification, or are
recomputed here independently (hmac/hashlib/base64 and plain integer base-x arithmetic).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from conformance.protocol.webhook_wire import (
    BodyFormatError,
    ChainIdForm,
    KeyDerivation,
    SecretFormatError,
    SignatureError,
    SignatureErrorKind,
    alchemy_body,
    derive_hmac_key,
    parse_alchemy_body,
    parse_pimlico_event,
    pimlico_event,
    sign_webhook,
    verify_webhook,
    webhook_headers,
)

# PROTOCOL.md §5 golden vector.
GOLDEN_SECRET = "pim_whsec_12oeWzGziAeWhm1Hpi4zvXDz54bzSMCBj3CeCb6rAPV"
GOLDEN_ID = "msg_test"
GOLDEN_TS = 1783379000
GOLDEN_BODY = b'{"type":"user_operation.sponsorship.requested"}'
GOLDEN_SIG = "v1,FegSBwAL3Dulyu7SFiGvw1GCj7N+us7vJohmBsP9cxY="

# The Standard Webhooks specification's published test vector.
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TS = 1614265330
SW_BODY = b'{"test": 2432232314}'
SW_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

ALPHABET_57 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvxyz"
ALPHABET_58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

SENDER = "0x" + "01" * 20
USER_OP = {"sender": SENDER, "nonce": "0x0", "callData": "0xb61d27f6", "signature": "0x"}


def _base_x_decode(text: str, alphabet: str) -> bytes:
    """Independent base-x decode: plain integer arithmetic, leading first-symbol = 0x00."""
    number = 0
    for char in text:
        number = number * len(alphabet) + alphabet.index(char)
    zeros = len(text) - len(text.lstrip(alphabet[0]))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\x00" * zeros + body


def _hand_mac(key: bytes, msg_id: str, ts: str, body: bytes) -> str:
    digest = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _golden_headers(**changes: str) -> dict[str, str]:
    headers = {
        "webhook-id": GOLDEN_ID,
        "webhook-timestamp": str(GOLDEN_TS),
        "webhook-signature": GOLDEN_SIG,
    }
    headers.update(changes)
    return headers


def _verify(headers: dict[str, str], body: bytes = GOLDEN_BODY, now: int = GOLDEN_TS) -> None:
    verify_webhook(GOLDEN_SECRET, KeyDerivation.LIVE_BASE57, headers, body, now)


# --------------------------------------------------------------------------- key derivations


def test_golden_vector_live_base57() -> None:
    sig = sign_webhook(GOLDEN_SECRET, KeyDerivation.LIVE_BASE57, GOLDEN_ID, GOLDEN_TS, GOLDEN_BODY)
    assert sig == GOLDEN_SIG


def test_golden_headers_are_the_three_standard_headers() -> None:
    headers = webhook_headers(GOLDEN_SECRET, "live-base57", GOLDEN_ID, GOLDEN_TS, GOLDEN_BODY)
    assert headers == _golden_headers()


def test_live_base57_matches_independent_integer_decode() -> None:
    raw = _base_x_decode(GOLDEN_SECRET.removeprefix("pim_whsec_"), ALPHABET_57)
    assert raw == bytes(range(32))  # leading '1' became the 0x00 byte
    expected_key = base64.b64decode(raw.hex())
    assert derive_hmac_key(GOLDEN_SECRET, KeyDerivation.LIVE_BASE57) == expected_key
    assert len(expected_key) == 48


def test_whsec_prefix_is_stripped_like_pim_whsec() -> None:
    body = GOLDEN_SECRET.removeprefix("pim_whsec_")
    assert derive_hmac_key("whsec_" + body, "live-base57") == base64.b64decode(
        bytes(range(32)).hex()
    )


def test_standard_derivation_gives_a_different_mac_on_the_golden_inputs() -> None:
    sig = sign_webhook(GOLDEN_SECRET, KeyDerivation.STANDARD, GOLDEN_ID, GOLDEN_TS, GOLDEN_BODY)
    key = base64.b64decode(GOLDEN_SECRET.removeprefix("pim_whsec_") + "=")
    assert sig == _hand_mac(key, GOLDEN_ID, str(GOLDEN_TS), GOLDEN_BODY)
    assert sig != GOLDEN_SIG


def test_base58_derivation_gives_a_different_mac_on_the_golden_inputs() -> None:
    sig = sign_webhook(GOLDEN_SECRET, KeyDerivation.BASE58, GOLDEN_ID, GOLDEN_TS, GOLDEN_BODY)
    raw = _base_x_decode(GOLDEN_SECRET.removeprefix("pim_whsec_"), ALPHABET_58)
    key = base64.b64decode(raw.hex())
    assert sig == _hand_mac(key, GOLDEN_ID, str(GOLDEN_TS), GOLDEN_BODY)
    assert sig != GOLDEN_SIG


def test_standard_webhooks_spec_vector() -> None:
    assert sign_webhook(SW_SECRET, KeyDerivation.STANDARD, SW_ID, SW_TS, SW_BODY) == SW_SIG


def test_standard_against_hand_computed_hmac() -> None:
    key = bytes(range(1, 33))
    secret = "whsec_" + base64.b64encode(key).decode()
    body = b'{"a":1}'
    expected = _hand_mac(key, "msg_1", "1700000000", body)
    assert sign_webhook(secret, "standard", "msg_1", 1700000000, body) == expected
    assert derive_hmac_key(secret, "standard") == key


@pytest.mark.parametrize(
    ("secret", "derivation"),
    [
        ("whsec_", "standard"),
        ("pim_whsec_", "live-base57"),
        ("", "base58"),
        ("whsec_!!!!", "standard"),
        ("whsec_abcde", "standard"),  # 5 chars: 1 mod 4, never base64
        ("whsec_abc def", "live-base57"),
        ("pim_whsec_12oeWzGwiA", "live-base57"),  # 'w' is not in the 57-char alphabet
        ("pim_whsec_12oeWzGziAl", "live-base57"),
        ("pim_whsec_12oe0zGziA", "base58"),  # '0' is in neither alphabet
        ("pim_whsec_12oeWzGziA ", "base58"),  # trailing space (base58 would strip it)
    ],
)
def test_bad_secrets_raise_secret_format_error(secret: str, derivation: str) -> None:
    with pytest.raises(SecretFormatError):
        derive_hmac_key(secret, derivation)


def test_secret_format_error_never_shows_the_secret() -> None:
    with pytest.raises(SecretFormatError) as info:
        derive_hmac_key("pim_whsec_12oeWzGwiAverysecret", "live-base57")
    assert "verysecret" not in str(info.value)


def test_w_is_valid_base58_but_not_live_base57() -> None:
    secret = "whsec_2w"
    raw = _base_x_decode("2w", ALPHABET_58)
    assert derive_hmac_key(secret, "base58") == base64.b64decode(raw.hex() + "==")
    with pytest.raises(SecretFormatError):
        derive_hmac_key(secret, "live-base57")


# --------------------------------------------------------------------------- verification


def test_golden_request_verifies() -> None:
    _verify(_golden_headers())


@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
def test_timestamps_within_300_seconds_accepted(offset: int) -> None:
    _verify(_golden_headers(), now=GOLDEN_TS + offset)


@pytest.mark.parametrize(
    ("now", "kind"),
    [
        (GOLDEN_TS + 301, SignatureErrorKind.STALE),
        (GOLDEN_TS - 301, SignatureErrorKind.FUTURE),
        (GOLDEN_TS + 86400, SignatureErrorKind.STALE),
    ],
)
def test_timestamps_beyond_300_seconds_rejected(now: int, kind: SignatureErrorKind) -> None:
    with pytest.raises(SignatureError) as info:
        _verify(_golden_headers(), now=now)
    assert info.value.kind is kind


@pytest.mark.parametrize(
    "changes",
    [
        {"webhook-id": "msg_other"},
        {"webhook-signature": "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
        {"webhook-signature": GOLDEN_SIG.replace("v1,", "v2,")},  # other versions skipped
        {"webhook-signature": GOLDEN_SIG.replace("v1,", "v1a,")},
        {"webhook-signature": GOLDEN_SIG[:-1]},
        {"webhook-signature": GOLDEN_SIG.replace("v1,", "V1,")},
    ],
)
def test_non_matching_signatures_rejected(changes: dict[str, str]) -> None:
    with pytest.raises(SignatureError) as info:
        _verify(_golden_headers(**changes))
    assert info.value.kind is SignatureErrorKind.NO_MATCH


def test_tampered_body_rejected() -> None:
    with pytest.raises(SignatureError) as info:
        _verify(_golden_headers(), body=GOLDEN_BODY + b" ")
    assert info.value.kind is SignatureErrorKind.NO_MATCH


def test_plain_base64_verifier_rejects_live_signature() -> None:
    """The live outage (§5): a STANDARD verifier answers 401 to live-derived signatures."""
    with pytest.raises(SignatureError) as info:
        verify_webhook(GOLDEN_SECRET, "standard", _golden_headers(), GOLDEN_BODY, GOLDEN_TS)
    assert info.value.kind is SignatureErrorKind.NO_MATCH


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_rejected(missing: str) -> None:
    headers = _golden_headers()
    del headers[missing]
    with pytest.raises(SignatureError) as info:
        _verify(headers)
    assert info.value.kind is SignatureErrorKind.MISSING_HEADERS
    assert missing in str(info.value)


def test_empty_signature_header_rejected() -> None:
    with pytest.raises(SignatureError) as info:
        _verify(_golden_headers(**{"webhook-signature": ""}))
    assert info.value.kind is SignatureErrorKind.MISSING_HEADERS


@pytest.mark.parametrize("stamp", ["abc", "-5", "1.7e9", " 1783379000", "1783379000\n", "１"])
def test_non_decimal_timestamp_rejected(stamp: str) -> None:
    with pytest.raises(SignatureError) as info:
        _verify(_golden_headers(**{"webhook-timestamp": stamp}))
    assert info.value.kind is SignatureErrorKind.BAD_TIMESTAMP


@pytest.mark.parametrize(
    "signature",
    [
        f"v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= {GOLDEN_SIG}",
        f"{GOLDEN_SIG} v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        f"v2,{GOLDEN_SIG[3:]}x {GOLDEN_SIG}",
        f"v1a,whatever {GOLDEN_SIG} v2,zzz",
    ],
)
def test_any_one_matching_v1_entry_suffices(signature: str) -> None:
    _verify(_golden_headers(**{"webhook-signature": signature}))


def test_rotation_headers_with_an_old_key_entry() -> None:
    old = sign_webhook(SW_SECRET, "standard", GOLDEN_ID, GOLDEN_TS, GOLDEN_BODY)
    headers = webhook_headers(
        GOLDEN_SECRET, "live-base57", GOLDEN_ID, GOLDEN_TS, GOLDEN_BODY, extra_entries=[old]
    )
    assert headers["webhook-signature"] == f"{old} {GOLDEN_SIG}"
    _verify(headers)
    # The old key alone no longer verifies under the live secret.
    with pytest.raises(SignatureError):
        _verify(_golden_headers(**{"webhook-signature": old}))


def test_unsigned_headers_carry_only_extra_entries() -> None:
    headers = webhook_headers(
        GOLDEN_SECRET,
        "live-base57",
        GOLDEN_ID,
        GOLDEN_TS,
        GOLDEN_BODY,
        extra_entries=["v2,abc"],
        sign=False,
    )
    assert headers["webhook-signature"] == "v2,abc"
    with pytest.raises(SignatureError) as info:
        _verify(headers)
    assert info.value.kind is SignatureErrorKind.NO_MATCH


def test_header_names_are_case_insensitive() -> None:
    _verify({k.title(): v for k, v in _golden_headers().items()})


def test_signed_content_uses_the_timestamp_text_as_sent() -> None:
    key = derive_hmac_key(GOLDEN_SECRET, "live-base57")
    stamp = "0" + str(GOLDEN_TS)
    sig = _hand_mac(key, GOLDEN_ID, stamp, GOLDEN_BODY)
    _verify(_golden_headers(**{"webhook-timestamp": stamp, "webhook-signature": sig}))


def test_standard_webhooks_spec_vector_verifies() -> None:
    headers = {"webhook-id": SW_ID, "webhook-timestamp": str(SW_TS), "webhook-signature": SW_SIG}
    verify_webhook(SW_SECRET, "standard", headers, SW_BODY, SW_TS + 10)


# --------------------------------------------------------------------------- Alchemy body


def _alchemy(user_op: object = None, **top: object) -> bytes:
    body: dict[str, object] = {
        "userOperation": dict(USER_OP) if user_op is None else user_op,
        "entryPoint": "0x0000000071727De22E5E9d8BAf0edAc6f37da032",
        "chainId": "0x14a34",
    }
    body.update(top)
    return json.dumps(body).encode()


def _op(**fields: object) -> dict[str, object]:
    op: dict[str, object] = dict(USER_OP)
    for key, value in fields.items():
        if value is _DROP:
            del op[key]
        else:
            op[key] = value
    return op


_DROP = object()


def _without_chain_id() -> bytes:
    body = json.loads(_alchemy())
    del body["chainId"]
    return json.dumps(body).encode()


ALCHEMY_400 = {
    "not-json": b"not json",
    "empty-body": b"",
    "invalid-utf8": b'{"userOperation": "\xff"}',
    "nan": b"NaN",
    "top-level-array": b"[]",
    "top-level-string": b'"x"',
    "empty-object": b"{}",
    "user-op-list": _alchemy([]),
    "user-op-string": _alchemy("0x"),
    "user-op-null": _alchemy(user_op=None, userOperation=None),
    "sender-missing": _alchemy(_op(sender=_DROP)),
    "sender-null": _alchemy(_op(sender=None)),
    "sender-number": _alchemy(_op(sender=1)),
    "sender-19-bytes": _alchemy(_op(sender="0x" + "01" * 19)),
    "sender-21-bytes": _alchemy(_op(sender="0x" + "01" * 21)),
    "sender-odd-digits": _alchemy(_op(sender="0x" + "0" * 39)),
    "sender-no-prefix": _alchemy(_op(sender="01" * 20)),
    "sender-upper-prefix": _alchemy(_op(sender="0X" + "01" * 20)),
    "sender-non-hex": _alchemy(_op(sender="0x" + "zz" * 20)),
    "sender-empty": _alchemy(_op(sender="")),
    "calldata-missing": _alchemy(_op(callData=_DROP)),
    "calldata-null": _alchemy(_op(callData=None)),
    "calldata-bytes-list": _alchemy(_op(callData=[1, 2])),
    "calldata-no-prefix": _alchemy(_op(callData="b61d27f6")),
    "calldata-non-hex": _alchemy(_op(callData="0xzz")),
    "chainid-number": _alchemy(chainId=84532),
    "chainid-null": _alchemy(chainId=None),
    "chainid-bool": _alchemy(chainId=True),
    "chainid-list": _alchemy(chainId=["0x14a34"]),
    "chainid-decimal-string": _alchemy(chainId="84532"),
    "chainid-hex-no-prefix": _alchemy(chainId="14a34"),
    "chainid-upper-prefix": _alchemy(chainId="0X14a34"),
    "chainid-empty-string": _alchemy(chainId=""),
}


@pytest.mark.parametrize("raw", list(ALCHEMY_400.values()), ids=list(ALCHEMY_400))
def test_alchemy_400_cases(raw: bytes) -> None:
    with pytest.raises(BodyFormatError):
        parse_alchemy_body(raw)


@pytest.mark.parametrize(
    ("raw", "chain_id", "form"),
    [
        (_alchemy(), 84532, ChainIdForm.HEX),
        (_alchemy(chainId="0x14A34"), 84532, ChainIdForm.HEX),
        (_alchemy(chainId="0x014a34"), 84532, ChainIdForm.HEX),
        (_alchemy(chainId="0x2105"), 8453, ChainIdForm.HEX),
        (_without_chain_id(), None, ChainIdForm.ABSENT),
        (_alchemy(chainId="0x"), None, ChainIdForm.EMPTY),
        (_alchemy(chainId="0xzz"), None, ChainIdForm.BAD_DIGITS),
    ],
)
def test_alchemy_chain_id_states(raw: bytes, chain_id: int | None, form: ChainIdForm) -> None:
    request = parse_alchemy_body(raw)
    assert request.chain_id == chain_id
    assert request.chain_id_form is form
    assert request.chain_matches(84532) is (chain_id == 84532)


def test_missing_and_empty_chain_id_never_match() -> None:
    """§5: missing chainId or bare 0x is a chain-mismatch denial, whatever is expected."""
    for raw in (_without_chain_id(), _alchemy(chainId="0x")):
        request = parse_alchemy_body(raw)
        assert not any(request.chain_matches(c) for c in (0, 1, 8453, 84532))


@pytest.mark.parametrize(
    "op",
    [
        _op(callData="0x"),
        _op(callData="0x123"),  # odd length: left to the calldata decoder (§3)
        _op(callData="0xB61D27F6"),
        _op(sender="0x" + "AB" * 20),
        _op(sender="0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"),
        _op(nonce=_DROP, signature=_DROP),  # §5 names only sender and callData
        _op(nonce="garbage", extra={"x": 1}),
    ],
)
def test_alchemy_non_400_user_operations(op: dict[str, object]) -> None:
    request = parse_alchemy_body(_alchemy(op))
    assert request.sender == op["sender"]
    assert request.call_data == op["callData"]
    assert request.user_operation == op


def test_alchemy_entry_point_is_carried_not_judged() -> None:
    assert parse_alchemy_body(_alchemy(entryPoint=5)).entry_point is None
    body = json.loads(_alchemy())
    del body["entryPoint"]
    assert parse_alchemy_body(json.dumps(body).encode()).entry_point is None
    assert parse_alchemy_body(_alchemy(extra=[1])).entry_point == (
        "0x0000000071727De22E5E9d8BAf0edAc6f37da032"
    )


def test_alchemy_body_builder_shape() -> None:
    ep = "0x0000000071727De22E5E9d8BAf0edAc6f37da032"
    assert alchemy_body(USER_OP, ep, "0x2105") == {
        "userOperation": USER_OP,
        "entryPoint": ep,
        "chainId": "0x2105",
    }
    assert alchemy_body(USER_OP, ep, None) == {"userOperation": USER_OP, "entryPoint": ep}
    request = parse_alchemy_body(json.dumps(alchemy_body(USER_OP, ep, "0x2105")).encode())
    assert (request.chain_id, request.entry_point, request.sender) == (8453, ep, SENDER)


# --------------------------------------------------------------------------- Pimlico body


def test_pimlico_event_builder_matches_the_documented_shape() -> None:
    payload = {"userOperation": USER_OP, "chainId": 84532, "sponsorshipPolicyId": "sp_x"}
    expected = {"type": "user_operation.sponsorship.requested", "data": {"object": payload}}
    assert pimlico_event(USER_OP, 84532, "sp_x") == expected
    flat = pimlico_event(USER_OP, 84532, "sp_x", nest_object=False)
    assert flat == {"type": "user_operation.sponsorship.requested", "data": payload}


@pytest.mark.parametrize(
    ("form", "wire"), [("number", 84532), ("hex", "0x14a34"), ("decimal", "84532")]
)
@pytest.mark.parametrize("nest", [True, False])
def test_pimlico_chain_id_forms_round_trip(form: str, wire: object, nest: bool) -> None:
    event = pimlico_event(USER_OP, 84532, chain_id_form=form, nest_object=nest)  # type: ignore[arg-type]
    payload = event["data"]["object"] if nest else event["data"]
    assert payload["chainId"] == wire
    request = parse_pimlico_event(json.dumps(event).encode())
    assert request is not None
    assert (request.chain_id, request.policy_id, request.sender) == (84532, "sp_test", SENDER)
    assert request.user_operation == USER_OP


def _pimlico_with(**payload: object) -> bytes:
    inner: dict[str, object] = {"userOperation": USER_OP, "chainId": 8453}
    inner.update(payload)
    return json.dumps(
        {"type": "user_operation.sponsorship.requested", "data": {"object": inner}}
    ).encode()


@pytest.mark.parametrize(
    "chain_id",
    ["0x", "0xzz", "abc", "", "8453.0", "-1", " 8453", True, None, -1, 1.5, [8453], {"id": 1}],
)
def test_pimlico_unreadable_chain_id_is_none(chain_id: object) -> None:
    request = parse_pimlico_event(_pimlico_with(chainId=chain_id))
    assert request is not None
    assert request.chain_id is None


def test_pimlico_integral_float_chain_id_is_that_number() -> None:
    request = parse_pimlico_event(_pimlico_with(chainId=8453.0))
    assert request is not None and request.chain_id == 8453


def test_pimlico_missing_chain_id_and_policy() -> None:
    raw = json.dumps(
        {"type": "user_operation.sponsorship.requested", "data": {"userOperation": USER_OP}}
    ).encode()
    request = parse_pimlico_event(raw)
    assert request is not None
    assert (request.chain_id, request.policy_id) == (None, None)


PIMLICO_NONE = {
    "not-json": b"{",
    "array": b"[]",
    "foreign-type": json.dumps(
        {
            "type": "user_operation.sponsorship.finalized",
            "data": {"object": {"userOperation": USER_OP}},
        }
    ).encode(),
    "no-type": json.dumps({"data": {"object": {"userOperation": USER_OP}}}).encode(),
    "golden-body-no-data": GOLDEN_BODY,
    "data-string": json.dumps(
        {"type": "user_operation.sponsorship.requested", "data": "x"}
    ).encode(),
    "object-null": json.dumps(
        {
            "type": "user_operation.sponsorship.requested",
            "data": {"object": None, "userOperation": USER_OP},
        }
    ).encode(),
    "no-user-op": _pimlico_with(userOperation=None),
    "bad-sender": _pimlico_with(userOperation=_op(sender="0x01")),
    "no-calldata": _pimlico_with(userOperation=_op(callData=_DROP)),
}


@pytest.mark.parametrize("raw", list(PIMLICO_NONE.values()), ids=list(PIMLICO_NONE))
def test_pimlico_unparsable_or_foreign_is_none(raw: bytes) -> None:
    assert parse_pimlico_event(raw) is None
