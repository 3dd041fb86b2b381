"""A webhook case's world as JSON: the chain it met, the faults armed, the cache's state
(ARCHITECTURE.md "Reproducers"; ``amc replay``, README "Replaying failures").

A FAIL of a check that changed the chain (fresh members, clusters, hostile or reverting
senders, an address without code) or injected faults is only decided the same way on the same
world. ``PeerState`` is that world at the moment one request was sent: the scenario as a
*delta* from the profile's standard chain, kept to the addresses that decide the case (so a
long check's record stays small), the armed fault plans with the counts they had left, a chain
that is down, and the KV cache peer's outage and clock offset. ``apply`` puts a chain peer and
a KV peer in that state again. Everything is plain data; addresses are ``0x`` hex.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from conformance.peers.chain_scenario import ChainScenario
from conformance.peers.chain_server import ChainPeer, DownMode
from conformance.peers.faults import Fault, FaultKind, FaultPlan, Malformation
from conformance.peers.kv import KvPeer

SETS = ("members", "clusters", "clusters_v2", "hostile_clusters")
"""Address-set fields of a ``ChainScenario`` a delta adds to or removes from."""


def _hex(address: bytes) -> str:
    return "0x" + address.hex()


def _raw(text: str) -> bytes:
    value = bytes.fromhex(text.removeprefix("0x"))
    if len(value) != 20:
        raise ValueError(f"{text!r}: not a 20-byte address")
    return value


# ------------------------------------------------------------------------------ faults


def fault_to_json(fault: Fault) -> dict[str, Any]:
    """A fault as JSON (only the fields its kind uses)."""
    data: dict[str, Any] = {"kind": fault.kind.value}
    if fault.kind in (FaultKind.LATENCY, FaultKind.TIMEOUT):
        data["seconds"] = fault.seconds
    if fault.kind is FaultKind.HTTP_5XX:
        data["status"] = fault.status
    if fault.kind is FaultKind.MALFORMED:
        data["malformation"] = fault.malformation.value
    return data


def fault_from_json(data: Mapping[str, Any]) -> Fault:
    """The inverse of ``fault_to_json``."""
    return Fault(FaultKind(data["kind"]), seconds=float(data.get("seconds", 0.0)),
                 status=int(data.get("status", 503)),
                 malformation=Malformation(data.get("malformation", "not-json")))


def plan_to_json(plan: FaultPlan) -> dict[str, Any]:
    """A fault plan as JSON (its filters, the counts it has left)."""
    data: dict[str, Any] = {"fault": fault_to_json(plan.fault)}
    for name in ("method", "selector", "count"):
        if getattr(plan, name) is not None:
            data[name] = getattr(plan, name)
    for name in ("to", "argument"):
        if getattr(plan, name) is not None:
            data[name] = _hex(getattr(plan, name))
    if plan.skip:
        data["skip"] = plan.skip
    return data


def plan_from_json(data: Mapping[str, Any]) -> FaultPlan:
    """The inverse of ``plan_to_json``."""
    return FaultPlan(fault_from_json(data["fault"]), method=data.get("method"),
                     selector=data.get("selector"),
                     to=_raw(data["to"]) if data.get("to") else None,
                     argument=_raw(data["argument"]) if data.get("argument") else None,
                     count=data.get("count"), skip=int(data.get("skip", 0)))


# ------------------------------------------------------------------------------ scenario


def relevant_addresses(scenario: ChainScenario, base: ChainScenario,
                       seeds: Iterable[bytes]) -> frozenset[bytes]:
    """``seeds`` with the clusters they answer ``cluster()`` with (what a webhook reads
    deciding a request about them, PROTOCOL.md §5 step 3) and every address of ``base``."""
    found = set(seeds)
    for _ in range(2):
        found |= {scenario.member_clusters[a] for a in found if a in scenario.member_clusters}
    return frozenset(found | base.role_addresses() | set(base.contracts_with_code or ()))


def addresses_in(text: str, scenario: ChainScenario) -> frozenset[bytes]:
    """The addresses of ``scenario`` that ``text`` names (hex, any case): a request body's."""
    lowered = text.lower()
    known = (scenario.role_addresses() | set(scenario.contracts_with_code or ())
             | {app for apps in scenario.allowed_app_ids.values() for app in apps})
    return frozenset(a for a in known if a.hex() in lowered)


def scenario_delta(base: ChainScenario, scenario: ChainScenario,
                   keep: frozenset[bytes]) -> dict[str, Any]:
    """What ``scenario`` adds to or removes from ``base``, limited to addresses in ``keep``
    (an entry is kept when its key, or a value, is one); {} when nothing."""
    delta: dict[str, Any] = {}
    for name in SETS:
        now, was = getattr(scenario, name), getattr(base, name)
        added = sorted(_hex(a) for a in now - was if a in keep)
        removed = sorted(_hex(a) for a in was - now)
        if added or removed:
            delta[name] = {"add": added, "remove": removed}
    for name in ("member_clusters", "reverting_cluster"):
        now_map, was_map = getattr(scenario, name), getattr(base, name)
        changed = {_hex(k): (_hex(v) if name == "member_clusters" else "0x" + v.hex())
                   for k, v in now_map.items() if k in keep and was_map.get(k) != v}
        removed = sorted(_hex(k) for k in was_map if k not in now_map)
        if changed or removed:
            delta[name] = {"set": dict(sorted(changed.items())), "remove": removed}
    pairs = {(c, a) for c, apps in scenario.allowed_app_ids.items() for a in apps}
    base_pairs = {(c, a) for c, apps in base.allowed_app_ids.items() for a in apps}
    added_pairs = sorted([_hex(c), _hex(a)] for c, a in pairs - base_pairs
                         if c in keep or a in keep)
    removed_pairs = sorted([_hex(c), _hex(a)] for c, a in base_pairs - pairs)
    if added_pairs or removed_pairs:
        delta["allowed_app_ids"] = {"add": added_pairs, "remove": removed_pairs}
    code, roles = scenario.contracts_with_code or frozenset(), scenario.role_addresses()
    extra = sorted(_hex(a) for a in code - roles if a in keep)
    missing = sorted(_hex(a) for a in roles - code if a in keep or base.has_code(a))
    if extra or missing:
        delta["code"] = {"add": extra, "remove": missing}
    for name in ("chain_id", "block_number"):
        if getattr(scenario, name) != getattr(base, name):
            delta[name] = getattr(scenario, name)
    return delta


