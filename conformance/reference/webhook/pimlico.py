"""The ``POST /pimlico`` specifics: Standard Webhooks authentication and the event's request.

PROTOCOL.md §5 "Pimlico body": the signature is checked first (bad or missing → 401,
WH-048…WH-052, key derived per profile WH-057); a correctly signed body that does not parse, or
a foreign event, is a plain denial (200 ``{"sponsor":false}``, WH-054), because a paymaster
treats any non-200 as a transport failure and retries.
"""

from __future__ import annotations

from collections.abc import Mapping

from conformance.protocol.hexutil import parse_address
from conformance.protocol.webhook_wire import (
    SecretFormatError,
    SignatureError,
    parse_pimlico_event,
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
    try:
        verify_webhook(config.pimlico_secret, derivation, headers, body, now,
                       variant.timestamp_tolerance)
    except (SignatureError, SecretFormatError):
        return False
    return True


def sponsor_request(body: bytes) -> SponsorRequest | None:
    """Steps 2–8's input from a sponsorship event; None when unparsable or foreign."""
    event = parse_pimlico_event(body)
    if event is None:
        return None
    return SponsorRequest(parse_address(event.sender), event.call_data, event.chain_id)
