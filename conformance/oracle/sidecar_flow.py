"""Steps 3–5 and the node's life, judged on a recorded sidecar run (PROTOCOL.md §7): sign
after sponsorship, submit, poll receipts, retry failures with backoff, the lifecycle budget and
the end-to-end promises. Same conventions as ``conformance.oracle.sidecar``."""

from __future__ import annotations

from conformance.oracle.sidecar import (
    GAS_PRICE,
    RECEIPT,
    SEND,
    SPONSOR_METHODS,
    Exchange,
    Finding,
    RunView,
    evidence,
    failed,
    has_paymaster,
    inner_selector,
    is_nonce_read,
    op_signer,
    require,
    sponsored_op,
    submitted_op,
)
from conformance.protocol.attestation import decode_dstack_register
from conformance.protocol.calldata import decode_execute_strict
from conformance.protocol.selectors import DSTACK_REGISTER
from conformance.protocol.signatures import recover_eip191
from conformance.protocol.userop import UserOperation

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
    sends = require(view.calls(SEND), "submission")
    for e in sends:
        op = submitted_op(e)
        if op is None:
            return Finding("the submitted op does not parse as a v0.7 UserOperation", (e,))
        sponsor = _answers_before(view, e)
        answer = sponsor.get("result") if sponsor else None
        if sponsor is not None and isinstance(answer, dict) and has_paymaster(answer):
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
    sends = require(view.calls(SEND), "submission")
    for e in sends:
        params = e["params"]
        if len(params) != 2 or not isinstance(params[0], dict) or \
                str(params[1]).lower() != view.entry_point:
            return Finding("params are not [userOperation, entryPoint]", (e,))
    return None


def judge_receipt_polling(view: RunView, *, bound: int) -> Finding | None:
    """SC-013: every accepted submission is polled for its receipt, at most ``bound`` times."""
    sends = require([e for e in view.calls(SEND) if "error" not in e], "accepted submission")
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
    require(failed_receipts, "success-false receipt (the fault was never hit)")
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
    require(failures, "failed submission (the fault was never hit)")
    for e in failures:
        after = calls[calls.index(e) + 1:]
        retry = next((x for x in after if x["method"] in SPONSOR_METHODS), None)
        if retry is None:
            return Finding("a failed submission was never retried", evidence([e, *after[:3]]))
        between = after[:after.index(retry)]
        if not any(is_nonce_read(x) and not failed(x) for x in between):
            return Finding("the retry did not read the nonce afresh", evidence([e, *between,
                                                                                 retry]))
        quiet, nxt = waited(view, e)
        if quiet < view.initial * 0.9:
            return Finding(f"the sidecar called again {quiet:.3f}s after the failed submission "
                           f"(backoff at least {view.initial:.3f}s)", evidence([e, nxt or retry]))
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
    ops = require(_submitted(view), "submission")
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
    ops = require(_submitted(view), "submission")
    again = [e for e, op in ops if inner_selector(op, view.cluster) == DSTACK_REGISTER.selector]
    if again:
        return Finding("the member was already registered (memberOf) but sent a registration",
                       evidence(again))
    return None


def judge_owner_signs(view: RunView) -> Finding | None:
    """SC-017: operations after the registration are signed by the same owner key."""
    ops = [(e, op) for e, op in _submitted(view)
           if inner_selector(op, view.cluster) != DSTACK_REGISTER.selector]
    require(ops, "operation after registration")
    for e, op in ops:
        if op_signer(op, view) != view.owner:
            return Finding(f"an operation was signed by {op_signer(op, view)}, not the owner "
                           f"{view.owner}", (e,))
    return None


