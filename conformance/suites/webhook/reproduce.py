"""Recorded webhook requests: what a FAIL carries so it can be replayed (DESIGN.md "Reproducers").

A request is recorded with secrets as *templates*: the query ``token={token}%00`` means "the
shared token, then %00"; a Pimlico request records how it was signed (message id, timestamp
offset from now, extra signature entries), never the MAC. ``curl_command`` renders a ready
shell command naming secrets by environment variable; ``amc replay`` rebuilds the request from
the record with the secrets of its own environment and a fresh timestamp.
"""

from __future__ import annotations

import base64
import contextlib
import shlex
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from conformance.protocol.webhook_wire import webhook_headers
from conformance.targets.webhook_http import JSON_HEADERS, WebhookRequest

INLINE_BODY_LIMIT = 8_192
"""Bodies up to this size are inlined in the curl command (base64); larger ones are referred to."""


@dataclass(frozen=True)
class Signing:
    """How a Pimlico request is signed: ``offset`` seconds from now, extra entries before the
    request's own ``v1`` entry, ``sign`` False leaves the own entry out, ``signed_body`` is the
    body the MAC covers when it differs from the sent one (tampering), ``drop`` names headers
    left out."""

    msg_id: str = "msg_amc"
    offset: int = 0
    extra_entries: tuple[str, ...] = ()
    sign: bool = True
    signed_body: bytes | None = None
    drop: tuple[str, ...] = ()
    timestamp_text: str | None = None

    def headers(self, secret: str, derivation: str, body: bytes, now: int) -> dict[str, str]:
        """The three Standard Webhooks headers at ``now`` (PROTOCOL.md §5)."""
        stamp = now + self.offset
        signed = self.signed_body if self.signed_body is not None else body
        headers = webhook_headers(secret, derivation, self.msg_id, stamp, signed,
                                  extra_entries=self.extra_entries, sign=self.sign)
        if self.timestamp_text is not None:
            headers["webhook-timestamp"] = self.timestamp_text
        for name in self.drop:
            headers.pop(name, None)
        return headers

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"msg_id": self.msg_id, "offset": self.offset,
                                "extra_entries": list(self.extra_entries), "sign": self.sign,
                                "drop": list(self.drop)}
        if self.signed_body is not None:
            data["signed_body_b64"] = base64.b64encode(self.signed_body).decode()
        if self.timestamp_text is not None:
            data["timestamp_text"] = self.timestamp_text
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Signing:
        signed = data.get("signed_body_b64")
        return cls(
            msg_id=data.get("msg_id", "msg_amc"), offset=int(data.get("offset", 0)),
            extra_entries=tuple(data.get("extra_entries", ())), sign=bool(data.get("sign", True)),
            signed_body=base64.b64decode(signed) if signed else None,
            drop=tuple(data.get("drop", ())), timestamp_text=data.get("timestamp_text"),
        )


@dataclass(frozen=True)
class RecordedRequest:
    """A request with its secrets as templates (see the module docstring)."""

    method: str = "POST"
    path: str = "/"
    query: str = ""
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = JSON_HEADERS
    signing: Signing | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def build(self, *, token: str | None, secret: str | None, derivation: str,
              now: int | None = None) -> WebhookRequest:
        """The concrete request for these secrets (a fresh signature at ``now``)."""
        query = render_query(self.query, token)
        headers = list(self.headers)
        if self.signing is not None and secret is not None:
            stamp = int(time.time()) if now is None else now
            headers += list(self.signing.headers(secret, derivation, self.body, stamp).items())
        return WebhookRequest(self.method, self.path, query, tuple(headers), self.body)

    def to_json(self) -> dict[str, Any]:
        """The ``minimal_input["request"]`` form (the body as base64 and, if text, as text)."""
        data: dict[str, Any] = {"method": self.method, "path": self.path, "query": self.query,
                                "headers": [list(h) for h in self.headers],
                                "body_b64": base64.b64encode(self.body).decode(),
                                "body_bytes": len(self.body)}
        if len(self.body) <= INLINE_BODY_LIMIT:
            with contextlib.suppress(UnicodeDecodeError):
                data["body"] = self.body.decode("utf-8")
        if self.signing is not None:
            data["signing"] = self.signing.to_json()
        data.update(self.extra)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RecordedRequest:
        signing = data.get("signing")
        return cls(
            method=data.get("method", "POST"), path=data.get("path", "/"),
            query=data.get("query", ""), body=base64.b64decode(data.get("body_b64", "")),
            headers=tuple((str(k), str(v)) for k, v in data.get("headers", JSON_HEADERS)),
            signing=Signing.from_json(signing) if signing else None,
        )


def render_query(template: str, token: str | None) -> str:
    """Fill ``{token}`` (URL-encoded), ``{raw_token}``, ``{TOKEN}`` and ``{token_pct}``."""
    if "{" not in template:
        return template
    value = token or ""
    return (template.replace("{token_pct}", "".join(f"%{b:02X}" for b in value.encode()))
            .replace("{TOKEN}", quote(value.upper(), safe=""))
            .replace("{raw_token}", value)
            .replace("{token}", quote(value, safe="")))


def _shell_query(template: str, token_env: str) -> str:
    ref = "${" + token_env + "}"
    return (template.replace("{token_pct}", f"$(printf %s \"{ref}\" | od -An -tx1 | tr -d ' \\n'"
                                            " | sed 's/../%&/g')")
            .replace("{TOKEN}", f"$(printf %s \"{ref}\" | tr a-z A-Z)")
            .replace("{raw_token}", ref).replace("{token}", ref))


def curl_command(request: RecordedRequest, *, base_url: str, token_env: str,
                 secret_env: str) -> str:
    """A ready ``curl`` command: secrets as ``$VARS``, the body piped from base64."""
    query = _shell_query(request.query, token_env)
    url = "${WEBHOOK_URL:-" + base_url.rstrip("/") + "}" + request.path + (
        "?" + query if query else "")
    parts = ["curl", "-sS", "-i", "-X", request.method, f'"{url}"']
    for name, value in request.headers:
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    lines = []
    if request.signing is not None:
        lines.append(f"# signed request: timestamps expire, re-sign with a fresh one from "
                     f"${secret_env} — `amc replay RESULTS.json --rule <id>` does it")
        parts += ["-H", "'webhook-id: " + request.signing.msg_id + "'",
                  "-H", '"webhook-timestamp: $(($(date +%s)' + f"{request.signing.offset:+d}))\"",
                  "-H", "'webhook-signature: <v1,… re-signed>'"]
    if request.method == "GET" and not request.body:
        return "\n".join([*lines, " ".join(parts)])
    if len(request.body) <= INLINE_BODY_LIMIT:
        encoded = base64.b64encode(request.body).decode()
        lines.append(f"printf %s '{encoded}' | base64 -d | " + " ".join(parts)
                     + " --data-binary @-")
    else:
        lines.append(f"# body: {len(request.body)} bytes, in minimal_input.request.body_b64")
        lines.append("base64 -d body.b64 | " + " ".join(parts) + " --data-binary @-")
    return "\n".join(lines)
