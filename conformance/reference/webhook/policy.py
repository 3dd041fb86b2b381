"""The sponsorship policy of PROTOCOL.md §5, steps 2–8, and the seams mutants replace.

Step 1 (the token) belongs to the Alchemy route (``app``); the Pimlico route authenticates by
HMAC instead. The steps run in order and the first failure's reason is the answer (WH-015).
Every place a mutant changes is a field of ``Variant``; ``REFERENCE`` is the conforming one.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from conformance.protocol import selectors
from conformance.protocol.calldata import (
    DecodeError,
    ExecuteCall,
    decode_execute_strict,
    parse_calldata_hex,
)
from conformance.protocol.hexutil import checksum, parse_address
from conformance.protocol.webhook_wire import AlchemyRequest, KeyDerivation, parse_alchemy_body
from conformance.reference.webhook.cache import (
    NEGATIVE_TTL,
    DailyCap,
    ReadCache,
    never,
    read_key,
    utc_date,
)
from conformance.reference.webhook.chain import ChainClient, ChainFault
from conformance.reference.webhook.config import WebhookConfig

REASONS = (
    "bad-token", "chain-mismatch", "not-cluster-member", "outer-selector-not-execute",
    "value-nonzero", "inner-selector-not-allowed", "target-not-our-cluster", "sender-daily-cap",
    "rpc-failure",
)
"""The exact denial reasons (PROTOCOL.md §5 "Policy")."""


def chain_matches(chain_id: int | None, expected: int) -> bool:
    """Step 2: a missing or empty chain id never matches (WH-013, WH-014)."""
    return chain_id is not None and chain_id == expected


def decode_call_data(text: str) -> ExecuteCall:
    """Step 4: only canonical ``execute`` calldata, read exactly as Solidity reads it (§3)."""
    return decode_execute_strict(parse_calldata_hex(text))


def selector_hex(call_data: str, call: ExecuteCall) -> str:
    """Step 6: the inner selector as lower-case ``0x`` hex (``0x`` when shorter than 4 bytes)."""
    return "0x" + call.inner_selector.hex()


def provenance_order(generation: str) -> tuple[str, str]:
    """Step 3's branch order (PROTOCOL.md §0; WH-020, WH-021)."""
    return ("path-a", "member") if generation == "pimlico" else ("member", "path-a")


@dataclass(frozen=True)
class Variant:
    """The seams of the reference: a mutant is ``REFERENCE`` with one field replaced."""

    parse_alchemy: Callable[[bytes], AlchemyRequest] = parse_alchemy_body
    chain_ok: Callable[[int | None, int], bool] = chain_matches
    decode: Callable[[str], ExecuteCall] = decode_call_data
    value_ok: Callable[[int], bool] = lambda value: value == 0
    read_selector: Callable[[str, ExecuteCall], str] = selector_hex
    allowlist: Callable[[str, bool], frozenset[bytes]] = (
        lambda generation, gate: selectors.allowlist(generation, operator_enabled=gate)
    )
    order: Callable[[str], tuple[str, str]] = provenance_order
    path_a_asks_factory: bool = True
    use_v2_factory: bool = True
    fault_approves: bool = False
    revert_is_fault: bool = False
    cache_faults: Callable[[str], bool] = never
    """Which cache keys' transport faults are stored as "no" (mutants only; WH-038)."""
    cache_negative: bool = True
    cache_outage_is_fault: bool = False
    counts_denials: bool = False
    key_derivation: Callable[[KeyDerivation], KeyDerivation] = lambda derivation: derivation
    timestamp_tolerance: int = 300
    read_timestamp: Callable[[str], int] | None = None
    """None: webhook-timestamp must be decimal digits (WH-069); a mutant reads it leniently."""
    remember_replays: bool = True
    """A replayed signed request gets the first answer and is not counted again (WH-070)."""
    echo_mac_prefix: bool = False
    """A mutant puts the first 12 characters of the expected MAC in its 401 body (WH-071)."""
    debug_route: str | None = None
    """A mutant serves an undocumented GET route at this path (WH-001)."""
    unparsable_event_status: int = 200
    pimlico_everywhere: bool = False
    chain_read_before_token: bool = False
    check_sponsored: Callable[[bool], bool] = lambda deployed: deployed
    healthz_probes: bool = True
    foreign_entry_point_status: int | None = None
    """None: ``entryPoint`` is carried, not judged (§5); a mutant answers this status instead."""
    cap_day: Callable[[float], str] = utc_date
    positive_ttl: Callable[[int], int] = lambda configured: configured
    """The positive TTL for a configured CACHE_TTL_SECONDS (WH-035)."""
    negative_ttl: Callable[[int], int] = lambda configured: NEGATIVE_TTL
    """The negative TTL, 600 s whatever CACHE_TTL_SECONDS says (WH-036)."""
    """The day a daily-cap count belongs to (WH-042): the UTC date of the webhook's clock."""
    optional_token: bool = False
    """A mutant reads an unset or empty ALCHEMY_WEBHOOK_TOKEN as "no token needed" (WH-065)."""


