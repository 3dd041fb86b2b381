"""Decoder agreement: the account's bootstrap reading of a callData agrees with Solidity's ABI
reading of the same ``execute`` call, or validation reverts; an inner ``dstack_register``
encoding Solidity rejects makes validation revert, never validate (PROTOCOL.md §3; AC-034,
AC-035).

Each generated callData is judged against the oracle, which reads it the way solc's decoder
does. It is signed twice: by the key Solidity's reading expects and by the key a fixed-offset
reader would expect (a decoy registration at the canonical place), so a reading that differs
from Solidity's shows up as a 0 where 1 is due, or the reverse.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.protocol.calldata import encode_execute
from conformance.strategies.malformed_calldata import malformed_execute_calldata
from conformance.suites.account._layouts import inner_mutations, outer_layouts
from conformance.suites.account._support import bootstrap_inner, examples, judge
from conformance.targets.account_world import BINDING_KEY, AccountWorld

DECOY_KEY = 0xDEC0
"""The binding key of the decoy registration."""


def _judge_both(world: AccountWorld, observe: Observer, rule: str, call_data: bytes,
                label: str) -> None:
    for key in (BINDING_KEY, DECOY_KEY):
        observe.case()
        op = world.sign(world.user_op(world.fresh, call_data), key)
        judge(world, op, (rule,), exact_error=False, blame=rule)


@rules("AC-035")
@given(data=st.data())
@examples(3)
def test_outer_readings_agree_with_solidity(world: AccountWorld, observe: Observer,
                                            data: st.DataObject) -> None:
    """Non-canonical execute layouts around a real and a decoy registration: the account reverts
    or answers as Solidity's reading of the call requires."""
    inner = bootstrap_inner(world, world.fresh, BINDING_KEY)
    decoy = bootstrap_inner(world, world.fresh, DECOY_KEY, x=b"\x33" * 32)
    label, call_data = data.draw(outer_layouts(world.cluster, inner, decoy), label="layout")
    _judge_both(world, observe, "AC-035", call_data, label)


@rules("AC-035")
@given(data=st.data())
@examples(1)
def test_malformed_execute_calldata_agrees(world: AccountWorld, observe: Observer,
                                           data: st.DataObject) -> None:
    """The suite's labelled malformed execute callData (targeting the account's cluster):
    reverted, or read as Solidity reads it."""
    generation = "multi-attestor" if world.multi_attestor else "base"
    case = data.draw(malformed_execute_calldata(generation=generation,
                                                targets=st.just(world.cluster)), label="case")
    _judge_both(world, observe, "AC-035", case.value, case.kind.value)


@rules("AC-034")
@given(data=st.data())
@examples(3)
def test_inner_register_is_decoded_strictly(world: AccountWorld, observe: Observer,
                                            data: st.DataObject) -> None:
    """dstack_register encodings truncated, re-laid or with out-of-range offsets and lengths:
    revert where Solidity's decoder rejects them, else Solidity's reading (or a revert)."""
    inner = bootstrap_inner(world, world.fresh, BINDING_KEY)
    label, mutated = data.draw(inner_mutations(inner), label="mutation")
    _judge_both(world, observe, "AC-034", encode_execute(world.cluster, 0, mutated), label)
