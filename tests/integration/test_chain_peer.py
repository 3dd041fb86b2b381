"""The fake chain RPC peer, observed by a real httpx client (PROTOCOL.md §5 "Chain calls").

Expected answers are built independently: selectors are the PROTOCOL.md §5 literals, ABI words
come from eth-abi, revert data from eth-abi's encoding of ``Error(string)``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from eth_abi import encode

from conformance.peers import (
    ACTORS,
    Actors,
    ChainPeer,
    ChainScenario,
    Fault,
    FaultKind,
    FaultPlan,
    Malformation,
)

IS_OUR_MEMBER = "0xd5455541"
IS_DEPLOYED_CLUSTER = "0x80c872ae"
CLUSTER = "0xdbd01de1"
ALLOWED_APP_IDS = "0x875f31fb"
TRUE_WORD = "0x" + "00" * 31 + "01"
FALSE_WORD = "0x" + "00" * 32
A = ACTORS
NAMES = {v: k for k, v in vars(A).items()}


def ids(value: object) -> str | None:
    """Readable case ids: the actor's name for an address."""
    return NAMES.get(value) if isinstance(value, bytes) else None


def hx(address: bytes) -> str:
    return "0x" + address.hex()


def with_arg(selector: str, address: bytes) -> str:
    return selector + encode(["address"], [hx(address)]).hex()


def request(method: str, params: list[Any], id_: Any = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params}


def call_request(to: bytes, data: str, id_: Any = 1, block: Any = "latest") -> dict[str, Any]:
    return request("eth_call", [{"to": hx(to), "data": data}, block], id_)


@pytest.fixture(scope="module")
def peer() -> Iterator[ChainPeer]:
    with ChainPeer(ChainScenario.standard(), max_hold=5.0) as p:
        yield p


@pytest.fixture(autouse=True)
def fresh(peer: ChainPeer) -> Iterator[None]:
    peer.set_scenario(ChainScenario.standard())
    peer.clear_faults()
    peer.clear_log()
    yield
    peer.clear_faults()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=3.0) as c:
        yield c


def post(client: httpx.Client, peer: ChainPeer, payload: Any) -> Any:
    response = client.post(peer.url, json=payload)
    assert response.status_code == 200
    return response.json()


def eth_call(client: httpx.Client, peer: ChainPeer, to: bytes, data: str) -> Any:
    return post(client, peer, call_request(to, data))


# -- the four views, per scenario ------------------------------------------------------------


def test_actors_use_the_live_base_factories() -> None:
    assert hx(A.member_factory) == "0xFf9f438EFdAa197f4ae59D1d711C4f09640b8417".lower()
    assert hx(A.cluster_factory) == "0xf6E85fD138E3208d3AAE63ce4E2A33f20e82b9fb".lower()
    assert ChainScenario.standard().chain_id == 8453


@pytest.mark.parametrize(
    ("sender", "member"),
    [(A.factory_member, True), (A.path_a_member, False), (A.hostile_sender, False)],
    ids=ids,
)
def test_is_our_member(peer: ChainPeer, client: httpx.Client, sender: bytes, member: bool) -> None:
    answer = eth_call(client, peer, A.member_factory, with_arg(IS_OUR_MEMBER, sender))
    assert answer == {"jsonrpc": "2.0", "id": 1, "result": TRUE_WORD if member else FALSE_WORD}


@pytest.mark.parametrize(
    ("factory", "cluster", "deployed"),
    [
        (A.cluster_factory, A.cluster, True),
        (A.cluster_factory, A.cluster_v2, False),
        (A.cluster_factory, A.hostile_cluster, False),
        (A.cluster_factory_v2, A.cluster_v2, True),
        (A.cluster_factory_v2, A.cluster, False),
    ],
    ids=ids,
)
def test_is_deployed_cluster(
    peer: ChainPeer, client: httpx.Client, factory: bytes, cluster: bytes, deployed: bool
) -> None:
    answer = eth_call(client, peer, factory, with_arg(IS_DEPLOYED_CLUSTER, cluster))
    assert answer["result"] == (TRUE_WORD if deployed else FALSE_WORD)


