"""The schemathesis phase: the OpenAPI document of the protocol surface drives the target.

The document (conformance/reference/webhook/openapi.yaml) describes PROTOCOL.md §5's routes and
every status a conforming webhook may give. schemathesis generates requests per operation; the
answers must never be a server error (WH-009), and must have a documented status, a JSON
content type and a body matching the documented schema (WH-002). Half the ``POST /`` cases
carry the right token, so they reach the policy.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from hypothesis import Phase, given, settings
from hypothesis import strategies as st

import conformance
from conformance.engine.checks import Observer, TargetError, rules
from conformance.suites.webhook.harness import Harness
from conformance.suites.webhook.reproduce import RecordedRequest

DOCUMENT = Path(conformance.__file__).resolve().parent / "reference" / "webhook" / "openapi.yaml"


@functools.cache
def _schema() -> Any:
    """The loaded document (schemathesis is imported only when an OpenAPI check runs)."""
    import schemathesis

    return schemathesis.openapi.from_path(str(DOCUMENT))


def _checks() -> list[Any]:
    from schemathesis.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [status_code_conformance, content_type_conformance, response_schema_conformance]
NO_SHRINK = settings(phases=[Phase.explicit, Phase.reuse, Phase.generate])
"""schemathesis cases shrink slowly and a departure from the document is plain as generated."""


def _record(case: Any, with_token: bool) -> RecordedRequest:
    body = b"" if case.body is None or case.method == "GET" else json.dumps(case.body).encode()
    query = "&".join(f"{k}={v}" for k, v in (case.query or {}).items() if k != "token")
    if with_token:
        query = "token={token}" + ("&" + query if query else "")
    headers = tuple((k, str(v)) for k, v in (case.headers or {}).items())
    if body:
        headers += (("content-type", "application/json"),)
    return RecordedRequest(case.method, case.formatted_path, query, body, headers)


def _run(wh: Harness, observe: Observer, case: Any, with_token: bool) -> None:
    observe.case()
    if with_token:
        case.query = {**(case.query or {}), "token": wh.need_token()}
    try:
        response = case.call(base_url=wh.url, timeout=wh.spec.request_timeout)
    except Exception as exc:  # requests' transport errors: the suite could not judge
        raise TargetError(f"{case.method} {case.formatted_path}: {type(exc).__name__}") from None
    record = _record(case, with_token)
    sent = response.request
    raw = sent.body.encode() if isinstance(sent.body, str) else (sent.body or b"")
    wh.scan(case.method, case.formatted_path, dict(sent.headers), raw,
            response.status_code, {k.lower(): v for k, v in response.headers.items()},
            response.content)  # WH-071 reads this answer too
    if response.status_code >= 500:
        raise wh.failure("WH-009", f"schemathesis case drew HTTP {response.status_code}: "
                         f"{response.text[:120]}", record, None)
    try:
        case.validate_response(response, checks=_checks())
    except (Exception, BaseExceptionGroup) as exc:  # schemathesis' failure group
        detail = wh.scrub(" ".join(str(exc).split()).split(" Reproduce with:")[0])[:400]
        raise wh.failure("WH-002", f"answer departs from the OpenAPI document "
                         f"(HTTP {response.status_code}): {detail}", record, None) from None


def _operation(path: str, method: str) -> Any:
    return st.deferred(lambda: _schema()[path][method].as_strategy())


@rules("WH-002", "WH-009")
@NO_SHRINK
@given(case=_operation("/", "POST"), with_token=st.booleans())
def test_sponsor_alchemy_conforms(wh: Harness, observe: Observer, case: Any,
                                  with_token: bool) -> None:
    """Generated ``POST /`` requests: documented status, JSON, schema; never 5xx."""
    _run(wh, observe, case, with_token and wh.secrets is not None)


@rules("WH-002", "WH-009")
@NO_SHRINK
@given(case=_operation("/pimlico", "POST"))
def test_sponsor_pimlico_conforms(wh: Harness, observe: Observer, case: Any) -> None:
    """Generated (unsigned or wrongly signed) ``POST /pimlico`` requests conform."""
    _run(wh, observe, case, False)


@rules("WH-002", "WH-009")
@NO_SHRINK
@given(case=_operation("/check", "GET"))
def test_check_conforms(wh: Harness, observe: Observer, case: Any) -> None:
    """Generated ``GET /check`` requests conform."""
    _run(wh, observe, case, False)


@rules("WH-002", "WH-009")
@NO_SHRINK
@given(case=_operation("/healthz", "GET"))
def test_healthz_conforms(wh: Harness, observe: Observer, case: Any) -> None:
    """Generated ``GET /healthz`` requests conform."""
    _run(wh, observe, case, False)
