"""What a webhook FAIL records of its case's world, so ``amc replay`` decides it the same way
(ARCHITECTURE.md "Reproducers"; README "Replaying failures").

The harness tells a ``WorldJournal`` about every request it sends (``sent``), the variants it
launches (``variant``) and each new check (``reset``). A request is journaled with the peers'
state as it met them (``PeerState``: chain, armed faults, chain or cache down, cache clock).
At a FAIL, ``world_for`` writes the ``world`` of ``minimal_input``:

- ``settings``: the launch environment's settings (cap, TTL, generation, key derivation,
  operator method…), secrets and peer URLs left out;
- ``steps``: the earlier requests of the check about the failing request's own addresses (a
  cache filled, a cap counted, a fault answered), each with its world (a run of identical ones
  as one step with ``times``), then the failing one's world (its request is
  ``minimal_input.request``). Every case uses fresh addresses, so
  requests about other addresses cannot change this one's answer; a step's scenario is kept to
  the addresses that decide it (``relevant_addresses``).

A step sent to a variant names it (``target``: the overrides, secrets as markers, see
``variant_overrides``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.oracle.webhook_body import BodyReading, read_alchemy_body, read_pimlico_body
from conformance.peers import ChainPeer, ChainScenario
from conformance.peers.kv import KvPeer
from conformance.peers.world import PeerState, addresses_in, relevant_addresses
from conformance.profiles.loader import Profile
from conformance.protocol.webhook_wire import SECRET_PREFIXES
from conformance.suites.webhook.reproduce import RecordedRequest
from conformance.targets.webhook import WebhookSecrets
from conformance.targets.webhook_replay import FRESH_SECRET, SAME_SECRET

JOURNAL_LIMIT = 5_000
"""Requests a check's journal keeps (the oldest are dropped first)."""

NOT_SETTINGS = ("RPC_URL", "CACHE_URL", "AMC_MUTANT", "PYTHONUNBUFFERED")
"""Launch variables that are the run's plumbing, not the target's settings."""

SETTING_VARS = ("EXPECTED_CHAIN_ID", "CANONICAL_CLUSTER_FACTORY", "CANONICAL_MEMBER_FACTORY",
                "CANONICAL_CLUSTER_FACTORY_V2", "MAX_DAILY_OPS_PER_SENDER", "CACHE_TTL_SECONDS",
                "SPONSOR_OPERATOR_METHOD", "LOG_LEVEL", "WEBHOOK_GENERATION",
                "PIMLICO_KEY_DERIVATION")
"""The settings a record keeps (PROTOCOL.md §5 "Configuration", README launch contract)."""


def recorded_settings(env: Mapping[str, str]) -> dict[str, str]:
    """The settings of a launch environment (``SETTING_VARS``), as a record keeps them."""
    return {k: env[k] for k in SETTING_VARS if k in env}


def variant_overrides(overrides: Mapping[str, str | None], secrets: WebhookSecrets | None,
                      secret_names: tuple[str, str]) -> dict[str, Any]:
    """A variant's overrides fit for a report: the token and HMAC secret variables hold
    ``SAME_SECRET`` (the run's own), ``{"secret_prefix": P}`` (another secret with that
    prefix), ``FRESH_SECRET`` or, for a short deliberately malformed value, the value itself;
    None means unset."""
    own = {secrets.token, secrets.hmac_secret} - {None} if secrets else set()
    out: dict[str, Any] = {}
    for name, value in overrides.items():
        if name not in secret_names or value is None:
            out[name] = value
        elif value in own:
            out[name] = SAME_SECRET
        elif any(value.startswith(p) and len(value) > len(p) + 16 for p in SECRET_PREFIXES):
            out[name] = {"secret_prefix": next(p for p in SECRET_PREFIXES if value.startswith(p))}
        elif len(value) < 16:
            out[name] = value
        else:
            out[name] = FRESH_SECRET
    return out


@dataclass(frozen=True)
class Sent:
    """One journaled request: what was sent, where (None: the main target), the peers."""

    record: RecordedRequest
    target: Mapping[str, Any] | None
    state: PeerState


