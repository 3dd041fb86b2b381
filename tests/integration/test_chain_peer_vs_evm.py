"""The fake chain peer against a real EVM running the reference contracts (PROTOCOL.md §5).

The reference factories, clusters and ClusterMember proxies are deployed on the embedded EVM
(pyrevm) and, when anvil is available, on a managed anvil; a ``ChainScenario`` is written down
from the deployed addresses (what each contract was set up to hold, not what it answers) and
served by ``ChainPeer``. The same ``eth_call`` is then sent to the peer (JSON-RPC over HTTP) and
to the EVM: the webhook's four views (``isOurMember``, ``isDeployedCluster``, ``cluster()``,
``allowedAppIds``) on every deployed address with every argument, plus calldata Solidity's
decoder rejects (dirty address bits, short words) or tolerates (trailing bytes), unknown
selectors, and calls to an address without code. Answers must be identical: the same result
bytes, or a revert (JSON-RPC code 3) with the same revert data. pyrevm's results are written as
the node answer anvil gives (result, or code 3 + data); on anvil the raw JSON answers are compared.

Not covered, because the reference set has no such contract (and none is hand-assembled here):
a ``cluster()`` that reverts *with data* (the scenario's ``reverting_cluster``) and the
scenario's permissive ``hostile_clusters``. The hostile case is played by a real
ReferenceCluster deployed outside the factories that allowlists the hostile sender.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from eth_abi import decode, encode
from eth_hash.auto import keccak

from conformance.peers import ChainPeer, ChainScenario
from conformance.reference.account import ContractArtifact, contract_set
from conformance.targets.account_abi import encode_function
from conformance.targets.evm import (
    CallResult,
    EvmBackend,
    ManagedAnvil,
    PyrevmBackend,
    RpcBackend,
    anvil_available,
)

CHAIN_ID = 8453
IS_OUR_MEMBER = bytes.fromhex("d5455541")
IS_DEPLOYED_CLUSTER = bytes.fromhex("80c872ae")
CLUSTER = bytes.fromhex("dbd01de1")
ALLOWED_APP_IDS = bytes.fromhex("875f31fb")
ADDRESS_VIEWS = {
    "isOurMember": IS_OUR_MEMBER,
    "isDeployedCluster": IS_DEPLOYED_CLUSTER,
    "allowedAppIds": ALLOWED_APP_IDS,
}
"""The webhook's views taking an address (PROTOCOL.md §5 "Chain calls" selectors)."""
TRUE_WORD = "0x" + "00" * 31 + "01"
FALSE_WORD = "0x" + "00" * 32

DEPLOYER = bytes.fromhex("000000000000000000000000000000000000a11c")
CLUSTER_OWNER = bytes.fromhex("000000000000000000000000000000000000c1a5")
ENTRY_POINT = b"\xee" * 20
ZERO = bytes(20)
NO_CODE = keccak(b"attestmesh-conformance/chain-peer-vs-evm/no-code")[:20]
"""An address nothing is deployed at (a sender without code)."""
NO_CODE_CLUSTER = keccak(b"attestmesh-conformance/chain-peer-vs-evm/no-code-cluster")[:20]
"""The undeployed cluster the ``orphan`` member names."""

ACCOUNTS = (
    "member_impl",
    "factory_member",
    "factory_member_v2",
    "path_a_member",
    "path_a_member_v2",
    "stranger",
    "hostile_sender",
    "orphan",
    "uninitialised",
)
"""Contracts running ClusterMember code (they have ``cluster()`` and ``receive()``)."""
CONTRACTS = (
    "member_factory",
    "cluster_factory",
    "cluster_factory_v2",
    "cluster",
    "cluster_v2",
    "rogue_cluster",
    *ACCOUNTS,
)
"""Every deployed contract, by name."""
ADDRESSES = (*CONTRACTS, "no_code", "no_code_cluster", "zero")
"""Every address a probe sends to or asks about."""

Answer = dict[str, Any]
"""A node's answer reduced to ``{"result": hex}`` or ``{"error": {"code": n, "data": hex}}``."""


def hx(data: bytes) -> str:
    return "0x" + data.hex()


def arg(address: bytes) -> bytes:
    return encode(["address"], [hx(address)])


