"""WH-071: no answer carries a secret (PROTOCOL.md §5 "Secrets stay inside").

Pure: ``SecretScanner`` knows the run's token, Pimlico secret and the HMAC keys every supported
derivation gets from it, and for each signed request the MACs a webhook computes for it (the
right MAC of ``id.timestamp.rawBody`` under each derivation). ``scan`` reads one answer — its
status line aside, every header value and the body — and names what it finds: the token (as
sent or URL-encoded), the secret (with or without its prefix), a derived key (base64, base64
without padding, hex) or any 8-character run of a computed MAC (base64 or hex).

Equivalence classes of a leak (each pinned in tests/unit/test_webhook_secrets.py): whole value,
an encoding of it, a MAC prefix, a MAC infix, in a header or in the body; not a leak: the
suite's own wrong MAC echoed back, fragments shorter than 8 characters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from conformance.protocol.webhook_wire import (
    KeyDerivation,
    SecretFormatError,
    derive_hmac_key,
    signed_content,
)

FRAGMENT = 8
"""The shortest part of a MAC that counts as carried (PROTOCOL.md §5: "any part", ≥ 8 chars)."""


@dataclass(frozen=True)
class Leak:
    """One secret found in one answer: what it is and where (``header NAME`` or ``body``)."""

    what: str
    where: str


def _key_forms(key: bytes) -> dict[str, str]:
    b64 = base64.b64encode(key).decode()
    return {"base64": b64, "base64 unpadded": b64.rstrip("="), "hex": key.hex()}


def derived_keys(secret: str) -> dict[str, bytes]:
    """The HMAC key each supported derivation reads from ``secret`` (those that decode it)."""
    keys = {}
    for derivation in KeyDerivation:
        try:
            keys[derivation.value] = derive_hmac_key(secret, derivation)
        except SecretFormatError:
            continue
    return keys


def mac_texts(keys: Iterable[bytes], msg_id: str, timestamp: str, body: bytes) -> list[str]:
    """The MACs a webhook computes for a request, as base64 and as hex, per key."""
    out = []
    for key in keys:
        digest = hmac.new(key, signed_content(msg_id, timestamp, body), hashlib.sha256).digest()
        out += [base64.b64encode(digest).decode(), digest.hex()]
    return out


def _carries_part(text: str, secret: str, size: int = FRAGMENT) -> bool:
    return any(secret[i:i + size] in text for i in range(len(secret) - size + 1))


class SecretScanner:
    """The WH-071 oracle for one run's secrets (see the module docstring)."""

    def __init__(self, token: str | None, secret: str | None) -> None:
        whole: dict[str, str] = {}
        if token:
            whole["the token"] = token
            if quote(token, safe="") != token:
                whole["the token (URL-encoded)"] = quote(token, safe="")
        self._keys: list[bytes] = []
        if secret:
            whole["the Pimlico secret"] = secret
            bare = secret.split("_", 2)[-1] if secret.startswith(("pim_whsec_", "whsec_")) else ""
            if len(bare) >= FRAGMENT:
                whole["the Pimlico secret without its prefix"] = bare
            for name, key in derived_keys(secret).items():
                self._keys.append(key)
                for form, text in _key_forms(key).items():
                    whole[f"the HMAC key ({name}, {form})"] = text
        self._whole = whole

    def macs(self, headers: Mapping[str, str], body: bytes) -> list[str]:
        """The MACs a webhook computes for a request signed with these headers (none when the
        request has no webhook-id/webhook-timestamp or the run has no secret)."""
        lower = {k.lower(): v for k, v in headers.items()}
        msg_id, stamp = lower.get("webhook-id"), lower.get("webhook-timestamp")
        if msg_id is None or stamp is None or not self._keys:
            return []
        return mac_texts(self._keys, msg_id, stamp, body)

    def scan(self, answer_headers: Mapping[str, str], answer_body: bytes,
             macs: Iterable[str] = ()) -> list[Leak]:
        """Every secret (or ≥ 8-character MAC part) ``answer`` carries, where it is."""
        places = {f"header {k}": v for k, v in answer_headers.items()}
        places["body"] = answer_body.decode("utf-8", errors="replace")
        macs = list(macs)
        leaks = []
        for where, text in places.items():
            leaks += [Leak(what, where) for what, value in self._whole.items() if value in text]
            if any(_carries_part(text, mac) for mac in macs):
                leaks.append(Leak("a part of the MAC the webhook computed", where))
        return leaks


__all__ = ["FRAGMENT", "Leak", "SecretScanner", "derived_keys", "mac_texts"]
