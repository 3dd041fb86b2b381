"""Secrets are masked at the source (conformance.secrecy; issue 7 §2): the process registry,
a request's repr (a traceback shows it), a transport error's text, a report's Redactor."""

from __future__ import annotations

import base64
import socket
import threading

import pytest

from conformance.errors import TargetError
from conformance.protocol.webhook_wire import KeyDerivation, derive_hmac_key
from conformance.report.redact import Redactor
from conformance.secrecy import SECRETS, SecretRegistry, key_forms
from conformance.targets.webhook import generate_secrets
from conformance.targets.webhook_http import HttpWebhook, WebhookRequest


def test_registry_masks_every_spelling() -> None:
    registry = SecretRegistry()
    registry.register("s3cret/token+value", "$TOKEN")
    key = bytes(range(32))
    registry.register_key(key, "<key>")
    text = ("url ?token=s3cret%2Ftoken%2Bvalue json \"s3cret/token+value\" hex "
            f"{b's3cret/token+value'.hex()} key {key.hex()} b64 {base64.b64encode(key).decode()}")
    clean = registry.scrub(text)
    assert "s3cret" not in clean and key.hex() not in clean
    assert "$TOKEN" in clean and "<key>" in clean
    assert registry.scrub("nothing secret") == "nothing secret"


def test_empty_values_are_ignored() -> None:
    registry = SecretRegistry()
    registry.register("")
    registry.register(None)
    registry.register_key(b"")
    assert registry.scrub("abc") == "abc" and not registry.labels()


def test_key_forms_cover_hex_and_base64() -> None:
    key = b"\x01" * 20
    forms = key_forms(key)
    assert {key.hex(), base64.b64encode(key).decode(), base64.urlsafe_b64encode(key).decode()
            } <= forms


def test_generated_secrets_and_their_key_are_registered() -> None:
    made = generate_secrets(KeyDerivation.LIVE_BASE57)
    assert made.hmac_secret is not None
    key = derive_hmac_key(made.hmac_secret, KeyDerivation.LIVE_BASE57)
    text = SECRETS.scrub(f"{made.token} {made.hmac_secret} {key.hex()}")
    assert made.token not in text and made.hmac_secret not in text and key.hex() not in text
    assert Redactor.for_process(()).text(made.token) == "$ALCHEMY_WEBHOOK_TOKEN"


def test_request_repr_masks_the_token() -> None:
    """pytest prints a frame's arguments: the request with ``?token=`` must come out masked."""
    made = generate_secrets(KeyDerivation.LIVE_BASE57)
    request = WebhookRequest(query=f"token={made.token}", body=made.token.encode())
    assert made.token not in repr(request)
    assert "token=$ALCHEMY_WEBHOOK_TOKEN" in repr(request)


def test_transport_errors_are_masked() -> None:
    """A hung target: the TargetError text (and its traceback's reprs) hold no token."""
    made = generate_secrets(KeyDerivation.LIVE_BASE57)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        port = server.getsockname()[1]
        accepted: list[socket.socket] = []
        thread = threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True)
        thread.start()
        with HttpWebhook(f"http://127.0.0.1:{port}", timeout=0.3) as webhook, \
                pytest.raises(TargetError) as caught:
            webhook.send(WebhookRequest(query=f"token={made.token}"))
        for conn in accepted:
            conn.close()
    assert made.token not in str(caught.value)
    assert made.token not in caught.getrepr(funcargs=True, showlocals=True).__str__()
