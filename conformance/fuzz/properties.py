"""Hypothesis properties that draw bytes, run as fuzz targets through ``fuzz_one_input``
(the same function is a pytest test in tests/unit/test_fuzz_properties.py and an atheris target).

``calldata_roundtrip`` (UO-017, WH-066): any bytes the strict decoder accepts re-encode to
themselves and read as the Solidity model reads them. ``signature_classes`` (UO-012, UO-013,
AT-003): a 65-byte string classifies VALID exactly when length, low s, v 27/28 and
recoverability all hold, and recovery succeeds exactly for VALID signatures.

What atheris finds is saved to hypothesis' example database (``.hypothesis/examples``), so the
next plain ``pytest`` run of the property replays and shrinks it. ``derandomize`` stays False
(also under ``CI``, where hypothesis' own ci profile would switch it on), as the engine does.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.fuzz.base import require, unique
from conformance.fuzz.dictionaries import CALLDATA_TOKENS
from conformance.protocol.calldata import DecodeError, decode_execute_strict, encode_execute
from conformance.protocol.signatures import (
    HALF_N,
    SECP256K1_N,
    SignatureClass,
    classify_signature,
    recover_digest,
)
from conformance.protocol.solidity_abi import decode_execute_solidity

PROPERTY_SETTINGS = settings(derandomize=False, deadline=None, max_examples=200,
                             suppress_health_check=[HealthCheck.too_slow])
"""Settings of both properties (derandomize False under CI too)."""

_DIGEST = b"\x42" * 32


@PROPERTY_SETTINGS
@given(st.binary(max_size=600))
def calldata_roundtrip(data: bytes) -> None:
    """What the strict decoder accepts is canonical and Solidity's reading (UO-017, WH-066)."""
    try:
        call = decode_execute_strict(data)
    except DecodeError:
        return
    require(encode_execute(call.target, call.value, call.data) == data, "UO-017",
            "accepted bytes that do not re-encode to themselves")
    require(decode_execute_solidity(data) == call, "WH-066", "strict and Solidity readings differ")


@PROPERTY_SETTINGS
@given(st.binary(min_size=60, max_size=70))
def signature_classes(sig: bytes) -> None:
    """VALID ⇔ 65 bytes, low s, v 27/28, recoverable; recovery only for VALID (UO-012, UO-013)."""
    kind = classify_signature(sig, _DIGEST)
    r = int.from_bytes(sig[:32], "big")
    s = int.from_bytes(sig[32:64], "big")
    shape_ok = len(sig) == 65 and 0 < s <= HALF_N and sig[64] in (27, 28) and 0 < r < SECP256K1_N
    require(kind is not SignatureClass.VALID or shape_ok, "UO-013",
            f"classified {kind} with len {len(sig)}, s {'high' if s > HALF_N else 'low'}")
    recovered = recover_digest(_DIGEST, sig)
    require((recovered is not None) == (kind is SignatureClass.VALID), "UO-012",
            f"recovery {'succeeded' if recovered else 'failed'} for a {kind} signature")


PROPERTIES: dict[str, Any] = {"calldata_roundtrip": calldata_roundtrip,
                              "signature_classes": signature_classes}
RULE_IDS = {"calldata_roundtrip": ("UO-017", "WH-066"),
            "signature_classes": ("UO-012", "UO-013", "AT-003")}


def target(name: str) -> SimpleNamespace:
    """The property ``name`` as a fuzz target (``TestOneInput`` = ``fuzz_one_input``)."""
    prop = PROPERTIES[name]
    fuzz = prop.hypothesis.fuzz_one_input

    def test_one_input(data: bytes) -> None:
        fuzz(data)

    def seeds(*, canonical_only: bool = False) -> list[bytes]:
        return unique([bytes(64), b"\x00" * 600, b"\xff" * 80])

    return SimpleNamespace(
        NAME=name, RULES=RULE_IDS[name], DICTIONARY=CALLDATA_TOKENS, TestOneInput=test_one_input,
        seeds=seeds, setup=lambda: None, __doc__=prop.__doc__, __name__=f"{__name__}:{name}")