def test_without_v2_the_v2_factory_has_no_code(peer: ChainPeer, client: httpx.Client) -> None:
    peer.set_scenario(ChainScenario.standard(with_v2=False))
    answer = eth_call(client, peer, A.cluster_factory_v2, with_arg(IS_DEPLOYED_CLUSTER, A.cluster))
    assert answer["result"] == "0x"


@pytest.mark.parametrize(
    ("sender", "cluster"),
    [
        (A.factory_member, A.cluster),
        (A.path_a_member, A.cluster),
        (A.path_a_member_v2, A.cluster_v2),
        (A.hostile_sender, A.hostile_cluster),
    ],
    ids=ids,
)
def test_cluster_names_the_senders_cluster(
    peer: ChainPeer, client: httpx.Client, sender: bytes, cluster: bytes
) -> None:
    answer = eth_call(client, peer, sender, CLUSTER)
    assert answer["result"] == "0x" + encode(["address"], [hx(cluster)]).hex()


@pytest.mark.parametrize(
    ("cluster", "app_id", "allowed"),
    [
        (A.cluster, A.path_a_member, True),
        (A.cluster, A.stranger, False),
        (A.cluster, A.path_a_member_v2, False),
        (A.cluster_v2, A.path_a_member_v2, True),
        (A.hostile_cluster, A.stranger, True),
        (A.hostile_cluster, bytes.fromhex("99" * 20), True),
    ],
    ids=ids,
)
def test_allowed_app_ids(
    peer: ChainPeer, client: httpx.Client, cluster: bytes, app_id: bytes, allowed: bool
) -> None:
    answer = eth_call(client, peer, cluster, with_arg(ALLOWED_APP_IDS, app_id))
    assert answer["result"] == (TRUE_WORD if allowed else FALSE_WORD)


def test_revert_is_code_3_with_revert_data(peer: ChainPeer, client: httpx.Client) -> None:
    answer = eth_call(client, peer, A.reverting_sender, CLUSTER)
    data = "0x08c379a0" + encode(["string"], ["no cluster"]).hex()
    assert answer == {
        "jsonrpc": "2.0",
        "id": 1,
        "error": {"code": 3, "message": "execution reverted", "data": data},
    }


def test_no_code_answers_empty_result(peer: ChainPeer, client: httpx.Client) -> None:
    assert eth_call(client, peer, A.no_code_sender, CLUSTER) == {
        "jsonrpc": "2.0",
        "id": 1,
        "result": "0x",
    }
    assert [r.outcome for r in peer.requests] == ["no-code"]
    peer.set_scenario(ChainScenario.standard().without_code(A.member_factory))
    answer = eth_call(client, peer, A.member_factory, with_arg(IS_OUR_MEMBER, A.factory_member))
    assert answer["result"] == "0x"


def test_get_code_follows_the_scenario(peer: ChainPeer, client: httpx.Client) -> None:
    empty = post(client, peer, request("eth_getCode", [hx(A.no_code_sender), "latest"]))
    deployed = post(client, peer, request("eth_getCode", [hx(A.cluster), "latest"]))
    assert empty["result"] == "0x"
    assert deployed["result"].startswith("0x") and len(deployed["result"]) > 2


@pytest.mark.parametrize(
    "data",
    [
        IS_OUR_MEMBER,  # no argument: Solidity's decoder reverts
        IS_OUR_MEMBER + "00" * 16,  # short argument
        IS_OUR_MEMBER + "01" + "00" * 11 + A.factory_member.hex(),  # dirty upper bits
        "0x12345678" + "00" * 32,  # unknown selector, no fallback
        "0x",  # no selector at all
    ],
)
def test_calls_solidity_rejects_revert_empty(
    peer: ChainPeer, client: httpx.Client, data: str
) -> None:
    answer = eth_call(client, peer, A.member_factory, data)
    assert answer["error"] == {"code": 3, "message": "execution reverted", "data": "0x"}


def test_view_on_the_wrong_contract_reverts(peer: ChainPeer, client: httpx.Client) -> None:
    answer = eth_call(client, peer, A.cluster_factory, with_arg(IS_OUR_MEMBER, A.factory_member))
    assert answer["error"]["code"] == 3


