"""Secret redaction for everything a report writes (DESIGN.md "Secrets", "Reproducers").

Tokens and HMAC secrets come from the environment and never appear in a report. A
``Redactor`` replaces each secret value, and the forms it takes on the way into a log or a
reproducer (URL-encoded, JSON- and HTML-escaped, hex of its bytes, inside base64 at any byte
alignment), with ``$ENV_NAME`` when the environment variable it came from is known, else
``***``. ``Redactor.json`` also turns any value into plain JSON (bytes become ``0x`` hex).
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import html
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from conformance.report.model import RunResults

MASK = "***"
MIN_DERIVED_LENGTH = 6
"""Secrets shorter than this are redacted verbatim only: their encoded forms are too short to
match safely (a 3-character base64 core would hit ordinary text)."""


def _base64_cores(raw: bytes) -> set[str]:
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
    return forms | _base64_cores(raw)


class Redactor:
    """Replaces secret values in text and JSON; ``Redactor(())`` only normalises JSON."""

    __slots__ = ("_labels", "_pattern")

    def __init__(
        self, secrets: Iterable[str] = (), *, named: Mapping[str, str] | None = None
    ) -> None:
        """``secrets`` are masked as ``***``; ``named`` maps an env var name to its value,
        masked as ``$NAME``. Empty values are ignored."""
        labels: dict[str, str] = {}
        pairs = [(value, f"${name}") for name, value in (named or {}).items()]
        pairs += [(value, MASK) for value in secrets]
        for value, label in pairs:
            if value:
                for form in secret_forms(value):
                    labels.setdefault(form, label)
        self._labels = labels
        ordered = sorted(labels, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    @classmethod
    def from_env(
        cls, names: Iterable[str], environ: Mapping[str, str] | None = None
    ) -> Redactor:
        """A redactor for the values of the environment variables ``names`` (unset ones skipped)."""
        env = os.environ if environ is None else environ
        return cls(named={name: env[name] for name in names if env.get(name)})

    def __repr__(self) -> str:
        return f"Redactor({len(self._labels)} forms)"

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, s: str) -> str:
        """``s`` with every secret form replaced by its label."""
        if self._pattern is None:
            return s
        return self._pattern.sub(lambda m: self._labels[m.group(0)], s)

    def json(self, obj: Any) -> Any:
        """A plain-JSON copy of ``obj`` with every string (keys too) redacted.

        bytes become ``0x`` hex, tuples and sets lists, enums their value, dataclasses dicts;
        anything else unknown becomes its ``str``.
        """
        if obj is None or isinstance(obj, bool | int | float):
            return obj
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, enum.Enum):
            return self.json(obj.value)
        if isinstance(obj, bytes | bytearray | memoryview):
            return self.text("0x" + bytes(obj).hex())
        if isinstance(obj, Mapping):
            return {self.text(str(k)): self.json(v) for k, v in obj.items()}
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            fields = dataclasses.fields(obj)
            return {f.name: self.json(getattr(obj, f.name)) for f in fields}
        if isinstance(obj, list | tuple | set | frozenset):
            items = sorted(obj, key=repr) if isinstance(obj, set | frozenset) else obj
            return [self.json(item) for item in items]
        return self.text(str(obj))

    def run(self, run: RunResults) -> RunResults:
        """A redacted, JSON-normalised copy of ``run`` (failures, logs, target identity...)."""
        return RunResults.from_json(self.json(run.to_json()))
