"""The secrets of this process, masked wherever text is made (ARCHITECTURE.md "Secrets",
issue 7 §2).

Every layer may import this module: a secret is masked at the source — the ``repr`` of a
request, the message of a transport error, a launched target's log, a test report's traceback —
not only when a report is written. ``register`` adds a secret value (the shared token, the
Pimlico secret) and ``register_key`` a derived HMAC key; ``scrub`` replaces every spelling of
each (``secret_forms``: URL-encoded, JSON- and HTML-escaped, hex, inside base64 at any byte
alignment) with its label. The registry is process-wide and only grows.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
import threading
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_DERIVED_LENGTH = 6
"""Secrets shorter than this are redacted verbatim only: their encoded forms are too short to
match safely (a 3-character base64 core would hit ordinary text)."""


def base64_cores(raw: bytes) -> set[str]:
    """The base64 characters that depend on ``raw`` alone, for each of the 3 byte alignments.

    The secret inside a longer base64 blob (``Basic base64(user:secret)``) starts at an
    arbitrary byte offset; dropping the characters shared with its neighbours leaves a core
    that is present whatever surrounds it.
    """
    cores: set[str] = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        start = math.ceil(8 * offset / 6)
        end = (8 * (offset + len(raw))) // 6
        core = encoded[start:end]
        if len(core) >= MIN_DERIVED_LENGTH:
            cores.add(core)
            cores.add(core.translate(str.maketrans("+/", "-_")))
    return cores


def secret_forms(secret: str) -> set[str]:
    """Every spelling of ``secret`` the redactor looks for (the secret itself included)."""
    forms = {secret}
    if len(secret) < MIN_DERIVED_LENGTH:
        return forms
    raw = secret.encode("utf-8")
    forms |= {
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret),
        html.escape(secret, quote=False),
        raw.hex(),
        raw.hex().upper(),
    }
    return forms | base64_cores(raw)


def key_forms(key: bytes) -> set[str]:
    """Every spelling of a binary key (a derived HMAC key): hex, base64 (standard and URL-safe,
    with and without padding) and its base64 cores at any alignment."""
    if not key:
        return set()
    b64 = base64.b64encode(key).decode("ascii")
    url = base64.urlsafe_b64encode(key).decode("ascii")
    return {key.hex(), key.hex().upper(), b64, b64.rstrip("="), url, url.rstrip("=")} | (
        base64_cores(key) if len(key) >= MIN_DERIVED_LENGTH else set())


class SecretRegistry:
    """Spellings of secret values and their labels; ``scrub`` masks them in any text."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._labels: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None

    def _add(self, forms: set[str], label: str) -> None:
        with self._lock:
            new = {form for form in forms if form and form not in self._labels}
            if not new:
                return
            self._labels.update(dict.fromkeys(new, label))
            ordered = sorted(self._labels, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, ordered)))

    def register(self, value: str | None, label: str = MASK) -> None:
        """Mask ``value`` (and its encodings) as ``label`` from now on; empty values are ignored."""
        if value:
            self._add(secret_forms(value), label)

    def register_key(self, key: bytes | None, label: str = MASK) -> None:
        """Mask a derived binary key in its hex and base64 spellings."""
        if key:
            self._add(key_forms(key), label)

    def scrub(self, text: str) -> str:
        """``text`` with every registered spelling replaced by its label."""
        pattern = self._pattern
        if pattern is None or not text:
            return text
        return pattern.sub(lambda m: self._labels[m.group(0)], text)

    def labels(self) -> dict[str, str]:
        """A copy of spelling → label (for a report's ``Redactor``)."""
        with self._lock:
            return dict(self._labels)


SECRETS = SecretRegistry()
"""The registry of this process."""

register = SECRETS.register
register_key = SECRETS.register_key
scrub = SECRETS.scrub
