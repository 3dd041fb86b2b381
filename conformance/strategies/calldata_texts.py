"""callData at the text level: the hex a JSON body carries (PROTOCOL.md §2, §3).

Odd-length hex, non-hex digits and a missing ``0x`` are malformed text. Upper- or mixed-case
hex is *valid* hex of the same bytes — only the spelling is non-canonical — so it is labelled
NON_CANONICAL_TEXT, and a webhook must read it exactly as the lower-case text (WH-029).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from conformance.strategies._validation import check_kinds, check_strategy, composite_named
from conformance.strategies.calldata import execute_calldata
from conformance.strategies.labels import HEX_TEXT_LABELS, HexTextFlaw, HexTextVerdict, Malformed

_NON_HEX = "ghijklmnopqrstuvwxyzGHXZ -_+.:/\u00e9\u0661"


@dataclass(frozen=True)
class HexText:
    """A callData text and the bytes it was spelled from (canonically ``0x`` + hex)."""

    text: str
    calldata: bytes


def malformed_calldata_texts(
    *,
    calldata: SearchStrategy[bytes] | None = None,
    kinds: Collection[HexTextFlaw | str] | None = None,
) -> SearchStrategy[Malformed[HexText, HexTextVerdict]]:
    """callData texts spelled wrong (odd length, non-hex digit, no ``0x``: MALFORMED_HEX) or
    non-canonically (upper- or mixed-case digits: NON_CANONICAL_TEXT, same bytes).

    ``calldata`` draws the bytes to spell (default ``execute_calldata()``, which always has a
    letter digit, so a case change is visible); ``kinds`` limits the flaws drawn.
    """
    check_strategy("calldata", calldata)
    chosen = None if kinds is None else check_kinds("kinds", kinds, HexTextFlaw, tuple(HexTextFlaw))
    return _malformed_calldata_texts(calldata=calldata, kinds=chosen)


@composite_named("malformed_calldata_texts")
def _malformed_calldata_texts(
    draw: st.DrawFn,
    *,
    calldata: SearchStrategy[bytes] | None = None,
    kinds: tuple[HexTextFlaw, ...] | None = None,
) -> Malformed[HexText, HexTextVerdict]:
    kind = draw(st.sampled_from(kinds or tuple(HexTextFlaw)))
    data = draw(calldata if calldata is not None else execute_calldata())
    if kind in (HexTextFlaw.UPPER_CASE, HexTextFlaw.MIXED_CASE):
        assume(data.hex() != data.hex().upper())  # a letter digit whose case can change
    text = _SPELLERS[kind](draw, data.hex())
    expected, rule_ids = HEX_TEXT_LABELS[kind]
    return Malformed(HexText(text, data), kind, rule_ids, expected)


def _odd_length(draw: st.DrawFn, digits: str) -> str:
    if digits and draw(st.booleans()):
        return "0x" + digits[:-1]
    return "0x" + digits + draw(st.sampled_from("0123456789abcdef"))


def _non_hex_digit(draw: st.DrawFn, digits: str) -> str:
    at = draw(st.integers(0, len(digits)))
    return "0x" + digits[:at] + draw(st.sampled_from(_NON_HEX)) + digits[at + 1 :]


def _mixed_case(draw: st.DrawFn, digits: str) -> str:
    letters = [i for i, c in enumerate(digits) if c in "abcdef"]
    chosen = set(draw(st.lists(st.sampled_from(letters), min_size=1, unique=True)))
    return "0x" + "".join(c.upper() if i in chosen else c for i, c in enumerate(digits))


_Speller = Callable[[st.DrawFn, str], str]
_SPELLERS: dict[HexTextFlaw, _Speller] = {
    HexTextFlaw.ODD_LENGTH: _odd_length,
    HexTextFlaw.NON_HEX_DIGIT: _non_hex_digit,
    HexTextFlaw.MISSING_PREFIX: lambda draw, digits: digits,
    HexTextFlaw.UPPER_CASE: lambda draw, digits: "0x" + digits.upper(),
    HexTextFlaw.MIXED_CASE: _mixed_case,
}
