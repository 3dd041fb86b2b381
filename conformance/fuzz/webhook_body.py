"""Fuzz target ``webhook_body``: the reference webhook's body parsers and its reading of the
callData in them, against the oracle's independent reading (PROTOCOL.md §3, §5; rules WH-005,
WH-006, WH-007, WH-008, WH-013, WH-014, WH-023, WH-029, WH-054).

Input: one raw request body, read as a ``POST /`` body and as a ``POST /pimlico`` event.

Invariant: the Alchemy parser raises only ``BodyFormatError`` and the Pimlico reader never
raises; a body the oracle calls malformed is refused (400 / unparsable) unless §5 leaves it
open (``lenient``); a body the reference reads has the oracle's sender and chain verdict; and the
policy's reading of its callData (strict decode, inner selector) is the oracle's: what the
reference would go on to approve, the oracle reads the same way (never approve what the oracle
denies at the body or calldata step).
"""

from __future__ import annotations

from collections.abc import Callable

from conformance.fuzz.base import draw_examples, require, unique
from conformance.fuzz.dictionaries import HEX_TOKENS, JSON_TOKENS
from conformance.fuzz.mutators import json_hex_mutator
from conformance.oracle.webhook_body import (
    BodyReading,
    Chain,
    Malformed,
    read_alchemy_body,
    read_pimlico_body,
)
from conformance.protocol.calldata import DecodeError, ExecuteCall, decode_execute_strict
from conformance.protocol.webhook_wire import AlchemyRequest, BodyFormatError, parse_alchemy_body
from conformance.reference.webhook.pimlico import sponsor_request
from conformance.reference.webhook.policy import chain_matches, decode_call_data, selector_hex

NAME = "webhook_body"
RULES = ("WH-005", "WH-006", "WH-007", "WH-008", "WH-013", "WH-014", "WH-023", "WH-029",
         "WH-054")
DICTIONARY = JSON_TOKENS + HEX_TOKENS
MUTATOR = json_hex_mutator

CHAIN_ID = 84532
"""The chain id the bodies are judged against (the strategies' default)."""

PARSE_ALCHEMY: Callable[[bytes], AlchemyRequest] = parse_alchemy_body
READ_SELECTOR: Callable[[str, ExecuteCall], str] = selector_hex
"""The reference seams under test (planted bugs replace them, as the mutants do)."""


def setup() -> None:
    """Nothing to prepare (pure Python)."""


def _oracle_call(reading: BodyReading) -> ExecuteCall | None:
    if reading.call_data is None:
        return None
    try:
        return decode_execute_strict(reading.call_data)
    except DecodeError:
        return None


def _check_call_data(text: str, reading: BodyReading, route: str) -> None:
    """Step 4 and 6 of the policy read the callData as the oracle does (WH-023, WH-029)."""
    expected = _oracle_call(reading)
    try:
        call = decode_call_data(text)
    except DecodeError:
        require(expected is None or reading.lenient, "WH-023",
                f"{route}: refused callData the oracle reads as {expected and expected.reading}")
        return
    require(expected is not None, "WH-023", f"{route}: read callData the oracle refuses")
    assert expected is not None
    require(call == expected, "WH-023", f"{route}: read {call.reading}, oracle {expected.reading}")
    selector = READ_SELECTOR(text, call)
    require(selector == "0x" + expected.inner_selector.hex(), "WH-029",
            f"{route}: inner selector read as {selector!r}, "
            f"oracle 0x{expected.inner_selector.hex()}")


def _alchemy(data: bytes) -> None:
    oracle = read_alchemy_body(data, CHAIN_ID)
    try:
        request = PARSE_ALCHEMY(data)
    except BodyFormatError:
        require(isinstance(oracle, Malformed) or oracle.lenient, "WH-006",
                "POST /: refused a body the oracle reads as well-formed")
        return
    require(not isinstance(oracle, Malformed), getattr(oracle, "rule", "WH-006"),
            lambda: f"POST /: read a body the oracle calls malformed ({oracle.why})")  # type: ignore[union-attr]
    assert isinstance(oracle, BodyReading)
    require(bytes.fromhex(request.sender[2:]) == oracle.sender, "WH-007", "sender read differently")
    if not oracle.chain_lenient:
        matches = chain_matches(request.chain_id, CHAIN_ID)
        require(matches == (oracle.chain is Chain.MATCH), "WH-013",
                f"POST /: chain {'matches' if matches else 'mismatches'}, "
                f"oracle {oracle.chain.value}")
    _check_call_data(request.call_data, oracle, "POST /")


def _pimlico(data: bytes) -> None:
    oracle = read_pimlico_body(data, CHAIN_ID)
    request = sponsor_request(data)
    if request is None:
        require(isinstance(oracle, Malformed) or oracle.lenient, "WH-054",
                "POST /pimlico: an event the oracle reads was called unparsable")
        return
    require(not isinstance(oracle, Malformed), "WH-054",
            lambda: f"POST /pimlico: read an event the oracle calls unparsable ({oracle.why})")  # type: ignore[union-attr]
    assert isinstance(oracle, BodyReading)
    require(request.sender == oracle.sender, "WH-054", "sender read differently")
    if not oracle.chain_lenient:
        matches = chain_matches(request.chain_id, CHAIN_ID)
        require(matches == (oracle.chain is Chain.MATCH), "WH-014",
                f"POST /pimlico: chain {'matches' if matches else 'mismatches'}, "
                f"oracle {oracle.chain.value}")
    _check_call_data(request.call_data, oracle, "POST /pimlico")


def TestOneInput(data: bytes) -> None:  # noqa: N802 (libFuzzer's name)
    """Read ``data`` as both routes' body and hold each reading to the oracle's."""
    _alchemy(data)
    _pimlico(data)


def seeds(*, canonical_only: bool = False) -> list[bytes]:
    """Well-formed bodies of both routes from the hypothesis generators (and malformed ones
    unless ``canonical_only``)."""
    from conformance.strategies import (
        alchemy_bodies,
        malformed_alchemy_bodies,
        malformed_pimlico_events,
        pimlico_events,
    )

    found = draw_examples(alchemy_bodies(chain_id=CHAIN_ID), 16)
    found += draw_examples(pimlico_events(chain_id=CHAIN_ID), 16)
    if not canonical_only:
        for strategy in (malformed_alchemy_bodies(chain_id=CHAIN_ID),
                         malformed_pimlico_events(chain_id=CHAIN_ID)):
            found += [case.value for case in draw_examples(strategy, 24)]
    return unique(found)
