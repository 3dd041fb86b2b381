"""Webhooks to replay recorded failures against (``amc replay``; ARCHITECTURE.md "Reproducers").

``ReplayBench`` is a running URL, or a webhook the replay starts itself — the bundled reference
(optionally a mutant) or a ``--launch`` command — on a chain and a cache the replay owns. It
recreates a FAIL's recorded world (``conformance.peers.world``) step by step: the launch
settings, the chain each request met (members, clusters, hostile or reverting senders, missing
code), the faults armed, a chain or cache outage, the cache clock, and variants launched with
other settings (``variant``: another key derivation, secret prefix, no secret, another cap…).
Against a URL only failures that need none of it are replayed.
"""

from __future__ import annotations

import contextlib
import json
import secrets as _secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conformance.peers import ACTORS, Actors, ChainPeer, ChainScenario
from conformance.peers.kv import KvPeer
from conformance.peers.world import PeerState, needs_suite_chain
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
    generate_hmac_secret,
    generate_secrets,
    register_secrets,
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


SAME_SECRET = "$SAME"
"""A recorded variant override that is the run's own secret (the replay's own, then)."""
FRESH_SECRET = "$FRESH"
"""A recorded variant override that is another secret the suite made (the replay makes one)."""

NEEDS_SUITE_CHAIN = ("not judged: needs the suite's chain (the recorded world: members, faults, "
                     "settings); replay with --reference or --launch")


def _secret_value(value: Any, own: str | None, derivation: KeyDerivation) -> str | None:
    """A recorded variant override of a secret variable, made concrete for this replay."""
    if value is None or isinstance(value, str) and value not in (SAME_SECRET, FRESH_SECRET):
        return value
    if value == SAME_SECRET:
        return own
    if isinstance(value, Mapping) and "secret_prefix" in value:
        return dual_secret(str(value["secret_prefix"]))
    return generate_hmac_secret(derivation)


