"""Mutants of the reference webhook: each replaces one seam of ``policy.Variant``.

A mutant proves the suite has teeth: run against it (``amc run webhook --reference --mutant M
--profile P``, P = its ``profile``), the rules in ``breaks`` must FAIL, and only those.
``breaks`` lists the rules whose statement the mutant violates on some single-fault request
and whose checks catch it. A mutant that changes a policy step also changes the reason of
requests with several faults, so a WH-015 (step order) check may catch it too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from conformance.protocol import selectors
from conformance.protocol.calldata import (
    CANONICAL_DATA_START,
    ExecuteCall,
    decode_execute_strict,
    parse_calldata_hex,
)
from conformance.protocol.webhook_wire import (
    AlchemyRequest,
    BodyFormatError,
    KeyDerivation,
    parse_alchemy_body,
)
from conformance.reference.webhook.policy import REFERENCE, Variant

_DIGITS = re.compile(r"[0-9]+")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


@dataclass(frozen=True)
class Mutant:
    """A named reference copy that breaks the rules in ``breaks`` and only those."""

    name: str
    breaks: tuple[str, ...]
    description: str
    variant: Variant
    profile: str = "pimlico"


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return body if isinstance(body, dict) else None


def parse_decimal_chain_id(raw: bytes) -> AlchemyRequest:
    """Reads a decimal-digit chainId string as a chain id instead of answering 400."""
    try:
        return parse_alchemy_body(raw)
    except BodyFormatError:
        body = _json_object(raw)
        chain_id = body.get("chainId") if body else None
        if body is None or not isinstance(chain_id, str) or not _DIGITS.fullmatch(chain_id):
            raise
        return parse_alchemy_body(json.dumps({**body, "chainId": hex(int(chain_id))}).encode())


def parse_sender_crashes(raw: bytes) -> AlchemyRequest:
    """Raises an unhandled error (a 500) when sender is a string but not a 20-byte address."""
    body = _json_object(raw)
    user_op = body.get("userOperation") if body else None
    sender = user_op.get("sender") if isinstance(user_op, dict) else None
    if isinstance(sender, str) and not _ADDRESS.fullmatch(sender):
        raise RuntimeError("sender is not an address")
    return parse_alchemy_body(raw)


def decode_masking_address(text: str) -> ExecuteCall:
    """Reads the target as the low 20 bytes of its word, ignoring dirty upper bits."""
    raw = parse_calldata_hex(text)
    if len(raw) >= 36:
        raw = raw[:4] + bytes(12) + raw[16:]
    return decode_execute_strict(raw)


def inner_selector_text(call_data: str, call: ExecuteCall) -> str:
    """The inner selector as spelled in the hex text, case and all."""
    if len(call.data) < 4:
        return "0x"
    start = 2 + 2 * CANONICAL_DATA_START
    return "0x" + call_data[start : start + 8]


def is_deployed_cluster_key(key: str) -> bool:
    """True for the cache key of an ``isDeployedCluster`` read (``read_key``'s layout)."""
    return key.split(":")[1:2] == ["isDeployedCluster"]


def is_cluster_key(key: str) -> bool:
    """True for the cache key of a ``cluster()`` read (``read_key``'s layout)."""
    return key.split(":")[1:2] == ["cluster"]


def timestamp_int_base0(text: str) -> int:
    """``int(text, 0)``: reads 0x/0o/0b prefixes, a sign and digit groups as seconds."""
    return int(text, 0)


def timestamp_float(text: str) -> int:
    """``int(float(text))``: reads fractions, exponents, a sign, padding and digit groups."""
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return int(value)


def _mutant(name: str, breaks: str, description: str, profile: str = "pimlico",
            **seams: Any) -> Mutant:
    return Mutant(name, tuple(breaks.split()), description, replace(REFERENCE, **seams), profile)


_ALL = (
    _mutant("skip-chain-check", "WH-013", "any present chain id passes step 2",
            chain_ok=lambda chain_id, expected: chain_id is not None),
    _mutant("decimal-chainid-accepted", "WH-008",
            "POST / reads a decimal-digit chainId string instead of answering 400",
            parse_alchemy=parse_decimal_chain_id),
    _mutant("non-address-sender-500", "WH-007 WH-009",
            "a sender string that is not a 20-byte address crashes the handler (500)",
            parse_alchemy=parse_sender_crashes),
    _mutant("rpc-failure-approves", "WH-033 WH-034",
            "a chain transport fault in step 3 or 7 counts as a yes", fault_approves=True),
    _mutant("transport-failure-cached", "WH-038",
            "a transport fault is cached as a negative answer", cache_faults=lambda key: True),
    _mutant("target-fault-cached", "WH-038",
            "a transport fault on isDeployedCluster (the target, step 7) is cached as a "
            "negative answer", cache_faults=is_deployed_cluster_key),
    _mutant("revert-is-rpc-failure", "WH-022 WH-036",
            "a reverting read is treated as a transport fault (rpc-failure, never cached)",
            revert_is_fault=True),
    _mutant("negative-not-cached", "WH-036 WH-037",
            "negative chain answers are never cached (so no spelling of a sender shares one)",
            cache_negative=False),
    _mutant("cache-outage-denies", "WH-039",
            "a cache outage becomes an rpc-failure denial (the cap no longer fails open)",
            cache_outage_is_fault=True),
    _mutant("execute-allowed-as-inner", "WH-028", "execute itself is on the inner allowlist",
            allowlist=lambda generation, gate: selectors.allowlist(
                generation, operator_enabled=gate) | {selectors.EXECUTE.selector}),
    _mutant("operator-selectors-everywhere", "WH-028",
            "the three OPERATOR selectors are on the inner allowlist under every generation",
            "base",
            allowlist=lambda generation, gate: selectors.allowlist(
                generation, operator_enabled=gate) | {m.selector for m in selectors.OPERATOR}),
    _mutant("operator-gate-ignored", "WH-027",
            "OPERATOR selectors are sponsored whatever SPONSOR_OPERATOR_METHOD says",
            "multi-attestor",
            allowlist=lambda generation, gate: selectors.allowlist(
                generation, operator_enabled=True)),
    _mutant("value-check-off", "WH-024",
            "a non-zero execute value passes step 5",
            value_ok=lambda value: True),
    _mutant("case-sensitive-selector", "WH-029",
            "the inner selector is compared as the hex text, so upper-case callData is denied",
            read_selector=inner_selector_text),
    _mutant("lenient-decoder-dirty-address", "WH-067",
            "dirty upper bits of the target word are masked off instead of denied",
            decode=decode_masking_address),
    _mutant("hostile-cluster-trusted", "WH-019",
            "Path A asks the cluster named by sender.cluster() without checking the factory",
            path_a_asks_factory=False),
    _mutant("member-first-under-pimlico", "WH-020",
            "the pimlico generation asks the member factory before Path A",
            order=lambda generation: ("member", "path-a")),
    _mutant("v2-factory-ignored", "WH-032",
            "a configured v2 cluster factory is never asked", "multi-attestor",
            use_v2_factory=False),
    _mutant("cap-counts-denials", "WH-041", "denials count toward the daily cap",
            counts_denials=True),
    _mutant("chain-call-before-token", "WH-012",
            "a refused token still has the sender's provenance read from the chain",
            chain_read_before_token=True),
    _mutant("plain-base64-pimlico-key",
            "WH-057 WH-046 WH-047 WH-048 WH-049 WH-054 WH-055 WH-056",
            "the HMAC key is the plain base64 decoding of the secret (the live 401 outage)",
            key_derivation=lambda derivation: KeyDerivation.STANDARD),
    _mutant("timestamp-window-unchecked", "WH-051", "webhook-timestamp is never range-checked",
            timestamp_tolerance=10**12),
    _mutant("malformed-pimlico-event-4xx", "WH-054",
            "a signed but unparsable or foreign event is answered 400",
            unparsable_event_status=400),
    _mutant("pimlico-route-everywhere", "WH-058",
            "POST /pimlico is served under every generation", "base", pimlico_everywhere=True),
    _mutant("check-sponsored-differs", "WH-060", "/check always says sponsored: false",
            check_sponsored=lambda deployed: False),
    _mutant("healthz-always-ok", "WH-064", "/healthz never probes the chain",
            healthz_probes=False),
    _mutant("undocumented-status", "WH-002",
            "POST / naming an entryPoint other than v0.7 answers 418 text/plain, a status the "
            "OpenAPI document does not list (caught by the schemathesis phase)",
            foreign_entry_point_status=418),
    _mutant("timestamp-int-base0", "WH-069",
            "webhook-timestamp is read with int(ts, 0): hex, octal, binary, signed and grouped "
            "forms are accepted", read_timestamp=timestamp_int_base0),
    _mutant("timestamp-float", "WH-069",
            "webhook-timestamp is read with float(): fractional, exponent, signed, padded and "
            "grouped forms are accepted", read_timestamp=timestamp_float),
    _mutant("replay-counted-twice", "WH-070",
            "a replayed signed request is decided and counted toward the daily cap again",
            remember_replays=False),
    _mutant("mac-prefix-in-401", "WH-071",
            "a 401 on /pimlico carries the first 12 characters of the MAC it expected",
            echo_mac_prefix=True),
    _mutant("hidden-debug-route", "WH-001",
            "an undocumented GET /debug answers 200 with the configuration's generation",
            debug_route="/debug"),
    _mutant("hidden-status-route", "WH-001",
            "an undocumented GET /status answers 200", "base", debug_route="/status"),
    _mutant("cluster-fault-cached", "WH-038",
            "a transport fault on cluster() (a malformed JSON-RPC answer included) is cached as "
            "a negative answer", cache_faults=is_cluster_key),
    _mutant("ttl-setting-ignored", "WH-035",
            "positive answers are cached for the 24 h default whatever CACHE_TTL_SECONDS says",
            positive_ttl=lambda configured: 86_400),
    _mutant("negative-ttl-is-positive-ttl", "WH-036",
            "negative answers are cached for CACHE_TTL_SECONDS instead of 600 s",
            negative_ttl=lambda configured: configured),
    _mutant("cap-never-resets", "WH-042",
            "the daily-cap count is keyed by chain and sender only (the UTC date left out), so "
            "it never starts afresh on a new day", cap_day=lambda now: "every-day"),
    _mutant("empty-token-disables-auth", "WH-065",
            "an unset or empty ALCHEMY_WEBHOOK_TOKEN means \"no token needed\" instead of 500 "
            "server-misconfigured", optional_token=True),
)

MUTANTS: Mapping[str, Mutant] = MappingProxyType({m.name: m for m in _ALL})
"""Every webhook mutant by name."""


def list_mutants() -> list[dict[str, Any]]:
    """JSON-ready mutants (name, breaks, description, profile) for ``amc mutants list``."""
    return [
        {"name": m.name, "breaks": list(m.breaks), "description": m.description,
         "profile": m.profile}
        for m in _ALL
    ]
