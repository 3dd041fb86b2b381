"""Recorded webhook requests: what a FAIL carries so it can be replayed
(ARCHITECTURE.md "Reproducers").

A request is recorded with secrets as *templates*: the query ``token={token}%00`` means "the
shared token, then %00"; a Pimlico request records how it was signed (message id, timestamp
offset from now, extra signature entries, a deliberately wrong key derivation), never the MAC.
``curl_command`` renders a ready shell command naming secrets by environment variable; a signed
request's headers are computed when it runs (``python -m conformance.suites.webhook.reproduce
sign``, fresh timestamp, the secret read from its variable). ``amc replay`` rebuilds the request
from the record with the secrets of its own environment and a fresh timestamp.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from conformance.protocol.webhook_wire import KeyDerivation, SecretFormatError, webhook_headers
from conformance.targets.webhook_http import JSON_HEADERS, WebhookRequest

INLINE_BODY_LIMIT = 8_192
"""Bodies up to this size are inlined in the curl command (base64); larger ones are read from a
file in the report directory (or extracted from results.json by their SHA-256)."""

LIVE_DERIVATION = KeyDerivation.LIVE_BASE57.value
"""The derivation a reproducer assumes when neither the record nor the run names one (§5)."""


@dataclass(frozen=True)
class Signing:
    """How a Pimlico request is signed: ``offset`` seconds from now, extra entries before the
    request's own ``v1`` entry, ``sign`` False leaves the own entry out, ``signed_body`` is the
    body the MAC covers when it differs from the sent one (tampering), ``drop`` names headers
    left out, ``derivation`` keys the own entry by that derivation instead of the target's (a
    wrongly derived key, WH-057)."""

    msg_id: str = "msg_amc"
    offset: int = 0
    extra_entries: tuple[str, ...] = ()
    sign: bool = True
    signed_body: bytes | None = None
    drop: tuple[str, ...] = ()
    timestamp_text: str | None = None
    derivation: str | None = None
    timestamp_form: str | None = None
    """A name of ``TIMESTAMP_FORMS``: the timestamp is written in that form, and the MAC is
    computed over that very text (WH-069: only the form is wrong, never the MAC)."""

    def headers(self, secret: str, derivation: str, body: bytes, now: int) -> dict[str, str]:
        """The three Standard Webhooks headers at ``now`` (PROTOCOL.md §5); ``derivation`` is
        the target's, used unless this signing names its own."""
        stamp = now + self.offset
        signed = self.signed_body if self.signed_body is not None else body
        text: int | str = stamp
        if self.timestamp_form is not None:
            text = TIMESTAMP_FORMS[self.timestamp_form](stamp)
        headers = webhook_headers(secret, self.derivation or derivation, self.msg_id,
                                  text, signed,  # type: ignore[arg-type]
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
        if self.derivation is not None:
            data["derivation"] = self.derivation
        if self.timestamp_form is not None:
            data["timestamp_form"] = self.timestamp_form
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Signing:
        signed = data.get("signed_body_b64")
        return cls(
            msg_id=data.get("msg_id", "msg_amc"), offset=int(data.get("offset", 0)),
            extra_entries=tuple(data.get("extra_entries", ())), sign=bool(data.get("sign", True)),
            signed_body=base64.b64decode(signed) if signed else None,
            drop=tuple(data.get("drop", ())), timestamp_text=data.get("timestamp_text"),
            derivation=data.get("derivation"), timestamp_form=data.get("timestamp_form"),
        )


def _grouped(stamp: int) -> str:
    digits = str(stamp)
    head = len(digits) % 3 or 3
    return "_".join([digits[:head]] + [digits[i:i + 3] for i in range(head, len(digits), 3)])


TIMESTAMP_FORMS: dict[str, Callable[[int], str]] = {
    "hex": lambda t: hex(t),
    "hex-upper": lambda t: "0X" + format(t, "X"),
    "octal": lambda t: oct(t),
    "binary": lambda t: bin(t),
    "fraction": lambda t: f"{t}.0",
    "fraction-half": lambda t: f"{t}.5",
    "exponent": lambda t: f"{t}e0",
    "exponent-upper-signed": lambda t: f"{t}E+00",
    "leading-plus": lambda t: f"+{t}",
    "digit-groups": _grouped,
    "padded-leading": lambda t: f"\xa0{t}",
    "padded-trailing": lambda t: f"{t}\xa0",
}
"""WH-069's classes: each a form that is not plain decimal digits yet names the same second to a
lenient reader (``int(text, 0)``, ``float``, ``int`` with its underscores and whitespace,
JavaScript's ``Number``). Padding is a no-break space (U+00A0, sent as the latin-1 byte): the
HTTP parser strips spaces and tabs around a header value (RFC 9110 §5.5), so a space-padded
value never reaches the webhook as such, but ``int``/``float``/``Number`` still trim U+00A0."""


RECORDED_EXTRAS = ("variant", "chain")
"""``extra`` keys a record keeps through JSON: ``variant`` names the launch settings a request
was sent under (``key_derivation``, ``secret_prefix``, ``secret``: ``unset``), so a replay can
launch the same; ``chain`` what a fresh standard chain must add (``members``: senders the
member factory knows)."""


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

    @property
    def variant(self) -> Mapping[str, str]:
        """The launch settings the request was sent under (empty: the run's own)."""
        return self.extra.get("variant") or {}

    @property
    def chain(self) -> Mapping[str, Any]:
        """Chain facts a replay's fresh chain must add (empty: none)."""
        return self.extra.get("chain") or {}

    @property
    def body_sha256(self) -> str:
        """The body's SHA-256 (hex): how a large body is found again."""
        return hashlib.sha256(self.body).hexdigest()

    def to_json(self) -> dict[str, Any]:
        """The ``minimal_input["request"]`` form (the body as base64 and, if text, as text)."""
        data: dict[str, Any] = {"method": self.method, "path": self.path, "query": self.query,
                                "headers": [list(h) for h in self.headers],
                                "body_b64": base64.b64encode(self.body).decode(),
                                "body_bytes": len(self.body)}
        if len(self.body) <= INLINE_BODY_LIMIT:
            with contextlib.suppress(UnicodeDecodeError):
                data["body"] = self.body.decode("utf-8")
        else:
            data["body_sha256"] = self.body_sha256
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
            extra={k: data[k] for k in RECORDED_EXTRAS if k in data},
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


URL_VARIABLE = "${WEBHOOK_URL:?set WEBHOOK_URL to the webhook under test}"
"""How a reproducer names the webhook: always ``$WEBHOOK_URL``."""

HELPER = "-m conformance.suites.webhook.reproduce"
"""The module whose ``main`` a reproducer runs for what plain shell cannot do (see ``main``)."""


def body_file_name(request: RecordedRequest, rule: str | None) -> str:
    """The report-directory file a large body is written to: one per failing rule and body."""
    return f"{rule or 'request'}-{request.body_sha256[:16]}.body"


def write_body_file(request: RecordedRequest, report_dir: Path, rule: str | None) -> Path:
    """Write the body next to results.json (``body_file_name``); the file's absolute path."""
    path = report_dir.resolve() / body_file_name(request, rule)
    if not path.exists():
        partial = path.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(request.body)
        partial.replace(path)
    return path


def _body_lines(request: RecordedRequest, body_file: Path | None) -> list[str]:
    """Shell lines that put the body in ``$BODY`` (a file: a signed request reads it twice)."""
    if body_file is not None:
        return [f"# body: {len(request.body)} bytes, written next to results.json",
                f"BODY={shlex.quote(str(body_file))}"]
    if len(request.body) > INLINE_BODY_LIMIT:
        return [f"# body: {len(request.body)} bytes, taken from results.json by its SHA-256 "
                "(run this in the report directory)",
                f"BODY=$(mktemp); {shlex.quote(sys.executable)} {HELPER} body results.json "
                f'{request.body_sha256} > "$BODY"']
    encoded = base64.b64encode(request.body).decode()
    return [f"BODY=$(mktemp); printf %s '{encoded}' | base64 -d > \"$BODY\""]


def curl_command(request: RecordedRequest, *, token_env: str, secret_env: str,
                 rule: str | None = None, report_dir: Path | None = None,
                 derivation: str | None = None, body_file: Path | None = None) -> str:
    """A ready shell reproducer: the webhook as ``$WEBHOOK_URL`` (the run's own webhook, on a
    port gone with the run, is never baked in; the shell stops with a message when the
    variable is unset), secrets as ``$VARS``, never values.

    The body is piped from inline base64 up to ``INLINE_BODY_LIMIT``; a larger one is read
    from ``body_file`` (``write_body_file``) or else extracted from results.json by its SHA-256.
    A signed request gets its ``webhook-*`` headers computed when the command runs, from
    ``$secret_env`` and the key derivation (``$PIMLICO_KEY_DERIVATION``, else the record's
    variant, else ``derivation``, else the live one) with a fresh timestamp. ``rule`` and
    ``report_dir`` make the ``amc replay`` line exact.
    """
    query = _shell_query(request.query, token_env)
    url = URL_VARIABLE + request.path + ("?" + query if query else "")
    parts = ["curl", "-sS", "-i", "-X", request.method, f'"{url}"']
    for name, value in request.headers:
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if request.signing is None and request.method == "GET" and not request.body:
        return " ".join(parts)
    if (request.signing is None and body_file is None
            and len(request.body) <= INLINE_BODY_LIMIT):
        encoded = base64.b64encode(request.body).decode()
        return f"printf %s '{encoded}' | base64 -d | " + " ".join(parts) + " --data-binary @-"
    lines: list[str] = []
    if request.signing is not None:
        lines += _signing_lines(request, secret_env, rule, report_dir)
    lines += _body_lines(request, body_file)
    if request.signing is not None:
        lines.append(_sign_line(request.signing, secret_env, request.variant, derivation))
        parts += ["-H", '@"$HEADERS"']
    lines.append(" ".join([*parts, '--data-binary @"$BODY"']))
    return "\n".join(lines)


def reproducer(request: RecordedRequest, *, token_env: str, secret_env: str,
               rule: str, report_dir: Path, derivation: str | None = None) -> str:
    """``curl_command`` for a FAIL of ``rule`` in a run writing ``report_dir``: a body over
    ``INLINE_BODY_LIMIT`` is first written there (``write_body_file``) and read from that file."""
    body_file = (write_body_file(request, report_dir, rule)
                 if len(request.body) > INLINE_BODY_LIMIT else None)
    return curl_command(request, token_env=token_env, secret_env=secret_env, rule=rule,
                        report_dir=report_dir, derivation=derivation, body_file=body_file)


def _signing_lines(request: RecordedRequest, secret_env: str, rule: str | None,
                   report_dir: Path | None) -> list[str]:
    where = shlex.quote(str(report_dir)) if report_dir is not None else "REPORT_DIR"
    lines = [f"# signed request (PROTOCOL.md §5): the webhook-* headers are computed when this "
             f"runs, from ${secret_env} with a fresh timestamp",
             f"# (or re-sign and judge in one step: amc replay {where} --rule {rule or '<id>'} "
             '--url "$WEBHOOK_URL")']
    variant = request.variant
    if variant:
        settings = ", ".join(f"{k}={v}" for k, v in sorted(variant.items()))
        lines.append(f"# recorded against a webhook launched with {settings}: run yours so")
    return lines


def _sign_line(signing: Signing, secret_env: str, variant: Mapping[str, str],
               derivation: str | None) -> str:
    fallback = variant.get("key_derivation") or derivation or LIVE_DERIVATION
    return (f"HEADERS=$(mktemp); {shlex.quote(sys.executable)} {HELPER} sign "
            f"--signing {shlex.quote(json.dumps(signing.to_json(), separators=(',', ':')))} "
            f"--secret-env {shlex.quote(secret_env)} "
            f'--derivation "${{PIMLICO_KEY_DERIVATION:-{fallback}}}" < "$BODY" > "$HEADERS"')


# ------------------------------------------------------------------ the reproducer's helper


def recorded_body(results: Mapping[str, Any], sha256: str) -> bytes | None:
    """The body of the recorded request whose SHA-256 is ``sha256`` (None when absent)."""
    for result in results.get("results", []):
        for failure in result.get("failures", []):
            request = (failure.get("minimal_input") or {}).get("request")
            if isinstance(request, dict):
                body = base64.b64decode(request.get("body_b64", ""))
                if hashlib.sha256(body).hexdigest() == sha256:
                    return body
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m conformance.suites.webhook.reproduce``: the part of a reproducer shell
    cannot do (exit 0, 2 on a usage error).

    ``sign --signing JSON --secret-env NAME [--derivation D] < BODY``: the three Standard
    Webhooks headers of the body, signed now with the secret in ``$NAME`` as the recorded
    ``Signing`` says, one ``name: value`` line each (for ``curl -H @FILE``).
    ``body RESULTS SHA256``: the recorded request body with that SHA-256, from a results.json.
    """
    parser = argparse.ArgumentParser(prog="python -m conformance.suites.webhook.reproduce")
    sub = parser.add_subparsers(dest="command", required=True)
    sign = sub.add_parser("sign")
    sign.add_argument("--signing", required=True)
    sign.add_argument("--secret-env", required=True)
    sign.add_argument("--derivation", default=LIVE_DERIVATION,
                      choices=[k.value for k in KeyDerivation])
    body = sub.add_parser("body")
    body.add_argument("results", type=Path)
    body.add_argument("sha256")
    args = parser.parse_args(argv)
    if args.command == "body":
        found = recorded_body(json.loads(args.results.read_text()), args.sha256)
        if found is None:
            parser.error(f"no recorded body with SHA-256 {args.sha256} in {args.results}")
        sys.stdout.buffer.write(found)
        return 0
    secret = os.environ.get(args.secret_env)
    if not secret:
        parser.error(f"set {args.secret_env} to the webhook's HMAC secret")
    signing = Signing.from_json(json.loads(args.signing))
    try:
        headers = signing.headers(secret, args.derivation, sys.stdin.buffer.read(),
                                  int(time.time()))
    except SecretFormatError as exc:
        parser.error(f"${args.secret_env} cannot be read as this request is signed: {exc}")
    # curl drops a header given as "name: " with no value; "name;" sends it empty
    sys.stdout.write("".join(f"{name}: {value}\n" if value else f"{name};\n"
                             for name, value in headers.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
