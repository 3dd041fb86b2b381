"""Valid v0.7 UserOperations (PROTOCOL.md §2): any sender, keyed nonces, gas within 128 bits.

A node never sets ``factory`` (UO-004). The signature is either the live dummy signature (as
sent for sponsorship) or a real EIP-191 signature of the op's userOpHash by a pool key, made
after the paymaster fields are in place (sponsor-then-sign, PROTOCOL.md §7).
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from conformance.protocol.signatures import DUMMY_SIGNATURE
from conformance.protocol.userop import (
    ENTRY_POINT_V07,
    MAX_UINT128,
    UserOperation,
    sign_user_op,
)
from conformance.strategies._validation import (
    check_address,
    check_bool,
    check_chain_id,
    check_strategy,
    composite_named,
)
from conformance.strategies.calldata import execute_calldata
from conformance.strategies.keys import addresses, private_keys

DEFAULT_CHAIN_ID = 84532
"""Base Sepolia (PROTOCOL.md §1), the chain of the shipped local profiles."""

MAX_NONCE_KEY = (1 << 192) - 1
MAX_NONCE_SEQUENCE = (1 << 64) - 1


def nonces() -> SearchStrategy[int]:
    """v0.7 nonces: a 192-bit key in the high bits, a 64-bit sequence in the low 64 bits.

    Key 0 (the only key a node uses, PROTOCOL.md §7) and small sequences are favoured.
    """
    return _NONCES


# The strategies below are built once and drawn from many times: drawing from a freshly built
# strategy makes hypothesis validate and analyse it again on every draw (speed only).
_NONCE_KEYS = st.one_of(st.just(0), st.integers(1, MAX_NONCE_KEY))
_NONCE_SEQUENCES = st.one_of(st.integers(0, 16), st.integers(0, MAX_NONCE_SEQUENCE))
_GAS = st.one_of(
    st.integers(0, 10_000_000), st.integers(0, MAX_UINT128), st.sampled_from((0, MAX_UINT128))
)
_BOOLEANS = st.booleans()
_PAYMASTER_DATA = st.binary(max_size=96)


@composite_named("nonces")
def _nonces(draw: st.DrawFn) -> int:
    key = draw(_NONCE_KEYS)
    sequence = draw(_NONCE_SEQUENCES)
    return (key << 64) | sequence


_NONCES = _nonces()
_CALL_DATA = execute_calldata()


def user_operations(
    *,
    senders: SearchStrategy[bytes] | None = None,
    call_data: SearchStrategy[bytes] | None = None,
    paymaster: bool | None = None,
    signed: bool | None = None,
    chain_id: int = DEFAULT_CHAIN_ID,
    entry_point: bytes = ENTRY_POINT_V07,
) -> SearchStrategy[UserOperation]:
    """Valid unpacked v0.7 UserOperations (PROTOCOL.md §2).

    ``senders`` (default ``addresses()``) and ``call_data`` (default ``execute_calldata()``)
    draw those fields. ``paymaster``: True always sets the four paymaster fields, False never,
    None either. ``signed``: True signs the userOpHash for ``chain_id`` and ``entry_point``
    with a pool key (EIP-191), False carries the dummy signature, None either.
    """
    check_strategy("senders", senders)
    check_strategy("call_data", call_data)
    check_bool("paymaster", paymaster, optional=True)
    check_bool("signed", signed, optional=True)
    check_chain_id(chain_id)
    check_address("entry_point", entry_point)
    return _user_operations(
        senders=senders,
        call_data=call_data,
        paymaster=paymaster,
        signed=signed,
        chain_id=chain_id,
        entry_point=entry_point,
    )


@composite_named("user_operations")
def _user_operations(
    draw: st.DrawFn,
    *,
    senders: SearchStrategy[bytes] | None = None,
    call_data: SearchStrategy[bytes] | None = None,
    paymaster: bool | None = None,
    signed: bool | None = None,
    chain_id: int = DEFAULT_CHAIN_ID,
    entry_point: bytes = ENTRY_POINT_V07,
) -> UserOperation:
    op = UserOperation(
        sender=draw(senders if senders is not None else addresses()),
        nonce=draw(_NONCES),
        call_data=draw(call_data if call_data is not None else _CALL_DATA),
        call_gas_limit=draw(_GAS),
        verification_gas_limit=draw(_GAS),
        pre_verification_gas=draw(_GAS),
        max_fee_per_gas=draw(_GAS),
        max_priority_fee_per_gas=draw(_GAS),
        signature=DUMMY_SIGNATURE,
    )
    if paymaster if paymaster is not None else draw(_BOOLEANS):
        op = op.replace(
            paymaster=draw(addresses()),
            paymaster_verification_gas_limit=draw(_GAS),
            paymaster_post_op_gas_limit=draw(_GAS),
            paymaster_data=draw(_PAYMASTER_DATA),
        )
    if signed if signed is not None else draw(_BOOLEANS):
        op = sign_user_op(op, draw(private_keys()), entry_point, chain_id)
    return op
