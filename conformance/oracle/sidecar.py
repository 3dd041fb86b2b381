"""What a conforming sidecar's transcript looks like (PROTOCOL.md §7): the expected reading of a
recorded run, as pure functions over its exchanges (plain JSON dicts, ``Exchange.as_json``).

A judge returns ``None`` when the rule held, or a ``Finding`` (the message and the exchanges
that show it: the reproducer). ``NotJudged`` says the run never reached the rule's
precondition (no sponsorship request, no submission …): the check reports ERROR, never PASS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from conformance.protocol.calldata import DecodeError, decode_execute_strict, encode_execute
from conformance.protocol.hexutil import parse_data
from conformance.protocol.signatures import (
    SignatureClass,
    classify_signature,
    recover_eip191,
)
from conformance.protocol.userop import UserOperation, from_json, user_op_hash

Exchange = dict[str, Any]
NONCE_SELECTOR = "0x35567e1a"
SPONSOR_METHODS = frozenset({"alchemy_requestGasAndPaymasterAndData", "pm_sponsorUserOperation"})
GAS_PRICE = "pimlico_getUserOperationGasPrice"
SEND = "eth_sendUserOperation"
RECEIPT = "eth_getUserOperationReceipt"
FAILED_FAULTS = ("reset", "timeout", "truncated")
"""Wire faults after which the sidecar saw no answer (latency still answers)."""


class NotJudged(Exception):
    """The run did not reach this rule's precondition."""


@dataclass(frozen=True)
class Finding:
    """A broken rule: what happened and the exchanges that show it."""

    message: str
    evidence: tuple[Exchange, ...] = ()


@dataclass(frozen=True)
class RunView:
    """One recorded run as the judges read it (addresses as lower-case ``0x`` hex)."""

    transcript: tuple[Exchange, ...]
    member: str
    owner: str
    cluster: str
    chain_id: int
    entry_point: str
    dialect: str
    policy_id: str
    allowlist: frozenset[bytes]
    initial: float
    cap: float
    window: float
    max_requests: int
    registered: bool = False
    chain_owner: str = ""
    balance: int = 0
    expect_registration: bool = True
    wg_on_chain_equal: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def calls(self, *methods: str) -> list[Exchange]:
        """The sidecar's exchanges of ``methods`` (all when none), in order."""
        return [e for e in self.transcript if e["peer"] != "webhook"
                and (not methods or e["method"] in methods)]


# -- reading exchanges ---------------------------------------------------------------------------


def failed(e: Exchange) -> bool:
    """Whether the sidecar got no usable answer (a JSON-RPC error or a dropped connection)."""
    return "error" in e or any(str(e.get("fault", "")).startswith(f) for f in FAILED_FAULTS)


def is_nonce_read(e: Exchange) -> bool:
    """An eth_call of EntryPoint.getNonce (selector 0x35567e1a), to any peer."""
    if e["method"] != "eth_call" or not e["params"] or not isinstance(e["params"][0], dict):
        return False
    return str(e["params"][0].get("data", "")).lower().startswith(NONCE_SELECTOR)


def sponsored_op(e: Exchange) -> dict[str, Any]:
    """The (partial) op a sponsorship request carries."""
    params = e["params"]
    if e["method"] == "pm_sponsorUserOperation":
        return dict(params[0]) if params and isinstance(params[0], dict) else {}
    request = params[0] if params and isinstance(params[0], dict) else {}
    op = request.get("userOperation")
    return dict(op) if isinstance(op, dict) else {}


def submitted_op(e: Exchange) -> UserOperation | None:
    """The op of an eth_sendUserOperation, or None when it does not parse."""
    try:
        return from_json(e["params"][0])
    except (ValueError, IndexError, KeyError, TypeError):
        return None


def inner_selector(op: UserOperation, cluster: str) -> bytes | None:
    """The inner selector of a canonical execute(cluster, 0, inner), else None."""
    try:
        call = decode_execute_strict(op.call_data)
    except DecodeError:
        return None
    if "0x" + call.target.hex() != cluster or call.value != 0:
        return None
    return call.data[:4]


def op_signer(op: UserOperation, view: RunView) -> str | None:
    """Who signed ``op`` (EIP-191 over its userOpHash under the run's chain and EntryPoint)."""
    digest = user_op_hash(op, parse_data(view.entry_point), view.chain_id)
    signer = recover_eip191(digest, op.signature)
    return None if signer is None else "0x" + signer.hex()


def evidence(items: Iterable[Exchange], limit: int = 24) -> tuple[Exchange, ...]:
    """At most ``limit`` exchanges, the last ones kept."""
    found = list(items)
    return tuple(found[-limit:])


def require(items: list[Any], what: str) -> list[Any]:
    if not items:
        raise NotJudged(f"the sidecar made no {what} in this run")
    return items


# -- step 1: the nonce -------------------------------------------------------------------------