def call_request(to: bytes, data: bytes, field: str = "data") -> dict[str, Any]:
    tx = {"to": hx(to), field: hx(data)}
    return {"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [tx, "latest"]}


def reduce(answer: Any) -> Answer:
    """Drop the id, framing and error message (anvil words messages its own way)."""
    if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        error = answer["error"]
        return {"error": {"code": error.get("code"), "data": error.get("data")}}
    if isinstance(answer, dict) and "result" in answer:
        return {"result": answer["result"]}
    return {"malformed": answer}


def node_answer(result: CallResult) -> Answer:
    """An embedded-EVM outcome as a node answers it: result, or revert = code 3 + data."""
    if result.success:
        return {"result": hx(result.output)}
    return {"error": {"code": 3, "data": hx(result.output)}}


# -- the deployed world ---------------------------------------------------------------------


def _address_out(result: CallResult, what: str) -> bytes:
    assert result.success, f"set-up: {what} reverted 0x{result.output.hex()}"
    (address,) = decode(["address"], result.output)
    return bytes.fromhex(address[2:])


def _send(backend: EvmBackend, to: bytes, data: bytes, what: str, sender: bytes) -> CallResult:
    result = backend.transact(to, data, sender=sender)
    assert result.success, f"set-up: {what} reverted 0x{result.output.hex()}"
    return result


def deploy_world(backend: EvmBackend) -> dict[str, bytes]:
    """Deploy the reference contracts; every named address (see ``ADDRESSES``)."""
    c: dict[str, ContractArtifact] = contract_set()
    backend.set_balance(DEPLOYER, 10**24)
    backend.set_balance(CLUSTER_OWNER, 10**24)

    def deploy(name: str, types: list[str], values: list[Any]) -> bytes:
        return backend.deploy(c[name].creation_code(types, values), sender=DEPLOYER)

    def proxy(cluster: bytes | None) -> bytes:
        init = b"" if cluster is None else encode_function("initialize(address)", cluster)
        return deploy("ERC1967Proxy", ["address", "bytes"], [w["member_impl"], init])

    def create(factory: str, signature: str, *args: Any) -> bytes:
        data = encode_function(signature, *args)
        return _address_out(_send(backend, w[factory], data, signature, DEPLOYER), signature)

    def allow(cluster: str, member: str) -> None:
        data = encode_function("addAllowedAppId(address)", w[member])
        _send(backend, w[cluster], data, "addAllowedAppId", CLUSTER_OWNER)

    w: dict[str, bytes] = {"no_code": NO_CODE, "no_code_cluster": NO_CODE_CLUSTER, "zero": ZERO}
    w["member_impl"] = deploy("ClusterMember", ["address", "bool"], [ENTRY_POINT, False])
    w["member_factory"] = deploy("ReferenceMemberFactory", ["address"], [w["member_impl"]])
    for name in ("cluster_factory", "cluster_factory_v2"):
        w[name] = deploy("ReferenceClusterFactory", ["address"], [w["member_factory"]])
    new_cluster = "createCluster(address,address[],bytes32)"
    w["cluster"] = create("cluster_factory", new_cluster, CLUSTER_OWNER, [], bytes(32))
    w["cluster_v2"] = create("cluster_factory_v2", new_cluster, CLUSTER_OWNER, [], bytes(32))
    rogue_args = [w["member_factory"], CLUSTER_OWNER, []]
    w["rogue_cluster"] = deploy("ReferenceCluster", ["address", "address", "address[]"], rogue_args)
    new_member = "createMember(address,bytes32)"
    w["factory_member"] = create("member_factory", new_member, w["cluster"], b"\x01" * 32)
    w["factory_member_v2"] = create("member_factory", new_member, w["cluster_v2"], b"\x02" * 32)
    for name, cluster in (
        ("path_a_member", w["cluster"]),
        ("path_a_member_v2", w["cluster_v2"]),
        ("stranger", w["cluster"]),
        ("hostile_sender", w["rogue_cluster"]),
        ("orphan", NO_CODE_CLUSTER),
        ("uninitialised", None),
    ):
        w[name] = proxy(cluster)
    allow("cluster", "path_a_member")
    allow("cluster_v2", "path_a_member_v2")
    allow("rogue_cluster", "hostile_sender")
    assert set(w) == set(ADDRESSES)
    return w


def scenario_of(w: dict[str, bytes], chain_id: int) -> ChainScenario:
    """What the deployed world was set up to hold, as the peer's scenario."""
    clusters = {
        "factory_member": "cluster",
        "factory_member_v2": "cluster_v2",
        "path_a_member": "cluster",
        "path_a_member_v2": "cluster_v2",
        "stranger": "cluster",
        "hostile_sender": "rogue_cluster",
        "orphan": "no_code_cluster",
        "uninitialised": "zero",
        "member_impl": "zero",
    }
    allowed = {
        "cluster": "path_a_member",
        "cluster_v2": "path_a_member_v2",
        "rogue_cluster": "hostile_sender",
    }
    return ChainScenario(
        chain_id=chain_id,
        member_factory=w["member_factory"],
        cluster_factory=w["cluster_factory"],
        cluster_factory_v2=w["cluster_factory_v2"],
        members=frozenset({w["factory_member"], w["factory_member_v2"]}),
        clusters=frozenset({w["cluster"]}),
        clusters_v2=frozenset({w["cluster_v2"]}),
        member_clusters={w[s]: w[c] for s, c in clusters.items()},
        allowed_app_ids={w[c]: frozenset({w[m]}) for c, m in allowed.items()},
        contracts_with_code=frozenset(w[name] for name in CONTRACTS),
    )


# -- the two sides --------------------------------------------------------------------------


@dataclass
class Chain:
    """A deployed world, the peer serving its scenario, and the EVM's answers."""

    kind: str
    w: dict[str, bytes]
    peer: ChainPeer
    client: httpx.Client
    evm_call: Callable[[dict[str, Any]], Answer]
    evm_code: Callable[[bytes], bytes]
    evm_chain_id: Callable[[], str]

    def peer_post(self, payload: dict[str, Any]) -> Any:
        response = self.client.post(self.peer.url, json=payload)
        assert response.status_code == 200
        return response.json()

    def compare(self, label: str, to: bytes, data: bytes, field: str = "data") -> Answer:
        """Send one eth_call to both; a mismatch raises with the label. The EVM's answer."""
        payload = call_request(to, data, field)
        peer, evm = reduce(self.peer_post(payload)), self.evm_call(payload)
        assert peer == evm, f"{self.kind}: {label} (to {hx(to)}, data {hx(data)})"
        return evm


def _embedded_calls(backend: PyrevmBackend) -> Callable[[dict[str, Any]], Answer]:
    def call(payload: dict[str, Any]) -> Answer:
        tx = payload["params"][0]
        data = bytes.fromhex(tx.get("data", tx.get("input", "0x"))[2:])
        return node_answer(backend.call(bytes.fromhex(tx["to"][2:]), data, sender=DEPLOYER))

    return call


@pytest.fixture(scope="module", params=["pyrevm", pytest.param("anvil", marks=pytest.mark.node)])
def chain(request: pytest.FixtureRequest) -> Iterator[Chain]:
    with httpx.Client(timeout=10.0) as client:
        if request.param == "pyrevm":
            with PyrevmBackend(CHAIN_ID) as backend:
                w = deploy_world(backend)
                with ChainPeer(scenario_of(w, backend.chain_id)) as peer:
                    yield Chain(
                        "pyrevm", w, peer, client, _embedded_calls(backend),
                        backend.get_code, lambda: hex(backend.chain_id),
                    )  # fmt: skip
            return
        reason = anvil_available()
        if reason:
            pytest.skip(reason)
        with ManagedAnvil(chain_id=CHAIN_ID) as node, RpcBackend(node.url) as rpc:
            w = deploy_world(rpc)

            def node_post(method: str, params: list[Any]) -> Any:
                payload = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
                return client.post(node.url, json=payload).json()

            def code(address: bytes) -> bytes:
                return bytes.fromhex(
                    node_post("eth_getCode", [hx(address), "latest"])["result"][2:]
                )

            with ChainPeer(scenario_of(w, rpc.chain_id)) as peer:
                yield Chain(
                    "anvil", w, peer, client,
                    lambda payload: reduce(client.post(node.url, json=payload).json()),
                    code, lambda: node_post("eth_chainId", [])["result"],
                )  # fmt: skip


def kind_of(answer: Answer) -> str:
    """A coarse name for an answer, to check that a sweep met every kind it should."""
    if "error" in answer:
        return "revert" if answer["error"]["code"] == 3 else "error"
    result = answer["result"]
    if result == "0x":
        return "empty"
    return {TRUE_WORD: "true", FALSE_WORD: "false"}.get(result, "word")


# -- the views, every address with every argument -------------------------------------------


@pytest.mark.parametrize("view", sorted(ADDRESS_VIEWS))
def test_address_views_agree_everywhere(chain: Chain, view: str) -> None:
    """isOurMember / isDeployedCluster / allowedAppIds (PROTOCOL.md §5 policy steps 3 and 7):
    to every address, about every address."""
    kinds = set()
    for target in ADDRESSES:
        for about in ADDRESSES:
            data = ADDRESS_VIEWS[view] + arg(chain.w[about])
            kinds.add(kind_of(chain.compare(f"{view}({about}) on {target}", chain.w[target], data)))
    assert kinds == {"true", "false", "revert", "empty"}


def test_cluster_agrees_everywhere(chain: Chain) -> None:
    """cluster() on every address (PROTOCOL.md §5 Path A): the sender's cluster, the zero
    address from an uninitialised proxy, a revert from a contract without it, 0x without code."""
    answers = {t: chain.compare(f"cluster() on {t}", chain.w[t], CLUSTER) for t in ADDRESSES}
    assert answers["path_a_member"] == {"result": hx(arg(chain.w["cluster"]))}
    assert {kind_of(a) for a in answers.values()} == {"word", "false", "revert", "empty"}


# -- calldata Solidity's decoder rejects or tolerates ---------------------------------------

MALFORMED: dict[str, Callable[[bytes, bytes], bytes]] = {
    "dirty-top-byte": lambda sel, word: sel + b"\x01" + word[1:],
    "dirty-byte-11": lambda sel, word: sel + word[:11] + b"\xff" + word[12:],
    "all-ones-padding": lambda sel, word: sel + b"\xff" * 12 + word[12:],
    "short-word": lambda sel, word: sel + word[:31],
    "selector-only": lambda sel, word: sel,
    "truncated-selector": lambda sel, word: sel[:3],
    "trailing-bytes": lambda sel, word: sel + word + b"\x01\x02\x03",
    "extra-word": lambda sel, word: sel + word + b"\xff" * 32,
    "unknown-selector": lambda sel, word: bytes.fromhex("deadbeef") + word,
}
"""Calldata shapes (PROTOCOL.md §3 decoder agreement): the first four revert in Solidity's ABI
decoder (``short-word`` too), trailing data is ignored; an unknown selector reverts."""
HOMES = {
    "isOurMember": ("member_factory", "factory_member"),
    "isDeployedCluster": ("cluster_factory_v2", "cluster_v2"),
    "allowedAppIds": ("cluster", "path_a_member"),
    "cluster": ("path_a_member", "cluster"),
}
"""Per view: the contract that has it, and an argument it answers true (or names) for."""


@pytest.mark.parametrize("shape", sorted(MALFORMED))
@pytest.mark.parametrize("view", sorted(HOMES))
def test_malformed_calldata_agrees(chain: Chain, view: str, shape: str) -> None:
    """The view's own contract, a contract without it and an address without code answer a
    malformed call alike on both sides."""
    home, about = HOMES[view]
    selector = ADDRESS_VIEWS.get(view, CLUSTER)
    data = MALFORMED[shape](selector, arg(chain.w[about]))
    for target in (home, "rogue_cluster", "stranger", "no_code"):
        chain.compare(f"{view} {shape} on {target}", chain.w[target], data)
    if shape in ("truncated-selector", "unknown-selector"):
        expected = "revert"
    elif view == "cluster":
        expected = "word"  # cluster() takes no argument: whatever follows is ignored
    else:
        expected = "true" if shape in ("trailing-bytes", "extra-word") else "revert"
    assert kind_of(chain.evm_call(call_request(chain.w[home], data))) == expected


@pytest.mark.parametrize("field", ["data", "input"])
def test_input_field_is_read_like_data(chain: Chain, field: str) -> None:
    """An eth_call object naming its calldata ``input`` (the newer field) is the same call."""
    data = IS_OUR_MEMBER + arg(chain.w["factory_member"])
    answer = chain.compare(f"isOurMember via {field}", chain.w["member_factory"], data, field)
    assert answer == {"result": TRUE_WORD}


# -- empty calldata -------------------------------------------------------------------------


def test_empty_calldata_to_contracts_without_receive_agrees(chain: Chain) -> None:
    """Factories and clusters have no fallback nor receive(): empty calldata reverts."""
    for target in ADDRESSES:
        if target not in ACCOUNTS:
            chain.compare(f"empty calldata to {target}", chain.w[target], b"")


@pytest.mark.parametrize("account", ["factory_member", "member_impl"])
def test_empty_calldata_to_an_account_agrees(chain: Chain, account: str) -> None:
    chain.compare(f"empty calldata to {account}", chain.w[account], b"")


# -- eth_getCode and eth_chainId ------------------------------------------------------------


def test_get_code_agrees_on_which_addresses_have_code(chain: Chain) -> None:
    """eth_getCode: the peer answers a stand-in, so only empty vs non-empty is compared."""
    for name in ADDRESSES:
        payload = {"jsonrpc": "2.0", "id": 1, "method": "eth_getCode",
                   "params": [hx(chain.w[name]), "latest"]}  # fmt: skip
        peer_has_code = chain.peer_post(payload)["result"] != "0x"
        assert peer_has_code == bool(chain.evm_code(chain.w[name])), name
        assert peer_has_code == (name in CONTRACTS), name


def test_chain_id_agrees(chain: Chain) -> None:
    """eth_chainId (PROTOCOL.md §5 policy step 2): the same minimal hex quantity."""
    payload = {"jsonrpc": "2.0", "id": 7, "method": "eth_chainId", "params": []}
    assert chain.peer_post(payload) == {"jsonrpc": "2.0", "id": 7, "result": chain.evm_chain_id()}
    assert chain.evm_chain_id() == "0x2105"