def test_set_scenario_changes_answers(peer: ChainPeer, client: httpx.Client) -> None:
    peer.set_scenario(ChainScenario.standard().with_allowed(A.cluster, A.stranger))
    assert eth_call(client, peer, A.cluster, with_arg(ALLOWED_APP_IDS, A.stranger))["result"] == (
        TRUE_WORD
    )
    peer.set_scenario(ChainScenario.standard().with_member(A.factory_member, False))
    answer = eth_call(client, peer, A.member_factory, with_arg(IS_OUR_MEMBER, A.factory_member))
    assert answer["result"] == FALSE_WORD


# -- node methods and JSON-RPC framing -------------------------------------------------------


def test_chain_id_block_number_net_version(peer: ChainPeer, client: httpx.Client) -> None:
    assert post(client, peer, request("eth_chainId", []))["result"] == "0x2105"
    assert post(client, peer, request("net_version", []))["result"] == "8453"
    assert post(client, peer, request("eth_blockNumber", []))["result"] == "0x1"
    peer.set_scenario(ChainScenario.standard(chain_id=84532))
    assert post(client, peer, request("eth_chainId", [], "x"))["result"] == "0x14a34"


@pytest.mark.parametrize(
    "block", ["latest", "pending", "safe", "finalized", "earliest", "0x10", {"blockNumber": "0x1"}]
)
def test_block_tags_accepted(peer: ChainPeer, client: httpx.Client, block: Any) -> None:
    answer = post(client, peer, call_request(A.factory_member, CLUSTER, block=block))
    assert "result" in answer


def test_block_tag_may_be_omitted_and_input_replaces_data(
    peer: ChainPeer, client: httpx.Client
) -> None:
    payload = request("eth_call", [{"to": hx(A.factory_member), "input": CLUSTER}])
    assert post(client, peer, payload)["result"].endswith(A.cluster.hex())


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (call_request(A.factory_member, CLUSTER, block="bogus"), -32602),
        (request("eth_call", [{"to": "0x11", "data": CLUSTER}, "latest"]), -32602),
        (request("eth_call", [{"to": hx(A.cluster), "data": "0x123"}, "latest"]), -32602),
        (request("eth_frobnicate", []), -32601),
        ({"id": 5}, -32600),
        ({"jsonrpc": "1.0", "id": 5, "method": "eth_chainId"}, -32600),
        ([], -32600),
    ],
)
def test_framing_errors(peer: ChainPeer, client: httpx.Client, payload: Any, code: int) -> None:
    assert post(client, peer, payload)["error"]["code"] == code


def test_non_json_body_is_a_parse_error(peer: ChainPeer, client: httpx.Client) -> None:
    response = client.post(peer.url, content=b"not json", headers={"content-type": "text/plain"})
    assert response.json()["error"]["code"] == -32700
    assert response.json()["id"] is None


def test_batch_answers_each_element(peer: ChainPeer, client: httpx.Client) -> None:
    payload = [
        call_request(A.member_factory, with_arg(IS_OUR_MEMBER, A.factory_member), 1),
        call_request(A.reverting_sender, CLUSTER, 2),
        request("eth_chainId", [], 3),
        {"jsonrpc": "2.0", "method": "eth_chainId", "params": []},  # notification: no answer
        7,  # not a request object
    ]
    answers = post(client, peer, payload)
    assert [a.get("id") for a in answers] == [1, 2, 3, None]
    assert answers[0]["result"] == TRUE_WORD
    assert answers[1]["error"]["code"] == 3
    assert answers[2]["result"] == "0x2105"
    assert answers[3]["error"]["code"] == -32600


# -- faults, seen by a real client -----------------------------------------------------------


def test_latency_delays_a_correct_answer(peer: ChainPeer, client: httpx.Client) -> None:
    peer.inject(FaultPlan.always(Fault.latency(0.3)))
    started = time.monotonic()
    assert eth_call(client, peer, A.factory_member, CLUSTER)["result"].endswith(A.cluster.hex())
    assert time.monotonic() - started >= 0.3


def test_timeout_makes_the_client_give_up(peer: ChainPeer) -> None:
    peer.inject(FaultPlan.always(Fault.timeout(hold=5.0)))
    started = time.monotonic()
    with httpx.Client(timeout=0.3) as c, pytest.raises(httpx.ReadTimeout):
        c.post(peer.url, json=call_request(A.factory_member, CLUSTER))
    assert time.monotonic() - started < 2.0


