"""Fuzz target ``candidate_decoder``: a candidate's own Python decoder of ``execute`` calldata
(``amc fuzz decoder --callable pkg.module:function``), in process, against the strict decoder
and Solidity's reading (PROTOCOL.md §3; rules WH-066, WH-067, UO-017).

The candidate takes the calldata bytes and returns ``(target, value, data)`` (or an object with
those attributes; target as 20 bytes or 0x text); it rejects by raising ``ValueError`` (or a
subclass). Invariant: it never raises anything else; it accepts every canonical callData the
strict decoder accepts, reading the same call; whatever else it accepts, it reads exactly as
Solidity does, and it accepts nothing Solidity rejects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.fuzz.base import Finding, require
from conformance.fuzz.dictionaries import CALLDATA_TOKENS
from conformance.fuzz.mutators import calldata_mutator
from conformance.protocol.calldata import DecodeError, ExecuteCall, decode_execute_strict
from conformance.protocol.solidity_abi import decode_execute_solidity

NAME = "candidate_decoder"
RULES = ("WH-066", "WH-067", "UO-017")
DICTIONARY = CALLDATA_TOKENS
MUTATOR = calldata_mutator

CANDIDATE: Callable[[bytes], Any] | None = None
"""The candidate's decoder (installed by ``candidates.install_candidate``)."""


def setup() -> None:
    """Fail early when no candidate was installed."""
    if CANDIDATE is None:
        raise RuntimeError("candidate_decoder needs --callable pkg.module:function")


def _as_call(value: Any) -> ExecuteCall:
    if isinstance(value, tuple) and len(value) == 3:
        target, amount, data = value
    else:
        target, amount, data = value.target, value.value, value.data
    if isinstance(target, str):
        target = bytes.fromhex(target.removeprefix("0x"))
    try:
        return ExecuteCall(bytes(target), int(amount), bytes(data))
    except (ValueError, TypeError) as exc:
        raise Finding("WH-066", f"the candidate returned an unusable reading: {exc}") from None


def TestOneInput(data: bytes) -> None:  # noqa: N802 (libFuzzer's name)
    """The candidate's reading of ``data`` against the strict decoder and Solidity's."""
    assert CANDIDATE is not None
    try:
        strict: ExecuteCall | None = decode_execute_strict(data)
    except DecodeError:
        strict = None
    try:
        solidity: ExecuteCall | None = decode_execute_solidity(data)
    except DecodeError:
        solidity = None
    try:
        reading = _as_call(CANDIDATE(data))
    except ValueError as exc:
        require(strict is None, "UO-017", f"the candidate refuses canonical callData: {exc}")
        return
    require(solidity is not None, "WH-067", "the candidate accepts callData Solidity rejects")
    require(reading == solidity, "WH-066",
            lambda: f"the candidate reads {reading.reading}, "
                    f"Solidity {solidity and solidity.reading}")


def seeds(*, canonical_only: bool = False) -> list[bytes]:
    """The execute_calldata target's seeds."""
    from conformance.fuzz import execute_calldata

    return execute_calldata.seeds(canonical_only=canonical_only)
