"""The reference webhook's configuration, read from the environment the live webhook reads.

PROTOCOL.md §5 "Configuration": a missing or malformed required value does not stop the
process; it makes every request answer 500 ``{"error":"server-misconfigured"}`` (WH-065), so
``read_config`` returns either a ``WebhookConfig`` or a ``ConfigError`` naming the variable
(never its value: secrets must not reach a log).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from conformance.profiles import Profile
from conformance.protocol.hexutil import HexFormatError, parse_address
from conformance.protocol.webhook_wire import KeyDerivation, SecretFormatError, derive_hmac_key

GENERATIONS = ("pimlico", "multi-attestor", "base")
"""The webhook generations the reference serves (PROTOCOL.md §0)."""

DEFAULT_DAILY_CAP = 100
"""``MAX_DAILY_OPS_PER_SENDER`` when unset (WH-044)."""

DEFAULT_CACHE_TTL = 86_400
"""``CACHE_TTL_SECONDS`` when unset: 24 h (WH-035)."""

MIN_CACHE_TTL = 60
"""The smallest positive TTL the live webhook accepts (PROTOCOL.md §5)."""

_DECIMAL = re.compile(r"[0-9]{1,12}")
_HEX = re.compile(r"0x[0-9a-fA-F]{1,12}")


class ConfigError(ValueError):
    """A required variable is missing or a variable is malformed (names the variable only)."""


@dataclass(frozen=True)
class WebhookConfig:
    """Everything the reference reads from its environment (PROTOCOL.md §5, launch contract)."""

    rpc_url: str
    chain_id: int
    cluster_factory: bytes
    cluster_factory_v2: bytes | None
    member_factory: bytes
    token: str
    pimlico_secret: str | None
    daily_cap: int
    cache_ttl: int
    operator_method: bool
    generation: str
    key_derivation: KeyDerivation
    cache_url: str | None
    log_level: str
    mutant: str | None

    def __repr__(self) -> str:  # secrets never printed
        return f"WebhookConfig(generation={self.generation!r}, chain_id={self.chain_id})"


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set")
    return value


def _rpc_url(value: str) -> str:
    """``RPC_URL``: an absolute http(s) URL with a host, else malformed (WH-065)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("RPC_URL is not an http(s) URL")
    return value


def _address(name: str, value: str) -> bytes:
    try:
        return parse_address(value)
    except HexFormatError:
        raise ConfigError(f"{name} is not a 20-byte 0x address") from None


def _chain_id(value: str) -> int:
    if _DECIMAL.fullmatch(value):
        chain_id = int(value)
    elif _HEX.fullmatch(value):
        chain_id = int(value, 16)
    else:
        raise ConfigError("EXPECTED_CHAIN_ID is not a decimal or 0x chain id")
    if chain_id <= 0:
        raise ConfigError("EXPECTED_CHAIN_ID must be positive")
    return chain_id


def _integer(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not _DECIMAL.fullmatch(text) or int(text) < minimum:
        raise ConfigError(f"{name} must be a whole number >= {minimum}")
    return int(text)


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = env.get(name, "").strip() or default
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}")
    return value


LOG_LEVELS = {"info": "INFO", "warn": "WARNING", "error": "ERROR"}
"""The ``LOG_LEVEL`` values PROTOCOL.md §5 allows, as logging level names (default ``info``)."""


def _log_level(env: Mapping[str, str]) -> str:
    """``LOG_LEVEL`` as a logging level name; any value but the three is malformed (WH-065)."""
    value = env.get("LOG_LEVEL")
    if value is None:
        return LOG_LEVELS["info"]
    if value not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
    return LOG_LEVELS[value]


def parse_config(env: Mapping[str, str], *, optional_token: bool = False) -> WebhookConfig:
    """Read the launch contract (see ``server`` module docstring); ConfigError when unusable.

    ``optional_token`` (the ``empty-token-disables-auth`` mutant only) reads an unset or empty
    token as "" instead of a missing required value."""
    derivation = KeyDerivation(
        _choice(env, "PIMLICO_KEY_DERIVATION", tuple(k.value for k in KeyDerivation), "live-base57")
    )
    secret = env.get("PIMLICO_WEBHOOK_SECRET", "").strip() or None
    if secret is not None:
        try:
            derive_hmac_key(secret, derivation)
        except SecretFormatError:
            raise ConfigError(f"PIMLICO_WEBHOOK_SECRET does not decode as {derivation}") from None
    v2 = env.get("CANONICAL_CLUSTER_FACTORY_V2", "").strip()
    return WebhookConfig(
        rpc_url=_rpc_url(_required(env, "RPC_URL")),
        chain_id=_chain_id(_required(env, "EXPECTED_CHAIN_ID")),
        cluster_factory=_address(
            "CANONICAL_CLUSTER_FACTORY", _required(env, "CANONICAL_CLUSTER_FACTORY")
        ),
        cluster_factory_v2=_address("CANONICAL_CLUSTER_FACTORY_V2", v2) if v2 else None,
        member_factory=_address(
            "CANONICAL_MEMBER_FACTORY", _required(env, "CANONICAL_MEMBER_FACTORY")
        ),
        token=(env.get("ALCHEMY_WEBHOOK_TOKEN", "").strip() if optional_token
               else _required(env, "ALCHEMY_WEBHOOK_TOKEN")),
        pimlico_secret=secret,
        daily_cap=_integer(env, "MAX_DAILY_OPS_PER_SENDER", DEFAULT_DAILY_CAP, 0),
        cache_ttl=_integer(env, "CACHE_TTL_SECONDS", DEFAULT_CACHE_TTL, MIN_CACHE_TTL),
        operator_method=env.get("SPONSOR_OPERATOR_METHOD", "") == "true",
        generation=_choice(env, "WEBHOOK_GENERATION", GENERATIONS, "pimlico"),
        key_derivation=derivation,
        cache_url=env.get("CACHE_URL", "").strip() or None,
        log_level=_log_level(env),
        mutant=env.get("AMC_MUTANT", "").strip() or None,
    )


