"""The webhook under test as a launched process: its environment, secrets and life cycle.

PROTOCOL.md §5 "Configuration": the suite launches an implementation with the environment the
live webhook reads (``RPC_URL``, ``EXPECTED_CHAIN_ID``, the factories, the token and HMAC
secret, the cap, the TTL, the operator gate, ``LOG_LEVEL``) plus ``HOST``/``PORT`` and the
suite extensions ``CACHE_URL``, ``WEBHOOK_GENERATION``, ``PIMLICO_KEY_DERIVATION`` and
``AMC_MUTANT``, so the live implementation runs unchanged. The reference is launched the same
way, as a real subprocess (``amc serve webhook``).
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets as _secrets
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import base58

from conformance.errors import TargetError, UsageError
from conformance.profiles.loader import Profile
from conformance.protocol.webhook_wire import (
    LIVE_ALPHABET,
    KeyDerivation,
    SecretFormatError,
    derive_hmac_key,
)
from conformance.secrecy import register, register_key, scrub
from conformance.targets.launcher import LaunchedProcess, free_port
from conformance.targets.webhook_http import Answer, HttpWebhook, WebhookRequest

__all__ = [
    "CONFIG_VARS",
    "LaunchedWebhook",
    "WebhookSecrets",
    "check_url_secrets",
    "generate_hmac_secret",
    "generate_secrets",
    "launch_command",
    "reference_command",
    "register_secrets",
    "webhook_environment",
]

CONFIG_VARS = (
    "RPC_URL", "EXPECTED_CHAIN_ID", "CANONICAL_CLUSTER_FACTORY", "CANONICAL_CLUSTER_FACTORY_V2",
    "CANONICAL_MEMBER_FACTORY", "ALCHEMY_WEBHOOK_TOKEN", "PIMLICO_WEBHOOK_SECRET",
    "MAX_DAILY_OPS_PER_SENDER", "CACHE_TTL_SECONDS", "SPONSOR_OPERATOR_METHOD", "LOG_LEVEL",
    "HOST", "PORT", "CACHE_URL", "WEBHOOK_GENERATION", "PIMLICO_KEY_DERIVATION", "AMC_MUTANT",
)
"""Every variable the suite sets for a launched webhook (§5 plus the suite extensions)."""


@dataclass(frozen=True)
class WebhookSecrets:
    """The shared token and the Pimlico HMAC secret of one run (never logged or reported)."""

    token: str
    hmac_secret: str | None

    def __repr__(self) -> str:
        return "WebhookSecrets(<redacted>)"


def generate_hmac_secret(derivation: KeyDerivation | str) -> str:
    """A fresh secret that ``derivation`` decodes to a non-empty HMAC key (PROTOCOL.md §5).

    STANDARD: ``whsec_`` + base64 of 24 random bytes. The base-x derivations read base-x →
    lower-case hex text → base64; hex digits are base64 characters, so 24 random bytes (first
    byte non-zero, so no leading ``1``) give 48 hex characters that decode to a 36-byte key.
    """
    derivation = KeyDerivation(derivation)
    raw = _secrets.token_bytes(24)
    if derivation is KeyDerivation.STANDARD:
        return "whsec_" + base64.b64encode(raw).decode("ascii")
    raw = bytes([raw[0] | 0x10]) + raw[1:]
    if derivation is KeyDerivation.LIVE_BASE57:
        encoded = base58.b58encode(raw, alphabet=LIVE_ALPHABET.encode("ascii"))
    else:
        encoded = base58.b58encode(raw)
    secret = "pim_whsec_" + encoded.decode("ascii")
    derive_hmac_key(secret, derivation)  # raises SecretFormatError if the round trip broke
    return secret


def generate_secrets(derivation: KeyDerivation | str, *, with_hmac: bool = True) -> WebhookSecrets:
    """A random token (URL-safe) and, when ``with_hmac``, an HMAC secret for ``derivation``;
    both (and the derived key) are registered for masking (``conformance.secrecy``)."""
    token = _secrets.token_urlsafe(24)
    made = WebhookSecrets(token, generate_hmac_secret(derivation) if with_hmac else None)
    register_secrets(made, derivation)
    return made


def register_secrets(
    secrets: WebhookSecrets, derivation: KeyDerivation | str,
    token_env: str = "ALCHEMY_WEBHOOK_TOKEN", secret_env: str = "PIMLICO_WEBHOOK_SECRET",
) -> None:
    """Mask the token, the HMAC secret and its derived key wherever this process makes text."""
    register(secrets.token, "$" + token_env)
    if secrets.hmac_secret:
        register(secrets.hmac_secret, "$" + secret_env)
        with contextlib.suppress(SecretFormatError):
            register_key(derive_hmac_key(secrets.hmac_secret, derivation), "<hmac-key>")


def check_url_secrets(profile: Profile, environ: Mapping[str, str]) -> None:
    """Usage error (one line, no value) when the environment's HMAC secret does not derive a key
    under the profile's key derivation (PROTOCOL.md §5): a ``--url`` run cannot sign with it."""
    settings = profile.webhook
    secret = environ.get(settings.hmac_secret_env, "")
    if not secret:
        return
    try:
        derive_hmac_key(secret, settings.key_derivation)
    except SecretFormatError as exc:
        raise UsageError(
            f"{settings.hmac_secret_env} is malformed: it does not derive an HMAC key under the "
            f"profile's key derivation {settings.key_derivation.value} ({exc})") from None


