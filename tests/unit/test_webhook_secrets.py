"""WH-071's oracle (``conformance.oracle.webhook_secrets``) and WH-069's timestamp forms.

Each class of leak is pinned with an explicit case: the whole token / secret / key, an
encoding of it, a MAC prefix and infix of 8 characters, in a header or the body; and the
non-leaks: 7 characters of a MAC, the suite's own wrong MAC, an unrelated answer. Expected MACs
are computed here with ``hmac``/``hashlib`` directly; the golden key is PROTOCOL.md §5's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

import pytest

from conformance.oracle.webhook_secrets import FRAGMENT, SecretScanner, derived_keys
from conformance.suites.webhook.reproduce import TIMESTAMP_FORMS, Signing

GOLDEN_SECRET = "pim_whsec_12oeWzGziAeWhm1Hpi4zvXDz54bzSMCBj3CeCb6rAPV"
GOLDEN_MAC = "FegSBwAL3Dulyu7SFiGvw1GCj7N+us7vJohmBsP9cxY="
GOLDEN_HEADERS = {"webhook-id": "msg_test", "webhook-timestamp": "1783379000"}
GOLDEN_BODY = b'{"type":"user_operation.sponsorship.requested"}'
TOKEN = "tok/en+with=odd&chars-0123456789"


@pytest.fixture
def scanner() -> SecretScanner:
    return SecretScanner(TOKEN, GOLDEN_SECRET)


def test_the_golden_mac_is_among_the_computed_ones(scanner: SecretScanner) -> None:
    assert GOLDEN_MAC in scanner.macs(GOLDEN_HEADERS, GOLDEN_BODY)


@pytest.mark.parametrize("text", [
    TOKEN, quote(TOKEN, safe=""), GOLDEN_SECRET, GOLDEN_SECRET.removeprefix("pim_whsec_"),
])
@pytest.mark.parametrize("where", ["body", "header"])
def test_whole_secrets_are_found(scanner: SecretScanner, text: str, where: str) -> None:
    wrapped = f'{{"debug":"{text}"}}'
    headers = {"x-debug": wrapped} if where == "header" else {}
    body = wrapped.encode() if where == "body" else b"{}"
    leaks = scanner.scan(headers, body)
    assert leaks and all(leak.where == ("header x-debug" if where == "header" else "body")
                         for leak in leaks)


@pytest.mark.parametrize("form", ["b64", "b64-unpadded", "hex"])
def test_every_derived_key_form_is_found(scanner: SecretScanner, form: str) -> None:
    for key in derived_keys(GOLDEN_SECRET).values():
        text = {"b64": base64.b64encode(key).decode(),
                "b64-unpadded": base64.b64encode(key).decode().rstrip("="),
                "hex": key.hex()}[form]
        assert scanner.scan({}, f'{{"key":"{text}"}}'.encode())


@pytest.mark.parametrize(("start", "size", "leaks"), [
    (0, FRAGMENT, True), (0, 12, True), (17, FRAGMENT, True), (36, FRAGMENT, True),
    (0, FRAGMENT - 1, False), (20, FRAGMENT - 1, False),
])
def test_mac_fragments(scanner: SecretScanner, start: int, size: int, leaks: bool) -> None:
    macs = scanner.macs(GOLDEN_HEADERS, GOLDEN_BODY)
    part = GOLDEN_MAC[start:start + size]
    assert bool(scanner.scan({}, f'{{"expected":"{part}"}}'.encode(), macs)) is leaks


def test_hex_mac_fragment_is_found(scanner: SecretScanner) -> None:
    digest = base64.b64decode(GOLDEN_MAC)
    macs = scanner.macs(GOLDEN_HEADERS, GOLDEN_BODY)
    assert scanner.scan({}, digest.hex()[10:20].encode(), macs)


def test_a_wrong_mac_echoed_and_plain_answers_are_no_leak(scanner: SecretScanner) -> None:
    macs = scanner.macs(GOLDEN_HEADERS, GOLDEN_BODY)
    wrong = base64.b64encode(hmac.new(b"other", b"x", hashlib.sha256).digest()).decode()
    for body in (b'{"approved":true}', b'{"error":"unauthorized"}', f'"{wrong}"'.encode()):
        assert scanner.scan({"content-type": "application/json"}, body, macs) == []


def test_no_secrets_no_findings() -> None:
    assert SecretScanner(None, None).scan({}, b"anything at all") == []


STAMP = 1783379000


@pytest.mark.parametrize(("form", "text"), [
    ("hex", "0x6a4c3438"), ("hex-upper", "0X6A4C3438"), ("octal", "0o15223032070"),
    ("binary", "0b" + bin(STAMP)[2:]), ("fraction", "1783379000.0"),
    ("fraction-half", "1783379000.5"), ("exponent", "1783379000e0"),
    ("exponent-upper-signed", "1783379000E+00"), ("leading-plus", "+1783379000"),
    ("digit-groups", "1_783_379_000"), ("padded-leading", "\xa01783379000"),
    ("padded-trailing", "1783379000\xa0"),
])
def test_timestamp_forms_name_the_same_second_leniently(form: str, text: str) -> None:
    assert TIMESTAMP_FORMS[form](STAMP) == text
    lenient = (int(text, 0) if text.lstrip("+")[:2].lower() in ("0x", "0o", "0b")
               else int(float(text)))
    assert lenient == STAMP


def test_a_form_is_signed_over_its_own_text() -> None:
    headers = Signing(msg_id="msg_test", timestamp_form="hex").headers(
        GOLDEN_SECRET, "live-base57", GOLDEN_BODY, STAMP)
    assert headers["webhook-timestamp"] == "0x6a4c3438"
    key = derived_keys(GOLDEN_SECRET)["live-base57"]
    mac = hmac.new(key, b"msg_test.0x6a4c3438." + GOLDEN_BODY, hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(mac).decode()