class ReplayBench:
    """Where recorded failures are replayed (see the module docstring). ``url``: a running
    webhook (secrets from ``environ``); else ``command`` is started on the replay's chain and
    cache with the recorded ``settings`` (and ``mutant`` for the reference)."""

    def __init__(self, profile: Profile, *, url: str | None = None,
                 command: list[str] | None = None, mutant: str | None = None,
                 environ: Mapping[str, str], settings: Mapping[str, str] | None = None,
                 log_dir: Path, request_timeout: float = 5.0, ready_timeout: float = 30.0,
                 ) -> None:
        self.profile = profile
        self.url, self.command, self.mutant = url, command, mutant
        self.environ, self.settings = environ, dict(settings or {})
        self.log_dir = log_dir
        self.request_timeout, self.ready_timeout = request_timeout, ready_timeout
        self.base, _ = scenario_for(profile)
        self.owns_chain = url is None
        self.secrets: WebhookSecrets | None = None
        self.peer: ChainPeer | None = None
        self.kv: KvPeer | None = None
        self.main: Any = None
        self._variants: dict[str, tuple[Any, WebhookSecrets]] = {}
        self._stack = contextlib.ExitStack()

    # -- life cycle ------------------------------------------------------------------------

    def __enter__(self) -> ReplayBench:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _start(self) -> None:
        settings = self.profile.webhook
        if self.url:
            token = self.environ.get(settings.token_env)
            self.secrets = (WebhookSecrets(token, self.environ.get(settings.hmac_secret_env))
                            if token else None)
            if self.secrets is not None:  # masked in every line the replay prints (issue 7 §2)
                register_secrets(self.secrets, settings.key_derivation, settings.token_env,
                                 settings.hmac_secret_env)
            self.main = self._stack.enter_context(HttpWebhook(self.url, self.request_timeout))
            return
        self.secrets = generate_secrets(settings.key_derivation)
        self.peer = self._stack.enter_context(ChainPeer(self.base, max_hold=4.0))
        self.kv = self._stack.enter_context(KvPeer())
        self.main = self._launch({}, self.secrets, "main")

    def _launch(self, overrides: Mapping[str, str | None], secrets: WebhookSecrets,
                name: str) -> LaunchedWebhook:
        assert self.peer is not None and self.kv is not None and self.command is not None
        env = webhook_environment(self.profile, rpc_url=self.peer.url, secrets=secrets,
                                  cache_url=self.kv.url, mutant=self.mutant,
                                  overrides={**self.settings, **overrides})
        webhook = LaunchedWebhook(self.command, env, log_path=self.log_dir / f"{name}.log",
                                  ready_timeout=self.ready_timeout,
                                  request_timeout=self.request_timeout)
        return self._stack.enter_context(webhook)

    def variant(self, recorded: Mapping[str, Any]) -> tuple[Any, WebhookSecrets]:
        """The webhook launched with a step's recorded overrides (started once), and the
        secrets it was given."""
        assert self.secrets is not None
        key = json.dumps(recorded, sort_keys=True)
        if key not in self._variants:
            names = (self.profile.webhook.token_env, self.profile.webhook.hmac_secret_env)
            derivation = KeyDerivation(str(recorded.get("PIMLICO_KEY_DERIVATION")
                                           or self.profile.webhook.key_derivation.value))
            overrides: dict[str, str | None] = {}
            for name, value in recorded.items():
                if name in names:
                    own = self.secrets.token if name == names[0] else self.secrets.hmac_secret
                    overrides[name] = _secret_value(value, own, derivation)
                else:
                    overrides[name] = value
            secrets = WebhookSecrets(overrides.get(names[0], self.secrets.token) or "",
                                     overrides.get(names[1], self.secrets.hmac_secret)
                                     if names[1] in overrides else self.secrets.hmac_secret)
            webhook = self._launch(overrides, secrets, f"variant{len(self._variants) + 1}")
            self._variants[key] = (webhook, secrets)
        return self._variants[key]

    def scrub(self, text: str) -> str:
        """``text`` with the replay's secrets replaced by the variables that name them."""
        settings = self.profile.webhook
        for secrets in [self.secrets, *(s for _, s in self._variants.values())]:
            if secrets is None:
                continue
            for value, name in ((secrets.token, settings.token_env),
                                (secrets.hmac_secret, settings.hmac_secret_env)):
                if value:
                    text = text.replace(value, "$" + name)
        return text

    def describe(self, launch: str | None = None) -> str:
        """The target as the output names it (``launch``: the ``--launch`` text)."""
        if self.url:
            return f"--url {self.url}"
        if launch is not None:
            return f"--launch {launch}"
        return f"reference (mutant {self.mutant})" if self.mutant else "reference"

    # -- one step --------------------------------------------------------------------------

    def arrange(self, step: Mapping[str, Any]) -> None:
        """Put the chain and cache peers in a recorded step's state (an empty chain log)."""
        if self.peer is not None:
            PeerState.from_json(self.base, step).apply(self.peer, self.kv)
            self.peer.clear_log()

    def settle(self) -> None:
        """After a step: no faults, the chain and the cache up."""
        if self.peer is not None:
            self.peer.clear_faults()
        if self.kv is not None:
            self.kv.set_down(False)


def legacy_variant(profile: Profile, variant: Mapping[str, str]) -> dict[str, Any]:
    """A record's ``variant`` extra (WH-057's key derivation and secret prefix, WH-053's unset
    secret) as the overrides a step's ``target`` holds."""
    if not variant:
        return {}
    secret_env = profile.webhook.hmac_secret_env
    secret: Any = (None if variant.get("secret") == "unset"
                   else {"secret_prefix": variant.get("secret_prefix", "pim_whsec_")})
    return {"PIMLICO_KEY_DERIVATION": variant_derivation(profile, variant).value,
            secret_env: secret}


__all__ = ["FRESH_SECRET", "NEEDS_SUITE_CHAIN", "SAME_SECRET", "ReplayBench", "dual_secret",
           "legacy_variant", "needs_suite_chain", "scenario_for", "variant_derivation"]
