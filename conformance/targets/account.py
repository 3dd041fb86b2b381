"""The ClusterMember account as a conformance target (PROTOCOL.md §6; ARCHITECTURE.md: targets/).

``open_account_world(spec, profile)`` deploys the test world around the account under test:

- the EVM per ``spec.evm``: the embedded pyrevm (default) or a managed anvil, or the node at
  ``spec.rpc``;
- EntryPoint v0.7 at its canonical address (when its npm artifact is absent the world is built
  without it and ``entry_point_missing`` says why: checks that need it SKIP);
- the reference member factory and cluster factory, two clusters owned by the cluster owner with
  the KMS root (public test key 1), the TestPaymaster (deposited);
- members that are the account under test: ``reference`` (optionally a ``mutant``) through the
  member factory; ``artifact`` behind an ERC1967Proxy initialised with ``initialize(cluster)``
  (or deployed as is with ``proxy=False``); ``rpc`` as proxies of the deployed account's
  implementation, or clones of its code. Members that are not factory members are put on the
  cluster's Path A allowlist (``addAllowedAppId``).

``replay_account_failure(record)`` rebuilds the world a failure record names and replays its
steps, so a FAIL's reproducer runs outside the suite.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any

from eth_abi import encode

from conformance.errors import UsageError, did_you_mean
from conformance.profiles import load_profile
from conformance.protocol.hexutil import keccak, parse_address
from conformance.reference.account import (
    ArtifactError,
    ContractArtifact,
    contract_set,
    load_mutants,
)
from conformance.targets.account_abi import (
    EIP1967_IMPLEMENTATION_SLOT,
    INITIALIZE,
    decode_values,
    encode_function,
)
from conformance.targets.account_artifact import (
    AccountArtifact,
    constructor_arguments,
    load_account_artifact,
)
from conformance.targets.account_world import (
    BUNDLER,
    CLUSTER_OWNER_KEY,
    DEPLOYER,
    FUNDS,
    MEMBER_FUNDS,
    OPERATOR_KEY,
    OWNER_KEY,
    REGISTRAR,
    STRANGER_KEY,
    AccountWorld,
    Observation,
    address_of,
)
from conformance.targets.evm.anvil import ManagedAnvil
from conformance.targets.evm.artifacts import ArtifactUnavailable
from conformance.targets.evm.backend import EvmBackend
from conformance.targets.evm.entrypoint import ENTRY_POINT_ADDRESS, deploy_entry_point
from conformance.targets.evm.pyrevm_backend import PyrevmBackend
from conformance.targets.evm.rpc_backend import RpcBackend

RECORDER_RUNTIME = bytes.fromhex("345f52365f60203733366020015fa100")
"""Logs ``LOG1(topic = caller, data = callvalue word ‖ calldata)`` and stops (AC-018)."""
REVERTER_RUNTIME = bytes.fromhex("365f5f37365ffd")
"""Reverts with its calldata as revert data (AC-019)."""
RECORDER_ADDRESS = keccak(b"attestmesh-conformance/recorder")[:20]
REVERTER_ADDRESS = keccak(b"attestmesh-conformance/reverter")[:20]


@dataclass(frozen=True)
class AccountTarget:
    """The ``TargetSpec`` fields the account target uses (engine-independent)."""

    kind: str = "reference"
    mutant: str | None = None
    artifact: str | None = None
    rpc: str | None = None
    address: str | None = None
    evm: str = "pyrevm"
    proxy: bool = True
    request_timeout: float = 5.0

    @classmethod
    def of(cls, spec: Any) -> AccountTarget:
        """From a TargetSpec, a dict or anything with those attributes."""
        names = [f.name for f in fields(cls)]
        get = spec.get if isinstance(spec, dict) else (lambda n, d=None: getattr(spec, n, d))
        values: dict[str, Any] = {n: get(n) for n in names if get(n) is not None}
        return cls(**values)


def open_backend(target: AccountTarget, chain_id: int) -> tuple[EvmBackend, list[Any]]:
    """The EVM backend for ``target`` and what must be stopped with it."""
    if target.kind == "rpc":
        if not target.rpc or not target.address:
            raise UsageError("--rpc needs --address (the deployed account)")
        return RpcBackend(target.rpc, timeout=max(target.request_timeout, 10.0)), []
    if target.evm == "anvil":
        node = ManagedAnvil(chain_id=chain_id)
        node.start()
        try:
            return RpcBackend(node.url), [node.stop]
        except BaseException:
            node.stop()
            raise
    if target.evm != "pyrevm":
        raise UsageError(f"--evm={target.evm!r}: expected pyrevm or anvil"
                         + did_you_mean(target.evm, ("pyrevm", "anvil")))
    return PyrevmBackend(chain_id), []


def reference_contracts(target: AccountTarget) -> dict[str, ContractArtifact]:
    """The reference contract set, with the named mutant's contracts in place."""
    mutant = target.mutant if target.kind == "reference" else None
    if mutant is not None:
        names = [m.name for m in load_mutants()]
        if mutant not in names:
            raise UsageError(f"--mutant={mutant!r}: no such account mutant"
                             + did_you_mean(mutant, names))
    try:
        return contract_set(mutant)
    except ArtifactError as exc:
        raise UsageError(f"reference artifacts unusable: {exc}") from None


