"""``webhook_signatures.json``: Standard Webhooks signatures of ``POST /pimlico`` (§5).

``input.operation``:

- ``derive-key``: secret, derivation → ``key`` (the HMAC key) or ``error: "secret-format"``.
  Derivations: ``standard`` (strip ``whsec_``/``pim_whsec_``, base64), ``live-base57`` (strip,
  base-x over the 57-character alphabet without ``l`` and ``w``, lower-case hex text, base64)
  and ``base58`` (the same with Bitcoin's 58-character alphabet).
- ``sign``: secret, derivation, id, timestamp, body → ``signedContent`` (id.timestamp.body),
  ``key`` and ``signature`` (``v1,<base64 HMAC-SHA256>``).
- ``verify``: secret, derivation, headers, body, now, tolerance → ``valid`` and ``errorKind``
  (missing-headers, bad-timestamp, stale, future, no-match — checked in that order; the window
  is inclusive: exactly ±tolerance seconds is accepted).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

import base58

from conformance.protocol.webhook_wire import (
    LIVE_ALPHABET,
    KeyDerivation,
    SecretFormatError,
    SignatureError,
    derive_hmac_key,
    sign_webhook,
    signed_content,
    verify_webhook,
)
from conformance.vectors.model import (
    Case,
    Json,
    VectorInputError,
    hx,
    read_hex,
    read_num,
    read_obj,
    read_str,
)

SEED = 0x57D
GOLDEN_SECRET = "pim_whsec_12oeWzGziAeWhm1Hpi4zvXDz54bzSMCBj3CeCb6rAPV"
GOLDEN_ID, GOLDEN_TS = "msg_test", 1783379000
GOLDEN_BODY = b'{"type":"user_operation.sponsorship.requested"}'
GOLDEN_SIGNATURE = "v1,FegSBwAL3Dulyu7SFiGvw1GCj7N+us7vJohmBsP9cxY="
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
"""The Standard Webhooks specification's published test vector."""
SW_ID, SW_TS, SW_BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
SW_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
LIVE, STANDARD, BASE58 = "live-base57", "standard", "base58"


def _derivation(inp: Mapping[str, Any]) -> KeyDerivation:
    name = read_str(inp, "derivation")
    try:
        return KeyDerivation(name)
    except ValueError:
        raise VectorInputError(
            f"derivation={name!r}: expected standard, live-base57 or base58") from None


def _eval_derive(inp: Mapping[str, Any]) -> Json:
    try:
        key = derive_hmac_key(read_str(inp, "secret"), _derivation(inp))
    except SecretFormatError:
        return {"key": None, "error": "secret-format"}
    return {"key": hx(key), "error": None}


def _eval_sign(inp: Mapping[str, Any]) -> Json:
    secret, derivation = read_str(inp, "secret"), _derivation(inp)
    msg_id, stamp, body = read_str(inp, "id"), read_num(inp, "timestamp"), read_hex(inp, "body")
    return {"signedContent": hx(signed_content(msg_id, stamp, body)),
            "key": hx(derive_hmac_key(secret, derivation)),
            "signature": sign_webhook(secret, derivation, msg_id, stamp, body)}


def _eval_verify(inp: Mapping[str, Any]) -> Json:
    headers = read_obj(inp, "headers")
    if not all(isinstance(v, str) for v in headers.values()):
        raise VectorInputError("headers: every value must be a string")
    try:
        verify_webhook(read_str(inp, "secret"), _derivation(inp), dict(headers),
                       read_hex(inp, "body"), read_num(inp, "now"), read_num(inp, "tolerance"))
    except SignatureError as exc:
        return {"valid": False, "errorKind": exc.kind.value}
    return {"valid": True, "errorKind": None}


_OPERATIONS: dict[str, Callable[[Mapping[str, Any]], Json]] = {
    "derive-key": _eval_derive,
    "sign": _eval_sign,
    "verify": _eval_verify,
}


def evaluate(inp: Mapping[str, Any]) -> Json:
    """Dispatch on ``input.operation`` (see the module docstring)."""
    operation = read_str(inp, "operation")
    if operation not in _OPERATIONS:
        raise VectorInputError(f"operation={operation!r}: expected one of {', '.join(_OPERATIONS)}")
    return _OPERATIONS[operation](inp)