def judge_nonce_source(view: RunView) -> Finding | None:
    """SC-001: getNonce goes to the node RPC; never the bundler, never eth_getTransactionCount."""
    reads = view.calls("eth_call", "eth_getTransactionCount")
    to_bundler = [e for e in reads if is_nonce_read(e) and e["peer"] != "node"]
    if to_bundler:
        return Finding("getNonce was sent to the bundler endpoint, not the node RPC",
                       evidence(to_bundler))
    counts = [e for e in reads if e["method"] == "eth_getTransactionCount"]
    sponsor = view.calls(*SPONSOR_METHODS)
    require([e for e in reads if is_nonce_read(e)] + counts + sponsor, "nonce read")
    if counts:
        return Finding("the nonce was read with eth_getTransactionCount (an EOA count, not the "
                       "EntryPoint nonce)", evidence(counts))
    if sponsor and not any(is_nonce_read(e) for e in reads):
        return Finding("operations were sponsored without any getNonce read", evidence(sponsor))
    return None


def judge_nonce_call(view: RunView) -> Finding | None:
    """SC-002: getNonce(sender, key 0) at the block tag latest."""
    reads = require([e for e in view.calls("eth_call") if is_nonce_read(e)], "getNonce read")
    word = view.member[2:].rjust(64, "0")
    expected = NONCE_SELECTOR + word + "0" * 64
    for e in reads:
        data = str(e["params"][0].get("data", "")).lower()
        tag = e["params"][1] if len(e["params"]) > 1 else None
        if data != expected:
            return Finding(f"getNonce data {data} is not getNonce(member, 0)", (e,))
        if tag != "latest":
            return Finding(f"getNonce read at block tag {tag!r}, not 'latest'", (e,))
    return None


def _attempt_windows(view: RunView) -> list[tuple[Exchange, list[Exchange]]]:
    """Each sponsorship request with the sidecar's calls since the previous one."""
    windows: list[tuple[Exchange, list[Exchange]]] = []
    since: list[Exchange] = []
    for e in view.calls():
        if e["method"] in SPONSOR_METHODS:
            windows.append((e, since))
            since = []
        else:
            since.append(e)
    return windows


def judge_nonce_fresh(view: RunView) -> Finding | None:
    """SC-003: every attempt reads the nonce afresh and uses the value read."""
    windows = require(_attempt_windows(view), "sponsorship request")
    for request, before in windows:
        reads = [e for e in before if is_nonce_read(e) and not failed(e)]
        if not reads:
            return Finding("a sponsorship request without a fresh getNonce read since the "
                           "previous attempt (a cached or invented nonce)",
                           evidence([*before, request]))
        read = int(str(reads[-1]["result"]), 16)
        used = sponsored_op(request).get("nonce")
        if used is None or int(str(used), 16) != read:
            return Finding(f"the attempt used nonce {used} but getNonce answered {read}",
                           evidence([reads[-1], request]))
    return None


def judge_nonce_failure(view: RunView) -> Finding | None:
    """SC-004: after a failed nonce read the attempt ends; no default nonce follows."""
    bad = [e for e in view.calls("eth_call") if is_nonce_read(e) and failed(e)]
    require(bad, "failed getNonce read (the scenario's fault was never hit)")
    calls = view.calls()
    for e in bad:
        after = calls[calls.index(e) + 1:]
        for nxt in after:
            if is_nonce_read(nxt) and not failed(nxt):
                break
            if nxt["method"] in SPONSOR_METHODS or nxt["method"] == SEND:
                return Finding("after a failed getNonce read the sidecar went on with the "
                               "attempt (a default nonce)", evidence([e, nxt]))
    if not view.registered:
        raise NotJudged("the sidecar never completed its registration after the failed reads")
    return None


# -- step 2: sponsorship --------------------------------------------------------------------------


def judge_dialect(view: RunView) -> Finding | None:
    """SC-005: Pimlico methods when BUNDLER_URL contains pimlico.io, Alchemy otherwise."""
    sponsor = require(view.calls(*SPONSOR_METHODS, GAS_PRICE), "sponsorship request")
    wrong = [e for e in sponsor if (e["method"].startswith("alchemy_")) != (
        view.dialect == "alchemy")]
    if wrong:
        return Finding(f"the {view.dialect} dialect was due but the sidecar called "
                       f"{wrong[0]['method']}", evidence(wrong))
    return None


