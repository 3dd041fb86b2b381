"""Wire formats of the sponsorship webhook: Alchemy and Pimlico bodies, Standard Webhooks HMAC.

PROTOCOL.md §5. Pure: builders return JSON-ready dicts, parsers take the raw body bytes, and
the signature functions take the clock as an argument. Rule ids: see ``rules.toml`` (WH-…).

Decisions where §5 leaves a choice are written on the function that makes them; each cites the
§5 sentence it implements.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import base58

SPONSORSHIP_EVENT = "user_operation.sponsorship.requested"
"""The only Pimlico event type the webhook answers (§5 "Pimlico body")."""

LIVE_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvxyz"
"""The live system's 57-character base-x alphabet: Bitcoin's without ``w`` (§5)."""

SECRET_PREFIXES = ("pim_whsec_", "whsec_")
"""Secret prefixes stripped before decoding, longest first (§5 "strip pim_whsec_ (or whsec_)")."""

DEFAULT_TOLERANCE = 300
"""Seconds a ``webhook-timestamp`` may be away from now (§5 "within ±300 s of now")."""

_SENDER = re.compile(r"0x[0-9a-fA-F]{40}")
_HEX = re.compile(r"0x[0-9a-fA-F]*")
_DECIMAL = re.compile(r"[0-9]+")
_HEX_DIGITS = re.compile(r"[0-9a-fA-F]+")


class BodyFormatError(ValueError):
    """An Alchemy body the webhook must answer with 400 (§5 "body not JSON → 400 …")."""


# --------------------------------------------------------------------------- Alchemy body


class ChainIdForm(enum.StrEnum):
    """How an Alchemy body carried ``chainId`` (§5): only ``HEX`` can ever match."""

    HEX = "hex"
    """``0x`` followed by hex digits: compared with the expected chain id."""
    ABSENT = "absent"
    """No ``chainId`` key: a ``chain-mismatch`` denial, not a 400."""
    EMPTY = "empty"
    """Exactly ``"0x"``: a ``chain-mismatch`` denial, not a 400."""
    BAD_DIGITS = "bad-digits"
    """``0x`` then non-hex characters: not named by §5 as a 400, so a ``chain-mismatch``."""


@dataclass(frozen=True)
class AlchemyRequest:
    """A well-shaped Alchemy body (§5): the fields the policy reads, plus the raw forms."""

    user_operation: dict[str, Any]
    sender: str
    call_data: str
    entry_point: str | None
    chain_id: int | None
    chain_id_raw: str | None
    chain_id_form: ChainIdForm

    def chain_matches(self, expected: int) -> bool:
        """Policy step 2: False means ``chain-mismatch`` (absent and ``0x`` never match)."""
        return self.chain_id is not None and self.chain_id == expected


def alchemy_body(
    user_op_json: Mapping[str, Any], entry_point: str, chain_id: str | None
) -> dict[str, Any]:
    """The Alchemy-style body of ``POST /`` (§5); ``chain_id=None`` leaves the key out."""
    body: dict[str, Any] = {"userOperation": dict(user_op_json), "entryPoint": entry_point}
    if chain_id is not None:
        body["chainId"] = chain_id
    return body


MAX_JSON_DEPTH = 64
"""Deeper nesting than any protocol body needs is malformed; refusing it up front keeps a deep
body from exhausting a server thread's C stack inside the JSON parser (§5: never a 5xx)."""

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_BRACKETS = re.compile(r"[\[\]{}]")


