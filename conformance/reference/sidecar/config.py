"""The reference sidecar's configuration: the environment the live sidecar reads (PROTOCOL.md §7)
and the backoff numbers of §7 (the defaults; the ``AMC_TIME_FACTOR`` knob compresses every wait
so the test command runs a whole lifecycle in seconds).

Required: ``CHAIN_ID``, ``RPC_URL``, ``BUNDLER_URL``, ``GAS_POLICY_ID``. Optional:
``MEMBER_CONTRACT`` (else the app id from the dstack agent), ``DSTACK_SIMULATOR_ENDPOINT`` (else
``/var/run/dstack.sock``), ``ENTRY_POINT`` (else the canonical v0.7 address), ``AMC_SCENARIO``
(the work this node has beyond registration, JSON), ``AMC_MUTANT`` (a named mutant),
``AMC_TIME_FACTOR`` and the ``SIDECAR_*`` backoff overrides.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from conformance.protocol.hexutil import parse_address, parse_data

CANONICAL_ENTRY_POINT = "0x0000000071727De22E5E9d8BAf0edAc6f37da032"
DEFAULT_DSTACK_SOCKET = "/var/run/dstack.sock"
BINDING_PATH = "attestmesh-binding-v1"
"""GetKey path of the registration key (§7, SC-021)."""
PURPOSE = "ethereum"
WG_PATH = "attestmesh-wireguard-v1"
X_PATH = "attestmesh-x25519-v1"


class ConfigError(ValueError):
    """A missing or malformed setting: the sidecar exits 2 with this one line."""


@dataclass(frozen=True)
class Backoff:
    """§7 retry numbers: first wait, growth, cap, and the sponsorship rate limit."""

    initial: float = 5.0
    factor: float = 2.0
    cap: float = 60.0
    window: float = 60.0
    max_requests: int = 12
    receipt_polls: int = 30
    receipt_interval: float = 2.0

    def scaled(self, time_factor: float) -> Backoff:
        """Every duration multiplied by ``time_factor`` (counts unchanged)."""
        return Backoff(self.initial * time_factor, self.factor, self.cap * time_factor,
                       self.window * time_factor, self.max_requests, self.receipt_polls,
                       self.receipt_interval * time_factor)


@dataclass(frozen=True)
class Scenario:
    """Work beyond registration (``AMC_SCENARIO``): a WireGuard key to publish, whether this
    node sets the cluster's CSK commitment, envelope recipients (bytes32 each)."""

    publish_wg: bytes | None = None
    csk: bytes | None = None
    envelopes: tuple[bytes, ...] = ()
    linger: bool = True
    """Stay running after the work is done (a daemon); False: exit 0."""


@dataclass(frozen=True)
class SidecarConfig:
    """Everything the reference sidecar reads."""

    chain_id: int
    rpc_url: str
    bundler_url: str
    policy_id: str
    member: bytes | None
    dstack_endpoint: str
    entry_point: bytes
    backoff: Backoff = field(default_factory=Backoff)
    scenario: Scenario = field(default_factory=Scenario)
    mutant: str | None = None

    @property
    def dialect(self) -> str:
        """``pimlico`` when BUNDLER_URL contains pimlico.io, else ``alchemy`` (§7, SC-005)."""
        return "pimlico" if "pimlico.io" in self.bundler_url else "alchemy"


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is required")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name)
    if text is None or text == "":
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r}: expected a number") from None
    if value <= 0:
        raise ConfigError(f"{name}={text!r}: must be positive")
    return value


def _scenario(text: str) -> Scenario:
    try:
        data = json.loads(text) if text else {}
        wg = data.get("publish_wg")
        csk = data.get("csk")
        return Scenario(
            publish_wg=parse_data(wg) if wg else None,
            csk=parse_data(csk) if csk else None,
            envelopes=tuple(parse_data(r) for r in data.get("envelopes", [])),
            linger=bool(data.get("linger", True)),
        )
    except (ValueError, AttributeError, TypeError) as exc:
        raise ConfigError(f"AMC_SCENARIO: {exc}") from None


def read_config(env: Mapping[str, str]) -> SidecarConfig:
    """The configuration from ``env`` (ConfigError names the bad setting)."""
    try:
        chain_id = int(_required(env, "CHAIN_ID"), 0)
    except ValueError:
        raise ConfigError(f"CHAIN_ID={env.get('CHAIN_ID')!r}: expected an integer") from None
    try:
        member_text = env.get("MEMBER_CONTRACT", "").strip()
        member = parse_address(member_text) if member_text else None
        entry_point = parse_address(env.get("ENTRY_POINT") or CANONICAL_ENTRY_POINT)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    time_factor = _float(env, "AMC_TIME_FACTOR", 1.0)
    backoff = Backoff(
        initial=_float(env, "SIDECAR_BACKOFF_INITIAL", 5.0),
        cap=_float(env, "SIDECAR_BACKOFF_CAP", 60.0),
        max_requests=int(_float(env, "SIDECAR_MAX_SPONSORSHIPS_PER_MINUTE", 12)),
    ).scaled(time_factor)
    return SidecarConfig(
        chain_id=chain_id,
        rpc_url=_required(env, "RPC_URL"),
        bundler_url=_required(env, "BUNDLER_URL"),
        policy_id=_required(env, "GAS_POLICY_ID"),
        member=member,
        dstack_endpoint=env.get("DSTACK_SIMULATOR_ENDPOINT") or DEFAULT_DSTACK_SOCKET,
        entry_point=entry_point,
        backoff=backoff,
        scenario=_scenario(env.get("AMC_SCENARIO", "")),
        mutant=env.get("AMC_MUTANT") or None,
    )