def judge_alchemy_request(view: RunView) -> Finding | None:
    """SC-006: one request object: policyId, entryPoint, dummySignature, userOperation of
    sender, nonce, callData and the dummy signature."""
    requests = require(view.calls("alchemy_requestGasAndPaymasterAndData"), "Alchemy request")
    for e in requests:
        params = e["params"]
        body = params[0] if len(params) == 1 and isinstance(params[0], dict) else None
        if body is None:
            return Finding("params is not one request object", (e,))
        missing = [k for k in ("policyId", "entryPoint", "dummySignature", "userOperation")
                   if k not in body]
        if missing:
            return Finding(f"request lacks {', '.join(missing)}", (e,))
        op = body["userOperation"] if isinstance(body["userOperation"], dict) else {}
        lacking = [k for k in ("sender", "nonce", "callData", "signature") if k not in op]
        if lacking:
            return Finding(f"userOperation lacks {', '.join(lacking)}", (e,))
        if body["policyId"] != view.policy_id:
            return Finding(f"policyId {body['policyId']!r} is not GAS_POLICY_ID", (e,))
        if str(body["entryPoint"]).lower() != view.entry_point:
            return Finding(f"entryPoint {body['entryPoint']} is not the EntryPoint", (e,))
        if op["signature"] != body["dummySignature"]:
            return Finding("userOperation.signature is not the dummySignature", (e,))
    return None


def judge_pimlico_fees(view: RunView) -> Finding | None:
    """SC-007: gas price first; its standard fees go into the op unchanged."""
    windows = [(r, b) for r, b in _attempt_windows(view)
               if r["method"] == "pm_sponsorUserOperation"]
    require(windows, "pm_sponsorUserOperation request")
    for request, before in windows:
        prices = [e for e in before if e["method"] == GAS_PRICE and not failed(e)]
        if not prices:
            return Finding("pm_sponsorUserOperation without a pimlico_getUserOperationGasPrice "
                           "answer first", evidence([*before, request]))
        standard = prices[-1]["result"]["standard"]
        op = sponsored_op(request)
        for key in ("maxFeePerGas", "maxPriorityFeePerGas"):
            if str(op.get(key, "")).lower() != str(standard[key]).lower():
                return Finding(f"{key} {op.get(key)} is not the standard {standard[key]}",
                               evidence([prices[-1], request]))
    return None


def judge_pimlico_request(view: RunView) -> Finding | None:
    """SC-008: [op with the dummy signature, entryPoint, {"sponsorshipPolicyId": id}]."""
    requests = require(view.calls("pm_sponsorUserOperation"), "pm_sponsorUserOperation request")
    for e in requests:
        params = e["params"]
        if len(params) != 3 or not isinstance(params[0], dict):
            return Finding("params are not [userOperation, entryPoint, context]", (e,))
        if str(params[1]).lower() != view.entry_point:
            return Finding(f"entryPoint {params[1]} is not the EntryPoint", (e,))
        if params[2] != {"sponsorshipPolicyId": view.policy_id}:
            return Finding(f"context {params[2]!r} is not {{'sponsorshipPolicyId': id}}", (e,))
        if "signature" not in params[0]:
            return Finding("the op carries no (dummy) signature", (e,))
    return None


def has_paymaster(answer: Any) -> bool:
    return isinstance(answer, dict) and all(
        k in answer for k in ("paymaster", "paymasterData", "paymasterVerificationGasLimit",
                              "paymasterPostOpGasLimit"))


def judge_paymaster_required(view: RunView) -> Finding | None:
    """SC-009: an answer without paymaster fields is an error; that op is never submitted."""
    calls = view.calls()
    bare = [e for e in calls if e["method"] in SPONSOR_METHODS and "error" not in e
            and not has_paymaster(e.get("result"))]
    require(bare, "sponsorship answer without paymaster fields (the fault was never hit)")
    for e in bare:
        for nxt in calls[calls.index(e) + 1:]:
            if nxt["method"] in SPONSOR_METHODS or is_nonce_read(nxt):
                break
            if nxt["method"] == SEND:
                return Finding("an op was submitted after a sponsorship answer without "
                               "paymaster fields", evidence([e, nxt]))
    return None


def judge_dummy_signature(view: RunView) -> Finding | None:
    """SC-010: the dummy is a real, recoverable, low-s 65-byte signature in even-length hex."""
    requests = require(view.calls(*SPONSOR_METHODS), "sponsorship request")
    for e in requests:
        text = str(sponsored_op(e).get("signature", ""))
        if e["method"] == "alchemy_requestGasAndPaymasterAndData":
            text = str(e["params"][0].get("dummySignature", text))
        if len(text) % 2 or not text.startswith("0x"):
            return Finding(f"dummy signature {text[:20]}… is not even-length 0x hex", (e,))
        kind = classify_signature(bytes.fromhex(text[2:]))
        if kind is not SignatureClass.VALID:
            return Finding(f"dummy signature is {kind.value}, not a valid 65-byte signature", (e,))
    return None


Judge = Callable[[RunView], Finding | None]


def canonical_execute(op: UserOperation) -> bool:
    """UO-017: the op's callData re-encodes to itself."""
    try:
        call = decode_execute_strict(op.call_data)
    except DecodeError:
        return False
    return encode_execute(call.target, call.value, call.data) == op.call_data