def _send_ok(world: AccountWorld, to: bytes, data: bytes, what: str, *,
             sender: bytes = DEPLOYER, value: int = 0) -> Observation:
    seen = world.send(to, data, sender=sender, value=value)
    if not seen.success:
        raise UsageError(f"test world set-up failed: {what} {seen.describe()}")
    return seen


def _address_out(seen: Observation) -> bytes:
    (address,) = decode_values(["address"], seen.output)
    return parse_address(address)


def _allowlist(world: AccountWorld, cluster: bytes, member: bytes) -> None:
    """Path A: the cluster owner allowlists ``member`` as an app id (PROTOCOL.md §4)."""
    _send_ok(world, cluster, encode_function("addAllowedAppId(address)", member),
             "addAllowedAppId", sender=world.cluster_owner)


def _factory_maker(world: AccountWorld, cluster: bytes, salt: int) -> bytes:
    data = encode_function("createMember(address,bytes32)", cluster, salt.to_bytes(32, "big"))
    return _address_out(_send_ok(world, world.member_factory, data, "createMember"))


def _proxy_maker(proxy: ContractArtifact, implementation: bytes) -> Any:
    def make(world: AccountWorld, cluster: bytes, salt: int) -> bytes:
        init = encode_function(INITIALIZE, cluster)
        member = world.deploy(proxy.creation_code(["address", "bytes"], [implementation, init]))
        _allowlist(world, cluster, member)
        return member
    return make


def _direct_maker(artifact: AccountArtifact) -> Any:
    def make(world: AccountWorld, cluster: bytes, salt: int) -> bytes:
        types, values = constructor_arguments(artifact, entry_point=world.entry_point,
                                              cluster=cluster, multi_attestor=world.multi_attestor)
        member = world.deploy(artifact.bytecode + encode(types, values))
        if INITIALIZE in artifact.functions():
            world.send(member, encode_function(INITIALIZE, cluster))
        _require_cluster(world, member, cluster)
        _allowlist(world, cluster, member)
        return member
    return make


def _require_cluster(world: AccountWorld, member: bytes, cluster: bytes) -> None:
    """A member deployed as is must know its cluster (``cluster()``), else it cannot be used."""
    seen = world.call(member, encode_function("cluster()"))
    if seen.success and seen.output[12:32] != cluster:
        raise UsageError(
            f"--no-proxy: after deployment and initialize(cluster) the contract's cluster() is "
            f"0x{seen.output[12:32].hex()}, not the cluster (does its constructor disable "
            "initializers? deploy it behind the proxy instead)"
        )


def _clone_maker(code: bytes) -> Any:
    def make(world: AccountWorld, cluster: bytes, salt: int) -> bytes:
        member = keccak(b"attestmesh-conformance/clone" + salt.to_bytes(32, "big"))[:20]
        world.set_code(member, code)
        world.send(member, encode_function(INITIALIZE, cluster))
        _allowlist(world, cluster, member)
        return member
    return make