def _encode(raw: bytes, alphabet: str) -> str:
    return base58.b58encode(raw, alphabet=alphabet.encode("ascii")).decode("ascii")


def _derive_cases(rng: random.Random) -> list[Case]:
    golden_body = GOLDEN_SECRET.removeprefix("pim_whsec_")
    bitcoin = base58.BITCOIN_ALPHABET.decode("ascii")
    with_w = "pim_whsec_" + _encode(rng.randbytes(32), bitcoin).replace("1", "w", 1) + "w"
    items = [
        ("golden-live", "the §5 golden secret under the live derivation", GOLDEN_SECRET, LIVE),
        ("golden-standard", "the golden secret under plain base64 (the derivation that caused "
         "the live 401 outage)", GOLDEN_SECRET, STANDARD),
        ("golden-base58", "the golden secret under Bitcoin Base58", GOLDEN_SECRET, BASE58),
        ("golden-whsec-prefix", "the golden secret's body with the whsec_ prefix",
         "whsec_" + golden_body, LIVE),
        ("golden-no-prefix", "the golden secret's body with no prefix", golden_body, LIVE),
        ("standard-webhooks-spec", "the Standard Webhooks specification's test secret",
         SW_SECRET, STANDARD),
        ("spec-secret-live", "the spec secret under the live derivation: 'I' is in neither "
         "base-x alphabet", SW_SECRET, LIVE),
        ("w-live", "a secret containing 'w': not in the 57-character alphabet", with_w, LIVE),
        ("w-base58", "the same secret under Base58, which has 'w'", with_w, BASE58),
        ("leading-ones-live", "leading '1' characters decode to 0x00 bytes",
         "pim_whsec_11" + _encode(rng.randbytes(30), LIVE_ALPHABET), LIVE),
        ("seeded-live", f"a random 32-byte secret (seed {SEED:#x}) in the 57-character alphabet",
         "pim_whsec_" + _encode(rng.randbytes(32), LIVE_ALPHABET), LIVE),
        ("seeded-base58", "a random 32-byte secret in Bitcoin Base58",
         "pim_whsec_" + _encode(rng.randbytes(32), bitcoin), BASE58),
        ("empty", "nothing after the prefix", "pim_whsec_", LIVE),
    ]
    return [Case(f"derive-{name}", text, ("WH-057",),
                 {"operation": "derive-key", "secret": secret, "derivation": derivation})
            for name, text, secret, derivation in items]


def _sign_case(name: str, text: str, rules: tuple[str, ...], secret: str, derivation: str,
               msg: tuple[str, int, bytes], pinned: Json | None = None) -> Case:
    msg_id, stamp, body = msg
    inp: Json = {"operation": "sign", "secret": secret, "derivation": derivation, "id": msg_id,
                 "timestamp": stamp, "body": hx(body)}
    return Case(f"sign-{name}", text, rules, inp, pinned or {})


def _sign_cases(rng: random.Random) -> list[Case]:
    golden = (GOLDEN_ID, GOLDEN_TS, GOLDEN_BODY)
    rules = ("WH-048", "WH-057")
    return [
        _sign_case("golden", "PROTOCOL.md §5 golden vector (live derivation)", rules,
                   GOLDEN_SECRET, LIVE, golden, {"signature": GOLDEN_SIGNATURE}),
        _sign_case("standard-webhooks-spec", "the Standard Webhooks specification's vector",
                   ("WH-048",), SW_SECRET, STANDARD, (SW_ID, SW_TS, SW_BODY),
                   {"signature": SW_SIGNATURE}),
        _sign_case("golden-standard", "the golden message under plain base64: another MAC",
                   rules, GOLDEN_SECRET, STANDARD, golden),
        _sign_case("golden-base58", "the golden message under Base58: another MAC", rules,
                   GOLDEN_SECRET, BASE58, golden),
        _sign_case("empty-body", "an empty body", rules, GOLDEN_SECRET, LIVE,
                   ("msg_empty", GOLDEN_TS, b"")),
        _sign_case("binary-body", f"random non-UTF-8 body bytes (seed {SEED:#x})", rules,
                   GOLDEN_SECRET, LIVE, ("msg_bin", 1700000000, b"\xff\xfe" + rng.randbytes(40))),
    ]