def _too_deep(text: str) -> bool:
    depth = 0
    for bracket in _JSON_BRACKETS.findall(_JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_JSON_DEPTH:
            return True
    return False


def _load_json(raw: bytes) -> Any:
    """Strict UTF-8 JSON, as a JavaScript ``JSON.parse`` reads it (no NaN/Infinity)."""
    text = raw.decode("utf-8")
    if _too_deep(text):
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return json.loads(text, parse_constant=_reject_constant)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_alchemy_body(raw: bytes) -> AlchemyRequest:
    """Read a ``POST /`` body, raising ``BodyFormatError`` exactly where §5 says 400.

    - "body not JSON → 400": invalid UTF-8, invalid JSON, NaN/Infinity, nesting too deep.
    - "JSON of the wrong shape → 400": the top level or ``userOperation`` is not an object.
    - "sender and callData are required 0x hex": either missing, not a string, or not
      ``0x`` + hex digits → 400. The prefix is lower-case ``0x``; digits may be either case.
      An odd number of callData digits is still ``0x`` hex text: it passes here and is left
      to the calldata decoder (policy step 4, §3 "odd-length hex").
    - "A sender that is not a 20-byte address is a malformed body → 400": exactly 40 digits.
    - "a chainId of another JSON type or a string without 0x is a malformed body → 400":
      that includes ``null`` (present, and not a string).
    - "missing chainId, or 0x with no digits, is a chain-mismatch denial, not a 400": kept
      as ``chain_id=None`` with its ``ChainIdForm``; so is ``0x`` + non-hex (not named a 400).
    - ``entryPoint`` is carried, not judged (no §5 rule reads it): None unless a string.
    """
    try:
        body = _load_json(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BodyFormatError(f"body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BodyFormatError(f"body is a JSON {type(body).__name__}, not an object")
    user_op = body.get("userOperation")
    if not isinstance(user_op, dict):
        raise BodyFormatError("userOperation is missing or not an object")
    sender = user_op.get("sender")
    if not isinstance(sender, str) or not _SENDER.fullmatch(sender):
        raise BodyFormatError(f"sender={_short(sender)}: not a 20-byte 0x address")
    call_data = user_op.get("callData")
    if not isinstance(call_data, str) or not _HEX.fullmatch(call_data):
        raise BodyFormatError(f"callData={_short(call_data)}: not 0x hex")
    chain_id, form = _alchemy_chain_id(body)
    entry_point = body.get("entryPoint")
    return AlchemyRequest(
        user_operation=user_op,
        sender=sender,
        call_data=call_data,
        entry_point=entry_point if isinstance(entry_point, str) else None,
        chain_id=chain_id,
        chain_id_raw=body.get("chainId"),
        chain_id_form=form,
    )


def _alchemy_chain_id(body: Mapping[str, Any]) -> tuple[int | None, ChainIdForm]:
    """The chainId rules of §5 for the Alchemy body (see ``parse_alchemy_body``)."""
    if "chainId" not in body:
        return None, ChainIdForm.ABSENT
    value = body["chainId"]
    if not isinstance(value, str) or not value.startswith("0x"):
        raise BodyFormatError(f"chainId={_short(value)}: not a 0x hex string")
    digits = value[2:]
    if not digits:
        return None, ChainIdForm.EMPTY
    if not _HEX_DIGITS.fullmatch(digits):
        return None, ChainIdForm.BAD_DIGITS
    return int(digits, 16), ChainIdForm.HEX


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 50 else text[:47] + "..."


# --------------------------------------------------------------------------- Pimlico body


@dataclass(frozen=True)
class PimlicoRequest:
    """A sponsorship-requested Pimlico event (§5 "Pimlico body").

    ``chain_id`` is None when chainId is absent or in none of the three accepted forms: the
    policy then says ``chain-mismatch`` (on this route every denial is 200 sponsor:false).
    """

    user_operation: dict[str, Any]
    sender: str
    call_data: str
    chain_id: int | None
    policy_id: str | None


def pimlico_event(
    user_op_json: Mapping[str, Any],
    chain_id: int,
    policy_id: str = "sp_test",
    *,
    chain_id_form: Literal["number", "hex", "decimal"] = "number",
    nest_object: bool = True,
) -> dict[str, Any]:
    """A ``user_operation.sponsorship.requested`` event for ``POST /pimlico`` (§5).

    ``chain_id_form`` picks one of the three chainId forms §5 accepts (JSON number, ``0x``
    string, decimal-digit string); ``nest_object=False`` puts the payload in ``data`` itself.
    """
    forms: dict[str, int | str] = {
        "number": chain_id,
        "hex": hex(chain_id),
        "decimal": str(chain_id),
    }
    if chain_id_form not in forms:
        raise ValueError(f"chain_id_form={chain_id_form!r}: expected number, hex or decimal")
    payload = {
        "userOperation": dict(user_op_json),
        "chainId": forms[chain_id_form],
        "sponsorshipPolicyId": policy_id,
    }
    return {"type": SPONSORSHIP_EVENT, "data": {"object": payload} if nest_object else payload}


def parse_pimlico_event(raw: bytes) -> PimlicoRequest | None:
    """Read a ``POST /pimlico`` body; None when it is unparsable or a foreign event.

    §5: "unparsable or foreign event → 200 {"sponsor":false}". None covers: not JSON, not an
    object, ``type`` other than the sponsorship event, ``data``/payload/``userOperation`` not
    objects, and sender/callData failing the same checks the Alchemy route answers 400 for.
    "``data`` itself is accepted when ``object`` is absent"; an ``object`` that is present but
    not an object is unparsable. chainId: see ``pimlico_chain_id``.
    """
    try:
        body = _load_json(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(body, dict) or body.get("type") != SPONSORSHIP_EVENT:
        return None
    data = body.get("data")
    if not isinstance(data, dict):
        return None
    payload = data.get("object", data)
    if not isinstance(payload, dict):
        return None
    user_op = payload.get("userOperation")
    if not isinstance(user_op, dict):
        return None
    sender, call_data = user_op.get("sender"), user_op.get("callData")
    if not isinstance(sender, str) or not _SENDER.fullmatch(sender):
        return None
    if not isinstance(call_data, str) or not _HEX.fullmatch(call_data):
        return None
    policy_id = payload.get("sponsorshipPolicyId")
    return PimlicoRequest(
        user_operation=user_op,
        sender=sender,
        call_data=call_data,
        chain_id=pimlico_chain_id(payload.get("chainId")),
        policy_id=policy_id if isinstance(policy_id, str) else None,
    )


def pimlico_chain_id(value: object) -> int | None:
    """§5 "chainId may be a JSON number, a 0x string or a decimal-digit string"; else None.

    A JSON number must be a non-negative integer (an integral float such as ``8453.0`` is the
    same JSON number to a JavaScript reader, so it counts); booleans are not numbers.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if value.is_integer() and value >= 0 else None
    if not isinstance(value, str):
        return None
    if value.startswith("0x") and _HEX_DIGITS.fullmatch(value[2:]):
        return int(value[2:], 16)
    if _DECIMAL.fullmatch(value):
        return int(value)
    return None


# --------------------------------------------------------------------------- Standard Webhooks


class KeyDerivation(enum.StrEnum):
    """How a webhook secret becomes the HMAC key (§5; a profile option)."""

    STANDARD = "standard"
    """Standard Webhooks: strip the prefix, base64-decode the rest."""
    LIVE_BASE57 = "live-base57"
    """The live system: base-57 (``LIVE_ALPHABET``) → lower-case hex text → base64-decode."""
    BASE58 = "base58"
    """Bitcoin Base58 (58 characters) → lower-case hex text → base64-decode."""


class SecretFormatError(ValueError):
    """A webhook secret that its key derivation cannot decode (a configuration error)."""


class SignatureErrorKind(enum.StrEnum):
    """Why ``verify_webhook`` rejected a request (every kind is a 401 on ``/pimlico``)."""

    MISSING_HEADERS = "missing-headers"
    BAD_TIMESTAMP = "bad-timestamp"
    STALE = "stale"
    FUTURE = "future"
    NO_MATCH = "no-match"


class SignatureError(Exception):
    """A Standard Webhooks signature check failed (§5: "bad/missing signature → 401")."""

    def __init__(self, kind: SignatureErrorKind, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


def _strip_prefix(secret: str) -> str:
    for prefix in SECRET_PREFIXES:
        if secret.startswith(prefix):
            return secret[len(prefix) :]
    return secret


def _forgiving_b64decode(text: str) -> bytes:
    """Base64 with optional ``=`` padding (WHATWG forgiving-base64, as ``atob`` reads it).

    The alphabet is checked strictly; a length of 1 mod 4 can never be base64.
    """
    if len(text) % 4 == 1:
        raise SecretFormatError(f"{len(text)} base64 characters cannot be decoded")
    padded = text.rstrip("=")
    padded += "=" * (-len(padded) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError) as exc:  # ValueError: non-ASCII text (found by fuzzing)
        raise SecretFormatError(f"not base64: {exc}") from None


def _base_x_hex_key(body: str, alphabet: str) -> bytes:
    """Decode ``body`` as base-x over ``alphabet``, write lower-case hex, base64-decode that."""
    bad = sorted(set(body) - set(alphabet))
    if bad:
        raise SecretFormatError(f"character {bad[0]!r} is not in the {len(alphabet)}-char alphabet")
    raw = base58.b58decode(body.encode("ascii"), alphabet=alphabet.encode("ascii"))
    return _forgiving_b64decode(raw.hex())


def derive_hmac_key(secret: str, derivation: KeyDerivation | str) -> bytes:
    """The HMAC-SHA256 key of ``secret`` under ``derivation`` (§5 key derivation).

    A ``pim_whsec_`` or ``whsec_`` prefix is stripped when present, for every derivation.
    LIVE_BASE57 and BASE58: a leading ``1`` decodes to a 0x00 byte (base-x convention).
    Raises ``SecretFormatError`` for an empty secret, a character outside the alphabet, or
    text that is not base64 at the last step. The secret never appears in the message.
    """
    derivation = KeyDerivation(derivation)
    body = _strip_prefix(secret)
    if not body:
        raise SecretFormatError("empty secret after its prefix")
    if derivation is KeyDerivation.STANDARD:
        key = _forgiving_b64decode(body)
    elif derivation is KeyDerivation.LIVE_BASE57:
        key = _base_x_hex_key(body, LIVE_ALPHABET)
    else:
        key = _base_x_hex_key(body, base58.BITCOIN_ALPHABET.decode("ascii"))
    if not key:
        raise SecretFormatError("secret decodes to an empty key")
    return key


def signed_content(msg_id: str, timestamp: int | str, body: bytes) -> bytes:
    """§5 "Signed content = id.timestamp.rawBody"."""
    return f"{msg_id}.{timestamp}.".encode() + body


def _mac_b64(key: bytes, msg_id: str, timestamp: int | str, body: bytes) -> str:
    digest = hmac.new(key, signed_content(msg_id, timestamp, body), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def sign_webhook(
    secret: str, derivation: KeyDerivation | str, msg_id: str, timestamp: int, body: bytes
) -> str:
    """The ``v1,<base64 HMAC-SHA256>`` signature entry of a request (§5)."""
    return "v1," + _mac_b64(derive_hmac_key(secret, derivation), msg_id, timestamp, body)


def webhook_headers(
    secret: str,
    derivation: KeyDerivation | str,
    msg_id: str,
    timestamp: int,
    body: bytes,
    *,
    extra_entries: Sequence[str] = (),
    sign: bool = True,
) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` for a request (§5).

    ``extra_entries`` (e.g. an old key's ``v1,…`` or a ``v1a,…`` entry) come before the
    request's own entry, space-separated; ``sign=False`` leaves the own entry out.
    """
    entries = list(extra_entries)
    if sign:
        entries.append(sign_webhook(secret, derivation, msg_id, timestamp, body))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(entries),
    }


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup (HTTP header names are case-insensitive)."""
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def verify_webhook(
    secret: str,
    derivation: KeyDerivation | str,
    headers: Mapping[str, str],
    body: bytes,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE,
) -> None:
    """Check a Standard Webhooks signature (§5); raise ``SignatureError`` on failure.

    Order: all three headers present and non-empty (MISSING_HEADERS); the timestamp is ASCII
    decimal digits (BAD_TIMESTAMP); ``|now - ts| <= tolerance`` — the boundary is inclusive, so
    exactly ±300 s is accepted and ±301 s rejected (STALE when older, FUTURE when newer);
    then any one space-separated ``v1,`` entry whose base64 text equals the expected MAC
    (``hmac.compare_digest``) suffices; entries of other versions are skipped (NO_MATCH when
    none matches). A bad secret raises ``SecretFormatError`` (configuration, not a 401).
    """
    values = {
        n: _header(headers, n) for n in ("webhook-id", "webhook-timestamp", "webhook-signature")
    }
    missing = [n for n, v in values.items() if not v]
    if missing:
        raise SignatureError(SignatureErrorKind.MISSING_HEADERS, f"missing {', '.join(missing)}")
    msg_id, stamp, signature = (str(v) for v in values.values())
    if not _DECIMAL.fullmatch(stamp):
        raise SignatureError(SignatureErrorKind.BAD_TIMESTAMP, f"webhook-timestamp={stamp[:20]!r}")
    timestamp = int(stamp)
    if now - timestamp > tolerance:
        raise SignatureError(SignatureErrorKind.STALE, f"timestamp {now - timestamp} s old")
    if timestamp - now > tolerance:
        raise SignatureError(SignatureErrorKind.FUTURE, f"timestamp {timestamp - now} s ahead")
    expected = _mac_b64(derive_hmac_key(secret, derivation), msg_id, stamp, body).encode("ascii")
    matched = False
    for entry in signature.split(" "):
        version, _, mac = entry.partition(",")
        if version == "v1" and hmac.compare_digest(expected, mac.encode("utf-8")):
            matched = True
    if not matched:
        raise SignatureError(SignatureErrorKind.NO_MATCH, "no v1 entry matches")
