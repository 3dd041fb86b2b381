"""A webhook to replay a recorded request against: a running URL, or the bundled reference on
a fresh standard chain (``amc replay``; DESIGN.md "Reproducers"), launched with the settings the
request was recorded under (``variant``: another key derivation, another secret prefix)."""

from __future__ import annotations

import contextlib
import secrets as _secrets
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from conformance.peers import ACTORS, Actors, ChainPeer, ChainScenario
from conformance.peers.kv import KvPeer
from conformance.profiles.loader import Profile
from conformance.protocol.hexutil import parse_address
from conformance.protocol.webhook_wire import (
    LIVE_ALPHABET,
    SECRET_PREFIXES,
    KeyDerivation,
    derive_hmac_key,
)
from conformance.targets.webhook import (
    LaunchedWebhook,
    WebhookSecrets,
    generate_secrets,
    reference_command,
    webhook_environment,
)
from conformance.targets.webhook_http import HttpWebhook

DUAL_SECRET_LENGTH = 44
"""Characters after the prefix of a ``dual_secret``: a multiple of 4, so plain base64 reads it
whole (33 bytes), and long enough for a 256-bit key under every derivation."""


def dual_secret(prefix: str) -> str:
    """A fresh ``prefix`` + secret that every §5 key derivation decodes, each to another key.

    The characters come from the live 57-character alphabet, which is a subset of Base58's and
    of base64's, so the standard (base64), live base-57 and Base58 derivations all read it
    (PROTOCOL.md §5; WH-057): one secret proves a webhook accepts the MAC of its own derivation
    and refuses the others'. No leading ``1`` (a base-x zero byte).
    """
    if prefix not in SECRET_PREFIXES:
        raise ValueError(f"prefix={prefix!r}: expected one of {', '.join(SECRET_PREFIXES)}")
    first = _secrets.choice(LIVE_ALPHABET[1:])
    body = first + "".join(_secrets.choice(LIVE_ALPHABET) for _ in range(DUAL_SECRET_LENGTH - 1))
    secret = prefix + body
    keys = {derive_hmac_key(secret, d) for d in KeyDerivation}  # raises if one cannot read it
    if len(keys) != len(KeyDerivation):  # pragma: no cover - needs a 2**-200 coincidence
        return dual_secret(prefix)
    return secret


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


def variant_derivation(profile: Profile, variant: Mapping[str, str] | None) -> KeyDerivation:
    """The key derivation a request recorded under ``variant`` was verified with."""
    named = (variant or {}).get("key_derivation")
    return KeyDerivation(named) if named else profile.webhook.key_derivation


@contextlib.contextmanager
def replay_target(profile: Profile, *, url: str | None, mutant: str | None,
                  environ: Mapping[str, str], variant: Mapping[str, str] | None = None,
                  chain: Mapping[str, Any] | None = None,
                  ) -> Iterator[tuple[Any, WebhookSecrets | None]]:
    """(target, secrets): ``url`` with the environment's secrets, else the reference, launched
    with ``variant``'s ``key_derivation`` (``PIMLICO_KEY_DERIVATION``) and a ``dual_secret``
    of its ``secret_prefix`` (no secret at all when ``secret`` is ``unset``) when the request
    was recorded under them, on the standard chain plus ``chain``'s ``members``."""
    settings = profile.webhook
    if url:
        token = environ.get(settings.token_env)
        secrets = WebhookSecrets(token, environ.get(settings.hmac_secret_env)) if token else None
        with HttpWebhook(url) as http:
            yield http, secrets
        return
    secrets = generate_secrets(settings.key_derivation)
    overrides: dict[str, str | None] = {}
    if variant:
        hmac_secret = (None if variant.get("secret") == "unset"
                       else dual_secret(variant.get("secret_prefix", "pim_whsec_")))
        secrets = WebhookSecrets(secrets.token, hmac_secret)
        overrides["PIMLICO_KEY_DERIVATION"] = variant_derivation(profile, variant).value
    scenario, _ = scenario_for(profile)
    for member in (chain or {}).get("members", ()):
        scenario = scenario.with_member(parse_address(member))
    with ChainPeer(scenario) as peer, KvPeer() as kv, tempfile.TemporaryDirectory() as tmp:
        env = webhook_environment(profile, rpc_url=peer.url, secrets=secrets, cache_url=kv.url,
                                  mutant=mutant, overrides=overrides)
        command = reference_command(profile.source, mutant)
        with LaunchedWebhook(command, env, log_path=Path(tmp) / "webhook.log") as webhook:
            yield webhook, secrets
