"""The sidecar's world: a real chain (EntryPoint v0.7, the reference cluster and member factory,
the VerifyingPaymaster) and every party the sidecar talks to, on 127.0.0.1 (PROTOCOL.md §7).

``SidecarWorld`` implements the peers' chain interfaces over the account world's embedded EVM
(one lock: the peers answer from several threads); ``SidecarWorld.serve`` starts the node RPC,
the bundler/paymaster endpoint (Alchemy under ``/v2/…``, Pimlico under ``/pimlico.io/…``) and
the dstack agent around one member, and gives the environment the live sidecar reads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode, encode

from conformance.peers.bundler import BundleOutcome, Bundler, refused_node_methods
from conformance.peers.dstack_agent import DstackAgent, DstackAgentServer, derive_key
from conformance.peers.node_rpc import node_methods
from conformance.peers.paymaster import Paymaster, WebhookLink
from conformance.peers.proxy_faults import FaultSchedule, MethodTable, RpcPeerServer, Transcript
from conformance.protocol.hexutil import checksum, keccak
from conformance.protocol.signatures import key_pair
from conformance.protocol.userop import PACKED_USER_OP_ABI, UserOperation, pack
from conformance.reference.sidecar.paymaster_artifact import load_verifying_paymaster
from conformance.targets.account import REVERTER_RUNTIME, open_account_world
from conformance.targets.account_abi import (
    USER_OPERATION_EVENT,
    decode_failed_op,
    encode_function,
    encode_handle_ops,
    revert_reasons,
)
from conformance.targets.account_world import BUNDLER, DEPLOYER, AccountWorld

PAYMASTER_SIGNER_KEY = 0x5161E5
"""The VerifyingPaymaster's off-chain signer (a suite-only key)."""
PAYMASTER_DEPOSIT = 10**21
BINDING_PATH = "attestmesh-binding-v1"
PURPOSE = "ethereum"
GET_HASH = f"getHash({PACKED_USER_OP_ABI},uint48,uint48)"
POLICY_IDS = {"alchemy": "a1b2c3d4-amc-policy", "pimlico": "sp_amc_conformance"}
"""The gas policy id per dialect (GAS_POLICY_ID)."""
SECONDS_PER_BUNDLE = 2
"""Chain time moves by this much with each bundle (blocks)."""


@dataclass
class SidecarWorld:
    """The chain around the sidecar, usable by the peers from any thread."""

    accounts: AccountWorld
    paymaster_address: bytes
    lock: threading.RLock = field(default_factory=threading.RLock)
    blocks: int = 1
    bundles: list[dict[str, Any]] = field(default_factory=list)

    # -- ChainView / BundleChain / PaymasterChain --------------------------------------------

    @property
    def chain_id(self) -> int:
        return self.accounts.chain_id

    @property
    def entry_point(self) -> bytes:
        return self.accounts.entry_point

    @property
    def timestamp(self) -> int:
        return self.accounts.backend.timestamp

    def eth_call(self, to: bytes, data: bytes, sender: bytes) -> tuple[bool, bytes, int]:
        with self.lock:
            result = self.accounts.backend.call(to, data, sender=sender)
        return result.success, result.output, result.gas_used

    def code(self, address: bytes) -> bytes:
        with self.lock:
            return self.accounts.backend.get_code(address)

    def block_number(self) -> int:
        return self.blocks

    def transaction_count(self, address: bytes) -> int:
        """An EOA count that is *not* the EntryPoint nonce (a sidecar using it is wrong)."""
        return 7 + sum(1 for b in self.bundles if b["sender"] == address)

    def balance(self, address: bytes) -> int:
        with self.lock:
            return self.accounts.backend.get_balance(address)

    def paymaster_hash(self, op: UserOperation, valid_until: int, valid_after: int) -> bytes:
        data = encode_function(GET_HASH, pack(op).as_abi_tuple(), valid_until, valid_after)
        ok, output, _ = self.eth_call(self.paymaster_address, data, DEPLOYER)
        if not ok:
            raise RuntimeError(f"VerifyingPaymaster.getHash reverted 0x{output.hex()}")
        return bytes(output[:32])

    def handle_op(self, op: UserOperation, *, sabotage: bool = False) -> BundleOutcome:
        """EntryPoint.handleOps([op], bundler) for real; ``sabotage`` swaps the cluster's code
        for a reverter during the bundle, so the op's inner call really reverts."""
        backend = self.accounts.backend
        with self.lock:
            cluster = self.accounts.cluster
            saved = backend.get_code(cluster)
            if sabotage:
                backend.set_code(cluster, REVERTER_RUNTIME)
            try:
                result = backend.transact(self.entry_point,
                                          encode_handle_ops([pack(op)], BUNDLER), sender=BUNDLER)
            finally:
                if sabotage:
                    backend.set_code(cluster, saved)
            self.blocks += 1
            backend.set_timestamp(backend.timestamp + SECONDS_PER_BUNDLE)
            if result.success:
                outcome = self._outcome(result.logs, op)
            else:
                failed = decode_failed_op(result.output)
                outcome = BundleOutcome(failed=failed.reason if failed else
                                        f"handleOps reverted 0x{result.output.hex()[:80]}")
            self.bundles.append({"sender": op.sender, "nonce": op.nonce, "block": self.blocks,
                                 "success": outcome.failed is None and outcome.success,
                                 "failed": outcome.failed, "call_data": op.call_data})
        return outcome

    def _outcome(self, logs: Any, op: UserOperation) -> BundleOutcome:
        for log in logs:
            if log.address == self.entry_point and log.topics and \
                    log.topics[0] == USER_OPERATION_EVENT:
                _nonce, success, cost, used = decode(["uint256", "bool", "uint256", "uint256"],
                                                     log.data)
                reasons = revert_reasons(tuple(logs), self.entry_point)
                tx = keccak(encode(["uint256", "address"], [self.blocks, op.sender]))
                return BundleOutcome(None, bool(success), cost, used, self.blocks, tx,
                                     reasons[0] if reasons else b"")
        return BundleOutcome(failed="handleOps emitted no UserOperationEvent")

    # -- members -------------------------------------------------------------------------------

    def new_member(self) -> bytes:
        """A fresh member of the main cluster (no ETH: every change it makes is sponsored)."""
        with self.lock:
            member = self.accounts.new_member()
            self.accounts.backend.set_balance(member, 0)
        return member

    def register_directly(self, member: bytes, derived_key: int) -> None:
        """Register ``member`` outside the sidecar (scenario "already registered")."""
        with self.lock:
            seen = self.accounts.register(member, self.accounts.proof_for(member, derived_key))
        if not seen.success:
            raise RuntimeError(f"scenario set-up: registering the member {seen.describe()}")

    def member_of(self, member: bytes) -> bool:
        """cluster.memberOf(member).registered."""
        with self.lock:
            (registered, _id) = self.accounts.read(self.accounts.cluster, "memberOf(address)",
                                                   member, returns=["bool", "bytes32"])
        return bool(registered)

    def owner_of(self, member: bytes) -> bytes:
        """cluster.memberOwner(member)."""
        with self.lock:
            (owner,) = self.accounts.read(self.accounts.cluster, "memberOwner(address)", member,
                                          returns=["address"])
        return bytes.fromhex(str(owner)[2:])

    def nonce_of(self, member: bytes) -> int:
        """EntryPoint.getNonce(member, 0)."""
        with self.lock:
            return self.accounts.nonce_of(member)

    def close(self) -> None:
        """Release the EVM."""
        self.accounts.close()


