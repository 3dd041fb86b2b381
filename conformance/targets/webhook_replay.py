"""A webhook to replay a recorded request against: a running URL, or the bundled reference on
a fresh standard chain (``amc replay``; DESIGN.md "Reproducers")."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from conformance.peers import ACTORS, Actors, ChainPeer, ChainScenario
from conformance.peers.kv import KvPeer
from conformance.profiles.loader import Profile
from conformance.protocol.hexutil import parse_address
from conformance.targets.webhook import (
    LaunchedWebhook,
    WebhookSecrets,
    generate_secrets,
    reference_command,
    webhook_environment,
)
from conformance.targets.webhook_http import HttpWebhook


def scenario_for(profile: Profile) -> tuple[ChainScenario, Actors]:
    """The standard chain of ``profile``: its factories play the factories (PROTOCOL.md §5)."""
    v2 = profile.cluster_factory_v2
    actors = Actors(
        member_factory=parse_address(profile.member_factory),
        cluster_factory=parse_address(profile.cluster_factory),
        cluster_factory_v2=parse_address(v2) if v2 else ACTORS.cluster_factory_v2,
    )
    scenario = ChainScenario.standard(chain_id=profile.chain_id, actors=actors, with_v2=bool(v2))
    return scenario, actors


@contextlib.contextmanager
def replay_target(profile: Profile, *, url: str | None, mutant: str | None,
                  environ: Mapping[str, str]) -> Iterator[tuple[Any, WebhookSecrets | None]]:
    """(target, secrets): ``url`` with the environment's secrets, else the reference."""
    settings = profile.webhook
    if url:
        token = environ.get(settings.token_env)
        secrets = WebhookSecrets(token, environ.get(settings.hmac_secret_env)) if token else None
        with HttpWebhook(url) as http:
            yield http, secrets
        return
    secrets = generate_secrets(settings.key_derivation)
    scenario, _ = scenario_for(profile)
    with ChainPeer(scenario) as peer, KvPeer() as kv, tempfile.TemporaryDirectory() as tmp:
        env = webhook_environment(profile, rpc_url=peer.url, secrets=secrets, cache_url=kv.url,
                                  mutant=mutant)
        command = reference_command(profile.source, mutant)
        with LaunchedWebhook(command, env, log_path=Path(tmp) / "webhook.log") as webhook:
            yield webhook, secrets