def test_connection_reset(peer: ChainPeer, client: httpx.Client) -> None:
    peer.inject(FaultPlan.always(Fault.connection_reset()))
    with pytest.raises(httpx.ReadError) as caught:
        client.post(peer.url, json=call_request(A.factory_member, CLUSTER))
    cause: BaseException | None = caught.value
    while cause is not None and not isinstance(cause, ConnectionResetError):
        cause = cause.__cause__ or cause.__context__
    assert isinstance(cause, ConnectionResetError)  # a TCP RST, not a plain close


@pytest.mark.parametrize("status", [500, 502, 503])
def test_http_5xx(peer: ChainPeer, client: httpx.Client, status: int) -> None:
    peer.inject(FaultPlan.always(Fault.http_5xx(status)))
    response = client.post(peer.url, json=call_request(A.factory_member, CLUSTER))
    assert response.status_code == status


def test_malformed_not_json(peer: ChainPeer, client: httpx.Client) -> None:
    peer.inject(FaultPlan.always(Fault.malformed(Malformation.NOT_JSON)))
    response = client.post(peer.url, json=call_request(A.factory_member, CLUSTER, id_=9))
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


@pytest.mark.parametrize(
    ("malformation", "check"),
    [
        (Malformation.NO_RESULT, lambda a: "result" not in a and "error" not in a and a["id"] == 9),
        (
            Malformation.WRONG_ID,
            lambda a: a["id"] != 9 and a["result"].endswith("c1" + "00" * 18 + "01"),
        ),
        (Malformation.BAD_RESULT, lambda a: a["id"] == 9 and not a["result"].startswith("0x")),
        (Malformation.NULL_RESULT, lambda a: a["id"] == 9 and a["result"] is None),
        (Malformation.NUMBER_RESULT, lambda a: a["id"] == 9 and a["result"] == 1),
        (Malformation.ODD_HEX, lambda a: a["result"].startswith("0x") and len(a["result"]) % 2),
        (Malformation.UNPREFIXED, lambda a: a["result"] == "00" * 12 + "c1" + "00" * 18 + "01"),
        (Malformation.NULL_ID, lambda a: a["id"] is None and a["result"].endswith("01")),
        (Malformation.ERROR_NOT_OBJECT, lambda a: "result" not in a and a["error"] == "execution "
         "failed"),
    ],
)
def test_malformed_answers(
    peer: ChainPeer, client: httpx.Client, malformation: Malformation, check: Any
) -> None:
    peer.inject(FaultPlan.always(Fault.malformed(malformation)))
    assert check(post(client, peer, call_request(A.factory_member, CLUSTER, id_=9)))


def test_fault_for_next_n_calls_only(peer: ChainPeer, client: httpx.Client) -> None:
    peer.inject(FaultPlan.next_calls(2, Fault.http_5xx(502)))
    statuses = [
        client.post(peer.url, json=request("eth_chainId", [])).status_code for _ in range(4)
    ]
    assert statuses == [502, 502, 200, 200]


def test_fault_by_selector_and_skip(peer: ChainPeer, client: httpx.Client) -> None:
    peer.inject(FaultPlan(Fault.http_5xx(503), selector="isDeployedCluster", skip=1))
    member = client.post(
        peer.url, json=call_request(A.member_factory, with_arg(IS_OUR_MEMBER, A.factory_member))
    )
    first = client.post(
        peer.url, json=call_request(A.cluster_factory, with_arg(IS_DEPLOYED_CLUSTER, A.cluster))
    )
    second = client.post(
        peer.url, json=call_request(A.cluster_factory, with_arg(IS_DEPLOYED_CLUSTER, A.cluster))
    )
    assert [member.status_code, first.status_code, second.status_code] == [200, 200, 503]


def test_fault_by_address(peer: ChainPeer, client: httpx.Client) -> None:
    peer.inject(FaultPlan.for_address(A.path_a_member, Fault.http_5xx(500)))
    assert client.post(peer.url, json=call_request(A.path_a_member, CLUSTER)).status_code == 500
    assert client.post(peer.url, json=call_request(A.factory_member, CLUSTER)).status_code == 200


