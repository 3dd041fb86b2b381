"""The same behavioural sample on both EVM backends: embedded pyrevm and a managed anvil.

Contracts are hand-assembled runtimes (opcodes in the comments), so no compiler is needed.
Expected values are computed here independently (keccak, opcode gas), never by the backend.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from eth_hash.auto import keccak

from conformance.reference.account.artifacts import ARTIFACTS_DIR
from conformance.targets.evm import (
    CREATE2_DEPLOYER_ADDRESS,
    CREATE2_DEPLOYER_RUNTIME,
    BackendError,
    CallResult,
    DeploymentError,
    EvmBackend,
    Log,
    ManagedAnvil,
    PyrevmBackend,
    RpcBackend,
    RpcError,
    anvil_available,
)

CHAIN_ID = 84532
FORK_CHAIN_ID = 8453
SENDER = b"\x5e" * 20
OTHER = b"\x0e" * 20
TOPIC = b"\xaa" * 32


def word(value: int | bytes) -> bytes:
    if isinstance(value, bytes):
        return value.rjust(32, b"\x00")
    return value.to_bytes(32, "big")


def creation(runtime: bytes) -> bytes:
    """PUSH2 len DUP1 PUSH1 0x0a PUSH0 CODECOPY PUSH0 RETURN ‖ runtime."""
    return b"\x61" + len(runtime).to_bytes(2, "big") + bytes.fromhex("80600a5f395ff3") + runtime


# Runtimes. RETURN32 = PUSH0 MSTORE PUSH1 0x20 PUSH0 RETURN (returns the stack top as a word).
RETURN32 = "5f5260205ff3"
CHAINID = bytes.fromhex("46" + RETURN32)  # CHAINID
TIMESTAMP = bytes.fromhex("42" + RETURN32)  # TIMESTAMP
ECHO_CALLER = bytes.fromhex("33" + RETURN32)  # CALLER
STORE = bytes.fromhex("5f355f5500")  # SSTORE(0, calldata[0:32])
# SSTORE(0, 1); CALLDATACOPY(0, 0, size); REVERT(0, size)
REVERTER = bytes.fromhex("60015f55" "365f5f37" "365ffd")
INVALID = bytes.fromhex("fe")
# CALLDATACOPY(0, 0, size); LOG2(0, size, TOPIC, CALLER); STOP
LOGGER = bytes.fromhex("365f5f37" "33" "7f" + TOPIC.hex() + "365fa2" "00")
# the LOGGER body, then REVERT(0, 0)
LOG_THEN_REVERT = bytes.fromhex("365f5f37" "33" "7f" + TOPIC.hex() + "365fa2" "5f5ffd")
# TSTORE(0, 0x2a); TLOAD(0); MSTORE(0); MCOPY(0x20, 0, 0x20); RETURN(0x20, 0x20)
CANCUN = bytes.fromhex("602a5f5d" "5f5c5f52" "60205f60205e" "60206020f3")
# TLOAD(0) + 1, TSTORE it, return it
TCOUNTER = bytes.fromhex("5f5c60010180" "5f5d" + RETURN32)
# CALL(GAS, CALLER, 0, 0, 0, 0, 0); RETURNDATACOPY(0, 0, size); RETURN(0, size)
CALLBACK = bytes.fromhex("5f5f5f5f5f335af150" "3d5f5f3e" "3d5ff3")
# CALL(GAS, CALLER, SELFBALANCE, 0, 0, 0, 0); STOP
PAYBACK = bytes.fromhex("5f5f5f5f47335af15000")
# EXTCODEHASH(calldata[0:32])
CODEHASH = bytes.fromhex("5f353f" + RETURN32)


@pytest.fixture(scope="module")
def anvil_node() -> Iterator[ManagedAnvil]:
    reason = anvil_available()
    if reason:
        pytest.skip(reason)
    with ManagedAnvil(chain_id=CHAIN_ID) as node:
        yield node


@pytest.fixture(params=["pyrevm", pytest.param("anvil", marks=pytest.mark.node)])
def backend(request: pytest.FixtureRequest) -> Iterator[EvmBackend]:
    if request.param == "pyrevm":
        with PyrevmBackend(CHAIN_ID) as embedded:
            yield embedded
        return
    node: ManagedAnvil = request.getfixturevalue("anvil_node")
    with RpcBackend(node.url) as rpc:
        isolation = rpc.snapshot()
        yield rpc
        rpc.revert(isolation)


def deploy(backend: EvmBackend, runtime: bytes) -> bytes:
    return backend.deploy(creation(runtime), sender=SENDER)


def test_backend_satisfies_the_protocol(backend: EvmBackend) -> None:
    assert isinstance(backend, EvmBackend)


def test_chain_id_opcode_returns_the_configured_chain(backend: EvmBackend) -> None:
    probe = deploy(backend, CHAINID)
    result = backend.call(probe, b"", sender=SENDER)
    assert backend.chain_id == CHAIN_ID
    # 21000 intrinsic + CHAINID 2, PUSH0 2, MSTORE 3 + 3 memory, PUSH1 3, PUSH0 2, RETURN 0
    assert result == CallResult(True, word(CHAIN_ID), 21015, ())


def test_deploy_leaves_exact_runtime_code(backend: EvmBackend) -> None:
    probe = deploy(backend, LOGGER)
    assert len(probe) == 20
    assert backend.get_code(probe) == LOGGER
    assert backend.get_code(OTHER) == b""


def test_deploy_failure_raises_with_revert_data(backend: EvmBackend) -> None:
    # init code: MSTORE(0, 0xbad); REVERT(0x1e, 2)
    with pytest.raises(DeploymentError) as caught:
        backend.deploy(bytes.fromhex("610bad5f52" "6002601efd"), sender=SENDER)
    assert caught.value.revert_data == bytes.fromhex("0bad")


def test_transact_persists_and_call_does_not(backend: EvmBackend) -> None:
    store = deploy(backend, STORE)
    called = backend.call(store, word(7), sender=SENDER)
    assert called.success and backend.get_storage(store, 0) == 0
    sent = backend.transact(store, word(7), sender=SENDER)
    assert sent.success and sent.output == b""
    assert backend.get_storage(store, 0) == 7


def test_revert_returns_data_and_drops_state(backend: EvmBackend) -> None:
    reverter = deploy(backend, REVERTER)
    data = bytes.fromhex("08c379a0") + word(0xDEAD)
    for run in (backend.call, backend.transact):
        result = run(reverter, data, sender=SENDER)
        assert (result.success, result.output, result.logs) == (False, data, ())
        assert result.gas_used > 21000
    assert backend.get_storage(reverter, 0) == 0


def test_halt_fails_with_empty_output_and_all_gas(backend: EvmBackend) -> None:
    invalid = deploy(backend, INVALID)
    for run in (backend.call, backend.transact):
        assert run(invalid, b"", sender=SENDER, gas=100_000) == CallResult(False, b"", 100_000)


def test_logs_of_call_and_transact(backend: EvmBackend) -> None:
    logger = deploy(backend, LOGGER)
    expected = (Log(logger, (TOPIC, word(SENDER)), b"hello"),)
    assert backend.call(logger, b"hello", sender=SENDER).logs == expected
    assert backend.transact(logger, b"hello", sender=SENDER).logs == expected
    reverted = deploy(backend, LOG_THEN_REVERT)
    assert backend.call(reverted, b"x", sender=SENDER).logs == ()
    assert backend.transact(reverted, b"x", sender=SENDER).logs == ()


def test_set_and_get_code_balance_storage(backend: EvmBackend) -> None:
    backend.set_code(OTHER, ECHO_CALLER)
    assert backend.get_code(OTHER) == ECHO_CALLER
    assert backend.call(OTHER, b"", sender=SENDER).output == word(SENDER)
    backend.set_code(OTHER, CHAINID)
    assert backend.call(OTHER, b"", sender=SENDER).output == word(CHAIN_ID)
    backend.set_balance(OTHER, 10**18 + 1)
    assert backend.get_balance(OTHER) == 10**18 + 1
    backend.set_storage(OTHER, 2**255 + 3, 2**256 - 1)
    assert backend.get_storage(OTHER, 2**255 + 3) == 2**256 - 1
    assert backend.get_storage(OTHER, 0) == 0


def test_snapshot_revert_restores_everything(backend: EvmBackend) -> None:
    store = deploy(backend, STORE)
    backend.set_balance(OTHER, 5)
    first = backend.snapshot()
    backend.transact(store, word(1), sender=SENDER)
    backend.set_code(OTHER, CHAINID)
    backend.set_storage(OTHER, 1, 9)
    second = backend.snapshot()
    backend.set_balance(OTHER, 6)
    backend.transact(store, word(2), sender=SENDER)
    backend.revert(first)
    assert backend.get_storage(store, 0) == 0
    assert backend.get_code(OTHER) == b""
    assert backend.get_storage(OTHER, 1) == 0
    assert backend.get_balance(OTHER) == 5
    with pytest.raises(BackendError):
        backend.revert(second)
    with pytest.raises(BackendError):
        backend.revert(first)


def test_snapshot_revert_undoes_interleaved_edits_in_order(backend: EvmBackend) -> None:
    backend.set_balance(SENDER, 1000)
    snap = backend.snapshot()
    backend.set_balance(OTHER, 100)
    assert backend.transact(OTHER, b"", sender=SENDER, value=10).success
    backend.set_balance(OTHER, 500)
    assert backend.transact(OTHER, b"", sender=SENDER, value=10).success
    assert backend.get_balance(OTHER) == 510
    backend.revert(snap)
    assert (backend.get_balance(OTHER), backend.get_balance(SENDER)) == (0, 1000)


def test_snapshot_revert_undoes_code_edit_after_deployment(backend: EvmBackend) -> None:
    snap = backend.snapshot()
    created = deploy(backend, CHAINID)
    backend.set_code(created, TIMESTAMP)
    backend.revert(snap)
    assert backend.get_code(created) == b""


def test_snapshot_revert_restores_the_deployer_nonce(backend: EvmBackend) -> None:
    snap = backend.snapshot()
    first = deploy(backend, CHAINID)
    backend.revert(snap)
    assert backend.get_code(first) == b""
    assert deploy(backend, CHAINID) == first


def test_caller_with_code_can_call(backend: EvmBackend) -> None:
    """EIP-3607 would refuse a contract as transaction sender; checks call AS the EntryPoint."""
    contract = deploy(backend, CHAINID)
    echo, callback, hasher = (deploy(backend, code) for code in (ECHO_CALLER, CALLBACK, CODEHASH))
    assert backend.call(echo, b"", sender=contract).output == word(contract)
    assert backend.transact(echo, b"", sender=contract).output == word(contract)
    # a call back into the sender runs the sender's own code
    assert backend.call(callback, b"", sender=contract).output == word(CHAIN_ID)
    assert backend.transact(callback, b"", sender=contract).output == word(CHAIN_ID)
    # ... and the sender is intact afterwards
    assert backend.get_code(contract) == CHAINID
    assert backend.call(hasher, word(contract), sender=SENDER).output == keccak(CHAINID)


def test_caller_with_code_keeps_value_it_receives(backend: EvmBackend) -> None:
    contract = deploy(backend, CHAINID)
    payback = deploy(backend, PAYBACK)
    backend.set_balance(contract, 5)
    backend.set_balance(payback, 1000)
    assert backend.call(payback, b"", sender=contract).success
    assert backend.get_balance(contract) == 5
    snap = backend.snapshot()
    assert backend.transact(payback, b"", sender=contract).success
    assert (backend.get_balance(contract), backend.get_balance(payback)) == (1005, 0)
    assert backend.get_code(contract) == CHAINID
    backend.revert(snap)
    assert (backend.get_balance(contract), backend.get_balance(payback)) == (5, 1000)
    assert backend.get_code(contract) == CHAINID


def test_cancun_opcodes_run(backend: EvmBackend) -> None:
    probe = deploy(backend, CANCUN)
    assert backend.call(probe, b"", sender=SENDER).output == word(0x2A)
    assert backend.transact(probe, b"", sender=SENDER).output == word(0x2A)


def test_transient_storage_is_per_transaction(backend: EvmBackend) -> None:
    counter = deploy(backend, TCOUNTER)
    outputs = [backend.transact(counter, b"", sender=SENDER).output for _ in range(3)]
    assert outputs == [word(1)] * 3


def test_timestamp_is_set_for_calls_and_transactions(backend: EvmBackend) -> None:
    clock = deploy(backend, TIMESTAMP)
    later = backend.timestamp + 1000
    backend.set_timestamp(later)
    assert backend.timestamp == later
    assert backend.call(clock, b"", sender=SENDER).output == word(later)
    assert backend.transact(clock, b"", sender=SENDER).output == word(later)
    snap = backend.snapshot()
    backend.set_timestamp(later + 500)
    assert backend.call(clock, b"", sender=SENDER).output == word(later + 500)
    backend.revert(snap)
    assert backend.timestamp == later


def test_chain_id_switch_keeps_state_and_revert_restores_it(backend: EvmBackend) -> None:
    """set_chain_id: CHAINID follows in calls and transactions, code/balance/storage/nonces are
    kept, and revert to a snapshot taken before goes back to the old chain id (AC-015)."""
    probe, store = deploy(backend, CHAINID), deploy(backend, STORE)
    assert backend.transact(store, word(7), sender=SENDER).success
    backend.set_code(OTHER, ECHO_CALLER)
    backend.set_balance(OTHER, 12345)
    backend.set_storage(OTHER, 2**200, 9)
    before = backend.snapshot()
    next_address = deploy(backend, TIMESTAMP)
    backend.revert(before)
    before = backend.snapshot()
    backend.set_chain_id(FORK_CHAIN_ID)
    assert deploy(backend, TIMESTAMP) == next_address  # the deployer's nonce carried over
    assert backend.chain_id == FORK_CHAIN_ID
    assert backend.call(probe, b"", sender=SENDER).output == word(FORK_CHAIN_ID)
    assert backend.transact(probe, b"", sender=SENDER).output == word(FORK_CHAIN_ID)
    assert backend.get_storage(store, 0) == 7
    assert backend.get_code(OTHER) == ECHO_CALLER
    assert (backend.get_balance(OTHER), backend.get_storage(OTHER, 2**200)) == (12345, 9)
    assert backend.get_code(CREATE2_DEPLOYER_ADDRESS) == CREATE2_DEPLOYER_RUNTIME
    assert backend.transact(store, word(8), sender=SENDER).success
    inner = backend.snapshot()
    backend.set_chain_id(FORK_CHAIN_ID + 1)
    backend.revert(inner)
    assert backend.chain_id == FORK_CHAIN_ID
    assert backend.call(probe, b"", sender=SENDER).output == word(FORK_CHAIN_ID)
    backend.revert(before)
    assert backend.chain_id == CHAIN_ID
    assert backend.call(probe, b"", sender=SENDER).output == word(CHAIN_ID)
    assert backend.get_storage(store, 0) == 7
    assert backend.get_code(next_address) == b""


def test_chain_id_must_be_a_u64(backend: EvmBackend) -> None:
    for bad in (0, 2**64):
        with pytest.raises(ValueError, match=f"chain_id={bad}"):
            backend.set_chain_id(bad)
    assert backend.chain_id == CHAIN_ID


def test_hardfork_is_cancun_not_later(backend: EvmBackend) -> None:
    """Cancun's KZG point evaluation precompile (0x0a) is there: it refuses an empty input.
    Prague's BLS12-381 G1ADD (0x0b, EIP-2537) is not: 256 zero bytes (two points at infinity,
    answered with 128 zero bytes under Prague) reach an empty account."""
    kzg, g1add = (n.to_bytes(20, "big") for n in (0x0A, 0x0B))
    assert not backend.call(kzg, b"", sender=SENDER, gas=100_000).success
    assert backend.call(g1add, bytes(256), sender=SENDER, gas=100_000).output == b""


def test_create2_deployer_is_predeployed(backend: EvmBackend) -> None:
    assert backend.get_code(CREATE2_DEPLOYER_ADDRESS) == CREATE2_DEPLOYER_RUNTIME


def test_addresses_must_be_20_bytes(backend: EvmBackend) -> None:
    with pytest.raises(ValueError, match="20 bytes"):
        backend.get_balance(b"\x01" * 19)


# -- backend-specific behaviour ------------------------------------------------------------


def test_pyrevm_spec_name_is_honoured() -> None:
    """revm silently maps an unknown spec name to latest: a Shanghai EVM must refuse TSTORE."""
    with PyrevmBackend(CHAIN_ID, spec="shanghai") as shanghai:
        probe = deploy(shanghai, CANCUN)
        assert shanghai.call(probe, b"", sender=SENDER) == CallResult(False, b"", 30_000_000)
    with pytest.raises(ValueError, match="spec='CANCUM'"):
        PyrevmBackend(CHAIN_ID, spec="CANCUM")


def test_pyrevm_backend_runs_cancun_not_latest() -> None:
    """revm's own record of the spec it ran (the journal's ``spec``) is CANCUN for the backend,
    while the upper-case name given to pyrevm directly silently runs LATEST."""
    pyrevm = pytest.importorskip("pyrevm")
    with PyrevmBackend(CHAIN_ID) as embedded:
        embedded.call(OTHER, b"", sender=SENDER)
        assert re.findall(r"spec: (\w+)", embedded._evm.journal_str) == ["CANCUN"]
    trap = pyrevm.EVM(spec_id="CANCUN")
    trap.message_call("0x" + SENDER.hex(), "0x" + OTHER.hex(), b"")
    assert re.findall(r"spec: (\w+)", trap.journal_str) == ["LATEST"]


def test_committed_artifacts_target_cancun() -> None:
    """Every reference and mutant artifact was compiled for evmVersion cancun."""
    paths = sorted(ARTIFACTS_DIR.glob("**/*.json"))
    assert len(paths) > 6
    versions = {p.name: json.loads(p.read_text())["compiler"]["settings"]["evmVersion"]
                for p in paths}
    assert set(versions.values()) == {"cancun"}, versions


def test_pyrevm_chain_id_switch_outlives_a_later_snapshot() -> None:
    """A snapshot taken after a switch (on the new EVM) and one taken before it (on the old
    EVM) both revert correctly, in either order of use."""
    with PyrevmBackend(CHAIN_ID) as embedded:
        store = deploy(embedded, STORE)
        first = embedded.snapshot()
        embedded.set_chain_id(FORK_CHAIN_ID)
        embedded.transact(store, word(1), sender=SENDER)
        second = embedded.snapshot()
        embedded.set_balance(OTHER, 3)
        embedded.transact(store, word(2), sender=SENDER)
        embedded.revert(second)
        assert (embedded.get_storage(store, 0), embedded.get_balance(OTHER)) == (1, 0)
        assert embedded.chain_id == FORK_CHAIN_ID
        embedded.revert(first)
        assert (embedded.get_storage(store, 0), embedded.chain_id) == (0, CHAIN_ID)


@pytest.mark.node
def test_anvil_chain_id_switch_answers_eth_chain_id(anvil_node: ManagedAnvil) -> None:
    with RpcBackend(anvil_node.url) as rpc:
        snap = rpc.snapshot()
        try:
            rpc.set_chain_id(FORK_CHAIN_ID)
            assert int(rpc.request("eth_chainId", []), 16) == FORK_CHAIN_ID
        finally:
            rpc.revert(snap)
        assert int(rpc.request("eth_chainId", []), 16) == CHAIN_ID


def test_pyrevm_time_can_go_back() -> None:
    with PyrevmBackend(CHAIN_ID, timestamp=5000) as embedded:
        embedded.set_timestamp(10)
        clock = deploy(embedded, TIMESTAMP)
        assert embedded.call(clock, b"", sender=SENDER).output == word(10)


def test_pyrevm_refused_transaction_is_a_backend_error() -> None:
    with PyrevmBackend(CHAIN_ID) as embedded, pytest.raises(BackendError, match="refused"):
        embedded.transact(OTHER, b"", sender=SENDER, value=1)  # SENDER has no ether


@pytest.mark.node
def test_anvil_time_cannot_go_back(anvil_node: ManagedAnvil) -> None:
    with RpcBackend(anvil_node.url) as rpc:
        snap = rpc.snapshot()
        try:
            rpc.set_timestamp(rpc.timestamp + 10)
            with pytest.raises(BackendError, match="evm_setNextBlockTimestamp"):
                rpc.set_timestamp(rpc.timestamp - 5)
        finally:
            rpc.revert(snap)


@pytest.mark.node
def test_rpc_errors_name_the_method(anvil_node: ManagedAnvil) -> None:
    with RpcBackend(anvil_node.url) as rpc, pytest.raises(RpcError, match="no_such_method"):
        rpc.request("no_such_method", [])


def test_rpc_transport_fault_is_a_backend_error() -> None:
    with pytest.raises(BackendError, match="eth_chainId"):
        RpcBackend("http://127.0.0.1:9", timeout=1.0)


@pytest.mark.node
def test_managed_anvil_stops_its_process() -> None:
    reason = anvil_available()
    if reason:
        pytest.skip(reason)
    with ManagedAnvil(chain_id=7) as node:
        url = node.url
        with RpcBackend(url) as rpc:
            assert rpc.chain_id == 7
    with pytest.raises(BackendError):
        RpcBackend(url, timeout=1.0)


def test_anvil_unavailable_gives_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMC_ANVIL", "/nonexistent/anvil")
    reason = anvil_available()
    assert reason is not None and "AMC_ANVIL" in reason


@pytest.mark.node
def test_rpc_without_send_sync_polls_for_the_receipt(anvil_node: ManagedAnvil) -> None:
    with RpcBackend(anvil_node.url) as rpc:
        rpc._sync = False  # as against a node without eth_sendTransactionSync (EIP-7966)
        snap = rpc.snapshot()
        probe = deploy(rpc, CHAINID)
        assert rpc.transact(probe, b"", sender=SENDER).output == word(CHAIN_ID)
        rpc.revert(snap)


def test_pyrevm_sender_code_hash_reads_empty_during_its_call() -> None:
    """The documented price of the EIP-3607 work-around (EXTCODESIZE stays right)."""
    with PyrevmBackend(CHAIN_ID) as embedded:
        contract = deploy(embedded, CHAINID)
        hasher = deploy(embedded, CODEHASH)
        sizer = deploy(embedded, bytes.fromhex("5f353b" + RETURN32))  # EXTCODESIZE
        assert embedded.call(hasher, word(contract), sender=contract).output == keccak(b"")
        assert embedded.call(sizer, word(contract), sender=contract).output == word(len(CHAINID))
        assert embedded.call(hasher, word(contract), sender=SENDER).output == keccak(CHAINID)