def _install_target(world: AccountWorld, target: AccountTarget,
                    contracts: dict[str, ContractArtifact], reference_impl: bytes) -> None:
    """Choose how members of the account under test are made; record its identity: the
    keccak of the creation code as supplied (stable across deployments and backends) and of the
    runtime code as deployed (immutables such as UUPS's own address make it differ per
    deployment), or the deployed code's hash for ``--rpc``."""
    backend, info = world.backend, world.target_info
    if target.kind == "reference":
        world.make_member = _factory_maker
        world.upgrade_target = world.deploy(_member_impl_code(contracts, world))
        implementation = reference_impl
        info["creation_code_keccak"] = "0x" + keccak(contracts["ClusterMember"].bytecode).hex()
    elif target.kind == "artifact":
        artifact = load_account_artifact(str(target.artifact))
        info["contract"] = artifact.name
        info["creation_code_keccak"] = "0x" + keccak(artifact.bytecode).hex()
        types, values = constructor_arguments(artifact, entry_point=world.entry_point,
                                              cluster=world.cluster,
                                              multi_attestor=world.multi_attestor)
        if not target.proxy:
            world.make_member, world.upgrade_target = _direct_maker(artifact), None
            info["proxy"] = False
            info["runtime_code_keccak"] = "per member (deployed as is)"
            return
        if INITIALIZE not in artifact.functions():
            raise UsageError(f"--artifact={target.artifact}: no initialize(address) to call "
                             "through the ERC1967 proxy (use --no-proxy)")
        implementation = world.deploy(artifact.bytecode + encode(types, values))
        world.upgrade_target = world.deploy(artifact.bytecode + encode(types, values))
        world.make_member = _proxy_maker(contracts["ERC1967Proxy"], implementation)
    else:
        deployed = parse_address(str(target.address))
        code = backend.get_code(deployed)
        if not code:
            raise UsageError(f"--address={target.address}: no contract code there")
        slot = backend.get_storage(deployed, EIP1967_IMPLEMENTATION_SLOT)
        if slot:
            implementation = (slot % (1 << 160)).to_bytes(20, "big")
            world.upgrade_target = implementation  # a UUPS clone elsewhere is not proxiable
            world.make_member = _proxy_maker(contracts["ERC1967Proxy"], implementation)
        else:
            world.make_member, world.upgrade_target = _clone_maker(code), None
            info["proxy"] = False
            info["runtime_code_keccak"] = "0x" + keccak(code).hex()
            return
    info["implementation"] = "0x" + implementation.hex()
    info["runtime_code_keccak"] = "0x" + keccak(backend.get_code(implementation)).hex()


def _member_impl_code(contracts: dict[str, ContractArtifact], world: AccountWorld) -> bytes:
    return contracts["ClusterMember"].creation_code(
        ["address", "bool"], [world.entry_point, world.multi_attestor]
    )


def _deploy_reference(world: AccountWorld, contracts: dict[str, ContractArtifact],
                      kms_roots: list[bytes]) -> bytes:
    """Member factory, cluster factory, both clusters, paymaster; the reference implementation."""
    implementation = world.deploy(_member_impl_code(contracts, world))
    world.member_factory = world.deploy(
        contracts["ReferenceMemberFactory"].creation_code(["address"], [implementation]))
    cluster_factory = world.deploy(
        contracts["ReferenceClusterFactory"].creation_code(["address"], [world.member_factory]))
    world.cluster_factory = cluster_factory
    create = "createCluster(address,address[],bytes32)"
    for name, salt in (("cluster", 0), ("cluster_b", 1)):
        data = encode_function(create, world.cluster_owner, kms_roots, salt.to_bytes(32, "big"))
        setattr(world, name, _address_out(_send_ok(world, cluster_factory, data, create)))
    world.paymaster = world.deploy(
        contracts["TestPaymaster"].creation_code(["address"], [world.entry_point]))
    if world.entry_point_missing is None:
        _send_ok(world, world.paymaster, encode_function("deposit()"), "paymaster deposit",
                 value=10**21)
    return implementation


def _populate(world: AccountWorld) -> None:
    """The members every check starts from, test contracts, the operator signer."""
    world.fresh = world.new_member()
    world.owned = world.new_member()
    world.stranger = world.new_member(world.cluster_b)
    for member, key, cluster in ((world.owned, OWNER_KEY, world.cluster),
                                 (world.stranger, STRANGER_KEY, world.cluster_b)):
        proof = world.proof_for(member, key, cluster=cluster)
        seen = world.register(member, proof, cluster=cluster)
        if not seen.success:
            raise UsageError(f"test world set-up failed: registering a member {seen.describe()}")
    for member in (world.fresh, world.owned, world.stranger):
        world.backend.set_balance(member, MEMBER_FUNDS)
    world.recorder, world.reverter = RECORDER_ADDRESS, REVERTER_ADDRESS
    world.set_code(RECORDER_ADDRESS, RECORDER_RUNTIME)
    world.set_code(REVERTER_ADDRESS, REVERTER_RUNTIME)
    if world.multi_attestor:
        data = encode_function("addOperatorSigner(address)", address_of(OPERATOR_KEY))
        _send_ok(world, world.cluster, data, "addOperatorSigner", sender=world.cluster_owner)


def open_account_world(spec: Any, profile: Any) -> AccountWorld:
    """Deploy the world around the account ``spec`` names (UsageError: it cannot be built)."""
    target = AccountTarget.of(spec)
    contracts = reference_contracts(target)
    backend, closers = open_backend(target, int(profile.chain_id))
    try:
        world = _build(backend, target, contracts, profile)
    except BaseException:
        backend.close()
        for stop in closers:
            stop()
        raise
    world.closers.extend(closers)
    return world


