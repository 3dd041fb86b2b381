"""The sponsored path end to end, judged per hop (PROTOCOL.md §5–§7, issue 9 §5): the
webhook's answers to the paymaster, the account's verdict in the EntryPoint, the end-to-end
promises — each verdict attributed to the part that broke it. A later hop is not judged when an
earlier one broke (``NotJudged`` names it): one defect, one finding."""

from __future__ import annotations

import json
from typing import Any

from conformance.oracle.sidecar import (
    SEND,
    SPONSOR_METHODS,
    Exchange,
    Finding,
    NotJudged,
    RunView,
    evidence,
    inner_selector,
    op_signer,
    submitted_op,
)
from conformance.protocol.selectors import DSTACK_REGISTER


def webhook_answers(view: RunView) -> list[Exchange]:
    """The paymaster's questions to the webhook and their answers, in order."""
    return [e for e in view.transcript if e["peer"] == "webhook"]


def _approved(e: Exchange) -> bool | None:
    """True/False for an answered decision, None for an HTTP failure (non-200)."""
    result = e.get("result") or {}
    if result.get("status") != 200:
        return None
    try:
        body: Any = json.loads(result.get("body", ""))
    except ValueError:
        return None
    return bool(body.get("approved") is True or body.get("sponsor") is True)


def judge_webhook_signature(view: RunView) -> Finding | None:
    """WH-057: the paymaster's correctly signed Pimlico requests are accepted (no 401: the
    HMAC key derivation of the live outage)."""
    asks = [e for e in webhook_answers(view) if e["path"] == "pimlico"]
    if not asks:
        raise NotJudged("the paymaster asked the webhook nothing on /pimlico in this run")
    refused = [e for e in asks if (e.get("result") or {}).get("status") == 401]
    if refused:
        return Finding("the webhook answered 401 to the paymaster's correctly signed "
                       "sponsorship requests (its HMAC key is not the profile's derivation)",
                       evidence(refused[:3]))
    return None


def judge_webhook_approves(view: RunView) -> Finding | None:
    """WH-016 / WH-017: a member's (factory or Path A) allowlisted execute(own cluster, 0,
    inner) is approved."""
    asks = webhook_answers(view)
    if not asks:
        raise NotJudged("the paymaster asked the webhook nothing in this run")
    if any(_approved(e) is None for e in asks):
        raise NotJudged("the webhook failed at transport or HTTP level first (judged by its "
                        "own rule)")
    denied = [e for e in asks if _approved(e) is False]
    if denied:
        return Finding("the webhook denied a member's allowlisted operation",
                       evidence(denied[:3]))
    return None


def _upstream_ok(view: RunView) -> None:
    asks = webhook_answers(view)
    if asks and not all(_approved(e) for e in asks):
        raise NotJudged("the webhook hop refused sponsorship first (see its WH verdicts)")


def judge_account_accepts(view: RunView, *, bootstrap: bool) -> Finding | None:
    """AC-009 (``bootstrap``) / AC-012: an op the oracle finds correctly signed by the bootstrap
    signer or the owner is not rejected in account validation (AA23/AA24)."""
    _upstream_ok(view)
    sends = [e for e in view.calls(SEND) if (op := submitted_op(e)) is not None
             and (inner_selector(op, view.cluster) == DSTACK_REGISTER.selector) == bootstrap]
    if not sends:
        raise NotJudged(f"the sidecar submitted no {'registration' if bootstrap else 'owner'} "
                        "operation in this run")
    for e in sends:
        message = str((e.get("error") or {}).get("message", ""))
        if not message.startswith(("AA23", "AA24")):
            continue
        op = submitted_op(e)
        if op is None or op_signer(op, view) != view.owner:
            raise NotJudged("a rejected op was not correctly signed (the sidecar's defect)")
        return Finding(f"the account rejected a correctly signed "
                       f"{'bootstrap' if bootstrap else 'owner'} operation ({message})",
                       evidence([e]))
    return None


def judged_end_to_end(view: RunView) -> None:
    """The promises are judged only when every hop before them let the op through."""
    _upstream_ok(view)
    rejected = [e for e in view.calls(SEND)
                if str((e.get("error") or {}).get("message", "")).startswith(("AA23", "AA24"))
                and (op := submitted_op(e)) is not None and op_signer(op, view) == view.owner]
    if rejected:
        raise NotJudged("the account hop rejected the operation first (see its AC verdict)")


def timeline(view: RunView) -> list[dict[str, Any]]:
    """One timeline per operation (same callData) across every hop: sponsorship request,
    webhook decision, submission (EntryPoint result), receipt — each with its time."""
    ops: dict[str, list[dict[str, Any]]] = {}
    current: str | None = None
    for e in sorted(view.transcript, key=lambda x: x["t"]):
        if e["method"] in SPONSOR_METHODS:
            params = e["params"][0] if e["params"] else {}
            op = params.get("userOperation", params) if isinstance(params, dict) else {}
            current = str(op.get("callData", ""))[:74]
        if current is None:
            continue
        step = {"t": e["t"], "d": e.get("d", 0.0), "hop": e["peer"], "call": e["method"]}
        if e["peer"] == "webhook":
            step["result"] = (e.get("result") or {}).get("body") or (e.get("result") or {})
        elif "error" in e:
            step["result"] = e["error"].get("message")
        elif e["method"] == "eth_getUserOperationReceipt":
            receipt = e.get("result")
            step["result"] = None if receipt is None else f"success={receipt.get('success')}"
        elif e["method"] in (SEND, *SPONSOR_METHODS):
            step["result"] = "ok"
        else:
            continue
        ops.setdefault(current, []).append(step)
    return [{"callData": k, "steps": v} for k, v in ops.items()]


def render_timeline(items: list[dict[str, Any]]) -> str:
    """The timelines as text (one block per operation)."""
    lines = []
    for n, item in enumerate(items, 1):
        lines.append(f"operation {n}: callData {item['callData']}…")
        for step in item["steps"]:
            lines.append(f"  {step['t']:8.3f}s {step['d'] * 1e3:7.1f} ms  {step['hop']:8} "
                         f"{step['call']:32} {str(step.get('result'))[:80]}")
    return "\n".join(lines)
