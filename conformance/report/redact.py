"""Secret redaction for everything a report writes (ARCHITECTURE.md "Secrets", "Reproducers").

Tokens and HMAC secrets come from the environment and never appear in a report. A
``Redactor`` replaces each secret value, and the forms it takes on the way into a log or a
reproducer (URL-encoded, JSON- and HTML-escaped, hex of its bytes, inside base64 at any byte
alignment), with ``$ENV_NAME`` when the environment variable it came from is known, else
``***``. ``Redactor.json`` also turns any value into plain JSON (bytes become ``0x`` hex).
"""

from __future__ import annotations

import dataclasses
import enum
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from conformance.report.model import RunResults
from conformance.secrecy import MASK, SECRETS, secret_forms

__all__ = ["MASK", "Redactor", "secret_forms"]


class Redactor:
    """Replaces secret values in text and JSON; ``Redactor(())`` only normalises JSON."""

    __slots__ = ("_labels", "_pattern")

    def __init__(
        self, secrets: Iterable[str] = (), *, named: Mapping[str, str] | None = None,
        forms: Mapping[str, str] | None = None,
    ) -> None:
        """``secrets`` are masked as ``***``; ``named`` maps an env var name to its value,
        masked as ``$NAME``; ``forms`` maps spellings already expanded to their labels (the
        process registry's). Empty values are ignored."""
        labels: dict[str, str] = {}
        pairs = [(value, f"${name}") for name, value in (named or {}).items()]
        pairs += [(value, MASK) for value in secrets]
        for value, label in pairs:
            if value:
                for form in secret_forms(value):
                    labels.setdefault(form, label)
        for form, label in (forms or {}).items():
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

    @classmethod
    def for_process(
        cls, names: Iterable[str], environ: Mapping[str, str] | None = None
    ) -> Redactor:
        """``from_env(names)`` plus every secret this process registered (``conformance.secrecy``:
        generated tokens and secrets, derived HMAC keys)."""
        env = os.environ if environ is None else environ
        named = {name: env[name] for name in names if env.get(name)}
        return cls(named=named, forms=SECRETS.labels())

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