def read_config(
    env: Mapping[str, str], *, optional_token: bool = False
) -> WebhookConfig | ConfigError:
    """``parse_config``, with the error returned rather than raised (the app answers 500)."""
    try:
        return parse_config(env, optional_token=optional_token)
    except ConfigError as exc:
        return exc


LAUNCH_VARIABLES = (
    "RPC_URL", "EXPECTED_CHAIN_ID", "CANONICAL_CLUSTER_FACTORY", "CANONICAL_CLUSTER_FACTORY_V2",
    "CANONICAL_MEMBER_FACTORY", "ALCHEMY_WEBHOOK_TOKEN", "PIMLICO_WEBHOOK_SECRET",
    "MAX_DAILY_OPS_PER_SENDER", "CACHE_TTL_SECONDS", "SPONSOR_OPERATOR_METHOD", "LOG_LEVEL",
    "CACHE_URL", "WEBHOOK_GENERATION", "PIMLICO_KEY_DERIVATION", "AMC_MUTANT",
)
"""The configuration variables of the launch contract (``server`` module docstring)."""


LAUNCHER_MARKERS = ("EXPECTED_CHAIN_ID", "CANONICAL_CLUSTER_FACTORY", "CANONICAL_MEMBER_FACTORY")
"""Variables whose presence says the environment is a complete launch contract."""


def profile_environment(profile: Profile, environ: Mapping[str, str]) -> dict[str, str]:
    """The launch-contract variables for ``profile`` and the caller's environment.

    When ``environ`` sets any of ``LAUNCHER_MARKERS`` it is a complete launch contract (a
    launcher such as the suite wrote it) and is taken exactly as the live webhook would: the
    profile supplies only the suite extensions WEBHOOK_GENERATION and PIMLICO_KEY_DERIVATION
    when absent, so a live variable the launcher left out is missing (WH-065) or takes its
    documented default (WH-044). Otherwise chain id, factories, generation, key
    derivation, cap, TTL and operator gate default to the profile, and any launch-contract
    variable set in ``environ`` wins. Either way the token and HMAC secret are read from the
    variables the profile *names* (PROTOCOL.md §0: a profile never holds a secret).
    """
    hook = profile.webhook
    env = _profile_defaults(profile)
    if any(name in environ for name in LAUNCHER_MARKERS):  # only the suite extensions stay
        env = {k: env[k] for k in ("WEBHOOK_GENERATION", "PIMLICO_KEY_DERIVATION")}
    secrets = {
        "ALCHEMY_WEBHOOK_TOKEN": hook.token_env,
        "PIMLICO_WEBHOOK_SECRET": hook.hmac_secret_env,
    }
    for target, source in secrets.items():
        if source in environ:
            env[target] = environ[source]
    env.update({name: environ[name] for name in LAUNCH_VARIABLES if name in environ})
    return env


def _profile_defaults(profile: Profile) -> dict[str, str]:
    """The non-secret launch-contract values a profile gives."""
    hook = profile.webhook
    env = {
        "EXPECTED_CHAIN_ID": str(profile.chain_id),
        "CANONICAL_CLUSTER_FACTORY": profile.cluster_factory,
        "CANONICAL_MEMBER_FACTORY": profile.member_factory,
        "WEBHOOK_GENERATION": profile.generation.value,
        "PIMLICO_KEY_DERIVATION": hook.key_derivation.value,
        "MAX_DAILY_OPS_PER_SENDER": str(hook.daily_cap),
        "CACHE_TTL_SECONDS": str(hook.cache_ttl_seconds),
        "SPONSOR_OPERATOR_METHOD": "true" if hook.operator_method else "false",
    }
    if profile.cluster_factory_v2:
        env["CANONICAL_CLUSTER_FACTORY_V2"] = profile.cluster_factory_v2
    return env
