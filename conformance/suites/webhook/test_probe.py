"""The deployment probe against the target (PROTOCOL.md §5 "Deployment probe"): WH-068.

``amc probe``'s own steps — /healthz green, the token accepted, a known-bad request denied
with chain-mismatch, the Pimlico signature accepted (or /pimlico absent off-profile) — must all
pass for the target under test.
"""

from __future__ import annotations

from conformance.engine.checks import Observer, rules
from conformance.suites.webhook.harness import Harness
from conformance.suites.webhook.reproduce import RecordedRequest
from conformance.targets.webhook_probe import probe_webhook


@rules("WH-068")
def test_probe_passes(wh: Harness, observe: Observer) -> None:
    """Every probe step passes against the target."""
    token = wh.need_token()
    secret = wh.need_secret() if wh.profile.has_pimlico_route else None
    report = probe_webhook(wh.url, wh.profile, token=token, secret=secret,
                           timeout=wh.spec.request_timeout)
    observe.case(len(report.steps))
    if not report.ok:
        raise wh.failure("WH-068", f"amc probe failed: {report.cause}",
                         RecordedRequest("GET", "/healthz", "", headers=()), None,
                         steps=[{"name": s.name, "ok": s.ok, "detail": wh.scrub(s.detail)}
                                for s in report.steps])