def judge_execute_shape(view: RunView) -> Finding | None:
    """SC-019: every op is execute(own cluster, 0, inner) with an allowlisted inner selector."""
    ops = require(_submitted(view), "submission")
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
    regs = require(_registrations(view), "registration")
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
    require(asks, "GetKey request")
    if not any(e["params"].get("path") == "attestmesh-binding-v1" and
               e["params"].get("purpose") == "ethereum" for e in asks):
        return Finding("no GetKey with path attestmesh-binding-v1 and purpose ethereum",
                       evidence(asks))
    regs = require(_registrations(view), "registration")
    proof = decode_dstack_register(decode_execute_strict(regs[0][1].call_data).data)[0]
    if proof.derived_compressed_pubkey != derived_pubkey:
        return Finding("the registered key is not the attestmesh-binding-v1 key", (regs[0][0],))
    return None


def judge_error_ends_attempt(view: RunView) -> Finding | None:
    """SC-022: after a JSON-RPC error the attempt ends; the next step does not follow."""
    calls = view.calls()
    errors = [e for e in calls if failed(e) and e["method"] in (GAS_PRICE, *SPONSOR_METHODS)]
    require(errors, "failed sponsorship call (the fault was never hit)")
    for e in errors:
        for nxt in calls[calls.index(e) + 1:]:
            if is_nonce_read(nxt):
                break
            if nxt["method"] in SPONSOR_METHODS or nxt["method"] == SEND:
                return Finding(f"after {e['method']} failed the attempt went on with "
                               f"{nxt['method']} (the error was swallowed)", evidence([e, nxt]))
    return None


# -- retries -------------------------------------------------------------------------------


def waited(view: RunView, failure: Exchange) -> tuple[float, Exchange | None]:
    """How long the sidecar stayed quiet after ``failure`` was answered, and the exchange that
    ended the quiet (its next call): the backoff itself, free of the calls' own durations."""
    calls = view.calls()
    after = calls[calls.index(failure) + 1:]
    if not after:
        return float("inf"), None
    return after[0]["t"] - (failure["t"] + failure.get("d", 0.0)), after[0]


def retry_gaps(view: RunView) -> list[tuple[int, Exchange, Exchange]]:
    """Sponsorship requests followed by another for the same operation (same callData):
    (k, a, b) with k the 0-based retry number of that operation."""
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
    gaps = require(retry_gaps(view), "retried sponsorship")
    for _k, a, b in gaps:
        quiet, nxt = waited(view, a)
        if quiet < view.initial * 0.9:
            return Finding(f"after a declined sponsorship the sidecar called again "
                           f"{quiet:.3f}s later (a backoff of at least {view.initial:.3f}s)",
                           evidence([a, nxt or b]))
    return None


def judge_backoff_numbers(view: RunView, *, slack: float = 0.9) -> Finding | None:
    """SC-023: the k-th wait is at least initial·2^k up to the cap (from the declined answer to
    the sidecar's next call)."""
    gaps = require(retry_gaps(view), "retried sponsorship")
    for k, a, b in gaps:
        nominal = min(view.initial * 2**k, view.cap)
        quiet, nxt = waited(view, a)
        if quiet < nominal * slack:
            return Finding(f"wait {k + 1} after a decline was {quiet:.3f}s; §7 needs at least "
                           f"{nominal:.3f}s (initial {view.initial:.3f}s, doubling, cap "
                           f"{view.cap:.3f}s)", evidence([a, nxt or b]))
    return None


def judge_rate(view: RunView) -> Finding | None:
    """SC-024: at most ``max_requests`` sponsorship requests in any ``window``."""
    times = [e["t"] for e in require(view.calls(*SPONSOR_METHODS), "sponsorship request")]
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
    require(list(ops), "submission")
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
    ops = require(_submitted(view), "submission")
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
    require(landings, "landed operation")
    if not view.registered:
        return Finding("after the run the member is not registered", evidence(landings[:1]))
    if view.chain_owner != view.owner:
        return Finding(f"the member's owner is {view.chain_owner}, not the registration key "
                       f"{view.owner}", evidence(landings[:1]))
    first = _op_of_receipt(view, landings[0])
    if first is None or inner_selector(first, view.cluster) != DSTACK_REGISTER.selector:
        return Finding("the first landed operation is not the registration", evidence(landings[:1]))
    return None
