"""Routes and methods (PROTOCOL.md §5 "Routes"): WH-001 404 elsewhere, WH-002 JSON everywhere.

``POST /pimlico`` is left to WH-058 (its existence depends on the profile).
"""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.oracle.webhook import expect_not_found
from conformance.suites.webhook import cases
from conformance.suites.webhook.harness import Harness
from conformance.suites.webhook.reproduce import RecordedRequest, Signing

DEFINED = {("POST", "/"), ("POST", "/pimlico"), ("GET", "/check"), ("GET", "/healthz")}

UNDEFINED = [
    ("GET", "/"), ("PUT", "/"), ("DELETE", "/"), ("PATCH", "/"), ("OPTIONS", "/"), ("HEAD", "/"),
    ("POST", "/check"), ("PUT", "/check"), ("POST", "/healthz"), ("DELETE", "/healthz"),
    ("HEAD", "/healthz"), ("GET", "/pimlico"), ("GET", "/check/"), ("GET", "/healthz/"),
    ("GET", "/Check"), ("GET", "/HEALTHZ"), ("POST", "/index.html"), ("POST", "/alchemy"),
    ("GET", "/check/extra"), ("POST", "/api"), ("GET", "/favicon.ico"),
]
"""Method/path pairs §5 does not define (each must be 404)."""

_SEGMENT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)
_METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"])


def _not_found(wh: Harness, method: str, path: str) -> None:
    body = b"{}" if method in ("POST", "PUT", "PATCH") else b""
    headers = (("content-type", "application/json"),) if body else ()
    record = RecordedRequest(method, path, "", body, headers=headers)
    answer = wh.send(record)
    wh.judge("WH-001", record, answer, expect_not_found(), f"{method} {path} is not a route")


@rules("WH-001")
def test_undefined_method_or_path_is_404(wh: Harness, observe: Observer) -> None:
    """Every listed method/path outside §5's four routes answers 404."""
    for method, path in UNDEFINED:
        observe.case()
        _not_found(wh, method, path)


@rules("WH-001")
@given(method=_METHODS, segments=st.lists(_SEGMENT, min_size=1, max_size=3))
@example(method="POST", segments=["pimlico", "x"])
def test_generated_paths_are_404(wh: Harness, observe: Observer, method: str,
                                 segments: list[str]) -> None:
    """Generated paths that are not a route answer 404."""
    path = "/" + "/".join(segments)
    if (method, path) in DEFINED or path == "/pimlico":
        return
    observe.case()
    _not_found(wh, method, path)


PLAUSIBLE = (
    "/status", "/debug", "/metrics", "/admin", "/health", "/healthcheck", "/health-check",
    "/ping", "/ready", "/readyz", "/livez", "/env", "/config", "/.env", "/_debug", "/_status",
    "/_health", "/info", "/version", "/stats", "/debug/vars", "/debug/pprof/", "/__debug__",
    "/actuator/health", "/server-status", "/internal", "/api", "/api/status", "/v1/status",
    "/docs", "/openapi.json", "/swagger.json", "/graphql", "/robots.txt", "/.git/config",
    "/cache", "/keys", "/secret", "/token", "/logs",
)
"""Status, debug, metrics, admin and health look-alikes a webhook might serve (§5: none)."""

DOCUMENTED = ("/", "/pimlico", "/check", "/healthz")
CHILDREN = ("/", "/x", "/debug", "/status", "/metrics", ".json", "z", "/../healthz2")
"""Suffixes and children of each documented route (e.g. /check/, /healthz/x, /pimlico/debug)."""

ALL_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD")


def _dictionary() -> list[str]:
    """Every path WH-001's dictionary probes (the plausible ones, the documented routes'
    suffixes and children, and query-string variants of both)."""
    paths = list(PLAUSIBLE)
    for route in DOCUMENTED:
        base = route.rstrip("/")
        paths += [base + child for child in CHILDREN
                  if (base + child).startswith("/") and base + child not in DOCUMENTED]
    return sorted(set(paths))


CREDENTIALS = ("none", "token", "signed", "bearer")
"""How a probe is sent: bare, with ``?token=<the token>``, with a valid Standard Webhooks
signature, with ``Authorization: Bearer <the token>`` (a hidden route may want any of them)."""


