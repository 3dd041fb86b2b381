"""Reaching a webhook over HTTP: one request in, one ``Answer`` out (STYLE.md 7, PROTOCOL.md §5).

The transport is a tiny protocol (``send``, ``reset``, ``close``; a context manager). Every
request has a timeout; a connect error, a timeout or a reset becomes ``TargetError`` naming the
cause, so a hung target costs one ERROR and never a hung run. Answers are returned whatever
their status or body: judging them is the checks' business (``Answer.require_json`` turns a
non-JSON answer into ``TargetError`` where a check cannot judge without the JSON).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

import httpx

from conformance.errors import TargetError
from conformance.secrecy import scrub

JSON_HEADERS: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)
"""The headers of a JSON POST (PROTOCOL.md §5: JSON bodies, ``content-type: application/json``)."""


@dataclass(frozen=True, repr=False)
class WebhookRequest:
    """One HTTP request: ``query`` is the raw, already-encoded query string (no ``?``).

    Its ``repr`` (a test report's traceback shows it) masks the process's secrets: the token in
    the query, a signature header, a body (``conformance.secrecy``)."""

    method: str = "POST"
    path: str = "/"
    query: str = ""
    headers: tuple[tuple[str, str], ...] = JSON_HEADERS
    body: bytes = b""

    @property
    def target(self) -> str:
        """Path plus query, as it goes on the request line."""
        return f"{self.path}?{self.query}" if self.query else self.path

    def __repr__(self) -> str:
        return scrub(f"WebhookRequest(method={self.method!r}, path={self.path!r}, "
                     f"query={self.query!r}, headers={self.headers!r}, body={self.body!r})")


@dataclass(frozen=True)
class Answer:
    """What the target answered: status, lower-cased headers, raw body, parsed JSON or None."""

    status: int
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    body: bytes = b""
    json: Any = None
    elapsed: float = 0.0

    @property
    def content_type(self) -> str:
        """The media type of the answer, lower-case, without parameters."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def is_json(self) -> bool:
        """True when the body parsed as JSON."""
        return self.json is not None or self.body.strip() == b"null"

    @property
    def reason(self) -> str | None:
        """The ``reason`` of a JSON object body, if any."""
        return self.json.get("reason") if isinstance(self.json, dict) else None

    def describe(self, limit: int = 200) -> str:
        """``status body`` in one short line, for failure messages."""
        text = self.body.decode("utf-8", errors="replace")
        if len(text) > limit:
            text = text[: limit - 3] + "..."
        return f"{self.status} {text}".strip()

    def require_json(self) -> Any:
        """The JSON body, or TargetError when the answer is not JSON (cannot judge the case)."""
        if not self.is_json:
            raise TargetError(f"answer is not JSON: {self.describe(120)}")
        return self.json


def parse_json_body(body: bytes) -> Any:
    """The JSON value of ``body``, or None when it is not JSON."""
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


class WebhookTarget(Protocol):
    """What a check needs from a webhook under test."""

    @property
    def url(self) -> str: ...

    def send(self, request: WebhookRequest) -> Answer: ...

    def reset(self) -> bool: ...

    def close(self) -> None: ...


class HttpWebhook:
    """A webhook at ``url`` (already running): requests over httpx with a per-request timeout."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout={timeout}: must be positive")
        self._url = url.rstrip("/")
        self._timeout = timeout
        self._client = httpx.Client(timeout=httpx.Timeout(timeout), trust_env=False)

    @property
    def url(self) -> str:
        """The base URL requests go to (no trailing slash)."""
        return self._url

    def retarget(self, url: str) -> None:
        """Send later requests to ``url`` (a restarted process on another port)."""
        self._url = url.rstrip("/")

    def send(self, request: WebhookRequest) -> Answer:
        """Send one request; TargetError on timeout or transport failure."""
        started = time.monotonic()
        try:
            response = self._client.request(
                request.method,
                self._url + request.target,
                headers=httpx.Headers(list(request.headers), encoding="latin-1"),
                content=request.body if request.body or request.method != "GET" else None,
            )
        except httpx.TimeoutException as exc:
            raise TargetError(scrub(
                f"{request.method} {request.path} timed out after {self._timeout:g} s "
                f"({type(exc).__name__})"
            )) from None
        except httpx.HTTPError as exc:  # httpx may name the URL (token and all): masked
            raise TargetError(scrub(
                f"{request.method} {request.path} failed: {type(exc).__name__}: {exc}"
            )) from None
        body = response.content
        headers = MappingProxyType({k.lower(): v for k, v in response.headers.items()})
        return Answer(response.status_code, headers, body, parse_json_body(body),
                      time.monotonic() - started)

    def reset(self) -> bool:
        """An already running webhook cannot be restarted: False (no fresh state)."""
        return False

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    def __enter__(self) -> HttpWebhook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
