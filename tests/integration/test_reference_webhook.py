"""The reference webhook over real HTTP (uvicorn in a thread) against the fake chain peer.

PROTOCOL.md §5. Expected answers come from PROTOCOL.md literals (selectors, reason strings,
the Pimlico golden vector) and independent computations (eth-abi calldata; HMAC keys derived
here with base58/base64/hmac, not with ``conformance.protocol.webhook_wire``).
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import base58
import eth_abi
import httpx
import pytest
import schemathesis
from eth_utils import to_checksum_address
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conformance.peers import ACTORS, ChainPeer, ChainScenario, Fault, FaultPlan, Malformation
from conformance.peers.kv import KvPeer
from conformance.profiles import load_profile
from conformance.reference.webhook import MUTANTS, OPENAPI_PATH, create_app, list_mutants
from conformance.reference.webhook.config import LAUNCH_VARIABLES, profile_environment
from conformance.reference.webhook.policy import Variant
from conformance.reference.webhook.server import start_in_thread

A = ACTORS
CHAIN_ID = 84532
TOKEN = "test-token-1"
SECRET = "pim_whsec_12oeWzGziAeWhm1Hpi4zvXDz54bzSMCBj3CeCb6rAPV"
LIVE57 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvxyz"
EXECUTE = "b61d27f6"
PUBLISH_WG_KEY = "4979ff72"  # CORE publishWgKey(bytes32)
ADD_ALLOWED_APP_ID = "64e985f8"  # never sponsorable
ADD_OPERATOR_SIGNER = "01249ef0"  # OPERATOR
PUBLISH_ED25519 = "cedc29c2"  # pimlico extra
EVENT = "user_operation.sponsorship.requested"


def hx(address: bytes) -> str:
    return "0x" + address.hex()


def execute(target: bytes = A.cluster, value: int = 0, selector: str = PUBLISH_WG_KEY) -> str:
    """Canonical execute(target, value, selector ‖ 32 zero bytes) calldata via eth-abi."""
    inner = bytes.fromhex(selector) + bytes(32)
    encoded = eth_abi.encode(["address", "uint256", "bytes"], [hx(target), value, inner])
    return "0x" + EXECUTE + encoded.hex()


def alchemy(sender: bytes = A.factory_member, call_data: str | None = None,
            chain_id: object = hex(CHAIN_ID), **extra: Any) -> dict[str, Any]:
    op = {"sender": hx(sender), "nonce": "0x0", "callData": call_data or execute()}
    body: dict[str, Any] = {"userOperation": op, "entryPoint":
                            "0x0000000071727De22E5E9d8BAf0edAc6f37da032", **extra}
    if chain_id is not None:
        body["chainId"] = chain_id
    return body


def pimlico_event(sender: bytes = A.factory_member, chain_id: object = CHAIN_ID,
                  nest: bool = True, call_data: str | None = None) -> bytes:
    payload = {"userOperation": {"sender": hx(sender), "callData": call_data or execute()},
               "chainId": chain_id, "sponsorshipPolicyId": "sp_test"}
    return json.dumps({"type": EVENT, "data": {"object": payload} if nest else payload}).encode()


def hmac_key(secret: str) -> bytes:
    """§5 live derivation, written here independently: base-57 → lower hex text → base64."""
    text = base58.b58decode(secret.removeprefix("pim_whsec_").encode(),
                            alphabet=LIVE57.encode()).hex()
    return base64.b64decode(text + "=" * (-len(text) % 4))


def signed(
    body: bytes, timestamp: int, msg_id: str = "msg_1", secret: str = SECRET
) -> dict[str, str]:
    mac = hmac.new(hmac_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": "v1," + base64.b64encode(mac.digest()).decode()}


class Webhook:
    """A started reference (or mutant) with a small client."""

    def __init__(self, url: str, clock: Callable[[], float] = time.time) -> None:
        self.url = url
        self.clock = clock
        self.http = httpx.Client(base_url=url, timeout=10)

    def post(self, body: Any, token: str | None = TOKEN) -> httpx.Response:
        params = {"token": token} if token is not None else {}
        return self.http.post("/", params=params, json=body)

    def verdict(self, body: Any, token: str | None = TOKEN) -> object:
        """``approved``, the denial reason, or the status code when not 200."""
        answer = self.post(body, token)
        if answer.status_code != 200:
            return answer.status_code
        data = answer.json()
        return "approved" if data == {"approved": True} else data["reason"]

    def pimlico(self, body: bytes, headers: dict[str, str] | None = None,
                timestamp: int | None = None) -> httpx.Response:
        stamp = int(self.clock()) if timestamp is None else timestamp
        sent = headers if headers is not None else signed(body, stamp)
        return self.http.post("/pimlico", content=body, headers=sent)


def base_env(chain: ChainPeer, generation: str, **overrides: str | None) -> dict[str, str]:
    env: dict[str, str | None] = {
        "RPC_URL": chain.url, "EXPECTED_CHAIN_ID": str(CHAIN_ID),
        "CANONICAL_CLUSTER_FACTORY": hx(A.cluster_factory),
        "CANONICAL_CLUSTER_FACTORY_V2": hx(A.cluster_factory_v2),
        "CANONICAL_MEMBER_FACTORY": hx(A.member_factory), "ALCHEMY_WEBHOOK_TOKEN": TOKEN,
        "PIMLICO_WEBHOOK_SECRET": SECRET, "WEBHOOK_GENERATION": generation,
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


@pytest.fixture(scope="module")
def chain() -> Iterator[ChainPeer]:
    with ChainPeer(ChainScenario.standard(chain_id=CHAIN_ID), max_hold=2.0) as peer:
        yield peer


@pytest.fixture(scope="module")
def kv() -> Iterator[KvPeer]:
    with KvPeer() as peer:
        yield peer


@pytest.fixture(autouse=True)
def fresh(chain: ChainPeer, kv: KvPeer) -> Iterator[None]:
    chain.set_scenario(ChainScenario.standard(chain_id=CHAIN_ID))
    chain.clear_faults()
    chain.clear_log()
    kv.clear()
    kv.set_down(False)
    yield
    chain.clear_faults()


@contextlib.contextmanager
def serving(chain: ChainPeer, generation: str = "pimlico", *, variant: Variant | None = None,
            clock: Callable[[], float] = time.time, extra: Mapping[str, str | None] | None = None,
            **env: str | None) -> Iterator[Webhook]:
    app = create_app(base_env(chain, generation, **{**env, **(extra or {})}), variant=variant,
                     clock=clock)
    server = start_in_thread(app)
    hook = Webhook(server.url, clock)
    try:
        yield hook
    finally:
        hook.http.close()
        server.stop(wait=False)  # uvicorn winds down in its daemon thread


def eth_calls(chain: ChainPeer) -> list[str | None]:
    return [r.selector_name for r in chain.calls()]


# --------------------------------------------------------------------------- routes


def test_unknown_methods_and_paths_are_404_json(chain: ChainPeer) -> None:
    with serving(chain) as hook:
        for method, path in [("GET", "/"), ("PUT", "/check"), ("GET", "/nope"),
                             ("DELETE", "/healthz"), ("GET", "/pimlico"), ("GET", "/check/")]:
            answer = hook.http.request(method, path)
            assert answer.status_code == 404, (method, path)
            assert answer.headers["content-type"] == "application/json"


@pytest.mark.parametrize("raw", [
    b"not json", b"\xff\xfe{}", b"[]", b'{"userOperation": 1}', b"[" * 100_000 + b"]" * 100_000,
    json.dumps(alchemy(chain_id=8453)).encode(), json.dumps(alchemy(chain_id="8453")).encode(),
    json.dumps({"userOperation": {"sender": "0x1234", "callData": "0x"}}).encode(),
    json.dumps({"userOperation": {"sender": hx(A.factory_member), "callData": "0x"}}).encode()[
        :-1] + b', "chainId": ' + b"9" * 5000 + b"}",
    b'{"pad": "' + b"a" * (2 << 20) + b'"}',
], ids=["text", "not-utf8", "array", "op-not-object", "deep", "chainid-number",
        "chainid-decimal", "short-sender", "huge-number-chainid", "two-mib"])
def test_malformed_alchemy_bodies_are_400(chain: ChainPeer, raw: bytes) -> None:
    with serving(chain) as hook:
        answer = hook.http.post("/", params={"token": TOKEN}, content=raw)
        assert (answer.status_code, answer.json()["error"]) == (400, "bad-request")


def test_every_policy_reason_once(chain: ChainPeer) -> None:
    dirty = execute()[:10] + "ff" * 12 + execute()[34:]
    cases = [
        (alchemy(), TOKEN, "approved"),
        (alchemy(sender=A.path_a_member), TOKEN, "approved"),
        (alchemy(sender=A.path_a_member_v2), TOKEN, "approved"),
        (alchemy(call_data=execute(selector=PUBLISH_ED25519)), TOKEN, "approved"),
        (alchemy(), "wrong", "bad-token"),
        (alchemy(), None, "bad-token"),
        (alchemy(chain_id="0x2105"), TOKEN, "chain-mismatch"),
        (alchemy(chain_id=None), TOKEN, "chain-mismatch"),
        (alchemy(chain_id="0x"), TOKEN, "chain-mismatch"),
        (alchemy(sender=A.stranger), TOKEN, "not-cluster-member"),
        (alchemy(sender=A.reverting_sender), TOKEN, "not-cluster-member"),
        (alchemy(sender=A.no_code_sender), TOKEN, "not-cluster-member"),
        (alchemy(call_data="0x34fcd5be" + execute()[10:]), TOKEN, "outer-selector-not-execute"),
        (alchemy(call_data=dirty), TOKEN, "outer-selector-not-execute"),
        (alchemy(call_data=execute() + "00"), TOKEN, "outer-selector-not-execute"),
        (alchemy(call_data=execute(value=1)), TOKEN, "value-nonzero"),
        (alchemy(call_data=execute(selector=ADD_ALLOWED_APP_ID)), TOKEN,
         "inner-selector-not-allowed"),
        (alchemy(call_data=execute(selector=EXECUTE)), TOKEN, "inner-selector-not-allowed"),
        (alchemy(call_data=execute(target=A.hostile_cluster)), TOKEN, "target-not-our-cluster"),
    ]
    with serving(chain) as hook:
        got = [hook.verdict(body, token) for body, token, _ in cases]
    assert got == [expected for _, _, expected in cases]


def test_upper_case_calldata_reads_the_same(chain: ChainPeer) -> None:
    with serving(chain) as hook:
        assert hook.verdict(alchemy(call_data="0x" + execute()[2:].upper())) == "approved"


def test_bad_token_makes_no_chain_call(chain: ChainPeer) -> None:
    with serving(chain) as hook:
        assert hook.verdict(alchemy(sender=A.stranger), token="nope") == "bad-token"
    assert eth_calls(chain) == []


def test_rpc_failure_is_a_denial_and_never_cached(chain: ChainPeer) -> None:
    with serving(chain) as hook:
        chain.set_down(Fault.http_5xx(502))
        assert hook.verdict(alchemy()) == "rpc-failure"
        chain.set_down(Fault.malformed())
        assert hook.verdict(alchemy()) == "rpc-failure"
        chain.set_down(None)
        assert hook.verdict(alchemy()) == "approved"
        chain.inject(FaultPlan.for_selector("isDeployedCluster", Fault.http_5xx(), count=1))
        assert hook.verdict(alchemy(call_data=execute(target=A.cluster_v2))) == "rpc-failure"


def test_provenance_order_and_hostile_cluster(chain: ChainPeer) -> None:
    with serving(chain, "pimlico") as hook:
        assert hook.verdict(alchemy()) == "approved"
        assert eth_calls(chain)[0] == "cluster"  # Path A first under pimlico
        chain.clear_log()
        assert hook.verdict(alchemy(sender=A.hostile_sender)) == "not-cluster-member"
        assert "allowedAppIds" not in eth_calls(chain)
    chain.clear_log()
    with serving(chain, "base") as hook:
        assert hook.verdict(alchemy()) == "approved"
        assert eth_calls(chain)[0] == "isOurMember"


def test_answers_are_cached_by_checksummed_address(chain: ChainPeer) -> None:
    with serving(chain) as hook:
        assert hook.verdict(alchemy(sender=A.stranger)) == "not-cluster-member"
        assert hook.verdict(alchemy()) == "approved"
        chain.clear_log()
        body = alchemy()
        body["userOperation"]["sender"] = "0x" + A.factory_member.hex().upper()
        assert hook.verdict(body) == "approved"
        assert hook.verdict(alchemy(sender=A.stranger)) == "not-cluster-member"
    assert eth_calls(chain) == []


def test_kv_cache_ttls_and_outage(chain: ChainPeer, kv: KvPeer) -> None:
    with serving(chain, CACHE_URL=kv.url, CACHE_TTL_SECONDS="3600",
                 MAX_DAILY_OPS_PER_SENDER="1") as hook:
        assert hook.verdict(alchemy(sender=A.stranger)) == "not-cluster-member"
        assert hook.verdict(alchemy()) == "approved"
        ttls = {k: round(left) for k, (_, left) in kv.entries().items()}
        member, stranger = (to_checksum_address(hx(a)) for a in (A.factory_member, A.stranger))
        assert ttls[f"{CHAIN_ID}:isOurMember:{member}"] == 3600
        assert ttls[f"{CHAIN_ID}:isOurMember:{stranger}"] == 600
        assert hook.verdict(alchemy()) == "sender-daily-cap"
        with kv.down():
            assert hook.verdict(alchemy()) == "approved"  # outage: chain direct, cap fails open


def test_daily_cap_counts_approvals_only(chain: ChainPeer) -> None:
    with serving(chain, MAX_DAILY_OPS_PER_SENDER="2") as hook:
        assert hook.verdict(alchemy(call_data=execute(value=1))) == "value-nonzero"
        assert hook.verdict(alchemy()) == "approved"
        hook.pimlico(pimlico_event())  # the other route shares the cap
        assert hook.verdict(alchemy()) == "sender-daily-cap"
        assert hook.verdict(alchemy(sender=A.path_a_member)) == "approved"
    with serving(chain, "base", MAX_DAILY_OPS_PER_SENDER="1") as hook:
        assert [hook.verdict(alchemy()) for _ in range(3)] == ["approved"] * 3


def test_operator_gate_of_multi_attestor(chain: ChainPeer) -> None:
    body = alchemy(call_data=execute(selector=ADD_OPERATOR_SIGNER))
    for gate, expected in [("true", "approved"), ("True", "inner-selector-not-allowed"),
                           ("false", "inner-selector-not-allowed")]:
        with serving(chain, "multi-attestor", SPONSOR_OPERATOR_METHOD=gate) as hook:
            assert hook.verdict(body) == expected, gate
            assert hook.verdict(alchemy(call_data=execute(selector=PUBLISH_ED25519))) == (
                "inner-selector-not-allowed")


def test_pimlico_route(chain: ChainPeer) -> None:
    now = int(time.time())
    with serving(chain, clock=lambda: float(now)) as hook:
        assert hook.pimlico(pimlico_event()).json() == {"sponsor": True}
        assert hook.pimlico(pimlico_event(chain_id="84532", nest=False)).json() == {
            "sponsor": True}
        assert hook.pimlico(pimlico_event(chain_id=hex(CHAIN_ID))).json() == {"sponsor": True}
        assert hook.pimlico(pimlico_event(sender=A.stranger)).json() == {"sponsor": False}
        foreign = json.dumps({"type": "other.event"}).encode()
        for body in (foreign, b"not json"):
            answer = hook.pimlico(body)
            assert (answer.status_code, answer.json()) == (200, {"sponsor": False})
        body = pimlico_event()
        two = signed(body, now)
        two["webhook-signature"] = "v1,AAAA v1a," + two["webhook-signature"][3:] + " " + (
            two["webhook-signature"])
        assert hook.pimlico(body, headers=two).json() == {"sponsor": True}
        for headers in ({}, signed(body, now - 301), signed(body, now + 301),
                        signed(body, now, secret=SECRET[:-1] + "W"),
                        {**signed(body, now), "webhook-signature": "v1a,xyz"}):
            answer = hook.pimlico(body, headers=headers)
            assert (answer.status_code, answer.json()) == (401, {"error": "unauthorized"})
    with serving(chain, PIMLICO_WEBHOOK_SECRET="") as hook:
        assert hook.pimlico(pimlico_event()).status_code == 503
    for generation in ("base", "multi-attestor"):
        with serving(chain, generation) as hook:
            assert hook.pimlico(pimlico_event()).status_code == 404


def test_pimlico_golden_vector_is_accepted(chain: ChainPeer) -> None:
    body = b'{"type":"user_operation.sponsorship.requested"}'
    headers = {"webhook-id": "msg_test", "webhook-timestamp": "1783379000",
               "webhook-signature": "v1,FegSBwAL3Dulyu7SFiGvw1GCj7N+us7vJohmBsP9cxY="}
    assert signed(body, 1783379000, "msg_test") == headers  # the test's own derivation
    with serving(chain, clock=lambda: 1783379000.0) as hook:
        answer = hook.pimlico(body, headers=headers)
        assert (answer.status_code, answer.json()) == (200, {"sponsor": False})  # no payload
        wrong = {**headers, "webhook-signature": headers["webhook-signature"].replace("F", "G", 1)}
        assert hook.pimlico(body, headers=wrong).status_code == 401


def test_check_and_healthz(chain: ChainPeer) -> None:
    with serving(chain) as hook:
        assert hook.http.get("/check", params={"cluster": hx(A.cluster)}).json() == {
            "deployed": True, "sponsored": True}
        assert hook.http.get("/check", params={"cluster": hx(A.cluster_v2)}).json() == {
            "deployed": True, "sponsored": True}
        assert hook.http.get("/check", params={"cluster": hx(A.stranger)}).json() == {
            "deployed": False, "sponsored": False}
        for params in ({}, {"cluster": "0x1234"}, {"cluster": "zz" * 21}):
            assert hook.http.get("/check", params=params).status_code == 400
        assert hook.http.get("/healthz").json() == {"ok": True}
        with chain.down():
            assert hook.http.get("/check", params={"cluster": hx(A.hostile_cluster)}
                                 ).status_code == 503
            answer = hook.http.get("/healthz")
            assert (answer.status_code, answer.json()) == (503, {"ok": False})


@pytest.mark.parametrize("change", [
    {"EXPECTED_CHAIN_ID": None}, {"RPC_URL": ""}, {"CANONICAL_MEMBER_FACTORY": "0x12"},
    {"ALCHEMY_WEBHOOK_TOKEN": None}, {"CACHE_TTL_SECONDS": "59"},
    {"MAX_DAILY_OPS_PER_SENDER": "-1"}, {"PIMLICO_WEBHOOK_SECRET": "pim_whsec_0OIl"},
    {"AMC_MUTANT": "no-such-mutant"},
])
def test_misconfiguration_answers_500_everywhere(chain: ChainPeer,
                                                 change: dict[str, str | None]) -> None:
    with serving(chain, extra=change) as hook:
        for method, path in [("POST", "/"), ("GET", "/healthz"), ("GET", "/check"),
                             ("POST", "/pimlico"), ("GET", "/nope")]:
            answer = hook.http.request(method, path)
            assert (answer.status_code, answer.json()) == (500, {"error": "server-misconfigured"})


# --------------------------------------------------------------------------- mutants


@dataclass(frozen=True)
class Probe:
    """A concrete request (or short sequence) on which a mutant and the reference differ."""

    generation: str
    run: Callable[[Webhook, ChainPeer, KvPeer], object]
    reference: object
    mutant: object
    env: tuple[tuple[str, str], ...] = ()


def _two(first: Callable[[], object], between: Callable[[], None],
         second: Callable[[], object]) -> tuple[object, object]:
    a = first()
    between()
    return a, second()


def _calls_after(hook: Webhook, chain: ChainPeer, body: Any, token: str = TOKEN) -> bool:
    chain.clear_log()
    hook.verdict(body, token)
    return bool(eth_calls(chain))


def _down(chain: ChainPeer, action: Callable[[], object]) -> object:
    with chain.down(Fault.http_5xx()):
        return action()


def _kv_down(kv: KvPeer, action: Callable[[], object]) -> object:
    with kv.down():
        return action()


def _status(answer: httpx.Response) -> object:
    return answer.status_code, answer.json() if answer.status_code != 418 else answer.text


PROBES: dict[str, Probe] = {
    "skip-chain-check": Probe("pimlico", lambda h, c, k: h.verdict(alchemy(chain_id="0x2105")),
                              "chain-mismatch", "approved"),
    "decimal-chainid-accepted": Probe("pimlico", lambda h, c, k: h.verdict(
        alchemy(chain_id=str(CHAIN_ID))), 400, "approved"),
    "non-address-sender-500": Probe("pimlico", lambda h, c, k: h.http.post(
        "/", params={"token": TOKEN}, json={"userOperation": {"sender": "0x12", "callData": "0x"}}
    ).status_code, 400, 500),
    "rpc-failure-approves": Probe("pimlico", lambda h, c, k: _down(
        c, lambda: h.verdict(alchemy())), "rpc-failure", "approved"),
    "transport-failure-cached": Probe("pimlico", lambda h, c, k: _two(
        lambda: h.verdict(alchemy()), c.clear_faults, lambda: h.verdict(alchemy())),
        ("rpc-failure", "approved"), ("rpc-failure", "not-cluster-member")),
    "target-fault-cached": Probe("base", lambda h, c, k: _two(
        lambda: h.verdict(alchemy()), c.clear_faults, lambda: h.verdict(alchemy())),
        ("rpc-failure", "approved"), ("rpc-failure", "target-not-our-cluster")),
    "revert-is-rpc-failure": Probe("pimlico", lambda h, c, k: h.verdict(
        alchemy(sender=A.reverting_sender)), "not-cluster-member", "rpc-failure"),
    "negative-not-cached": Probe("pimlico", lambda h, c, k: (
        h.verdict(alchemy(sender=A.stranger)), _calls_after(h, c, alchemy(sender=A.stranger))),
        ("not-cluster-member", False), ("not-cluster-member", True)),
    "cache-outage-denies": Probe("pimlico", lambda h, c, k: _kv_down(
        k, lambda: h.verdict(alchemy())), "approved", "rpc-failure", (("KV", "1"),)),
    "execute-allowed-as-inner": Probe("pimlico", lambda h, c, k: h.verdict(
        alchemy(call_data=execute(selector=EXECUTE))), "inner-selector-not-allowed", "approved"),
    "operator-selectors-everywhere": Probe("base", lambda h, c, k: h.verdict(
        alchemy(call_data=execute(selector=ADD_OPERATOR_SIGNER))),
        "inner-selector-not-allowed", "approved"),
    "operator-gate-ignored": Probe("multi-attestor", lambda h, c, k: h.verdict(
        alchemy(call_data=execute(selector=ADD_OPERATOR_SIGNER))),
        "inner-selector-not-allowed", "approved"),
    "value-check-off": Probe("pimlico", lambda h, c, k: h.verdict(
        alchemy(call_data=execute(value=1))), "value-nonzero", "approved"),
    "case-sensitive-selector": Probe("pimlico", lambda h, c, k: h.verdict(
        alchemy(call_data="0x" + execute()[2:].upper())), "approved",
        "inner-selector-not-allowed"),
    "lenient-decoder-dirty-address": Probe("pimlico", lambda h, c, k: h.verdict(
        alchemy(call_data=execute()[:10] + "ee" * 12 + execute()[34:])),
        "outer-selector-not-execute", "approved"),
    "hostile-cluster-trusted": Probe("pimlico", lambda h, c, k: h.verdict(
        alchemy(sender=A.hostile_sender)), "not-cluster-member", "approved"),
    "member-first-under-pimlico": Probe("pimlico", lambda h, c, k: (
        h.verdict(alchemy()), eth_calls(c)[0]), ("approved", "cluster"),
        ("approved", "isOurMember")),
    "v2-factory-ignored": Probe("multi-attestor", lambda h, c, k: h.verdict(
        alchemy(call_data=execute(target=A.cluster_v2))), "approved", "target-not-our-cluster"),
    "cap-counts-denials": Probe("pimlico", lambda h, c, k: (
        h.verdict(alchemy(call_data=execute(value=1))), h.verdict(alchemy())),
        ("value-nonzero", "approved"), ("value-nonzero", "sender-daily-cap"),
        (("MAX_DAILY_OPS_PER_SENDER", "1"),)),
    "chain-call-before-token": Probe("pimlico", lambda h, c, k: _calls_after(
        h, c, alchemy(), token="wrong"), False, True),
    "plain-base64-pimlico-key": Probe("pimlico", lambda h, c, k: _status(
        h.pimlico(pimlico_event())), (200, {"sponsor": True}), (401, {"error": "unauthorized"})),
    "timestamp-window-unchecked": Probe("pimlico", lambda h, c, k: h.pimlico(
        pimlico_event(), timestamp=int(time.time()) - 3600).status_code, 401, 200),
    "malformed-pimlico-event-4xx": Probe("pimlico", lambda h, c, k: h.pimlico(
        b"{not json").status_code, 200, 400),
    "pimlico-route-everywhere": Probe("base", lambda h, c, k: h.pimlico(
        pimlico_event()).status_code, 404, 200),
    "check-sponsored-differs": Probe("pimlico", lambda h, c, k: h.http.get(
        "/check", params={"cluster": hx(A.cluster)}).json(),
        {"deployed": True, "sponsored": True}, {"deployed": True, "sponsored": False}),
    "healthz-always-ok": Probe("pimlico", lambda h, c, k: _down(
        c, lambda: h.http.get("/healthz").status_code), 503, 200),
    "undocumented-status": Probe("pimlico", lambda h, c, k: _status(h.post(
        alchemy(entryPoint="0x" + "ee" * 20))), (200, {"approved": True}), (418, "I'm a teapot")),
    "empty-token-disables-auth": Probe("pimlico", lambda h, c, k: _status(h.post(alchemy())),
        (500, {"error": "server-misconfigured"}), (200, {"approved": True}),
        (("ALCHEMY_WEBHOOK_TOKEN", ""),)),
    "cap-never-resets": Probe("pimlico", lambda h, c, k: (h.verdict(alchemy()), any(
        _utc_today() in key for key in k.entries())), ("approved", True), ("approved", False),
        (("MAX_DAILY_OPS_PER_SENDER", "1"), ("KV", "1"))),
    "ttl-setting-ignored": Probe("pimlico", lambda h, c, k: _two(
        lambda: h.verdict(alchemy()), lambda: k.advance(100),
        lambda: _calls_after(h, c, alchemy())),
        ("approved", True), ("approved", False), (("CACHE_TTL_SECONDS", "90"), ("KV", "1"))),
    "negative-ttl-is-positive-ttl": Probe("pimlico", lambda h, c, k: _two(
        lambda: h.verdict(alchemy(sender=A.stranger)), lambda: k.advance(620),
        lambda: _calls_after(h, c, alchemy(sender=A.stranger))),
        ("not-cluster-member", True), ("not-cluster-member", False),
        (("CACHE_TTL_SECONDS", "3600"), ("KV", "1"))),
}


def _form_signed(body: bytes, text: str, msg_id: str = "msg_form") -> dict[str, str]:
    """Signed with ``webhook-timestamp`` written as ``text`` and the MAC over that text."""
    mac = hmac.new(hmac_key(SECRET), f"{msg_id}.{text}.".encode() + body, hashlib.sha256)
    return {"webhook-id": msg_id, "webhook-timestamp": text,
            "webhook-signature": "v1," + base64.b64encode(mac.digest()).decode()}


def _replayed(h: Webhook) -> tuple[object, object]:
    """One capture sent twice under a cap of 1: the second answer."""
    body = pimlico_event()
    headers = signed(body, int(time.time()), msg_id="msg_capture")
    return h.pimlico(body, headers).json(), h.pimlico(body, headers).json()


PROBES.update({
    "timestamp-int-base0": Probe("pimlico", lambda h, c, k: h.pimlico(
        pimlico_event(), _form_signed(pimlico_event(), hex(int(time.time())))).status_code,
        401, 200),
    "timestamp-float": Probe("pimlico", lambda h, c, k: h.pimlico(
        pimlico_event(), _form_signed(pimlico_event(), f"{int(time.time())}.0")).status_code,
        401, 200),
    "replay-counted-twice": Probe("pimlico", lambda h, c, k: _replayed(h),
        ({"sponsor": True}, {"sponsor": True}), ({"sponsor": True}, {"sponsor": False}),
        (("MAX_DAILY_OPS_PER_SENDER", "1"),)),
    "mac-prefix-in-401": Probe("pimlico", lambda h, c, k: "expected" in h.pimlico(
        pimlico_event(), {**signed(pimlico_event(), int(time.time())),
                          "webhook-signature": "v1,AAAA"}).json(), False, True),
    "hidden-debug-route": Probe("pimlico", lambda h, c, k: h.http.get("/debug").status_code,
                                404, 200),
    "hidden-status-route": Probe("base", lambda h, c, k: h.http.get("/status").status_code,
                                 404, 200),
    "cluster-fault-cached": Probe("pimlico", lambda h, c, k: _two(
        lambda: h.verdict(alchemy(sender=A.path_a_member)), c.clear_faults,
        lambda: h.verdict(alchemy(sender=A.path_a_member))),
        ("rpc-failure", "approved"), ("rpc-failure", "not-cluster-member")),
})


def _utc_today() -> str:
    return datetime.datetime.now(datetime.UTC).date().isoformat()


def _probe_env(probe: Probe, kv: KvPeer) -> dict[str, str]:
    env = dict(probe.env)
    if env.pop("KV", None):
        env["CACHE_URL"] = kv.url
    return env


def _arm(name: str, chain: ChainPeer) -> None:
    if name == "transport-failure-cached":
        chain.inject(FaultPlan.for_selector("isOurMember", Fault.http_5xx(), count=1))
    if name == "cluster-fault-cached":  # a malformed answer to Path A's first read
        chain.inject(FaultPlan.for_selector("cluster", Fault.malformed(Malformation.NULL_RESULT),
                                            count=1))
    if name == "target-fault-cached":  # base asks isOurMember first: only step 7 faults
        chain.inject(FaultPlan.for_selector("isDeployedCluster", Fault.http_5xx()))


def test_every_mutant_has_a_probe_and_a_valid_listing() -> None:
    assert set(PROBES) == set(MUTANTS)
    assert len(MUTANTS) >= 15
    for entry in list_mutants():
        assert set(entry) >= {"name", "breaks", "description"}
        assert entry["breaks"] and all(b.startswith("WH-") for b in entry["breaks"])
    json.dumps(list_mutants())


@pytest.mark.parametrize("name", sorted(PROBES))
def test_mutant_differs_from_reference(name: str, chain: ChainPeer, kv: KvPeer) -> None:
    probe = PROBES[name]
    seen = []
    for variant in (None, MUTANTS[name].variant):
        chain.clear_faults()
        chain.clear_log()
        kv.clear()
        kv.set_down(False)
        _arm(name, chain)
        with serving(chain, probe.generation, variant=variant, extra=_probe_env(probe, kv)) as hook:
            seen.append(probe.run(hook, chain, kv))
    assert seen == [probe.reference, probe.mutant]


# --------------------------------------------------------------------------- OpenAPI


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def _schemathesis_failures(url: str) -> list[str]:
    """Run the OpenAPI checks on explicit cases and a few generated ones per operation."""
    schema = schemathesis.openapi.from_path(str(OPENAPI_PATH))
    failures: list[str] = []
    explicit = [
        schema["/"]["POST"].Case(query={"token": TOKEN}, body=alchemy()),
        schema["/"]["POST"].Case(query={"token": "x"}, body=alchemy(sender=A.stranger)),
        schema["/check"]["GET"].Case(query={"cluster": hx(A.cluster)}),
        schema["/check"]["GET"].Case(query={"cluster": "nope"}),
        schema["/healthz"]["GET"].Case(),
    ]
    for case in explicit:
        try:
            case.call_and_validate(base_url=url, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{case.method} {case.path}: {type(exc).__name__}")
    for path, method in (("/", "POST"), ("/pimlico", "POST"), ("/check", "GET")):

        @given(case=schema[path][method].as_strategy())
        @settings(max_examples=10, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def generated(case: Any) -> None:
            case.call_and_validate(base_url=url, checks=CHECKS)

        try:
            generated()
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{method} {path} (generated): {type(exc).__name__}")
    return failures


def test_openapi_document_holds_for_the_reference_and_catches_the_mutant(
    chain: ChainPeer,
) -> None:
    with serving(chain) as hook:
        assert _schemathesis_failures(hook.url) == []
    with serving(chain, variant=MUTANTS["undocumented-status"].variant) as hook:
        assert any(f.startswith("POST /") for f in _schemathesis_failures(hook.url))


# --------------------------------------------------------------------------- amc serve


def test_amc_serve_webhook_subprocess(chain: ChainPeer) -> None:
    secret_token = "s3cret-token-value"
    env = {k: v for k, v in os.environ.items() if k not in LAUNCH_VARIABLES + ("PORT", "HOST")}
    env.update(RPC_URL=chain.url, ALCHEMY_WEBHOOK_TOKEN=secret_token)
    command = [sys.executable, "-m", "conformance.cli", "serve", "webhook", "--profile",
               "pimlico", "--port", "0"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:"), line
        url = line.removeprefix("listening on ")
        answer = httpx.get(url + "/healthz", timeout=5)
        assert (answer.status_code, answer.json()) == (200, {"ok": True})
        assert httpx.get(url + "/nope", timeout=5).status_code == 404
    finally:
        process.terminate()
        out, err = process.communicate(timeout=10)
    assert secret_token not in out + err


def test_amc_serve_rejects_bad_input() -> None:
    command = [sys.executable, "-m", "conformance.cli", "serve", "webhook", "--mutant", "nope"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "nope" in done.stderr


def test_profile_environment_fills_in_or_defers_to_a_launcher() -> None:
    profile = load_profile("multi-attestor")
    mine = profile_environment(profile, {"RPC_URL": "http://x", "ALCHEMY_WEBHOOK_TOKEN": "t",
                                         "MAX_DAILY_OPS_PER_SENDER": "7"})
    assert mine["EXPECTED_CHAIN_ID"] == "84532"
    assert mine["CANONICAL_CLUSTER_FACTORY_V2"] == "0x00000000000000000000000000000000000000c2"
    assert mine["WEBHOOK_GENERATION"] == "multi-attestor"
    assert (mine["MAX_DAILY_OPS_PER_SENDER"], mine["ALCHEMY_WEBHOOK_TOKEN"]) == ("7", "t")
    assert "PIMLICO_WEBHOOK_SECRET" not in mine
    launcher = profile_environment(profile, {"RPC_URL": "http://x", "EXPECTED_CHAIN_ID": "1"})
    assert launcher == {"RPC_URL": "http://x", "EXPECTED_CHAIN_ID": "1",
                        "WEBHOOK_GENERATION": "multi-attestor",
                        "PIMLICO_KEY_DERIVATION": "live-base57"}


def test_kv_peer_protocol(kv: KvPeer) -> None:
    with httpx.Client(base_url=kv.url, timeout=5) as http:
        assert http.get("/kv/a%3Ab").status_code == 404
        assert http.put("/kv/a%3Ab", json={"value": "v", "ttl": 10}).json() == {"ok": True}
        assert http.get("/kv/a%3Ab").json() == {"value": "v"}
        assert [http.post("/incr/n", json={"ttl": 5}).json()["value"] for _ in range(2)] == [1, 2]
        assert http.put("/kv/x", json={"value": "v"}).status_code == 400
        kv.advance(11)
        assert http.get("/kv/a%3Ab").status_code == 404
        assert http.post("/incr/n", json={"ttl": 5}).json() == {"value": 1}
        with kv.down():
            assert http.get("/kv/n").status_code == 503
    assert [r.operation for r in kv.requests][:2] == ["kv", "kv"]