def test_a_transport_fault_on_one_batch_element_fails_the_batch(
    peer: ChainPeer, client: httpx.Client
) -> None:
    peer.inject(FaultPlan.for_selector("cluster", Fault.http_5xx(503)))
    batch = [request("eth_chainId", [], 1), call_request(A.factory_member, CLUSTER, 2)]
    assert client.post(peer.url, json=batch).status_code == 503


def test_whole_chain_down_then_up(peer: ChainPeer, client: httpx.Client) -> None:
    with peer.down(Fault.http_5xx(503)):
        assert client.post(peer.url, json=request("eth_chainId", [])).status_code == 503
        assert client.post(peer.url, content=b"junk").status_code == 503
    with peer.down("refuse"), httpx.Client(timeout=1.0) as fresh_client:
        with pytest.raises(httpx.ConnectError):
            fresh_client.post(peer.url, json=request("eth_chainId", []))
        with pytest.raises(httpx.TransportError):  # the kept-alive connection is reset
            client.post(peer.url, json=request("eth_chainId", []))
    assert post(client, peer, request("eth_chainId", []))["result"] == "0x2105"


def test_fault_plan_validation() -> None:
    with pytest.raises(ValueError, match="isOurMember"):
        FaultPlan(Fault.connection_reset(), selector="isOurMembr")
    with pytest.raises(ValueError):
        Fault.http_5xx(404)
    with pytest.raises(ValueError):
        FaultPlan(Fault.latency(1), count=0)
    assert FaultPlan(Fault.latency(1), selector="0xD5455541").selector == IS_OUR_MEMBER


# -- the log and the life cycle --------------------------------------------------------------


def test_log_records_calls_with_selector_names(peer: ChainPeer, client: httpx.Client) -> None:
    before = time.time()
    eth_call(client, peer, A.member_factory, with_arg(IS_OUR_MEMBER, A.path_a_member))
    eth_call(client, peer, A.path_a_member, CLUSTER)
    peer.inject(FaultPlan.always(Fault.http_5xx(502)))
    client.post(peer.url, json=call_request(A.cluster, with_arg(ALLOWED_APP_IDS, A.path_a_member)))
    post_names = [(r.method, r.selector_name, r.outcome) for r in peer.requests]
    assert post_names == [
        ("eth_call", "isOurMember", "return"),
        ("eth_call", "cluster", "return"),
        ("eth_call", "allowedAppIds", "fault"),
    ]
    first, _, last = peer.requests
    assert first.to == A.member_factory and first.argument == A.path_a_member
    assert first.timestamp >= before and first.fault is None
    assert last.fault is not None and last.fault.kind is FaultKind.HTTP_5XX
    assert peer.calls("cluster", to=A.path_a_member)[0].argument is None
    assert len(peer.calls()) == 3 and peer.calls("isDeployedCluster") == []
    peer.clear_log()
    assert peer.requests == ()


def test_stop_releases_thread_and_port() -> None:
    before = {t.ident for t in threading.enumerate()}
    peer = ChainPeer(ChainScenario.standard(), max_hold=30.0).start()
    port = peer.port
    peer.inject(FaultPlan.always(Fault.timeout()))
    with httpx.Client(timeout=0.2) as c, pytest.raises(httpx.ReadTimeout):
        c.post(peer.url, json=request("eth_chainId", []))
    started = time.monotonic()
    peer.stop()
    peer.stop()  # idempotent
    assert time.monotonic() - started < 1.5  # the held connection was released
    assert {t.ident for t in threading.enumerate()} <= before
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen()
    with pytest.raises(RuntimeError):
        _ = peer.url


def test_scenario_is_plain_validated_data() -> None:
    with pytest.raises(ValueError):
        ChainScenario(chain_id=1, member_factory=b"\x01", cluster_factory=bytes(20))
    actors = Actors(member_factory=bytes.fromhex("11" * 20))
    scenario = ChainScenario.standard(chain_id=84532, actors=actors)
    assert scenario.member_factory == bytes.fromhex("11" * 20)
    assert scenario.has_code(A.cluster) and not scenario.has_code(A.no_code_sender)
    assert not scenario.without_code(A.cluster).has_code(A.cluster)