def _probe(wh: Harness, method: str, path: str, credentials: str, query: str = "") -> None:
    body = b"{}" if method in ("POST", "PUT", "PATCH") else b""
    headers: tuple[tuple[str, str], ...] = (("content-type", "application/json"),) if body else ()
    signing = None
    if credentials == "token":
        query = "&".join(q for q in (query, "token={token}") if q)
    elif credentials == "bearer" and wh.secrets is not None:
        headers += (("authorization", f"Bearer {wh.secrets.token}"),)
    elif credentials == "signed" and wh.secrets is not None and wh.secrets.hmac_secret:
        signing = Signing(msg_id=f"msg_amc_probe{path}")
    record = RecordedRequest(method, path, query, body, headers=headers, signing=signing)
    answer = wh.send(record)
    wh.judge("WH-001", record, answer, expect_not_found(),
             f"{method} {path} ({credentials} credentials) is not a route")


@rules("WH-001")
def test_plausible_hidden_routes_are_404(wh: Harness, observe: Observer) -> None:
    """The dictionary (``PLAUSIBLE`` and the documented routes' ``CHILDREN``), every method,
    without credentials; GET and POST again with each kind of credentials and with debug-looking
    query strings → 404 every time."""
    for path in _dictionary():
        for method in ALL_METHODS:
            observe.case()
            _probe(wh, method, path, "none")
        for method in ("GET", "POST"):
            for credentials in CREDENTIALS[1:]:
                observe.case()
                _probe(wh, method, path, credentials)
            observe.case()
            _probe(wh, method, path, "token", query="debug=1&verbose=true")


def _json_answer_cases(wh: Harness) -> list[RecordedRequest]:
    chain = cases.hex_chain(wh.profile.chain_id)
    target = wh.actors.cluster
    records = [
        RecordedRequest("POST", "/", "token={token}", b"not json"),
        RecordedRequest("POST", "/", "token={token}", b'{"userOperation":{}}'),
        RecordedRequest("POST", "/", "", cases.alchemy(b"\x01" * 20, cases.execute(target), chain)),
        RecordedRequest("GET", "/check", "cluster=nope", headers=()),
        RecordedRequest("GET", "/healthz", "", headers=()),
    ]
    if wh.secrets is not None:
        for entry_point in (cases.CANONICAL_ENTRY_POINT, "0x" + "ee" * 20, "not-an-address"):
            body = cases.alchemy(b"\x02" * 20, cases.execute(target), chain,
                                 entry_point=entry_point)
            records.append(RecordedRequest("POST", "/", "token={token}", body))
    if wh.profile.has_pimlico_route:
        event = cases.pimlico(b"\x03" * 20, cases.execute(target), wh.profile.chain_id)
        records.append(RecordedRequest("POST", "/pimlico", "", event, signing=Signing(sign=False)))
        if wh.secrets is not None and wh.secrets.hmac_secret:
            records.append(RecordedRequest("POST", "/pimlico", "", event, signing=Signing()))
            records.append(RecordedRequest("POST", "/pimlico", "", b"[]", signing=Signing()))
    if wh.peer is not None:
        records.append(RecordedRequest("GET", "/check", "cluster=0x" + target.hex(), headers=()))
    return records


@rules("WH-002")
def test_every_answer_is_json(wh: Harness, observe: Observer) -> None:
    """Answers on the defined routes (approvals, denials, 400, 401, /check, /healthz) are
    JSON with content-type application/json, whatever the entryPoint says."""
    for record in _json_answer_cases(wh):
        observe.case()
        answer = wh.send(record)
        if answer.content_type != "application/json" or not answer.is_json:
            raise wh.failure("WH-002", f"{record.method} {record.path} answered "
                             f"content-type {answer.content_type or '(none)'!r}", record, answer)


@pytest.mark.parametrize("method", ["GET", "POST"])
@rules("WH-002")
def test_not_found_answers_do_not_break_json_routes(wh: Harness, observe: Observer,
                                                    method: str) -> None:
    """A 404 elsewhere leaves the routes answering JSON (the server survives odd requests)."""
    observe.case()
    wh.send(RecordedRequest(method, "/definitely/not/here", "", b"", headers=()))
    record, answer = wh.get("/healthz")
    if answer.content_type != "application/json" or not answer.is_json:
        raise wh.failure("WH-002", "/healthz stopped answering JSON", record, answer)
