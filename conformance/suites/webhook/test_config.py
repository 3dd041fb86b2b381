"""Misconfiguration (PROTOCOL.md §5 "Configuration"): WH-065, and WH-053's "only /pimlico".

The webhook is restarted with one configuration value broken; every request — on every route,
and on no route — must then answer 500 {"error":"server-misconfigured"}.

Input classes of WH-065 (each pinned by an explicit case below, never drawn at random):

=============================  ==========================================================
variable                       classes
=============================  ==========================================================
RPC_URL                        unset · empty · not a URL
EXPECTED_CHAIN_ID              unset · empty · not a number · hex without digits
CANONICAL_CLUSTER_FACTORY      unset · empty · too short
CANONICAL_MEMBER_FACTORY       unset · empty · 40 non-hex characters (the two address
                               malformations, one per factory: each start costs a process)
ALCHEMY_WEBHOOK_TOKEN          unset · empty (never "no token needed"; any non-empty
                               string is a well-formed token)
LOG_LEVEL                      a level outside info|warn|error (``warning``, the value the
                               launcher once set; ``INFO``, the right word in another case)
PIMLICO_WEBHOOK_SECRET         unset: *not* a misconfiguration — only POST /pimlico is 503
                               (WH-053), the other routes answer as usual
=============================  ==========================================================
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from conformance.engine.checks import Observer, rules
from conformance.oracle.webhook import MISCONFIGURED, expect_misconfigured
from conformance.suites.webhook import cases
from conformance.suites.webhook.harness import Harness
from conformance.suites.webhook.reproduce import RecordedRequest, Signing
from conformance.targets.webhook_http import Answer

TOKEN = "ALCHEMY_WEBHOOK_TOKEN"
NON_HEX_ADDRESS = "0x" + "zz" * 20

BROKEN: list[tuple[str, str | None, str]] = [
    ("RPC_URL", None, "unset"),
    ("RPC_URL", "", "empty"),
    ("RPC_URL", "not-a-url", "not a URL"),
    ("EXPECTED_CHAIN_ID", None, "unset"),
    ("EXPECTED_CHAIN_ID", "", "empty"),
    ("EXPECTED_CHAIN_ID", "base-sepolia", "not a number"),
    ("EXPECTED_CHAIN_ID", "0x", "hex without digits"),
    ("CANONICAL_CLUSTER_FACTORY", None, "unset"),
    ("CANONICAL_CLUSTER_FACTORY", "", "empty"),
    ("CANONICAL_CLUSTER_FACTORY", "0x1234", "too short"),
    ("CANONICAL_MEMBER_FACTORY", None, "unset"),
    ("CANONICAL_MEMBER_FACTORY", "", "empty"),
    ("CANONICAL_MEMBER_FACTORY", NON_HEX_ADDRESS, "not hex"),
    (TOKEN, None, "unset"),
    (TOKEN, "", "empty"),
    ("LOG_LEVEL", "warning", "outside info|warn|error"),
    ("LOG_LEVEL", "INFO", "outside info|warn|error (case)"),
]
"""(variable, value, class): a None value removes the variable."""

PARALLEL_STARTS = 4
"""Variants started at once (each is its own process on its own port)."""


def _requests(wh: Harness) -> list[RecordedRequest]:
    body = cases.alchemy(bytes(20), cases.execute(wh.actors.cluster), wh.chain_hex())
    return [RecordedRequest("POST", "/", "token={token}", body),
            RecordedRequest("POST", "/", "", body),
            RecordedRequest("POST", "/", "", b"not json"),
            RecordedRequest("GET", "/healthz", "", headers=()),
            RecordedRequest("GET", "/check", "cluster=0x" + "ab" * 20, headers=()),
            RecordedRequest("POST", "/pimlico", "", cases.pimlico_raw({}), signing=Signing()),
            RecordedRequest("GET", "/no-such-route", "", headers=())]


def _answers(wh: Harness, name: str, value: str | None) -> list[tuple[RecordedRequest, Answer]]:
    with wh.variant({name: value}) as webhook:
        return [(record, wh.send(record, target=webhook)) for record in _requests(wh)]


@rules("WH-065")
def test_misconfiguration_is_500_everywhere(wh: Harness, observe: Observer) -> None:
    """Each class of each required value (and a malformed LOG_LEVEL) → 500 server-misconfigured
    on every request, whatever the route and credentials."""
    if not wh.owns_chain:
        pytest.skip("needs --launch or --reference: the suite restarts the webhook misconfigured")
    with ThreadPoolExecutor(PARALLEL_STARTS) as pool:
        runs = list(pool.map(lambda case: _answers(wh, case[0], case[1]), BROKEN))
    for (name, value, label), answers in zip(BROKEN, runs, strict=True):
        for record, answer in answers:
            observe.case()
            wh.judge("WH-065", record, answer, expect_misconfigured(),
                     f"{name} {label}{'' if value is None else f' ({value!r})'}")


@rules("WH-053")
def test_unset_secret_only_disables_pimlico(wh: Harness, observe: Observer) -> None:
    """Without PIMLICO_WEBHOOK_SECRET the webhook is not misconfigured: /healthz and POST /
    answer as usual (an approvable request is approved), only POST /pimlico is 503."""
    wh.need_chain()
    wh.need_token()
    sender, call = wh.approvable()
    record = RecordedRequest("POST", "/", "token={token}",
                             cases.alchemy(sender, call, wh.chain_hex()),
                             extra={"variant": {"secret": "unset"}})
    health = RecordedRequest("GET", "/healthz", "", headers=(),
                             extra={"variant": {"secret": "unset"}})
    with wh.variant({wh.settings.hmac_secret_env: None}) as webhook:
        for request, expected in ((health, {"ok": True}), (record, {"approved": True})):
            observe.case()
            answer = wh.send(request, target=webhook)
            if answer.json == MISCONFIGURED or answer.json != expected:
                raise wh.failure("WH-053", "an unset PIMLICO_WEBHOOK_SECRET affected a route "
                                 f"other than /pimlico (expected {expected})", request, answer)
