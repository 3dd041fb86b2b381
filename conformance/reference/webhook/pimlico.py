"""The ``POST /pimlico`` specifics: Standard Webhooks authentication and the event's request.

PROTOCOL.md §5 "Pimlico body": the signature is checked first (bad or missing → 401,
WH-048…WH-052, key derived per profile WH-057); a correctly signed body that does not parse, or
a foreign event, is a plain denial (200 ``{"sponsor":false}``, WH-054), because a paymaster
treats any non-200 as a transport failure and retries.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping

from conformance.protocol.hexutil import parse_address
from conformance.protocol.webhook_wire import (
    KeyDerivation,
    SecretFormatError,
    SignatureError,
    parse_pimlico_event,
    sign_webhook,
    verify_webhook,
)
from conformance.reference.webhook.config import WebhookConfig
from conformance.reference.webhook.policy import SponsorRequest, Variant


def authentic(
    config: WebhookConfig, variant: Variant, headers: Mapping[str, str], body: bytes, now: int
) -> bool:
    """True when the request carries a matching ``v1`` signature within the time window."""
    if config.pimlico_secret is None:
        return False
    derivation = variant.key_derivation(config.key_derivation)
    if variant.read_timestamp is not None:  # a mutant only (WH-069)
        return _lenient(config.pimlico_secret, derivation, headers, body, now,
                        variant.read_timestamp, variant.timestamp_tolerance)
    try:
        verify_webhook(config.pimlico_secret, derivation, headers, body, now,
                       variant.timestamp_tolerance)
    except (SignatureError, SecretFormatError):
        return False
    return True


def _lenient(secret: str, derivation: KeyDerivation, headers: Mapping[str, str], body: bytes,
             now: int, read: Callable[[str], int], tolerance: int) -> bool:
    """A timestamp-form mutant's check: any text ``read`` turns into a second within the
    window, the MAC over the text as sent (what a lenient implementation does)."""
    msg_id, text = headers.get("webhook-id"), headers.get("webhook-timestamp")
    signature = headers.get("webhook-signature") or ""
    try:
        stamp = read(text or "")
        expected = sign_webhook(secret, derivation, msg_id or "", text, body)  # type: ignore[arg-type]
    except (ValueError, SecretFormatError):
        return False
    if not msg_id or abs(now - stamp) > tolerance:
        return False
    return any(hmac.compare_digest(expected, entry) for entry in signature.split(" "))


def sponsor_request(body: bytes) -> SponsorRequest | None:
    """Steps 2–8's input from a sponsorship event; None when unparsable or foreign."""
    event = parse_pimlico_event(body)
    if event is None:
        return None
    return SponsorRequest(parse_address(event.sender), event.call_data, event.chain_id)
