"""WH-071: no answer carries a secret (PROTOCOL.md §5 "Secrets stay inside").

The oracle (``conformance.oracle.webhook_secrets``) reads EVERY answer the harness receives in
this run, whichever check sent it (``Harness._scan``): the token, the Pimlico secret, the HMAC
key of every derivation (base64, hex) and any ≥ 8-character run of the MAC the webhook computed
for that request. Two checks report it:

- targeted probes — the answers most likely to leak "for debugging": a wrong MAC, a MAC under
  another derivation, a stale timestamp, missing headers, a tampered body (401s), a wrong or
  missing token, malformed bodies (400s), and debug-looking query strings on every route;
- the run-wide report, ordered last (``conftest.py``): what the scan found in any answer of any
  check of the run so far.
"""

from __future__ import annotations

from conformance.engine.checks import CheckFailure, Observer, rules
from conformance.oracle.webhook_secrets import derived_keys
from conformance.suites.webhook import cases
from conformance.suites.webhook.harness import Harness
from conformance.suites.webhook.reproduce import RecordedRequest, Signing

DEBUG_QUERIES = ("debug=1", "verbose=true", "trace=1&debug=true", "explain=1")
"""Query strings a webhook might honour by echoing internals."""


def _signed_probes(wh: Harness) -> list[RecordedRequest]:
    body = cases.pimlico(b"\x07" * 20, cases.execute(wh.actors.cluster), wh.profile.chain_id)
    assert wh.secrets is not None and wh.secrets.hmac_secret is not None
    others = [d for d in derived_keys(wh.secrets.hmac_secret)
              if d != wh.settings.key_derivation.value]
    signings = [
        Signing(sign=False, extra_entries=("v1," + "A" * 43 + "=",)),  # a wrong MAC
        *(Signing(derivation=d) for d in others),  # a MAC by another derivation's key
        Signing(offset=-400),  # stale
        Signing(offset=400),  # future
        Signing(drop=("webhook-id",)),
        Signing(drop=("webhook-signature",)),
        Signing(signed_body=body + b" "),  # the MAC covers another body
        Signing(sign=False, extra_entries=("v1,",)),
    ]
    records = [RecordedRequest("POST", "/pimlico", q, body, signing=s)
               for s in signings for q in ("", DEBUG_QUERIES[0])]
    records.append(RecordedRequest("POST", "/pimlico", "", b"not json", signing=Signing()))
    return records


def _probes(wh: Harness) -> list[RecordedRequest]:
    chain = cases.hex_chain(wh.profile.chain_id)
    good = cases.alchemy(b"\x06" * 20, cases.execute(wh.actors.cluster), chain)
    records = []
    for query in ("", *DEBUG_QUERIES):
        joined = "&".join(q for q in (query, "token={token}") if q)
        records += [
            RecordedRequest("POST", "/", query or "token=wrong", good),
            RecordedRequest("POST", "/", joined, b"not json"),
            RecordedRequest("POST", "/", joined, b'{"userOperation":{}}'),
            RecordedRequest("POST", "/", joined, good),
            RecordedRequest("GET", "/check", "&".join(q for q in (query, "cluster=nope") if q),
                            headers=()),
            RecordedRequest("GET", "/healthz", query, headers=()),
            RecordedRequest("GET", "/debug", joined, headers=()),
        ]
    if wh.profile.has_pimlico_route and wh.secrets is not None and wh.secrets.hmac_secret:
        records += _signed_probes(wh)
    return records


@rules("WH-071")
def test_error_and_debug_answers_carry_no_secret(wh: Harness, observe: Observer) -> None:
    """Every probe of ``_probes``: its answer carries no secret and no part of a MAC."""
    for record in _probes(wh):
        observe.case()
        before = len(wh.leaks)
        answer = wh.send(record)
        if len(wh.leaks) > before:
            found = "; ".join(wh.leaks[-1]["found"])
            raise wh.failure("WH-071", f"{record.method} {record.path} answered with {found}",
                             record, answer,
                             cause=f"secret in an answer on {record.method} {record.path}")


@rules("WH-071")
def test_no_answer_of_the_run_carries_a_secret(wh: Harness, observe: Observer) -> None:
    """What the scan of every answer of the run (every check, every worker) found so far."""
    wh.get("/healthz")
    observe.case()
    leaks = wh.found_leaks()
    if leaks:
        first = leaks[0]
        raise CheckFailure(
            "WH-071", f"{len(leaks)} answer(s) of this run carried a secret; the first: "
            f"{first['request']} answered {first['status']} with {'; '.join(first['found'])}",
            minimal_input={"leaks": leaks[:20]},
            cause=f"secret in an answer on {first['request']}")
