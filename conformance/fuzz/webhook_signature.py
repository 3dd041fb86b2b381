"""Fuzz target ``webhook_signature``: Standard Webhooks verification of ``POST /pimlico`` under
every key derivation (PROTOCOL.md §5; rules WH-048, WH-049, WH-050, WH-052, WH-057).

Input (framed): one byte choosing the derivation (standard, live-base57, base58), then
``secret ␞ webhook-id ␞ timestamp offset from now ␞ webhook-signature ␞ body`` (␞ = 0x1e).

Invariant: verification raises only ``SignatureError`` (or ``SecretFormatError`` for a secret its
derivation cannot decode); it accepts exactly when, independently computed, some space-separated
entry is ``v1,`` followed by the base64 HMAC-SHA256 under the derived key of
``id.timestamp.body`` and the timestamp is decimal within ±300 s: it never accepts a MAC not
made with the key (WH-048, WH-050, WH-052) and never refuses a matching entry (WH-049).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping

from conformance.fuzz.base import require, unique
from conformance.fuzz.dictionaries import SIGNATURE_TOKENS
from conformance.protocol.webhook_wire import (
    DEFAULT_TOLERANCE,
    KeyDerivation,
    SecretFormatError,
    SignatureError,
    derive_hmac_key,
    sign_webhook,
    verify_webhook,
)

NAME = "webhook_signature"
RULES = ("WH-048", "WH-049", "WH-050", "WH-052", "WH-057")
DICTIONARY = SIGNATURE_TOKENS

NOW = 1_783_379_000
DERIVATIONS = tuple(KeyDerivation)
SEPARATOR = b"\x1e"
_DECIMAL = re.compile(r"[0-9]+")

Verify = Callable[..., None]
VERIFY: Verify = verify_webhook
"""The verifier under test (a planted bug replaces it)."""


def setup() -> None:
    """Nothing to prepare (pure Python)."""


def frame(derivation: KeyDerivation, secret: str, msg_id: str, offset: int, signature: str,
          body: bytes) -> bytes:
    """The framed input of one request (see the module docstring)."""
    fields = [secret.encode(), msg_id.encode(), str(offset).encode(), signature.encode(), body]
    return bytes([DERIVATIONS.index(derivation)]) + SEPARATOR.join(fields)


def _unframe(data: bytes) -> tuple[KeyDerivation, list[str], bytes] | None:
    if not data:
        return None
    parts = data[1:].split(SEPARATOR, 4)
    if len(parts) != 5:
        return None
    try:
        texts = [p.decode("utf-8") for p in parts[:4]]
    except UnicodeDecodeError:
        return None
    return DERIVATIONS[data[0] % len(DERIVATIONS)], texts, parts[4]


def _expected(key: bytes, headers: Mapping[str, str], body: bytes) -> bool:
    """The independent reading of §5: decimal timestamp within ±300 s, one exact v1 entry."""
    msg_id, stamp, entries = (headers["webhook-id"], headers["webhook-timestamp"],
                              headers["webhook-signature"])
    if not (msg_id and stamp and entries) or not _DECIMAL.fullmatch(stamp):
        return False
    if abs(int(stamp) - NOW) > DEFAULT_TOLERANCE:
        return False
    mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode() in entries.split(" ")


def TestOneInput(data: bytes) -> None:  # noqa: N802 (libFuzzer's name)
    """Verify the framed request and hold the verdict to the independent reading."""
    framed = _unframe(data)
    if framed is None:
        return
    derivation, (secret, msg_id, offset, signature), body = framed
    stamp = str(NOW + int(offset)) if re.fullmatch(r"-?[0-9]{1,12}", offset) else offset
    headers = {"webhook-id": msg_id, "webhook-timestamp": stamp, "webhook-signature": signature}
    try:
        key = derive_hmac_key(secret, derivation)
    except SecretFormatError:
        return
    try:
        VERIFY(secret, derivation, headers, body, NOW)
        accepted = True
    except SignatureError:
        accepted = False
    expected = _expected(key, headers, body)
    require(not accepted or expected, "WH-048",
            f"accepted a signature not made with the {derivation} key over id.timestamp.body")
    require(accepted or not expected, "WH-049", "refused a request carrying a matching v1 entry")


def _secrets() -> list[tuple[KeyDerivation, str]]:
    from conformance.vectors import _webhook_signatures as vectors

    pairs = []
    for case in vectors.cases():
        if case.input["operation"] == "derive-key":
            pairs.append((KeyDerivation(case.input["derivation"]), case.input["secret"]))
    return pairs


def seeds(*, canonical_only: bool = False) -> list[bytes]:
    """Correctly signed requests for every derivation's vector secrets, several entries and
    window edges; with the vectors' failing requests unless ``canonical_only``."""
    body = b'{"type":"user_operation.sponsorship.requested"}'
    found = []
    for derivation, secret in _secrets():
        try:
            own = sign_webhook(secret, derivation, "msg_1", NOW, body)
        except SecretFormatError:
            continue
        found.append(frame(derivation, secret, "msg_1", 0, own, body))
        found.append(frame(derivation, secret, "msg_1", 0, f"v1a,xyz {own}", body))
        edge = sign_webhook(secret, derivation, "msg_1", NOW - 300, body)
        found.append(frame(derivation, secret, "msg_1", -300, edge, body))
        if not canonical_only:
            found.append(frame(derivation, secret, "msg_1", 301, own, body))
            found.append(frame(derivation, secret, "msg_1", 0, own.replace("v1,", "v2,"), body))
    return unique(found)
