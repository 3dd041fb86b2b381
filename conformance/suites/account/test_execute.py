"""execute: the EntryPoint's call is performed exactly, and a callee's revert data bubbles up
byte for byte (PROTOCOL.md §6; AC-018, AC-019)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.suites.account._support import examples, fail
from conformance.targets.account_abi import EXECUTE, encode_function
from conformance.targets.account_world import MEMBER_FUNDS, AccountWorld


@rules("AC-018")
@given(value=st.one_of(st.just(0), st.integers(1, MEMBER_FUNDS)), data=st.binary(max_size=600),
       owned=st.booleans())
@examples(1)
def test_execute_performs_the_call_exactly(world: AccountWorld, observe: Observer, value: int,
                                           data: bytes, owned: bool) -> None:
    """The callee sees the account as caller, exactly the value and exactly the data (a
    recorder contract logs caller, callvalue and calldata)."""
    member = world.owned if owned else world.fresh
    observe.case()
    seen = world.call(member, encode_function(EXECUTE, world.recorder, value, data),
                      sender=world.entry_point)
    logs = [log for log in seen.logs if log.address == world.recorder]
    expected = value.to_bytes(32, "big") + data
    if not seen.success or len(logs) != 1:
        fail(world, "AC-018", f"execute(recorder, {value}, {len(data)} bytes) {seen.describe()} "
             f"with {len(logs)} recorded calls; §6 requires exactly one call")
    log = logs[0]
    if log.topics != (bytes(12) + member,) or log.data != expected:
        fail(world, "AC-018", f"the callee saw caller 0x{log.topics[0][12:].hex()}, value and "
             f"data 0x{log.data.hex()[:400]}; expected 0x{expected.hex()[:400]}")


@rules("AC-019")
@given(revert_data=st.one_of(st.binary(max_size=700), st.just(b"")), owned=st.booleans())
@examples(1)
def test_callee_revert_data_bubbles_unchanged(world: AccountWorld, observe: Observer,
                                              revert_data: bytes, owned: bool) -> None:
    """A callee that reverts with some bytes makes execute revert with those very bytes."""
    member = world.owned if owned else world.fresh
    observe.case()
    seen = world.call(member, encode_function(EXECUTE, world.reverter, 0, revert_data),
                      sender=world.entry_point)
    if seen.success or seen.output != revert_data:
        fail(world, "AC-019", f"execute of a callee reverting with 0x{revert_data.hex()[:200]} "
             f"{seen.describe()}; §6 requires the same revert data",
             expect={"reverts": True, "errors": [], "output": "0x" + revert_data.hex()})
