"""The vector record, the kind table entry, and the JSON value conventions of the export.

A vector is ``{"name", "description", "rule_ids", "input", "expected"}``; ``expected`` is always
what the kind's ``evaluate`` computes from ``input`` with the suite's protocol code, so a
directory can be re-verified later (``amc vectors check``). Value conventions (see the package
docstring): bytes are ``0x`` lower-case hex, integers are JSON numbers up to 2^53 − 1 and
decimal strings above.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_SAFE_INTEGER = (1 << 53) - 1
"""The largest integer every JSON reader holds exactly (JavaScript ``Number.MAX_SAFE_INTEGER``)."""

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")

Json = dict[str, Any]
Evaluate = Callable[[Mapping[str, Any]], Json]


class VectorInputError(ValueError):
    """A vector input the suite cannot read (a hand-edited file, usually)."""


@dataclass(frozen=True)
class Vector:
    """One test vector: inputs, the expected outputs and the rules they exercise."""

    name: str
    description: str
    rule_ids: tuple[str, ...]
    input: Json
    expected: Json

    def to_json(self) -> Json:
        """The vector as written to a file (key order fixed)."""
        return {
            "name": self.name,
            "description": self.description,
            "rule_ids": list(self.rule_ids),
            "input": self.input,
            "expected": self.expected,
        }


@dataclass(frozen=True)
class Case:
    """A vector before evaluation; ``pinned`` holds PROTOCOL.md literals ``expected`` must show."""

    name: str
    description: str
    rule_ids: tuple[str, ...]
    input: Json
    pinned: Json = field(default_factory=dict)


@dataclass(frozen=True)
class Kind:
    """One vector file: its cases and the function that computes ``expected`` from ``input``."""

    name: str
    description: str
    cases: Callable[[], Sequence[Case]]
    evaluate: Evaluate

    @property
    def file(self) -> str:
        """The file name in an export directory."""
        return f"{self.name}.json"


def hx(data: bytes) -> str:
    """Bytes as ``0x`` + lower-case hex."""
    return "0x" + bytes(data).hex()


def num(value: int) -> int | str:
    """An integer as a JSON number when |value| ≤ 2^53 − 1, else as a decimal string."""
    return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else str(value)


def read_hex(obj: Mapping[str, Any], key: str, *, size: int | None = None) -> bytes:
    """``obj[key]`` as bytes: ``0x`` hex of even length (either case); ``size`` when fixed."""
    value = _get(obj, key)
    if not isinstance(value, str) or not value.startswith("0x"):
        raise VectorInputError(f"{key}={value!r}: expected 0x hex")
    digits = value[2:]
    if len(digits) % 2 or not set(digits) <= _HEX_DIGITS:
        raise VectorInputError(f"{key}={value[:24]!r}: not even-length hex")
    data = bytes.fromhex(digits)
    if size is not None and len(data) != size:
        raise VectorInputError(f"{key}: {len(data)} bytes, expected {size}")
    return data


def read_num(obj: Mapping[str, Any], key: str) -> int:
    """``obj[key]`` as an integer: a JSON integer or a decimal string."""
    value = _get(obj, key)
    if isinstance(value, bool):
        raise VectorInputError(f"{key}={value!r}: expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit() and value.isascii():
        return int(value)
    raise VectorInputError(f"{key}={value!r}: expected an integer or a decimal string")


def read_str(obj: Mapping[str, Any], key: str) -> str:
    """``obj[key]`` as a string."""
    value = _get(obj, key)
    if not isinstance(value, str):
        raise VectorInputError(f"{key}={value!r}: expected a string")
    return value


def read_obj(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``obj[key]`` as a JSON object."""
    value = _get(obj, key)
    if not isinstance(value, Mapping):
        raise VectorInputError(f"{key}: expected an object")
    return value


def read_hex_list(obj: Mapping[str, Any], key: str) -> list[bytes]:
    """``obj[key]`` as a list of ``0x`` hex byte strings."""
    value = _get(obj, key)
    if not isinstance(value, list):
        raise VectorInputError(f"{key}: expected a list")
    return [read_hex({key: item}, key) for item in value]


def _get(obj: Mapping[str, Any], key: str) -> Any:
    if not isinstance(obj, Mapping) or key not in obj:
        raise VectorInputError(f"input key {key!r} is missing")
    return obj[key]


def evaluate_case(kind: Kind, case: Case) -> Vector:
    """The vector of ``case``: ``expected`` computed by the kind; pinned literals must match."""
    expected = kind.evaluate(case.input)
    for key, literal in case.pinned.items():
        if expected.get(key) != literal:
            raise AssertionError(
                f"{kind.name}/{case.name}: {key} is {expected.get(key)!r}, "
                f"PROTOCOL.md says {literal!r}"
            )
    return Vector(case.name, case.description, case.rule_ids, case.input, expected)
