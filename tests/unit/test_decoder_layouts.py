"""The decoder-agreement layouts both harnesses pin with explicit @examples (issue 7 §4) are what
their names say: the webhook's "rejected" ones are rejected by Solidity's decoder (WH-067), its
"accepted" ones read by Solidity but not canonical (WH-066); every account outer layout is not
the canonical encoding (AC-035), and each kind of both harnesses has a pinned example."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from eth_abi import encode

from conformance.protocol.calldata import DecodeError, decode_execute_strict, encode_execute
from conformance.protocol.solidity_abi import decode_execute_solidity
from conformance.suites.account._layouts import (
    INNER_KINDS,
    OUTER_KINDS,
    PINNED_INNER,
    PINNED_OUTER,
)
from conformance.suites.webhook import cases
from conformance.suites.webhook.test_decoder_agreement import (
    ACCEPTED_LAYOUTS,
    REJECTED_LAYOUTS,
    relay,
)

CLUSTER = bytes.fromhex("c1" + "00" * 18 + "01")
WEBHOOK_SUITE = Path(__file__).parents[2] / "conformance/suites/webhook/test_decoder_agreement.py"


def _pinned_webhook_layouts() -> list[tuple[str, int]]:
    """The ``layout=(kind, n)`` of every @example in the webhook decoder-agreement checks."""
    tree = ast.parse(WEBHOOK_SUITE.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "example":
            for keyword in node.keywords:
                if keyword.arg == "layout":
                    kind = keyword.value.elts[0].value  # type: ignore[attr-defined]
                    number = eval(compile(ast.Expression(keyword.value.elts[1]), "", "eval"),  # type: ignore[attr-defined]
                                  {"_WORD": 2**256 - 1})
                    found.append((kind, number))
    return found


PINNED_WEBHOOK = _pinned_webhook_layouts()


def test_every_webhook_kind_is_pinned() -> None:
    kinds = {kind for kind, _ in PINNED_WEBHOOK}
    assert kinds == set(REJECTED_LAYOUTS) | set(ACCEPTED_LAYOUTS)


@pytest.mark.parametrize(("kind", "number"), PINNED_WEBHOOK, ids=lambda v: str(v)[:20])
def test_webhook_pinned_layouts_are_what_they_say(kind: str, number: int) -> None:
    """Rejected kinds: Solidity's decoder rejects. Accepted kinds: Solidity reads the very
    call (target, value, inner) the canonical encoding carries, the strict decoder refuses."""
    canonical = cases.execute(CLUSTER)
    call = relay(canonical, kind, number)
    if kind in REJECTED_LAYOUTS:
        with pytest.raises(DecodeError):
            decode_execute_solidity(call)
        return
    with pytest.raises(DecodeError):
        decode_execute_strict(call)
    reading = decode_execute_solidity(call)
    if kind != "offset-into-head":
        assert (reading.target, reading.value) == (CLUSTER, 0)
        assert reading.data == cases.DEFAULT_INNER


def test_every_account_kind_is_pinned() -> None:
    assert {layout.kind for layout in PINNED_OUTER} == set(OUTER_KINDS)
    assert {layout.kind for layout in PINNED_INNER} == set(INNER_KINDS)


@pytest.mark.parametrize("layout", PINNED_OUTER, ids=lambda v: v.kind)
def test_account_pinned_outer_layouts_are_not_canonical(layout) -> None:
    """Every pinned outer layout departs from the canonical execute encoding (AC-035)."""
    inner = b"\x4b\x01\x02\x03" + encode(["uint256"], [7]) + b"\x05"
    decoy = b"\x4b\x01\x02\x04" + encode(["uint256"], [8]) + b"\x06"
    call = layout.outer(CLUSTER, inner, decoy)
    assert call != encode_execute(CLUSTER, 0, inner)
    if layout.kind in ("into-head", "dirty-address", "dirty-padding", "missing-padding",
                       "past-end", "offset-forward"):
        with pytest.raises(DecodeError):
            decode_execute_strict(call)