def _headers(signature: str, stamp: int | str = GOLDEN_TS, msg_id: str = GOLDEN_ID) -> Json:
    return {"webhook-id": msg_id, "webhook-timestamp": str(stamp), "webhook-signature": signature}


def _verify_cases() -> list[Case]:
    good = GOLDEN_SIGNATURE
    mac = good.removeprefix("v1,")
    wrong = sign_webhook(GOLDEN_SECRET, STANDARD, GOLDEN_ID, GOLDEN_TS, GOLDEN_BODY)
    body_changed = GOLDEN_BODY.replace(b"requested", b"requestee")
    no_id = {k: v for k, v in _headers(good).items() if k != "webhook-id"}
    items: list[tuple[str, str, tuple[str, ...], Json, int, bytes]] = [
        ("golden", "the golden request at its own timestamp", ("WH-048", "WH-057"),
         _headers(good), GOLDEN_TS, GOLDEN_BODY),
        ("window-plus-300", "now = timestamp + 300: the edge, accepted", ("WH-051",),
         _headers(good), GOLDEN_TS + 300, GOLDEN_BODY),
        ("window-plus-301", "now = timestamp + 301: stale", ("WH-051",), _headers(good),
         GOLDEN_TS + 301, GOLDEN_BODY),
        ("window-minus-300", "now = timestamp - 300: the edge, accepted", ("WH-051",),
         _headers(good), GOLDEN_TS - 300, GOLDEN_BODY),
        ("window-minus-301", "now = timestamp - 301: from the future", ("WH-051",),
         _headers(good), GOLDEN_TS - 301, GOLDEN_BODY),
        ("multi-bad-then-good", "a non-matching v1 entry, then the matching one", ("WH-049",),
         _headers(f"{wrong} {good}"), GOLDEN_TS, GOLDEN_BODY),
        ("multi-good-then-bad", "the matching v1 entry, then a non-matching one", ("WH-049",),
         _headers(f"{good} {wrong}"), GOLDEN_TS, GOLDEN_BODY),
        ("other-version-only", "the right MAC under version v1a: skipped, no match",
         ("WH-050", "WH-052"), _headers(f"v1a,{mac}"), GOLDEN_TS, GOLDEN_BODY),
        ("v2-then-v1", "a v2 entry with the right MAC, then the matching v1 entry", ("WH-050",),
         _headers(f"v2,{mac} {good}"), GOLDEN_TS, GOLDEN_BODY),
        ("wrong-derivation", "a MAC made with the plain-base64 key", ("WH-052", "WH-057"),
         _headers(wrong), GOLDEN_TS, GOLDEN_BODY),
        ("body-changed", "one byte of the body changed", ("WH-052",), _headers(good), GOLDEN_TS,
         body_changed),
        ("missing-id", "no webhook-id header", ("WH-052",), no_id, GOLDEN_TS, GOLDEN_BODY),
        ("empty-signature", "an empty webhook-signature header", ("WH-052",), _headers(""),
         GOLDEN_TS, GOLDEN_BODY),
        ("timestamp-fraction", "webhook-timestamp 1783379000.0: not decimal digits",
         ("WH-052",), _headers(good, f"{GOLDEN_TS}.0"), GOLDEN_TS, GOLDEN_BODY),
        ("header-names-capitalised", "header names in another case: HTTP names are "
         "case-insensitive", ("WH-048",),
         {k.title(): v for k, v in _headers(good).items()}, GOLDEN_TS, GOLDEN_BODY),
    ]
    return [Case(f"verify-{name}", text, rules,
                 {"operation": "verify", "secret": GOLDEN_SECRET, "derivation": LIVE,
                  "headers": headers, "body": hx(body), "now": now, "tolerance": 300})
            for name, text, rules, headers, now, body in items]


def cases() -> list[Case]:
    """Every webhook_signatures case: derivations, signatures, then verification."""
    rng = random.Random(SEED)
    return [*_derive_cases(rng), *_sign_cases(rng), *_verify_cases()]