def _build(backend: EvmBackend, target: AccountTarget, contracts: dict[str, ContractArtifact],
           profile: Any) -> AccountWorld:
    for account in (DEPLOYER, BUNDLER, REGISTRAR, address_of(CLUSTER_OWNER_KEY)):
        backend.set_balance(account, FUNDS)
    try:
        deploy_entry_point(backend, sender=DEPLOYER)
        missing = None
    except ArtifactUnavailable as exc:
        missing = exc.reason
    info = {"kind": target.kind, "profile": profile.name, "evm": target.evm, "proxy": target.proxy,
            **({"mutant": target.mutant} if target.mutant else {}),
            **({"artifact": target.artifact} if target.artifact else {}),
            **({"rpc": target.rpc, "address": target.address} if target.kind == "rpc" else {})}
    world = AccountWorld(
        backend=backend, chain_id=backend.chain_id, entry_point=ENTRY_POINT_ADDRESS,
        entry_point_missing=missing, multi_attestor=profile.generation == "multi-attestor",
        cluster=bytes(20), cluster_b=bytes(20), cluster_owner=address_of(CLUSTER_OWNER_KEY),
        member_factory=bytes(20), paymaster=bytes(20), make_member=_factory_maker,
        upgrade_target=None, target_info=info,
    )
    roots = [parse_address(r) for r in profile.kms_roots]
    roots += [address_of(1)] if address_of(1) not in roots else []
    world.kms_roots = tuple(roots)
    reference_impl = _deploy_reference(world, contracts, roots)
    _install_target(world, target, contracts, reference_impl)
    _populate(world)
    world.freeze()
    return world


@dataclass
class AccountReplay:
    """What replaying a failure record did: one line per step, the last step's observation
    and what it paid the EntryPoint, the rebuilt target's identity."""

    lines: list[str]
    last: Observation | None
    paid: int
    target_info: dict[str, Any]
    moved: dict[str, tuple[str, str]]
    """Named addresses the rebuilt world has elsewhere than the record's (name → (recorded,
    rebuilt)); when any, the steps were not replayed (they would address other contracts)."""


def replay_account_record(record: dict[str, Any],
                          target: dict[str, Any] | None = None) -> AccountReplay:
    """Rebuild the world around ``target`` (default: the one ``record`` names) and replay the
    record's steps."""
    chosen = dict(target or record["target"])
    profile = load_profile(chosen.get("profile") or record["target"].get("profile", "base"))
    world = open_account_world(AccountTarget.of(chosen), profile)
    lines = [f"target {json.dumps(chosen, sort_keys=True)}"]
    last, paid = None, 0
    try:
        now = world.addresses()
        moved = {name: (was, now[name]) for name, was in (record.get("world") or {}).items()
                 if name in now and was != now[name]}
        for index, step in enumerate([] if moved else record.get("steps", [])):
            text, last, paid = _replay_step(world, step)
            lines.append(f"step {index}: {step['kind']} {text}")
        info = dict(world.target_info)
    finally:
        world.close()
    return AccountReplay(lines, last, paid, info, moved)


def replay_account_failure(failure: dict[str, Any]) -> str:
    """Rebuild the world a failure record names, replay its steps; what each step did.

    ``failure`` is a FAIL's ``minimal_input`` (or the whole failure object holding it).
    """
    record = failure.get("minimal_input", failure)
    if isinstance(record, str):
        record = json.loads(record)
    return "\n".join(replay_account_record(record).lines)


def _replay_step(world: AccountWorld, step: dict[str, Any]) -> tuple[str, Observation | None, int]:
    """One recorded step: what it did, its observation (calls and sends), what it paid the
    EntryPoint (a ``paying`` send, undone afterwards as when it was recorded)."""
    sender = parse_address(step["from"])
    data = bytes.fromhex(step["data"][2:])
    value = int(step.get("value", 0))
    if step["kind"] == "deploy":
        return f"-> 0x{world.deploy(data, sender=sender).hex()}", None, 0
    if step["kind"] == "set_chain_id":
        world.set_chain_id(value)
        return f"chain id {value}", None, 0
    to = parse_address(step["to"])
    if step["kind"] == "set_code":
        world.set_code(to, data)
        return f"0x{to.hex()}", None, 0
    paid = 0
    if step["kind"] == "paying":
        with world.isolated():
            before = world.backend.get_balance(world.entry_point)
            seen = world.send(to, data, sender=sender, value=value)
            paid = world.backend.get_balance(world.entry_point) - before
    else:
        action = world.send if step["kind"] == "send" else world.call
        seen = action(to, data, sender=sender, value=value)
    extra = f", paid the EntryPoint {paid} wei" if step["kind"] == "paying" else ""
    return f"0x{to.hex()} from 0x{sender.hex()}: {seen.describe()}{extra}", seen, paid