def open_sidecar_world(profile: Any, *, account: Any = None) -> SidecarWorld:
    """Deploy the world: the account world (reference, or the ``account`` target spec) and the
    VerifyingPaymaster with its EntryPoint deposit."""
    accounts = open_account_world(account or {"kind": "reference"}, profile)
    try:
        artifact = load_verifying_paymaster()
        signer = key_pair(PAYMASTER_SIGNER_KEY).address
        address = accounts.deploy(artifact.creation_code(["address", "address"],
                                                         [accounts.entry_point, signer]))
        seen = accounts.send(address, encode_function("deposit()"), value=PAYMASTER_DEPOSIT)
        if not seen.success:
            raise RuntimeError(f"VerifyingPaymaster deposit {seen.describe()}")
        accounts.freeze()
    except BaseException:
        accounts.close()
        raise
    return SidecarWorld(accounts, address)


@dataclass
class Peers:
    """The running peers of one sidecar run and the environment they give the sidecar."""

    transcript: Transcript
    schedule: FaultSchedule
    node: RpcPeerServer
    bundler_server: RpcPeerServer
    bundler: Bundler
    dstack: DstackAgentServer
    env: dict[str, str]
    derived_key: int

    def stop(self) -> None:
        """Stop every peer (idempotent)."""
        for server in (self.node, self.bundler_server, self.dstack):
            server.stop()


@contextmanager
def serve(world: SidecarWorld, member: bytes, *, dialect: str, schedule: FaultSchedule,
          seed: bytes, socket_path: str | None = None,
          webhook: WebhookLink | None = None) -> Iterator[Peers]:
    """Start the peers around ``member`` on 127.0.0.1; stop them all on exit."""
    transcript = Transcript()
    policy = POLICY_IDS[dialect]
    paymaster = Paymaster(world, world.paymaster_address, PAYMASTER_SIGNER_KEY, policy,
                          transcript, webhook)
    bundler = Bundler(world)
    refused = refused_node_methods()
    tables = [
        MethodTable("bundler", {**bundler.methods(), **paymaster.pimlico_methods()},
                    "pimlico.io", refused),
        MethodTable("bundler", {**bundler.methods(), **paymaster.alchemy_methods()}, "", refused),
    ]
    node = RpcPeerServer("node", [node_methods(world)], transcript, schedule)
    bundler_server = RpcPeerServer("bundler", tables, transcript, schedule)
    agent = DstackAgentServer(DstackAgent(member, seed, transcript), socket_path=socket_path)
    started: list[Any] = []
    try:
        for server in (node, bundler_server, agent):
            server.start()
            started.append(server)
        path = (f"/pimlico.io/api/v2/{world.chain_id}/rpc?apikey=amc" if dialect == "pimlico"
                else "/v2/amc")
        env = {
            "CHAIN_ID": str(world.chain_id),
            "RPC_URL": node.url,
            "BUNDLER_URL": bundler_server.url + path,
            "GAS_POLICY_ID": policy,
            "MEMBER_CONTRACT": checksum(member),
            "ENTRY_POINT": checksum(world.entry_point),
            "DSTACK_SIMULATOR_ENDPOINT": agent.endpoint,
        }
        peers = Peers(transcript, schedule, node, bundler_server, bundler, agent, env,
                      derive_key(seed, BINDING_PATH, PURPOSE))
        yield peers
    finally:
        for server in reversed(started):
            server.stop()
        paymaster.close()
