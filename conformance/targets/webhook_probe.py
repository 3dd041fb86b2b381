"""The deployment probe (PROTOCOL.md §5 "Deployment probe", WH-068): is this URL the webhook
of this profile, live and configured with our token?

A probe owns no chain: it asks only what any deployment must answer the same way. ``/healthz``
is green; ``POST /?token=`` with the right token is not ``bad-token``; a known-bad request
(another chain id) is ``chain-mismatch``; under ``pimlico`` a correctly signed foreign event is
200 ``{"sponsor":false}``, elsewhere ``/pimlico`` is 404. When every request — the correctly
signed one included — is refused with 401 (or ``/pimlico`` is 404 under pimlico), the cause is
the live system's most-debugged failure: a stale route to an older deployment.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from conformance.errors import TargetError
from conformance.profiles.loader import Profile
from conformance.protocol.calldata import encode_call, encode_execute
from conformance.protocol.webhook_wire import webhook_headers
from conformance.targets.webhook_http import JSON_HEADERS, Answer, HttpWebhook, WebhookRequest

STALE = "stale route: the paymaster is probably reaching an older deployment"
PROBE_SENDER = "0x" + "a11ce" * 8
"""A made-up sender: the probe never needs a real member (its answer is any denial)."""


@dataclass(frozen=True)
class ProbeStep:
    """One probe step: its name, whether it passed, and what was seen."""

    name: str
    ok: bool
    detail: str
    status: int | None = None


@dataclass(frozen=True)
class ProbeReport:
    """Every step, and the one-line cause when the probe failed."""

    url: str
    profile: str
    steps: tuple[ProbeStep, ...]
    cause: str = ""

    @property
    def ok(self) -> bool:
        """True when every step passed."""
        return all(step.ok for step in self.steps)


def _body(profile: Profile, chain_id: int) -> bytes:
    inner = encode_call("publishWgKey(bytes32)", [b"\x11" * 32])
    call = encode_execute(bytes.fromhex(profile.cluster_factory[2:]), 0, inner)
    op = {"sender": PROBE_SENDER, "nonce": "0x0", "callData": "0x" + call.hex(),
          "signature": "0x"}
    return json.dumps({"userOperation": op, "entryPoint": profile.entry_point,
                       "chainId": hex(chain_id)}).encode()


def _send(http: HttpWebhook, request: WebhookRequest) -> Answer | str:
    try:
        return http.send(request)
    except TargetError as exc:
        return str(exc)


def _step(name: str, answer: Answer | str, ok: bool, want: str) -> ProbeStep:
    if isinstance(answer, str):
        return ProbeStep(name, False, f"no answer: {answer}")
    seen = answer.describe(120)
    return ProbeStep(name, ok, seen if ok else f"expected {want}, got {seen}", answer.status)


def _alchemy_steps(http: HttpWebhook, profile: Profile, token: str) -> list[ProbeStep]:
    query = "token=" + token
    good = _send(http, WebhookRequest("POST", "/", query, JSON_HEADERS,
                                      _body(profile, profile.chain_id)))
    accepted = isinstance(good, Answer) and good.status == 200 and isinstance(good.json, dict) \
        and "approved" in good.json and good.reason != "bad-token"
    bad = _send(http, WebhookRequest("POST", "/", query, JSON_HEADERS,
                                     _body(profile, profile.chain_id + 1)))
    mismatch = isinstance(bad, Answer) and bad.status == 200 and bad.json == {
        "approved": False, "reason": "chain-mismatch"}
    return [_step("token accepted", good, accepted, "200 with a reason other than bad-token"),
            _step("known-bad request", bad, mismatch,
                  '200 {"approved":false,"reason":"chain-mismatch"}')]


def _pimlico_step(http: HttpWebhook, profile: Profile, secret: str | None) -> ProbeStep:
    body = json.dumps({"type": "amc.probe", "data": {}}).encode()
    if not profile.has_pimlico_route:
        answer = _send(http, WebhookRequest("POST", "/pimlico", "", JSON_HEADERS, body))
        return _step("no /pimlico route", answer,
                     isinstance(answer, Answer) and answer.status == 404, "404")
    if secret is None:
        return ProbeStep("pimlico signature", False,
                         f"set {profile.webhook.hmac_secret_env} to probe POST /pimlico")
    headers = webhook_headers(secret, profile.webhook.key_derivation, "msg_amc_probe",
                              int(time.time()), body)
    answer = _send(http, WebhookRequest("POST", "/pimlico", "",
                                        JSON_HEADERS + tuple(headers.items()), body))
    ok = isinstance(answer, Answer) and answer.status == 200 and answer.json == {"sponsor": False}
    return _step("pimlico signature", answer, ok, '200 {"sponsor":false} for a foreign event')


def _cause(steps: list[ProbeStep], profile: Profile) -> str:
    failed = [s for s in steps if not s.ok]
    if not failed:
        return ""
    answered = [s for s in steps if s.status is not None and s.name != "healthz"]
    pimlico_gone = profile.has_pimlico_route and any(
        s.name == "pimlico signature" and s.status == 404 for s in steps)
    if answered and (all(s.status == 401 for s in answered) or pimlico_gone):
        return STALE
    return f"{failed[0].name}: {failed[0].detail}"


def probe_webhook(url: str, profile: Profile, *, token: str, secret: str | None,
                  timeout: float = 5.0) -> ProbeReport:
    """Probe the deployed webhook at ``url`` as ``profile``'s webhook (see the module doc)."""
    with HttpWebhook(url, timeout) as http:
        health = _send(http, WebhookRequest("GET", "/healthz", "", (), b""))
        steps = [_step("healthz", health, isinstance(health, Answer) and health.status == 200
                       and health.json == {"ok": True}, '200 {"ok":true}')]
        steps += _alchemy_steps(http, profile, token)
        steps.append(_pimlico_step(http, profile, secret))
    return ProbeReport(url, profile.name, tuple(steps), _cause(steps, profile))
