"""The real EntryPoint v0.7 at its canonical address, on both backends (PROTOCOL.md §1, §2).

The PackedUserOperation call is encoded here with eth-abi and the selector hashed from its
signature text: the expected hashes are PROTOCOL.md §2's literal vectors.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_abi import decode, encode
from eth_hash.auto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.protocol.userop import UserOperation, user_op_hash
from conformance.targets.evm import (
    CREATE2_DEPLOYER_ADDRESS,
    ENTRY_POINT_ADDRESS,
    ENTRY_POINT_SALT,
    ArtifactUnavailable,
    EvmBackend,
    ManagedAnvil,
    PyrevmBackend,
    RpcBackend,
    anvil_available,
    create2_address,
    deploy_entry_point,
    entry_point_artifact,
    entry_point_unavailable_reason,
)

PACKED = "(address,uint256,bytes,bytes,bytes32,uint256,bytes32,bytes,bytes)"
GET_USER_OP_HASH = keccak(f"getUserOpHash({PACKED})".encode())[:4]
SENDER = b"\x01" * 20
CALLER = b"\x5e" * 20

pytestmark = [
    pytest.mark.node,
    pytest.mark.skipif(
        entry_point_unavailable_reason() is not None,
        reason=entry_point_unavailable_reason() or "",
    ),
]


def packed_op(
    *,
    nonce: int,
    call_data: bytes,
    verification_gas: int = 0,
    call_gas: int = 0,
    pre_verification_gas: int = 0,
    priority_fee: int = 0,
    max_fee: int = 0,
    paymaster_and_data: bytes = b"",
    sender: bytes = SENDER,
    init_code: bytes = b"",
) -> tuple[Any, ...]:
    """A PackedUserOperation tuple, packed by hand as PROTOCOL.md §2 "Packing" says."""
    return (
        sender,
        nonce,
        init_code,
        call_data,
        verification_gas.to_bytes(16, "big") + call_gas.to_bytes(16, "big"),
        pre_verification_gas,
        priority_fee.to_bytes(16, "big") + max_fee.to_bytes(16, "big"),
        paymaster_and_data,
        b"",
    )


def get_user_op_hash(
    backend: EvmBackend, op: tuple[Any, ...], at: bytes = ENTRY_POINT_ADDRESS
) -> bytes:
    result = backend.call(at, GET_USER_OP_HASH + encode([PACKED], [op]), sender=CALLER)
    assert result.success, result.output.hex()
    (digest,) = decode(["bytes32"], result.output)
    return bytes(digest)


@pytest.fixture(scope="module")
def anvil_node() -> Iterator[ManagedAnvil]:
    reason = anvil_available()
    if reason:
        pytest.skip(reason)
    with ManagedAnvil(chain_id=8453) as node:
        yield node


@pytest.fixture(params=["pyrevm", pytest.param("anvil", marks=pytest.mark.node)])
def base(request: pytest.FixtureRequest) -> Iterator[EvmBackend]:
    """A chain-8453 backend with the EntryPoint deployed."""
    if request.param == "pyrevm":
        with PyrevmBackend(8453) as embedded:
            deploy_entry_point(embedded)
            yield embedded
        return
    node: ManagedAnvil = request.getfixturevalue("anvil_node")
    with RpcBackend(node.url) as rpc:
        isolation = rpc.snapshot()
        deploy_entry_point(rpc)
        yield rpc
        rpc.revert(isolation)


def test_canonical_salt_gives_the_canonical_address() -> None:
    init_code = entry_point_artifact()
    assert init_code is not None
    assert create2_address(CREATE2_DEPLOYER_ADDRESS, ENTRY_POINT_SALT, init_code) == bytes.fromhex(
        "0000000071727De22E5E9d8BAf0edAc6f37da032"
    )


def test_entry_point_lands_at_canonical_address(base: EvmBackend) -> None:
    code = base.get_code(ENTRY_POINT_ADDRESS)
    assert len(code) > 10_000
    assert deploy_entry_point(base) == ENTRY_POINT_ADDRESS  # idempotent
    assert base.get_code(ENTRY_POINT_ADDRESS) == code


def test_get_user_op_hash_matches_protocol_vector(base: EvmBackend) -> None:
    op = packed_op(nonce=0, call_data=bytes.fromhex("010203"))
    assert get_user_op_hash(base, op) == bytes.fromhex(
        "c97f0ed3aa891d90150732096ea7d6f3a046b3e141e98eb772fcf9be03769af2"
    )


def test_get_user_op_hash_matches_sepolia_vectors_for_entry_point_ee() -> None:
    """PROTOCOL.md §2's vectors use EntryPoint 0xEE…EE: run the real code at that address."""
    with PyrevmBackend(84532) as sepolia:
        deploy_entry_point(sepolia)
        fake = b"\xee" * 20
        sepolia.set_code(fake, sepolia.get_code(ENTRY_POINT_ADDRESS))
        first = packed_op(nonce=5, call_data=bytes.fromhex("010203"))
        gas: dict[str, Any] = {
            "verification_gas": 100_000,
            "call_gas": 100_000,
            "pre_verification_gas": 50_000,
        }
        second = packed_op(nonce=7, call_data=b"\x09", priority_fee=1, max_fee=1, **gas)
        paymaster = b"\x22" * 20 + bytes(32) + bytes.fromhex("dead")
        third = packed_op(
            nonce=7,
            call_data=b"\x09",
            priority_fee=1,
            max_fee=1,
            paymaster_and_data=paymaster,
            **gas,
        )
        assert [get_user_op_hash(sepolia, op, at=fake).hex() for op in (first, second, third)] == [
            "db802e1ba52a3e8726ead72b79990a72513c1bd155128df00332cdedd3570684",
            "adac60f3235d9d7b49e19c8d25f3b7ae1ca963140c2447cf47da777f2eb29326",
            "d3811c5320c03108dd2c6a003e1096c23e0fa16201575444d652331c0f47be1e",
        ]


