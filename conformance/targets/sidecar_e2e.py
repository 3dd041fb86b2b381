"""The whole sponsored path of the seed, end to end (PROTOCOL.md §7 "End to end"): sidecar →
bundler → paymaster → sponsorship webhook → EntryPoint → ClusterMember → cluster, each part the
reference or swapped for an implementation under test (issue 9 §5).

``E2EParts`` says which implementation plays each hop (``amc run e2e`` options:
``--webhook-launch``, ``--account-artifact``, ``--sidecar-launch``, ``--mutant HOP:NAME``).
``open_e2e`` builds the chain with the account under test, starts the webhook on 127.0.0.1
(reading that chain through its own node peer, with the real factory addresses and fresh
secrets), and gives the paymaster the link it asks first, in the webhook's own dialect.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.errors import UsageError
from conformance.peers.node_rpc import node_methods
from conformance.peers.paymaster import WebhookLink
from conformance.peers.proxy_faults import FaultSchedule, RpcPeerServer, Transcript
from conformance.protocol.hexutil import checksum
from conformance.targets.sidecar import SidecarTarget
from conformance.targets.sidecar_world import SidecarWorld, open_sidecar_world
from conformance.targets.webhook import (
    LaunchedWebhook,
    generate_secrets,
    launch_command,
    reference_command,
    webhook_environment,
)

HOPS = ("webhook", "account", "sidecar")


@dataclass(frozen=True)
class E2EParts:
    """Which implementation plays each hop; empty: the reference."""

    webhook: dict[str, str] = field(default_factory=dict)
    account: dict[str, str] = field(default_factory=dict)
    sidecar: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str | None) -> E2EParts:
        """From ``TargetSpec.parts`` (JSON), validated (UsageError names the bad part)."""
        data = json.loads(text) if text else {}
        unknown = set(data) - set(HOPS)
        if unknown:
            raise UsageError(f"e2e part {sorted(unknown)[0]!r}: expected one of {', '.join(HOPS)}")
        return cls(**{hop: dict(data.get(hop) or {}) for hop in HOPS})

    def to_json(self) -> str:
        """The JSON form carried by ``TargetSpec.parts``."""
        return json.dumps({h: getattr(self, h) for h in HOPS if getattr(self, h)}, sort_keys=True)

    def owner_of(self, rule_id: str) -> str:
        """The hop a rule's verdict is attributed to (WH webhook, AC/AT account, else sidecar)."""
        if rule_id.startswith("WH-"):
            return "webhook"
        if rule_id.startswith(("AC-", "AT-")):
            return "account"
        return "sidecar"

    def describe(self, hop: str) -> str:
        """``reference``, ``reference mutant M``, ``launch CMD`` or ``artifact FILE``."""
        part = getattr(self, hop)
        if not part:
            return "reference"
        if "mutant" in part:
            return f"reference mutant {part['mutant']}"
        kind = next(iter(part))
        return f"{kind} {part[kind]}"


def _account_spec(parts: E2EParts) -> dict[str, Any]:
    if "artifact" in parts.account:
        return {"kind": "artifact", "artifact": parts.account["artifact"]}
    return {"kind": "reference", "mutant": parts.account.get("mutant")}


def _sidecar_target(parts: E2EParts) -> SidecarTarget:
    if "launch" in parts.sidecar:
        return SidecarTarget(kind="launch", launch=parts.sidecar["launch"])
    return SidecarTarget(mutant=parts.sidecar.get("mutant"))


@dataclass
class E2EWorld:
    """The chain, the running webhook and its node peer, and how the paymaster reaches it."""

    world: SidecarWorld
    parts: E2EParts
    sidecar: SidecarTarget
    webhook: LaunchedWebhook
    webhook_node: RpcPeerServer
    webhook_transcript: Transcript
    links: dict[str, WebhookLink]

    def close(self) -> None:
        """Stop the webhook and its node, release the chain."""
        with contextlib.suppress(Exception):
            self.webhook.stop()
        self.webhook_node.stop()
        self.world.close()


def open_e2e(parts: E2EParts, profile: Any, profile_arg: str, *, log_dir: Path,
             ready_timeout: float = 30.0, request_timeout: float = 5.0) -> E2EWorld:
    """Build the chain (account under test), start the webhook against it."""
    world = open_sidecar_world(profile, account=_account_spec(parts))
    transcript = Transcript()
    node = RpcPeerServer("webhook-node", [node_methods(world, peer="webhook-node")], transcript,
                         FaultSchedule()).start()
    try:
        secrets = generate_secrets(profile.webhook.key_derivation)
        assert secrets.hmac_secret is not None
        env = webhook_environment(profile, rpc_url=node.url, secrets=secrets,
                                  mutant=parts.webhook.get("mutant"), overrides={
            "CANONICAL_CLUSTER_FACTORY": checksum(world.accounts.cluster_factory),
            "CANONICAL_MEMBER_FACTORY": checksum(world.accounts.member_factory),
            "CANONICAL_CLUSTER_FACTORY_V2": None,
        })
        command = (launch_command(parts.webhook["launch"]) if "launch" in parts.webhook
                   else reference_command(profile_arg, parts.webhook.get("mutant")))
        log_dir.mkdir(parents=True, exist_ok=True)
        webhook = LaunchedWebhook(command, env, log_path=log_dir / "e2e-webhook.log",
                                  ready_timeout=ready_timeout,
                                  request_timeout=request_timeout).start()
    except BaseException:
        node.stop()
        world.close()
        raise
    derivation = str(profile.webhook.key_derivation.value)
    links = {
        "alchemy": WebhookLink(webhook.url, "alchemy", secrets.token, derivation,
                               request_timeout),
        "pimlico": WebhookLink(webhook.url, "pimlico", secrets.hmac_secret, derivation,
                               request_timeout),
    }
    return E2EWorld(world, parts, _sidecar_target(parts), webhook, node, transcript, links)