def webhook_environment(
    profile: Profile,
    *,
    rpc_url: str,
    secrets: WebhookSecrets,
    cache_url: str | None = None,
    mutant: str | None = None,
    overrides: Mapping[str, str | None] | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a launched webhook for ``profile`` (PROTOCOL.md §5 "Configuration").

    ``overrides`` sets variables (a None value removes one, e.g. to misconfigure); the outer
    environment's own values of the webhook's variables never leak into the child.
    """
    settings = profile.webhook
    env = {k: v for k, v in (base if base is not None else os.environ).items()
           if k not in CONFIG_VARS and k not in (settings.token_env, settings.hmac_secret_env)}
    env.update({
        "RPC_URL": rpc_url,
        "EXPECTED_CHAIN_ID": str(profile.chain_id),
        "CANONICAL_CLUSTER_FACTORY": profile.cluster_factory,
        "CANONICAL_MEMBER_FACTORY": profile.member_factory,
        settings.token_env: secrets.token,
        "MAX_DAILY_OPS_PER_SENDER": str(settings.daily_cap),
        "CACHE_TTL_SECONDS": str(settings.cache_ttl_seconds),
        "SPONSOR_OPERATOR_METHOD": "true" if settings.operator_method else "false",
        "LOG_LEVEL": "warn",
        "WEBHOOK_GENERATION": profile.generation.value,
        "PIMLICO_KEY_DERIVATION": settings.key_derivation.value,
        "PYTHONUNBUFFERED": "1",
    })
    if profile.cluster_factory_v2:
        env["CANONICAL_CLUSTER_FACTORY_V2"] = profile.cluster_factory_v2
    if secrets.hmac_secret is not None:
        env[settings.hmac_secret_env] = secrets.hmac_secret
    if cache_url:
        env["CACHE_URL"] = cache_url
    if mutant:
        env["AMC_MUTANT"] = mutant
    for name, value in (overrides or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


SUITE_VALUE_MIN = 8
"""A secret variable's value the suite launches a variant with is masked from this length up
(a check may set a deliberately short or odd value; masking "0" everywhere would garble logs)."""


def _register_environment(env: Mapping[str, str]) -> None:
    """Mask the token and HMAC secret a launched webhook gets (a check's variant may give its
    own) and the keys every §5 derivation reads from the secret (conformance.secrecy)."""
    token, secret = env.get("ALCHEMY_WEBHOOK_TOKEN", ""), env.get("PIMLICO_WEBHOOK_SECRET", "")
    if len(token) >= SUITE_VALUE_MIN:
        register(token, "$ALCHEMY_WEBHOOK_TOKEN")
    if len(secret) >= SUITE_VALUE_MIN:
        register(secret, "$PIMLICO_WEBHOOK_SECRET")
        for derivation in KeyDerivation:
            with contextlib.suppress(SecretFormatError):
                register_key(derive_hmac_key(secret, derivation), "<hmac-key>")


def _scrub_log(path: Path) -> None:
    """Mask this process's secrets in a target's log (a target may print its own token; the log
    lands in the report directory). Called once the process stopped writing it."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return
    clean = scrub(text)
    if clean != text:
        path.write_text(clean)


def reference_command(profile: str, mutant: str | None = None) -> list[str]:
    """``amc serve webhook --profile P [--mutant M]`` as a real subprocess."""
    command = [sys.executable, "-m", "conformance.cli", "serve", "webhook", "--profile", profile]
    return command + (["--mutant", mutant] if mutant else [])


def launch_command(text: str) -> list[str]:
    """A ``--launch`` command line, run by ``/bin/sh`` so shell syntax works as typed."""
    if not text.strip():
        raise ValueError("--launch command is empty")
    return ["/bin/sh", "-c", text]


class LaunchedWebhook:
    """A webhook the suite starts on 127.0.0.1 and stops; ``restart`` gives fresh state."""

    def __init__(
        self,
        command: Sequence[str],
        env: Mapping[str, str],
        *,
        log_path: Path,
        ready_timeout: float = 30.0,
        request_timeout: float = 5.0,
    ) -> None:
        self.command = list(command)
        self.env = dict(env)
        self.log_path = log_path
        self.ready_timeout = ready_timeout
        self.request_timeout = request_timeout
        self._process: LaunchedProcess | None = None
        self._http: HttpWebhook | None = None

    @property
    def url(self) -> str:
        """The base URL while started."""
        if self._http is None:
            raise TargetError("webhook not started")
        return self._http.url

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self._process is not None and self._process.alive

    def start(self) -> LaunchedWebhook:
        """Start on a free port; TargetError (with the log tail) if it never answers."""
        _register_environment(self.env)
        last: TargetError | None = None
        for _attempt in range(2):  # a port taken between probe and bind: try another once
            port = free_port()
            env = dict(self.env, HOST="127.0.0.1", PORT=str(port))
            url = f"http://127.0.0.1:{port}"
            process = LaunchedProcess(self.command, env, log_path=self.log_path,
                                      ready_url=url + "/healthz", ready_timeout=self.ready_timeout)
            try:
                process.start()
            except TargetError as exc:
                last = TargetError(scrub(str(exc)))  # the log tail may hold a secret
                _scrub_log(self.log_path)
                if "address already in use" not in str(exc).lower():
                    raise last from None
                continue
            self._process = process
            self._http = HttpWebhook(url, self.request_timeout)
            return self
        assert last is not None
        raise last

    def send(self, request: WebhookRequest) -> Answer:
        """Send one request; a dead process is a TargetError naming its exit."""
        if self._http is None or self._process is None:
            raise TargetError("webhook not started")
        try:
            return self._http.send(request)
        except TargetError as exc:
            if self._process.exited(within=0.2):
                _scrub_log(self.log_path)
                raise TargetError(f"webhook process died: {exc}") from None
            raise

    def restart(self, env_overrides: Mapping[str, str | None] | None = None) -> None:
        """Stop, apply ``env_overrides`` (None removes a variable) and start again."""
        self.stop()
        for name, value in (env_overrides or {}).items():
            if value is None:
                self.env.pop(name, None)
            else:
                self.env[name] = value
        self.start()

    def reset(self) -> bool:
        """Restart for fresh state: True."""
        self.restart()
        return True

    def revive(self) -> bool:
        """Start the process again if it has exited (a crash in an earlier check must cost that
        check's ERROR only); True when it was restarted. A failed start is left to the next
        send, which raises its TargetError."""
        if self._process is None or self._process.alive:
            return False
        with contextlib.suppress(TargetError):
            self.restart()
        return True

    def stop(self) -> None:
        """Stop the process (idempotent)."""
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._process is not None:
            self._process.stop()
            self._process = None
            _scrub_log(self.log_path)

    def close(self) -> None:
        """Stop the process and release the client."""
        self.stop()

    def describe(self) -> str:
        """The command, for logs (no environment: it holds secrets)."""
        return shlex.join(self.command)

    def __enter__(self) -> LaunchedWebhook:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
