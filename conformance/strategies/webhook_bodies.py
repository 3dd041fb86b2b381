"""Raw webhook bodies: Alchemy-style ``POST /`` bodies and Pimlico events (PROTOCOL.md §5).

Bodies are ``bytes``, because many malformations live below JSON (invalid UTF-8, broken
syntax, nesting). Valid bodies carry a valid UserOperation and a matching chainId; malformed
ones break one thing (a ``BodyFlaw``, or a ``ChainIdShape`` that does not match) and are
labelled with the ``WireVerdict`` the route must reach and the rules they exercise.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from conformance.protocol.hexutil import checksum
from conformance.protocol.userop import ENTRY_POINT_V07, UserOperation, to_json
from conformance.protocol.webhook_wire import alchemy_body, pimlico_event
from conformance.strategies._body_flaws import Body, apply_flaw
from conformance.strategies._validation import (
    check_address,
    check_int,
    check_strategy,
    composite_named,
)
from conformance.strategies.chain_ids import (
    LABELS,
    available_shapes,
    chain_id_forms,
    check_body_chain_id,
)
from conformance.strategies.labels import (
    ALCHEMY_BODY_LABELS,
    PIMLICO_BODY_LABELS,
    BodyFlaw,
    ChainIdShape,
    Malformed,
    WireVerdict,
)
from conformance.strategies.userops import DEFAULT_CHAIN_ID, user_operations

MIN_MAX_SIZE = 16 * 1024
"""The smallest ``max_size`` accepted: room for a body plus a nesting deeper than 1000."""

DEFAULT_MAX_SIZE = 256 * 1024
"""Upper bound of an OVERSIZED or DEEP_NESTING body unless told otherwise."""

MAX_MAX_SIZE = 64 * 1024 * 1024

BODY_LABELS = {"alchemy": ALCHEMY_BODY_LABELS, "pimlico": PIMLICO_BODY_LABELS}

BodyKind = BodyFlaw | ChainIdShape


def dump_json(value: Any, *, pretty: bool = False) -> bytes:
    """UTF-8 JSON text of ``value`` (compact, or indented when ``pretty``)."""
    if pretty:
        return json.dumps(value, indent=2).encode("utf-8")
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def _operations(operations: SearchStrategy[UserOperation] | None) -> SearchStrategy[UserOperation]:
    return operations if operations is not None else user_operations()


def _check_body_options(chain_id: object, operations: object) -> None:
    check_body_chain_id(chain_id)
    check_strategy("operations", operations)


def alchemy_bodies(
    *,
    chain_id: int = DEFAULT_CHAIN_ID,
    operations: SearchStrategy[UserOperation] | None = None,
    entry_point: bytes = ENTRY_POINT_V07,
) -> SearchStrategy[bytes]:
    """Well-formed ``POST /`` bodies whose chainId matches ``chain_id`` (any accepted hex
    spelling) and whose ``userOperation`` is drawn from ``operations`` (``user_operations()``)."""
    _check_body_options(chain_id, operations)
    check_address("entry_point", entry_point)
    return _alchemy_bodies(chain_id=chain_id, operations=operations, entry_point=entry_point)


@composite_named("alchemy_bodies")
def _alchemy_bodies(
    draw: st.DrawFn,
    *,
    chain_id: int = DEFAULT_CHAIN_ID,
    operations: SearchStrategy[UserOperation] | None = None,
    entry_point: bytes = ENTRY_POINT_V07,
) -> bytes:
    body = _alchemy_dict(
        draw, chain_id, operations, entry_point, _matching(draw, "alchemy", chain_id)
    )
    return dump_json(body, pretty=draw(st.booleans()))


def _matching(draw: st.DrawFn, route: str, chain_id: int) -> Any:
    shapes = tuple(s for s in ChainIdShape if LABELS[route][s][0] is WireVerdict.CHAIN_MATCH)
    return draw(chain_id_forms(chain_id=chain_id, route=route, shapes=shapes))


def _alchemy_dict(
    draw: st.DrawFn,
    chain_id: int,
    operations: SearchStrategy[UserOperation] | None,
    entry_point: bytes,
    chain_case: Any,
) -> dict[str, Any]:
    op = draw(_operations(operations))
    body = alchemy_body(to_json(op), checksum(entry_point), None)
    chain_case.put(body)
    return body


def pimlico_events(
    *,
    chain_id: int = DEFAULT_CHAIN_ID,
    operations: SearchStrategy[UserOperation] | None = None,
) -> SearchStrategy[bytes]:
    """Well-formed ``user_operation.sponsorship.requested`` events for ``POST /pimlico``:
    chainId in an accepted form (number, hex, decimal) equal to ``chain_id``, payload under
    ``data.object`` or directly in ``data`` (WH-055, WH-056)."""
    _check_body_options(chain_id, operations)
    return _pimlico_events(chain_id=chain_id, operations=operations)


@composite_named("pimlico_events")
def _pimlico_events(
    draw: st.DrawFn,
    *,
    chain_id: int = DEFAULT_CHAIN_ID,
    operations: SearchStrategy[UserOperation] | None = None,
) -> bytes:
    event = _pimlico_dict(draw, chain_id, operations, _matching(draw, "pimlico", chain_id))
    return dump_json(event, pretty=draw(st.booleans()))


def _pimlico_dict(
    draw: st.DrawFn,
    chain_id: int,
    operations: SearchStrategy[UserOperation] | None,
    chain_case: Any,
) -> dict[str, Any]:
    op = draw(_operations(operations))
    policy = "sp_" + draw(st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12))
    event = pimlico_event(to_json(op), chain_id, policy, nest_object=draw(st.booleans()))
    chain_case.put(_payload(event))
    return event


def _payload(event: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = event["data"]
    return data.get("object", data)


def body_kinds(route: str, chain_id: int) -> tuple[BodyKind, ...]:
    """Every flaw of ``route``'s bodies: its ``BodyFlaw``s and the chainId shapes that do not
    match there."""
    shapes = [
        shape
        for shape in available_shapes(route, chain_id)
        if LABELS[route][shape][0] is not WireVerdict.CHAIN_MATCH
    ]
    return (*BODY_LABELS[route], *shapes)


def _check_malformed_options(
    route: str, chain_id: object, max_size: object, kinds: object
) -> tuple[BodyKind, ...] | None:
    """Validate the options; the chosen kinds (None: every kind of ``body_kinds``)."""
    chain_id = check_body_chain_id(chain_id)
    check_int("max_size", max_size, MIN_MAX_SIZE, MAX_MAX_SIZE)
    if kinds is None:
        return None
    if isinstance(kinds, str | bytes) or not isinstance(kinds, Collection) or not kinds:
        raise InvalidArgument(f"kinds={kinds!r}: expected None or a non-empty collection")
    by_value = {flaw.value: flaw for flaw in body_kinds(route, chain_id)}
    chosen: list[BodyKind] = []
    for kind in kinds:
        if not isinstance(kind, str) or str(kind) not in by_value:
            raise InvalidArgument(f"kinds: {kind!r} is not a {route} body flaw")
        chosen.append(by_value[str(kind)])
    return tuple(dict.fromkeys(chosen))


def malformed_alchemy_bodies(
    *,
    chain_id: int = DEFAULT_CHAIN_ID,
    max_size: int = DEFAULT_MAX_SIZE,
    kinds: Collection[BodyFlaw | ChainIdShape | str] | None = None,
) -> SearchStrategy[Malformed[bytes, WireVerdict]]:
    """``POST /`` bodies broken in one way, labelled BAD_REQUEST (400), CHAIN_MISMATCH or
    NO_SERVER_ERROR: invalid UTF-8, not JSON, deep nesting, wrong JSON types or missing
    fields, non-address senders (19/21 bytes, no ``0x``, non-hex), chainId in every rejected
    form (JSON number → 400, ``0x`` or missing → chain-mismatch …), bodies up to ``max_size``
    bytes. ``kinds`` limits the flaws (BodyFlaw / ChainIdShape members or values).
    """
    chosen = _check_malformed_options("alchemy", chain_id, max_size, kinds)
    return _malformed_alchemy_bodies(chain_id=chain_id, max_size=max_size, kinds=chosen)


@composite_named("malformed_alchemy_bodies")
def _malformed_alchemy_bodies(
    draw: st.DrawFn,
    *,
    chain_id: int = DEFAULT_CHAIN_ID,
    max_size: int = DEFAULT_MAX_SIZE,
    kinds: tuple[BodyKind, ...] | None = None,
) -> Malformed[bytes, WireVerdict]:
    kind = draw(st.sampled_from(kinds or body_kinds("alchemy", chain_id)))
    body = _alchemy_dict(
        draw, chain_id, None, ENTRY_POINT_V07, _matching(draw, "alchemy", chain_id)
    )
    return _malformed(draw, "alchemy", chain_id, max_size, kind, Body(body, body))


def malformed_pimlico_events(
    *,
    chain_id: int = DEFAULT_CHAIN_ID,
    max_size: int = DEFAULT_MAX_SIZE,
    kinds: Collection[BodyFlaw | ChainIdShape | str] | None = None,
) -> SearchStrategy[Malformed[bytes, WireVerdict]]:
    """``POST /pimlico`` bodies broken in one way, labelled IGNORED (200 sponsor:false,
    unparsable or foreign), CHAIN_MISMATCH or NO_SERVER_ERROR (WH-054, WH-055). Sign them
    with ``webhook_headers`` to reach the parser; ``kinds`` limits the flaws drawn.
    """
    chosen = _check_malformed_options("pimlico", chain_id, max_size, kinds)
    return _malformed_pimlico_events(chain_id=chain_id, max_size=max_size, kinds=chosen)


@composite_named("malformed_pimlico_events")
def _malformed_pimlico_events(
    draw: st.DrawFn,
    *,
    chain_id: int = DEFAULT_CHAIN_ID,
    max_size: int = DEFAULT_MAX_SIZE,
    kinds: tuple[BodyKind, ...] | None = None,
) -> Malformed[bytes, WireVerdict]:
    kind = draw(st.sampled_from(kinds or body_kinds("pimlico", chain_id)))
    event = _pimlico_dict(draw, chain_id, None, _matching(draw, "pimlico", chain_id))
    return _malformed(draw, "pimlico", chain_id, max_size, kind, Body(event, _payload(event)))


def _malformed(
    draw: st.DrawFn, route: str, chain_id: int, max_size: int, kind: BodyKind, body: Body
) -> Malformed[bytes, WireVerdict]:
    if isinstance(kind, ChainIdShape):
        case = draw(chain_id_forms(chain_id=chain_id, route=route, shapes=(kind,)))
        case.put(body.payload)
        raw = dump_json(body.root, pretty=draw(st.booleans()))
        expected, rule_ids = case.expected, case.rule_ids
    else:
        raw = apply_flaw(draw, kind, body, route=route, max_size=max_size)
        expected, rule_ids = BODY_LABELS[route][kind]
    assume(len(raw) <= max_size)
    return Malformed(raw, kind, rule_ids, expected)
