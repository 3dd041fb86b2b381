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

from conformance.protocol.attestation import decode_dstack_register
from conformance.protocol.calldata import DecodeError, decode_execute_strict, encode_execute
from conformance.protocol.hexutil import parse_data
from conformance.protocol.selectors import DSTACK_REGISTER
from conformance.protocol.signatures import (
    SignatureClass,
    classify_signature,
    key_pair,
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


def _require(items: list[Any], what: str) -> list[Any]:
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
    _require([e for e in reads if is_nonce_read(e)] + counts + sponsor, "nonce read")
    if counts:
        return Finding("the nonce was read with eth_getTransactionCount (an EOA count, not the "
                       "EntryPoint nonce)", evidence(counts))
    if sponsor and not any(is_nonce_read(e) for e in reads):
        return Finding("operations were sponsored without any getNonce read", evidence(sponsor))
    return None


def judge_nonce_call(view: RunView) -> Finding | None:
    """SC-002: getNonce(sender, key 0) at the block tag latest."""
    reads = _require([e for e in view.calls("eth_call") if is_nonce_read(e)], "getNonce read")
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
    windows = _require(_attempt_windows(view), "sponsorship request")
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
    _require(bad, "failed getNonce read (the scenario's fault was never hit)")
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
    sponsor = _require(view.calls(*SPONSOR_METHODS, GAS_PRICE), "sponsorship request")
    wrong = [e for e in sponsor if (e["method"].startswith("alchemy_")) != (
        view.dialect == "alchemy")]
    if wrong:
        return Finding(f"the {view.dialect} dialect was due but the sidecar called "
                       f"{wrong[0]['method']}", evidence(wrong))
    return None


def judge_alchemy_request(view: RunView) -> Finding | None:
    """SC-006: one request object: policyId, entryPoint, dummySignature, userOperation of
    sender, nonce, callData and the dummy signature."""
    requests = _require(view.calls("alchemy_requestGasAndPaymasterAndData"), "Alchemy request")
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
    _require(windows, "pm_sponsorUserOperation request")
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
    requests = _require(view.calls("pm_sponsorUserOperation"), "pm_sponsorUserOperation request")
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


def _has_paymaster(answer: Any) -> bool:
    return isinstance(answer, dict) and all(
        k in answer for k in ("paymaster", "paymasterData", "paymasterVerificationGasLimit",
                              "paymasterPostOpGasLimit"))


def judge_paymaster_required(view: RunView) -> Finding | None:
    """SC-009: an answer without paymaster fields is an error; that op is never submitted."""
    calls = view.calls()
    bare = [e for e in calls if e["method"] in SPONSOR_METHODS and "error" not in e
            and not _has_paymaster(e.get("result"))]
    _require(bare, "sponsorship answer without paymaster fields (the fault was never hit)")
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
    requests = _require(view.calls(*SPONSOR_METHODS), "sponsorship request")
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


# -- steps 3–5: sign, submit, receipts --------------------------------------------------


def _answers_before(view: RunView, send: Exchange) -> Exchange | None:
    calls = view.calls()
    for e in reversed(calls[:calls.index(send)]):
        if e["method"] in SPONSOR_METHODS:
            return e
    return None


def judge_sign_after_sponsorship(view: RunView) -> Finding | None:
    """SC-011: the final op (sponsored fields in) signed EIP-191 under the chain id and
    EntryPoint by the owner key."""
    sends = _require(view.calls(SEND), "submission")
    for e in sends:
        op = submitted_op(e)
        if op is None:
            return Finding("the submitted op does not parse as a v0.7 UserOperation", (e,))
        sponsor = _answers_before(view, e)
        answer = sponsor.get("result") if sponsor else None
        if sponsor is not None and isinstance(answer, dict) and _has_paymaster(answer):
            wire = e["params"][0]
            changed = [k for k in answer if k in wire and str(wire[k]).lower()
                       != str(answer[k]).lower()]
            if changed:
                return Finding(f"the submitted op differs from the sponsorship in {changed}",
                               evidence([sponsor, e]))
        if op_signer(op, view) != view.owner:
            return Finding("the signature does not recover to the owner key over the final "
                           "op's userOpHash (signed before sponsorship, or over other fields)",
                           evidence([e]))
    return None


def judge_send_params(view: RunView) -> Finding | None:
    """SC-012: eth_sendUserOperation [op, entryPoint]."""
    sends = _require(view.calls(SEND), "submission")
    for e in sends:
        params = e["params"]
        if len(params) != 2 or not isinstance(params[0], dict) or \
                str(params[1]).lower() != view.entry_point:
            return Finding("params are not [userOperation, entryPoint]", (e,))
    return None


def judge_receipt_polling(view: RunView, *, bound: int) -> Finding | None:
    """SC-013: every accepted submission is polled for its receipt, at most ``bound`` times."""
    sends = _require([e for e in view.calls(SEND) if "error" not in e], "accepted submission")
    for e in sends:
        mine = _polls_of(view, e)
        if not mine:
            return Finding("the sidecar never polled eth_getUserOperationReceipt for an accepted "
                           "op", evidence([e]))
        if len(mine) > bound:
            return Finding(f"{len(mine)} receipt polls for one op (bound {bound})",
                           evidence(mine[-3:]))
    return None


def _landings(view: RunView) -> list[Exchange]:
    return [e for e in view.calls(RECEIPT) if isinstance(e.get("result"), dict)]


def judge_failed_receipt(view: RunView) -> Finding | None:
    """SC-014: a success-false receipt is a failed operation: it is attempted again."""
    calls = view.calls()
    failed_receipts = [e for e in _landings(view) if e["result"].get("success") is not True]
    _require(failed_receipts, "success-false receipt (the fault was never hit)")
    for e in failed_receipts:
        op = _op_of_receipt(view, e)
        later = [s for s in calls[calls.index(e) + 1:] if s["method"] == SEND]
        again = [s for s in later if (o := submitted_op(s)) and op and o.call_data == op.call_data]
        if not again:
            return Finding("after a receipt with success false the operation was never "
                           "submitted again (taken as landed)", evidence([e, *later[:2]]))
    return None


def _op_of_receipt(view: RunView, receipt: Exchange) -> UserOperation | None:
    calls = view.calls()
    for s in reversed(calls[:calls.index(receipt)]):
        if s["method"] == SEND and s.get("result") == receipt["params"][0]:
            return submitted_op(s)
    return None


def judge_failed_submission(view: RunView) -> Finding | None:
    """SC-025: a failed submission is retried after a backoff, from a fresh getNonce read."""
    calls = view.calls()
    failures: list[Exchange] = [e for e in view.calls(SEND) if "error" in e]
    failures += [e for e in _landings(view) if e["result"].get("success") is not True]
    dropped = _dropped(view)
    failures += dropped
    _require(failures, "failed submission (the fault was never hit)")
    for e in failures:
        after = calls[calls.index(e) + 1:]
        retry = next((x for x in after if x["method"] in SPONSOR_METHODS), None)
        if retry is None:
            return Finding("a failed submission was never retried", evidence([e, *after[:3]]))
        between = after[:after.index(retry)]
        if not any(is_nonce_read(x) and not failed(x) for x in between):
            return Finding("the retry did not read the nonce afresh", evidence([e, *between,
                                                                                 retry]))
        if retry["t"] - e["t"] < view.initial * 0.9:
            return Finding(f"the retry came {retry['t'] - e['t']:.3f}s after the failure "
                           f"(backoff at least {view.initial:.3f}s)", evidence([e, retry]))
    return None


def _polls_of(view: RunView, send: Exchange) -> list[Exchange]:
    """The receipt polls for ``send``'s hash after it and before the next submission (a retry
    of the same op may have the same hash)."""
    calls = view.calls()
    polls = []
    for e in calls[calls.index(send) + 1:]:
        if e["method"] == SEND:
            break
        if e["method"] == RECEIPT and e["params"] and e["params"][0] == send.get("result"):
            polls.append(e)
    return polls


def _dropped(view: RunView) -> list[Exchange]:
    """The last receipt poll of each accepted submission that never got a receipt."""
    out = []
    for s in view.calls(SEND):
        mine = _polls_of(view, s) if "error" not in s else []
        if mine and all(p.get("result") is None for p in mine):
            out.append(mine[-1])
    return out


# -- lifecycle -------------------------------------------------------------------------------------


def _submitted(view: RunView) -> list[tuple[Exchange, UserOperation]]:
    return [(e, op) for e in view.calls(SEND) if (op := submitted_op(e)) is not None]


def judge_registration_first(view: RunView) -> Finding | None:
    """SC-015: a fresh member's first op is its registration, signed by the proof's key."""
    ops = _require(_submitted(view), "submission")
    e, op = ops[0]
    if inner_selector(op, view.cluster) != DSTACK_REGISTER.selector:
        return Finding("the fresh member's first operation is not its registration", (e,))
    call = decode_execute_strict(op.call_data)
    proof, _member, _x, _wg = decode_dstack_register(call.data)
    signer = recover_eip191(proof.message_hash, proof.message_signature)
    if signer is None or "0x" + signer.hex() != op_signer(op, view):
        return Finding("the registration is not signed by the key whose signature is in the "
                       "proof", (e,))
    return None


def judge_registration_skipped(view: RunView) -> Finding | None:
    """SC-016: an already registered member sends no registration."""
    ops = _require(_submitted(view), "submission")
    again = [e for e, op in ops if inner_selector(op, view.cluster) == DSTACK_REGISTER.selector]
    if again:
        return Finding("the member was already registered (memberOf) but sent a registration",
                       evidence(again))
    return None


def judge_owner_signs(view: RunView) -> Finding | None:
    """SC-017: operations after the registration are signed by the same owner key."""
    ops = [(e, op) for e, op in _submitted(view)
           if inner_selector(op, view.cluster) != DSTACK_REGISTER.selector]
    _require(ops, "operation after registration")
    for e, op in ops:
        if op_signer(op, view) != view.owner:
            return Finding(f"an operation was signed by {op_signer(op, view)}, not the owner "
                           f"{view.owner}", (e,))
    return None


def judge_execute_shape(view: RunView) -> Finding | None:
    """SC-019: every op is execute(own cluster, 0, inner) with an allowlisted inner selector."""
    ops = _require(_submitted(view), "submission")
    for e, op in ops:
        selector = inner_selector(op, view.cluster)
        if selector is None:
            return Finding("callData is not a canonical execute(own cluster, 0, inner)", (e,))
        if selector not in view.allowlist:
            return Finding(f"inner selector 0x{selector.hex()} is not on the allowlist", (e,))
    return None


def _registrations(view: RunView) -> list[tuple[Exchange, UserOperation]]:
    return [(e, op) for e, op in _submitted(view)
            if inner_selector(op, view.cluster) == DSTACK_REGISTER.selector]


def judge_proof_v(view: RunView) -> Finding | None:
    """SC-020: the proof's signatures from dstack carry v 27/28."""
    regs = _require(_registrations(view), "registration")
    for e, op in regs:
        proof = decode_dstack_register(decode_execute_strict(op.call_data).data)[0]
        for name, sig in (("appSignature", proof.app_signature),
                          ("kmsSignature", proof.kms_signature),
                          ("messageSignature", proof.message_signature)):
            if len(sig) != 65 or sig[64] not in (27, 28):
                return Finding(f"proof {name} has v {sig[64] if sig else None} (dstack's 0/1 "
                               "not normalised)", (e,))
    return None


def judge_key_path(view: RunView, derived_pubkey: bytes) -> Finding | None:
    """SC-021: GetKey(path attestmesh-binding-v1, purpose ethereum) is the registration key."""
    asks = [e for e in view.transcript if e["peer"] == "dstack" and e["method"] == "GetKey"]
    _require(asks, "GetKey request")
    if not any(e["params"].get("path") == "attestmesh-binding-v1" and
               e["params"].get("purpose") == "ethereum" for e in asks):
        return Finding("no GetKey with path attestmesh-binding-v1 and purpose ethereum",
                       evidence(asks))
    regs = _require(_registrations(view), "registration")
    proof = decode_dstack_register(decode_execute_strict(regs[0][1].call_data).data)[0]
    if proof.derived_compressed_pubkey != derived_pubkey:
        return Finding("the registered key is not the attestmesh-binding-v1 key", (regs[0][0],))
    return None


def judge_error_ends_attempt(view: RunView) -> Finding | None:
    """SC-022: after a JSON-RPC error the attempt ends; the next step does not follow."""
    calls = view.calls()
    errors = [e for e in calls if failed(e) and e["method"] in (GAS_PRICE, *SPONSOR_METHODS)]
    _require(errors, "failed sponsorship call (the fault was never hit)")
    for e in errors:
        for nxt in calls[calls.index(e) + 1:]:
            if is_nonce_read(nxt):
                break
            if nxt["method"] in SPONSOR_METHODS or nxt["method"] == SEND:
                return Finding(f"after {e['method']} failed the attempt went on with "
                               f"{nxt['method']} (the error was swallowed)", evidence([e, nxt]))
    return None


# -- retries -------------------------------------------------------------------------------


def retry_gaps(view: RunView) -> list[tuple[int, Exchange, Exchange]]:
    """Consecutive sponsorship requests for the same operation (same callData): (k, a, b) with k
    the 0-based retry number of that operation."""
    requests = view.calls(*SPONSOR_METHODS)
    gaps: list[tuple[int, Exchange, Exchange]] = []
    k = 0
    for a, b in zip(requests, requests[1:], strict=False):
        if sponsored_op(a).get("callData") == sponsored_op(b).get("callData"):
            gaps.append((k, a, b))
            k += 1
        else:
            k = 0
    return gaps


def judge_no_tight_loop(view: RunView) -> Finding | None:
    """SC-018: a declined sponsorship is retried after a delay, never in a tight loop."""
    gaps = _require(retry_gaps(view), "retried sponsorship")
    for _k, a, b in gaps:
        if b["t"] - a["t"] < view.initial * 0.9:
            return Finding(f"a declined sponsorship was retried {b['t'] - a['t']:.3f}s later "
                           f"(at least {view.initial:.3f}s)", evidence([a, b]))
    return None


def judge_backoff_numbers(view: RunView, *, slack: float = 0.9) -> Finding | None:
    """SC-023: the k-th wait is at least initial·2^k up to the cap (request after a declined
    one to the next request of the same operation)."""
    gaps = _require(retry_gaps(view), "retried sponsorship")
    for k, a, b in gaps:
        nominal = min(view.initial * 2**k, view.cap)
        if b["t"] - a["t"] < nominal * slack:
            return Finding(f"retry {k + 1} came {b['t'] - a['t']:.3f}s after the decline; §7 "
                           f"needs at least {nominal:.3f}s (initial {view.initial:.3f}s, "
                           f"doubling, cap {view.cap:.3f}s)", evidence([a, b]))
    return None


def judge_rate(view: RunView) -> Finding | None:
    """SC-024: at most ``max_requests`` sponsorship requests in any ``window``."""
    times = [e["t"] for e in _require(view.calls(*SPONSOR_METHODS), "sponsorship request")]
    requests = view.calls(*SPONSOR_METHODS)
    for i in range(len(times)):
        j = i + view.max_requests
        if j < len(times) and times[j] - times[i] < view.window:
            return Finding(f"{view.max_requests + 1} sponsorship requests within "
                           f"{times[j] - times[i]:.3f}s (at most {view.max_requests} in "
                           f"{view.window:.3f}s)", evidence(requests[i:j + 1]))
    return None


def judge_lifecycle_budget(view: RunView) -> Finding | None:
    """SC-026: one registration, no landed operation repeated, a key publication only when the
    chain's key differs."""
    landed: dict[bytes, Exchange] = {}
    ops = {s.get("result"): (s, op) for s, op in _submitted(view)}
    _require(list(ops), "submission")
    for receipt in _landings(view):
        if receipt["result"].get("success") is not True:
            continue
        entry = ops.get(receipt["params"][0])
        if entry is None:
            continue
        call_data = entry[1].call_data
        if call_data in landed:
            return Finding("an operation that had landed was sent and landed again",
                           evidence([landed[call_data], receipt]))
        landed[call_data] = receipt
    return None


def judge_no_eth(view: RunView) -> Finding | None:
    """SC-027: every op is sponsored; the account holds no ETH."""
    ops = _require(_submitted(view), "submission")
    unsponsored = [e for e, op in ops if op.paymaster is None]
    if unsponsored:
        return Finding("an operation without a paymaster (the node would pay with ETH)",
                       evidence(unsponsored))
    if view.balance != 0:
        return Finding(f"the member's account holds {view.balance} wei after the run")
    return None


def judge_one_op_registers(view: RunView) -> Finding | None:
    """SC-028: the first landed op registers the member with its owner installed."""
    landings = [r for r in _landings(view) if r["result"].get("success") is True]
    _require(landings, "landed operation")
    if not view.registered:
        return Finding("after the run the member is not registered", evidence(landings[:1]))
    if view.chain_owner != view.owner:
        return Finding(f"the member's owner is {view.chain_owner}, not the registration key "
                       f"{view.owner}", evidence(landings[:1]))
    first = _op_of_receipt(view, landings[0])
    if first is None or inner_selector(first, view.cluster) != DSTACK_REGISTER.selector:
        return Finding("the first landed operation is not the registration", evidence(landings[:1]))
    return None


Judge = Callable[[RunView], Finding | None]


def owner_address(private_key: int) -> str:
    """``0x`` hex address of a private key (for ``RunView.owner``)."""
    return "0x" + key_pair(private_key).address.hex()


def canonical_execute(op: UserOperation) -> bool:
    """UO-017: the op's callData re-encodes to itself."""
    try:
        call = decode_execute_strict(op.call_data)
    except DecodeError:
        return False
    return encode_execute(call.target, call.value, call.data) == op.call_data