REFERENCE = Variant()
"""The conforming reference."""


@dataclass(frozen=True)
class SponsorRequest:
    """What steps 2–8 read from either route's body."""

    sender: bytes
    call_data: str
    chain_id: int | None


@dataclass(frozen=True)
class Decision:
    """An approval, or a denial with its exact reason."""

    approved: bool
    reason: str | None = None


def deny(reason: str) -> Decision:
    """A denial with one of ``REASONS``."""
    return Decision(False, reason)


class Policy:
    """Steps 2–8 against the chain (through the cache) and the daily cap."""

    def __init__(
        self, config: WebhookConfig, variant: Variant, chain: ChainClient, reads: ReadCache,
        cap: DailyCap, clock: Callable[[], float] = time.time,
    ) -> None:
        self.config, self.variant = config, variant
        self._chain, self._reads, self._cap, self._clock = chain, reads, cap, clock

    async def decide(self, request: SponsorRequest) -> Decision:
        """The answer to a request whose token (or HMAC) was accepted; counts approvals."""
        decision = await self._steps(request)
        counted = decision.approved or self.variant.counts_denials
        if self.config.generation == "pimlico" and counted:
            await self._cap.count(request.sender, self._clock())
        return decision

    async def _steps(self, request: SponsorRequest) -> Decision:
        config, variant = self.config, self.variant
        if not variant.chain_ok(request.chain_id, config.chain_id):
            return deny("chain-mismatch")
        reason = await self.provenance(request.sender)
        if reason is not None:
            return deny(reason)
        try:
            call = variant.decode(request.call_data)
        except DecodeError:
            return deny("outer-selector-not-execute")
        if not variant.value_ok(call.value):
            return deny("value-nonzero")
        allowlist = variant.allowlist(config.generation, config.operator_method)
        allowed = {"0x" + s.hex() for s in allowlist}
        if variant.read_selector(request.call_data, call) not in allowed:
            return deny("inner-selector-not-allowed")
        try:
            deployed = await self.is_deployed_cluster(call.target)
        except ChainFault:
            deployed = variant.fault_approves
            if not deployed:
                return deny("rpc-failure")
        if not deployed:
            return deny("target-not-our-cluster")
        now = self._clock()
        if config.generation == "pimlico" and await self._cap.reached(request.sender, now):
            return deny("sender-daily-cap")
        return Decision(True)

    async def provenance(self, sender: bytes) -> str | None:
        """Step 3: None when a branch says yes; a fault without a yes is ``rpc-failure``."""
        fault = False
        for branch in self.variant.order(self.config.generation):
            try:
                ok = await (self.path_a(sender) if branch == "path-a" else self.is_member(sender))
            except ChainFault:
                fault = True
                continue
            if ok:
                return None
        if fault:
            return None if self.variant.fault_approves else "rpc-failure"
        return "not-cluster-member"

    async def _bool(self, key: str, fetch: Callable[[], Awaitable[bool]]) -> bool:
        async def text() -> str:
            return "1" if await fetch() else ""

        return await self._reads.read(key, text) == "1"

    async def is_member(self, sender: bytes) -> bool:
        """Member factory ``isOurMember(sender)`` (WH-016)."""
        factory = self.config.member_factory
        return await self._bool(
            read_key(self.config.chain_id, "isOurMember", sender),
            lambda: self._chain.is_our_member(factory, sender),
        )

    async def path_a(self, sender: bytes) -> bool:
        """``sender.cluster()`` is a deployed cluster that allows ``sender`` (WH-017, WH-019)."""
        chain_id = self.config.chain_id

        async def cluster_text() -> str:
            cluster = await self._chain.cluster_of(sender)
            return checksum(cluster) if cluster is not None else ""

        named = await self._reads.read(read_key(chain_id, "cluster", sender), cluster_text)
        if not named:
            return False
        cluster = parse_address(named)
        if self.variant.path_a_asks_factory and not await self.is_deployed_cluster(cluster):
            return False
        return await self._bool(
            read_key(chain_id, "allowedAppIds", cluster, sender),
            lambda: self._chain.allowed_app_id(cluster, sender),
        )

    async def is_deployed_cluster(self, address: bytes) -> bool:
        """``isDeployedCluster`` on the cluster factory, then on v2 when configured (WH-031/32)."""
        factories = [self.config.cluster_factory]
        if self.config.cluster_factory_v2 is not None and self.variant.use_v2_factory:
            factories.append(self.config.cluster_factory_v2)

        async def fetch() -> bool:
            for factory in factories:
                if await self._chain.is_deployed_cluster(factory, address):
                    return True
            return False

        return await self._bool(read_key(self.config.chain_id, "isDeployedCluster", address), fetch)

