"""The sidecar's peers (issue 9): real HTTP servers on 127.0.0.1 over the embedded EVM, faults
per method and call, sponsorship real on chain (VerifyingPaymaster), dstack agent on HTTP and a
Unix socket, and the reference sidecar's whole life against them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conformance.peers.proxy_faults import FaultKind, FaultSchedule, SidecarFault
from conformance.profiles import load_profile
from conformance.protocol.attestation import app_message_digest
from conformance.protocol.calldata import encode_call, encode_execute
from conformance.protocol.hexutil import to_data
from conformance.protocol.signatures import DUMMY_SIGNATURE, key_pair, normalise_v, recover_digest
from conformance.protocol.userop import UserOperation, from_json, sign_user_op, to_json
from conformance.targets.sidecar_world import SidecarWorld, open_sidecar_world, serve

ENTRY_POINT = "0x0000000071727De22E5E9d8BAf0edAc6f37da032"
EP = bytes.fromhex(ENTRY_POINT[2:])
OWNER = 0xB0B


@pytest.fixture(scope="module")
def world() -> Iterator[SidecarWorld]:
    built = open_sidecar_world(load_profile("pimlico"))
    yield built
    built.close()


def rpc(url: str, method: str, params: list[object]) -> dict[str, object]:
    answer = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method,
                                   "params": params}, timeout=10)
    body: dict[str, object] = answer.json()
    return body


def test_node_answers_from_real_state_and_refuses_other_methods(world: SidecarWorld) -> None:
    member = world.new_member()
    with serve(world, member, dialect="pimlico", schedule=FaultSchedule(), seed=b"t") as peers:
        url = peers.env["RPC_URL"]
        assert rpc(url, "eth_chainId", [])["result"] == hex(84532)
        data = encode_call("getNonce(address,uint192)", [member, 0])
        got = rpc(url, "eth_call", [{"to": ENTRY_POINT, "data": to_data(data)}, "latest"])
        assert got["result"] == "0x" + "00" * 32
        cluster = rpc(url, "eth_call", [{"to": to_data(member), "data": "0xdbd01de1"}, "latest"])
        assert cluster["result"] == "0x" + "00" * 12 + world.accounts.cluster.hex()
        assert rpc(url, "eth_sendRawTransaction", ["0x00"])["error"]["code"] == -32601  # type: ignore[index]
        bundler = peers.env["BUNDLER_URL"]
        refused = rpc(bundler, "eth_call", [{"to": ENTRY_POINT, "data": to_data(data)}, "latest"])
        assert refused["error"]["code"] == -32601  # type: ignore[index]
        assert rpc(bundler, "eth_supportedEntryPoints", [])["result"] == [ENTRY_POINT]
        methods = [e.method for e in peers.transcript.items()]
    assert methods[:3] == ["eth_chainId", "eth_call", "eth_call"]


@pytest.mark.parametrize("kind", [FaultKind.RESET, FaultKind.TRUNCATED, FaultKind.TIMEOUT])
def test_wire_faults_hit_only_the_scheduled_call(world: SidecarWorld, kind: FaultKind) -> None:
    schedule = FaultSchedule().add("eth_chainId", SidecarFault(kind, seconds=0.2), 1)
    with serve(world, world.new_member(), dialect="alchemy", schedule=schedule,
               seed=b"t") as peers:
        with pytest.raises((httpx.HTTPError, ValueError)):
            rpc(peers.env["RPC_URL"], "eth_chainId", [])
        assert rpc(peers.env["RPC_URL"], "eth_chainId", [])["result"] == hex(84532)
        faults = [e.fault for e in peers.transcript.items()]
    assert faults[0] is not None and faults[1] is None


def _sponsored(peers_env: dict[str, str], op: UserOperation) -> dict[str, object]:
    wire = {**to_json(op), "signature": to_data(DUMMY_SIGNATURE)}
    return rpc(peers_env["BUNDLER_URL"], "pm_sponsorUserOperation",
               [wire, ENTRY_POINT, {"sponsorshipPolicyId": peers_env["GAS_POLICY_ID"]}])


def test_sponsorship_is_real_on_chain(world: SidecarWorld) -> None:
    """The VerifyingPaymaster signature binds the gas fields: the sidecar's own key signing
    the final op is accepted; fees changed after sponsorship fail in the real EntryPoint."""
    member = world.new_member()
    world.register_directly(member, OWNER)
    with serve(world, member, dialect="pimlico", schedule=FaultSchedule(), seed=b"t") as peers:
        inner = encode_call("publishWgKey(bytes32)", [b"\x01" * 32])
        op = UserOperation(sender=member, nonce=0, max_fee_per_gas=2000,
                           max_priority_fee_per_gas=1500,
                           call_data=encode_execute(world.accounts.cluster, 0, inner))
        answer = _sponsored(peers.env, op)["result"]
        final = from_json({**to_json(op), **answer})  # type: ignore[dict-item]
        tampered = sign_user_op(final.replace(max_fee_per_gas=2001), OWNER, EP, 84532)
        sent = rpc(peers.env["BUNDLER_URL"], "eth_sendUserOperation",
                   [to_json(tampered), ENTRY_POINT])
        assert "AA34" in str(sent["error"])  # the paymaster's signature no longer matches
        signed = sign_user_op(final, OWNER, EP, 84532)
        sent = rpc(peers.env["BUNDLER_URL"], "eth_sendUserOperation",
                   [to_json(signed), ENTRY_POINT])
        receipt = rpc(peers.env["BUNDLER_URL"], "eth_getUserOperationReceipt", [sent["result"]])
    assert receipt["result"]["success"] is True  # type: ignore[index]
    assert world.balance(member) == 0


def test_expired_sponsorship_fails_at_the_entry_point(world: SidecarWorld) -> None:
    member = world.new_member()
    world.register_directly(member, OWNER)
    schedule = FaultSchedule().add("pm_sponsorUserOperation", SidecarFault(FaultKind.EXPIRED))
    with serve(world, member, dialect="pimlico", schedule=schedule, seed=b"t") as peers:
        op = UserOperation(sender=member, nonce=0, call_data=b"")
        final = from_json({**to_json(op), **_sponsored(peers.env, op)["result"]})  # type: ignore[dict-item]
        signed = sign_user_op(final, OWNER, EP, 84532)
        sent = rpc(peers.env["BUNDLER_URL"], "eth_sendUserOperation",
                   [to_json(signed), ENTRY_POINT])
    assert "AA32" in str(sent["error"])


def test_dstack_agent_on_a_unix_socket_emits_raw_v(world: SidecarWorld, tmp_path: Path) -> None:
    member = world.new_member()
    sock = str(tmp_path / "dstack.sock")
    with serve(world, member, dialect="alchemy", schedule=FaultSchedule(), seed=b"t",
               socket_path=sock) as peers:
        assert peers.env["DSTACK_SIMULATOR_ENDPOINT"] == sock
        client = httpx.Client(transport=httpx.HTTPTransport(uds=sock), base_url="http://dstack")
        got = client.post("/GetKey", json={"path": "attestmesh-binding-v1",
                                           "purpose": "ethereum"}).json()
        info = client.post("/Info", json={}).json()
        client.close()
    chain = [bytes.fromhex(s) for s in got["signature_chain"]]
    assert {sig[64] for sig in chain} <= {0, 1}
    assert info["app_id"] == member.hex()
    assert int(got["key"], 16) == peers.derived_key
    digest = app_message_digest("ethereum", key_pair(peers.derived_key).public_compressed)
    assert recover_digest(digest, normalise_v(chain[0])) == key_pair(2).address
    assert not os.path.exists(sock)


SCENARIO = {"csk": "0x" + "33" * 32, "publish_wg": "0x" + "44" * 32,
            "envelopes": ["0x" + "55" * 32, "0x" + "66" * 32, "0x" + "77" * 32], "linger": False}


@pytest.mark.parametrize("dialect", ["pimlico", "alchemy"])
def test_reference_sidecar_lives_a_whole_sponsored_life(world: SidecarWorld, dialect: str) -> None:
    """Registration plus five operations, each sponsored and landed; no ETH ever held."""
    member = world.new_member()
    with serve(world, member, dialect=dialect, schedule=FaultSchedule(), seed=b"t") as peers:
        env = {**os.environ, **peers.env, "AMC_TIME_FACTOR": "0.01",
               "AMC_SCENARIO": json.dumps(SCENARIO)}
        proc = subprocess.run([sys.executable, "-m", "conformance.reference.sidecar"], env=env,
                              timeout=60, capture_output=True, text=True, check=False)
        sends = peers.transcript.items(method="eth_sendUserOperation")
    assert proc.returncode == 0, proc.stderr
    assert len(sends) == 6 and all(e.error is None for e in sends)
    assert world.member_of(member)
    assert world.owner_of(member) == key_pair(peers.derived_key).address
    assert world.nonce_of(member) == 6 and world.balance(member) == 0
