"""The ``chainId`` of a webhook body in every accepted and rejected form (PROTOCOL.md §5).

On ``POST /`` only a ``0x`` hex string can match: a JSON number or a decimal string is a
malformed body (400, WH-008), while a missing chainId or a bare ``0x`` is a ``chain-mismatch``
denial (WH-014). On ``POST /pimlico`` a JSON number, a ``0x`` string and a decimal-digit string
are all accepted (WH-055) and anything else is a mismatch (every answer there is 200).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, MutableMapping
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from conformance.strategies._validation import check_choice, check_int, check_kinds, composite_named
from conformance.strategies.labels import (
    ALCHEMY_CHAIN_ID_LABELS,
    PIMLICO_CHAIN_ID_LABELS,
    ChainIdShape,
    RuleIds,
    WireVerdict,
)

ROUTES = ("alchemy", "pimlico")
"""``alchemy``: ``POST /``; ``pimlico``: ``POST /pimlico`` (PROTOCOL.md §5)."""

MAX_BODY_CHAIN_ID = (1 << 53) - 1
"""Chain ids of bodies stay exact as JavaScript numbers (a JSON number above 2**53 is not)."""

LABELS = {"alchemy": ALCHEMY_CHAIN_ID_LABELS, "pimlico": PIMLICO_CHAIN_ID_LABELS}


@dataclass(frozen=True)
class ChainIdCase:
    """One ``chainId`` form: the JSON value (or absence) and what the route must make of it."""

    shape: ChainIdShape
    value: Any
    """The JSON value of the ``chainId`` key (meaningless when ``present`` is False)."""
    present: bool
    expected: WireVerdict
    rule_ids: RuleIds

    def put(self, payload: MutableMapping[str, Any]) -> None:
        """Set (or, when absent, remove) ``chainId`` in a body or event payload."""
        payload.pop("chainId", None)
        if self.present:
            payload["chainId"] = self.value


def check_body_chain_id(chain_id: object) -> int:
    """A chain id usable in a body: 1 ≤ chain_id < 2**53."""
    return check_int("chain_id", chain_id, 1, MAX_BODY_CHAIN_ID)


def available_shapes(route: str, chain_id: int) -> tuple[ChainIdShape, ...]:
    """Every shape, less BARE_HEX on ``pimlico`` for chain ids whose hex digits read as the
    same decimal number (1 … 9), where it would be an accepted decimal string."""
    shapes = list(ChainIdShape)
    if route == "pimlico" and hex(chain_id)[2:] == str(chain_id):
        shapes.remove(ChainIdShape.BARE_HEX)
    return tuple(shapes)


def chain_id_forms(
    *,
    chain_id: int = 84532,
    route: str = "alchemy",
    shapes: Collection[ChainIdShape | str] | None = None,
) -> SearchStrategy[ChainIdCase]:
    """``chainId`` forms for ``route`` (``alchemy`` or ``pimlico``) and the expected chain,
    each labelled CHAIN_MATCH, CHAIN_MISMATCH or BAD_REQUEST with its rule ids.

    ``shapes`` limits the forms drawn (ChainIdShape members or values).
    """
    check_body_chain_id(chain_id)
    check_choice("route", route, ROUTES)
    available = available_shapes(route, chain_id)
    chosen = None if shapes is None else check_kinds("shapes", shapes, ChainIdShape, available)
    return _chain_id_forms(chain_id=chain_id, route=route, shapes=chosen)


@composite_named("chain_id_forms")
def _chain_id_forms(
    draw: st.DrawFn,
    *,
    chain_id: int = 84532,
    route: str = "alchemy",
    shapes: tuple[ChainIdShape, ...] | None = None,
) -> ChainIdCase:
    shape = draw(st.sampled_from(shapes or available_shapes(route, chain_id)))
    value = _FORMS[shape](draw, chain_id, route)
    expected, rule_ids = LABELS[route][shape]
    return ChainIdCase(shape, value, shape is not ChainIdShape.ABSENT, expected, rule_ids)


def _any_accepted_form(draw: st.DrawFn, number: int, route: str) -> Any:
    if route == "alchemy":
        return hex(number)
    return draw(st.sampled_from((number, hex(number), str(number))))


def _other_chain(draw: st.DrawFn, chain_id: int, route: str) -> Any:
    other = draw(st.integers(0, MAX_BODY_CHAIN_ID).filter(lambda n: n != chain_id))
    return _any_accepted_form(draw, other, route)


def _huge(draw: st.DrawFn, chain_id: int, route: str) -> Any:
    return _any_accepted_form(draw, draw(st.integers(1 << 64, 1 << 512)), route)


def _leading_zeros(draw: st.DrawFn, chain_id: int, route: str) -> str:
    return "0x" + "0" * draw(st.integers(1, 8)) + hex(chain_id)[2:]


def _decimal_string(draw: st.DrawFn, chain_id: int, route: str) -> str:
    return "0" * draw(st.integers(0, 3)) + str(chain_id)


def _decimal_malformed(draw: st.DrawFn, chain_id: int, route: str) -> str:
    text = str(chain_id)
    full_width = "".join(chr(ord(c) - ord("0") + 0xFF10) for c in text)
    return draw(
        st.sampled_from(
            (" " + text, text + " ", "+" + text, text + ".0", text + "n", full_width, "1e" + text)
        )
    )


def _bad_digits(draw: st.DrawFn, chain_id: int, route: str) -> str:
    digits = hex(chain_id)[2:]
    return draw(
        st.sampled_from(
            (
                "0x" + digits + "g",
                "0xg" + digits,
                "0x-" + digits,
                "0x " + digits,
                "0x" + digits + " ",
            )
        )
    )


def _fractional(draw: st.DrawFn, chain_id: int, route: str) -> float:
    base = chain_id if chain_id < (1 << 51) else 0
    return base + draw(st.sampled_from((0.5, 0.25, 0.75)))


def _other_json_type(draw: st.DrawFn, chain_id: int, route: str) -> Any:
    return draw(
        st.sampled_from(
            (True, False, [], [chain_id], [hex(chain_id)], {}, {"chainId": hex(chain_id)})
        )
    )


_Form = Callable[[st.DrawFn, int, str], Any]
_C = ChainIdShape
_FORMS: dict[ChainIdShape, _Form] = {
    _C.HEX: lambda draw, c, route: hex(c),
    _C.HEX_UPPER: lambda draw, c, route: "0x" + hex(c)[2:].upper(),
    _C.HEX_LEADING_ZEROS: _leading_zeros,
    _C.NUMBER: lambda draw, c, route: c,
    _C.NUMBER_FLOAT: lambda draw, c, route: float(c),
    _C.DECIMAL_STRING: _decimal_string,
    _C.OTHER_CHAIN: _other_chain,
    _C.HUGE: _huge,
    _C.EMPTY_HEX: lambda draw, c, route: "0x",
    _C.ABSENT: lambda draw, c, route: None,
    _C.NEGATIVE: lambda draw, c, route: draw(st.sampled_from((-c, str(-c), "-" + hex(c)))),
    _C.FRACTIONAL: _fractional,
    _C.DECIMAL_MALFORMED: _decimal_malformed,
    _C.BARE_HEX: lambda draw, c, route: hex(c)[2:],
    _C.UPPER_PREFIX: lambda draw, c, route: "0X" + hex(c)[2:],
    _C.BAD_DIGITS: _bad_digits,
    _C.NULL: lambda draw, c, route: None,
    _C.OTHER_JSON_TYPE: _other_json_type,
}