class WorldJournal:
    """The requests of the running check and the peers' state each met (module docstring)."""

    def __init__(self, profile: Profile, base: ChainScenario, secret_names: tuple[str, str],
                 ) -> None:
        self.profile = profile
        self.base = base
        self.secret_names = secret_names
        self._sent: list[Sent] = []
        self._variants: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        """A new check: forget the requests of the last one."""
        with self._lock:
            self._sent.clear()

    def variant(self, target: Any, overrides: Mapping[str, str | None],
                secrets: WebhookSecrets | None) -> None:
        """``target`` is a variant launched with ``overrides``."""
        with self._lock:
            self._variants[id(target)] = variant_overrides(overrides, secrets,
                                                           self.secret_names)

    def sent(self, record: RecordedRequest, target: Any, peer: ChainPeer | None,
             kv: KvPeer | None) -> None:
        """``record`` was sent to ``target`` (None: the main target) with the peers as now."""
        if peer is None:
            return
        state = PeerState.capture(peer, kv)
        with self._lock:
            where = None if target is None else self._variants.get(id(target), {"?": None})
            self._sent.append(Sent(record, where, state))
            if len(self._sent) > JOURNAL_LIMIT:
                del self._sent[0]

    def world_for(self, record: RecordedRequest, env: Mapping[str, str], peer: ChainPeer | None,
                  kv: KvPeer | None) -> dict[str, Any]:
        """The ``world`` of a FAIL about ``record`` (module docstring); the peers' state now
        stands in when ``record`` was sent outside the harness."""
        world: dict[str, Any] = {"settings": recorded_settings(env), "cache": kv is not None}
        if peer is None:
            world["steps"] = [{}]
            return world
        with self._lock:
            sent = list(self._sent)
        index = next((i for i in range(len(sent) - 1, -1, -1) if sent[i].record is record),
                     None)
        last = sent[index] if index is not None else Sent(record, None,
                                                          PeerState.capture(peer, kv))
        scenario = last.state.scenario
        own = (addresses_in(_text(record), scenario) | self._sender(record)
               ) - self.base.role_addresses()
        keep = relevant_addresses(scenario, self.base, own)
        needles = [a.hex() for a in own]
        earlier = [s for s in sent[:index] if needles and _names_any(s.record, needles)]
        steps = compress([self._step(s, keep, with_request=True) for s in earlier])
        steps.append(self._step(last, keep, with_request=False))
        world["steps"] = steps
        return world

    def _sender(self, record: RecordedRequest) -> frozenset[bytes]:
        """The request's sender as the webhook reads it (none when unreadable): a sender the
        chain knows nothing of (no code) is still the case's own address."""
        reader = read_pimlico_body if record.path == "/pimlico" else read_alchemy_body
        reading = reader(record.body, self.profile.chain_id)
        return frozenset({reading.sender}) if isinstance(reading, BodyReading) else frozenset()

    def _step(self, sent: Sent, keep: frozenset[bytes], *, with_request: bool) -> dict[str, Any]:
        step = sent.state.to_json(self.base, keep)
        if with_request:  # the body once (base64), not also as text
            step["request"] = {k: v for k, v in sent.record.to_json().items() if k != "body"}
        if sent.target is not None:
            step["target"] = dict(sent.target)
        return step


def _text(record: RecordedRequest) -> str:
    """Where a request names addresses: its path, query and body (``/check?address=``)."""
    return f"{record.path}?{record.query} {record.body.decode('utf-8', 'replace')}"


def _names_any(record: RecordedRequest, needles: list[str]) -> bool:
    """True when the request names one of the addresses (lower-case hex) ``needles``."""
    text = _text(record).lower()
    return any(needle in text for needle in needles)


def compress(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs of identical steps as one with ``times`` (a cap filled by the same request)."""
    out: list[dict[str, Any]] = []
    for step in steps:
        if out and {k: v for k, v in out[-1].items() if k != "times"} == step:
            out[-1]["times"] = out[-1].get("times", 1) + 1
        else:
            out.append(dict(step))
    return out


__all__ = ["FRESH_SECRET", "SAME_SECRET", "WorldJournal", "compress", "recorded_settings",
           "variant_overrides"]