u128 = st.integers(0, 2**128 - 1)
addresses = st.binary(min_size=20, max_size=20)


@st.composite
def user_operations(draw: st.DrawFn) -> UserOperation:
    has_factory, has_paymaster = draw(st.booleans()), draw(st.booleans())
    return UserOperation(
        sender=draw(addresses),
        nonce=draw(st.integers(0, 2**256 - 1)),
        factory=draw(addresses) if has_factory else None,
        factory_data=draw(st.binary(max_size=40)) if has_factory else b"",
        call_data=draw(st.binary(max_size=100)),
        call_gas_limit=draw(u128),
        verification_gas_limit=draw(u128),
        pre_verification_gas=draw(st.integers(0, 2**256 - 1)),
        max_fee_per_gas=draw(u128),
        max_priority_fee_per_gas=draw(u128),
        paymaster=draw(addresses) if has_paymaster else None,
        paymaster_verification_gas_limit=draw(u128) if has_paymaster else 0,
        paymaster_post_op_gas_limit=draw(u128) if has_paymaster else 0,
        paymaster_data=draw(st.binary(max_size=40)) if has_paymaster else b"",
        signature=draw(st.binary(max_size=65)),
    )


def hand_packed(op: UserOperation) -> tuple[Any, ...]:
    """``op`` packed here, independently of ``userop.pack`` (PROTOCOL.md §2 "Packing")."""
    paymaster_and_data = b""
    if op.paymaster is not None:
        paymaster_and_data = (
            op.paymaster
            + op.paymaster_verification_gas_limit.to_bytes(16, "big")
            + op.paymaster_post_op_gas_limit.to_bytes(16, "big")
            + op.paymaster_data
        )
    return packed_op(
        sender=op.sender,
        nonce=op.nonce,
        init_code=(op.factory + op.factory_data) if op.factory is not None else b"",
        call_data=op.call_data,
        verification_gas=op.verification_gas_limit,
        call_gas=op.call_gas_limit,
        pre_verification_gas=op.pre_verification_gas,
        priority_fee=op.max_priority_fee_per_gas,
        max_fee=op.max_fee_per_gas,
        paymaster_and_data=paymaster_and_data,
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(op=user_operations(), chain_id=st.integers(1, 2**63 - 1))
def test_user_op_hash_equals_entry_point(op: UserOperation, chain_id: int) -> None:
    with PyrevmBackend(chain_id) as backend:
        deploy_entry_point(backend)
        on_chain = get_user_op_hash(backend, hand_packed(op))
    assert user_op_hash(op, ENTRY_POINT_ADDRESS, chain_id) == on_chain


def test_missing_artifact_is_a_skip_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMC_NODE_MODULES", "/nonexistent/node_modules")
    reason = entry_point_unavailable_reason()
    assert reason is not None and reason.startswith("EntryPoint v0.7 artifact not found")
    with PyrevmBackend(8453) as backend, pytest.raises(ArtifactUnavailable) as caught:
        deploy_entry_point(backend)
    assert caught.value.reason == reason
    assert backend.get_code(ENTRY_POINT_ADDRESS) == b""