def apply_delta(base: ChainScenario, delta: Mapping[str, Any]) -> ChainScenario:
    """``base`` changed as ``delta`` (``scenario_delta``'s form) says."""
    changes: dict[str, Any] = {}
    for name in SETS:
        part = delta.get(name)
        if part:
            changes[name] = ((getattr(base, name) | {_raw(a) for a in part["add"]})
                             - {_raw(a) for a in part["remove"]})
    for name in ("member_clusters", "reverting_cluster"):
        part = delta.get(name)
        if part:
            table = dict(getattr(base, name))
            for key in part["remove"]:
                table.pop(_raw(key), None)
            for key, value in part["set"].items():
                table[_raw(key)] = (_raw(value) if name == "member_clusters"
                                    else bytes.fromhex(value.removeprefix("0x")))
            changes[name] = table
    part = delta.get("allowed_app_ids")
    if part:
        table = {k: set(v) for k, v in base.allowed_app_ids.items()}
        for cluster, app in part["remove"]:
            table.get(_raw(cluster), set()).discard(_raw(app))
        for cluster, app in part["add"]:
            table.setdefault(_raw(cluster), set()).add(_raw(app))
        changes["allowed_app_ids"] = {k: frozenset(v) for k, v in table.items()}
    for name in ("chain_id", "block_number"):
        if name in delta:
            changes[name] = int(delta[name])
    scenario = replace(base, contracts_with_code=None, **changes)
    code = delta.get("code")
    if code:
        present = ((scenario.role_addresses() | {_raw(a) for a in code["add"]})
                   - {_raw(a) for a in code["remove"]})
        scenario = replace(scenario, contracts_with_code=present)
    return scenario


# ------------------------------------------------------------------------------ peer state


@dataclass(frozen=True)
class PeerState:
    """The peers as one request met them (see the module docstring)."""

    scenario: ChainScenario
    plans: tuple[FaultPlan, ...] = ()
    down: DownMode | None = None
    kv_down: bool = False
    kv_offset: float = 0.0
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def capture(cls, peer: ChainPeer, kv: KvPeer | None) -> PeerState:
        """The peers' state now."""
        return cls(peer.scenario, peer.armed(), peer.down_mode,
                   kv.is_down if kv is not None else False,
                   kv.offset if kv is not None else 0.0)

    def to_json(self, base: ChainScenario, keep: frozenset[bytes]) -> dict[str, Any]:
        """JSON form: the scenario as a delta from ``base`` limited to ``keep``; only what
        differs from a standard, fault-free, up world is written."""
        data: dict[str, Any] = {}
        delta = scenario_delta(base, self.scenario, keep)
        if delta:
            data["chain"] = delta
        if self.plans:
            data["faults"] = [plan_to_json(p) for p in self.plans]
        if self.down is not None:
            data["chain_down"] = ("refuse" if self.down == "refuse"
                                  else fault_to_json(self.down))  # type: ignore[arg-type]
        if self.kv_down:
            data["cache_down"] = True
        if self.kv_offset:
            data["cache_clock"] = self.kv_offset
        return data

    @classmethod
    def from_json(cls, base: ChainScenario, data: Mapping[str, Any]) -> PeerState:
        """The inverse of ``to_json`` (over the same ``base``)."""
        down = data.get("chain_down")
        return cls(apply_delta(base, data.get("chain") or {}),
                   tuple(plan_from_json(p) for p in data.get("faults", ())),
                   None if down is None else ("refuse" if down == "refuse"
                                              else fault_from_json(down)),
                   bool(data.get("cache_down", False)), float(data.get("cache_clock", 0.0)))

    def apply(self, peer: ChainPeer, kv: KvPeer | None) -> None:
        """Put ``peer`` (and ``kv``) in this state."""
        peer.clear_faults()
        peer.set_scenario(self.scenario)
        peer.inject(*self.plans)
        peer.set_down(self.down)
        if kv is not None:
            kv.set_down(self.kv_down)
            kv.advance(self.kv_offset - kv.offset)


def needs_suite_chain(state: Mapping[str, Any]) -> bool:
    """True when a recorded step's state (``PeerState.to_json``) is more than the standard,
    fault-free chain: only a suite that owns the chain can recreate it."""
    return bool(set(state) & {"chain", "faults", "chain_down", "cache_down", "cache_clock"})


__all__ = [
    "PeerState",
    "addresses_in",
    "apply_delta",
    "fault_from_json",
    "fault_to_json",
    "needs_suite_chain",
    "plan_from_json",
    "plan_to_json",
    "relevant_addresses",
    "scenario_delta",
]
