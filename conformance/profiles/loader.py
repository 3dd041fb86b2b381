"""Profiles: which generation, chain and deployment a run is about, read from TOML and validated.

PROTOCOL.md §0: the generation (selector sets, routes, provenance order) is a profile
parameter, and "a profile file also carries: chain id, EntryPoint, factory addresses, the token /
HMAC secret *names* of environment variables (never the values), daily cap, and the KMS roots
used for attestation". Addresses are EIP-55 checksummed ``str`` throughout.

Every bad input is a ``UsageError`` of one line naming the key, the bad value and, where one is
close, the valid spelling. A secret value never reaches a message.
"""

from __future__ import annotations

import enum
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from conformance.errors import UsageError, closest, did_you_mean
from conformance.protocol import selectors
from conformance.protocol.hexutil import checksum
from conformance.protocol.webhook_wire import KeyDerivation

PROFILE_DIR = Path(__file__).resolve().parent
"""Where the shipped ``*.toml`` profiles live."""

CANONICAL_ENTRY_POINT = "0x0000000071727De22E5E9d8BAf0edAc6f37da032"
"""EntryPoint v0.7, every chain (PROTOCOL.md §1): the default of ``entry_point``."""


class Generation(enum.StrEnum):
    """The webhook/account generations of PROTOCOL.md §0."""

    PIMLICO = "pimlico"
    MULTI_ATTESTOR = "multi-attestor"
    BASE = "base"


@dataclass(frozen=True)
class WebhookSettings:
    """The ``[webhook]`` table: environment variable *names* and policy knobs (§5)."""

    token_env: str = "ALCHEMY_WEBHOOK_TOKEN"
    hmac_secret_env: str = "PIMLICO_WEBHOOK_SECRET"
    key_derivation: KeyDerivation = KeyDerivation.LIVE_BASE57
    daily_cap: int = 100
    cache_ttl_seconds: int = 86400
    operator_method: bool = False


@dataclass(frozen=True)
class SidecarSettings:
    """The ``[sidecar]`` table: §7's retry numbers (these defaults) and the time factor that
    compresses every wait of a sidecar run (1.0: real time; the shipped profiles compress)."""

    backoff_initial_seconds: float = 5.0
    backoff_cap_seconds: float = 60.0
    max_sponsorships_per_minute: int = 12
    receipt_polls: int = 30
    receipt_interval_seconds: float = 2.0
    time_factor: float = 1.0


@dataclass(frozen=True)
class Profile:
    """One validated profile (PROTOCOL.md §0); addresses are checksummed text."""

    name: str
    generation: Generation
    chain_id: int
    entry_point: str
    cluster_factory: str
    member_factory: str
    cluster_factory_v2: str | None
    webhook: WebhookSettings
    kms_roots: tuple[str, ...]
    description: str
    source: str
    sidecar: SidecarSettings = SidecarSettings()

    def allowlist(self) -> frozenset[bytes]:
        """Inner selectors this profile's webhook may sponsor (§0, policy step 6)."""
        return selectors.allowlist(
            self.generation.value, operator_enabled=self.webhook.operator_method
        )

    def secret_env_names(self) -> tuple[str, ...]:
        """Names of the environment variables holding this profile's secrets (for redaction)."""
        return (self.webhook.token_env, self.webhook.hmac_secret_env)

    @property
    def has_pimlico_route(self) -> bool:
        """``POST /pimlico`` exists only under the ``pimlico`` generation (§0, §5)."""
        return self.generation is Generation.PIMLICO


_SECTIONS: dict[str, frozenset[str]] = {
    "factories": frozenset({"cluster", "member", "cluster_v2"}),
    "webhook": frozenset(
        {
            "token_env",
            "hmac_secret_env",
            "key_derivation",
            "daily_cap",
            "cache_ttl_seconds",
            "operator_method",
        }
    ),
    "attestation": frozenset({"kms_roots"}),
    "sidecar": frozenset(
        {
            "backoff_initial_seconds",
            "backoff_cap_seconds",
            "max_sponsorships_per_minute",
            "receipt_polls",
            "receipt_interval_seconds",
            "time_factor",
        }
    ),
}
_TOP_KEYS = frozenset({"name", "generation", "chain_id", "entry_point", "description"})
_ALL_DOTTED = sorted(
    [*_TOP_KEYS, *_SECTIONS, *(f"{s}.{k}" for s, keys in _SECTIONS.items() for k in keys)]
)
_SECRET_WORDS = ("token", "secret", "password", "passwd", "api_key", "apikey", "private_key")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


def shipped_profiles() -> list[str]:
    """Names of the profiles shipped in ``conformance/profiles/``, sorted."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def load_profile(name_or_path: str) -> Profile:
    """Load a shipped profile by name, or a ``.toml`` file by path; ``UsageError`` if bad."""
    path, label = _resolve(name_or_path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"profile {label}: TOML syntax error: {exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"profile {label}: not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"profile {label}: cannot read: {exc.strerror}") from None
    return _Reader(label, str(path)).profile(data)


def _resolve(name_or_path: str) -> tuple[Path, str]:
    """The file of a shipped name or a path, and the label messages use for it."""
    if name_or_path.endswith(".toml") or "/" in name_or_path or "\\" in name_or_path:
        path = Path(name_or_path)
        if not path.is_file():
            raise UsageError(f"profile file {name_or_path!r} not found")
        return path, name_or_path
    names = shipped_profiles()
    if name_or_path not in names:
        raise UsageError(
            f"unknown profile {name_or_path!r}; shipped profiles: {', '.join(names)}"
            f"{did_you_mean(name_or_path, names)}"
        )
    path = PROFILE_DIR / f"{name_or_path}.toml"
    return path, path.name


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Reader:
    """Validates one parsed profile table; every failure names the file and the key."""

    def __init__(self, label: str, source: str) -> None:
        self.label = label
        self.source = source

    def fail(self, message: str) -> NoReturn:
        raise UsageError(f"profile {self.label}: {message}")

    def profile(self, data: dict[str, Any]) -> Profile:
        self.check_secrets(data, "")
        self.check_keys(data)
        factories = self.table(data, "factories")
        generation = Generation(self.choice(data, "generation", [g.value for g in Generation]))
        v2 = factories.get("cluster_v2")
        return Profile(
            name=self.string(data, "name"),
            generation=generation,
            chain_id=self.integer(data, "chain_id", minimum=1),
            entry_point=self.address(
                self.value(data, "entry_point", CANONICAL_ENTRY_POINT), "entry_point"
            ),
            cluster_factory=self.address(
                self.value(factories, "factories.cluster"), "factories.cluster"
            ),
            member_factory=self.address(
                self.value(factories, "factories.member"), "factories.member"
            ),
            cluster_factory_v2=None if v2 is None else self.address(v2, "factories.cluster_v2"),
            webhook=self.webhook(self.table(data, "webhook"), generation),
            kms_roots=self.kms_roots(self.table(data, "attestation")),
            description=self.string(data, "description", default=""),
            source=self.source,
            sidecar=self.sidecar(self.table(data, "sidecar")),
        )

    def sidecar(self, table: dict[str, Any]) -> SidecarSettings:
        dflt = SidecarSettings()
        settings = SidecarSettings(
            backoff_initial_seconds=self.positive(table, "sidecar.backoff_initial_seconds",
                                                  dflt.backoff_initial_seconds),
            backoff_cap_seconds=self.positive(table, "sidecar.backoff_cap_seconds",
                                              dflt.backoff_cap_seconds),
            max_sponsorships_per_minute=self.integer(
                table, "sidecar.max_sponsorships_per_minute", minimum=1,
                default=dflt.max_sponsorships_per_minute),
            receipt_polls=self.integer(table, "sidecar.receipt_polls", minimum=1,
                                       default=dflt.receipt_polls),
            receipt_interval_seconds=self.positive(table, "sidecar.receipt_interval_seconds",
                                                   dflt.receipt_interval_seconds),
            time_factor=self.positive(table, "sidecar.time_factor", dflt.time_factor),
        )
        if settings.backoff_cap_seconds < settings.backoff_initial_seconds:
            self.fail(f"sidecar.backoff_cap_seconds={settings.backoff_cap_seconds:g} must be at "
                      f"least sidecar.backoff_initial_seconds={settings.backoff_initial_seconds:g}")
        return settings

    def positive(self, table: dict[str, Any], dotted: str, default: float) -> float:
        value = self.value(table, dotted, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            self.fail(f"{dotted}={_show(value)} must be a positive number")
        return float(value)

    def webhook(self, table: dict[str, Any], generation: Generation) -> WebhookSettings:
        dflt = WebhookSettings()
        derivations = [d.value for d in KeyDerivation]
        settings = WebhookSettings(
            token_env=self.env_name(table, "webhook.token_env", dflt.token_env),
            hmac_secret_env=self.env_name(table, "webhook.hmac_secret_env", dflt.hmac_secret_env),
            key_derivation=KeyDerivation(
                self.choice(table, "webhook.key_derivation", derivations, dflt.key_derivation)
            ),
            daily_cap=self.integer(table, "webhook.daily_cap", minimum=0, default=dflt.daily_cap),
            cache_ttl_seconds=self.integer(
                table, "webhook.cache_ttl_seconds", minimum=60, default=dflt.cache_ttl_seconds
            ),
            operator_method=self.boolean(table, "webhook.operator_method", dflt.operator_method),
        )
        if settings.operator_method and generation is not Generation.MULTI_ATTESTOR:
            self.fail(
                "webhook.operator_method=true applies only to generation 'multi-attestor', "
                f"not {generation.value!r} (did you mean 'false'?)"
            )
        return settings

    def kms_roots(self, table: dict[str, Any]) -> tuple[str, ...]:
        roots = table.get("kms_roots", [])
        if not isinstance(roots, list):
            self.fail(f"attestation.kms_roots={_show(roots)} must be a list of addresses")
        return tuple(self.address(r, f"attestation.kms_roots[{i}]") for i, r in enumerate(roots))

    # -- structure ------------------------------------------------------------------------

    def check_secrets(self, table: dict[str, Any], prefix: str) -> None:
        """§0: profiles carry env var *names*; a secret-like key holding a value is refused."""
        for key, value in table.items():
            dotted = f"{prefix}{key}"
            lowered = key.lower()
            if isinstance(value, dict):
                self.check_secrets(value, f"{dotted}.")
            if any(w in lowered for w in _SECRET_WORDS) and not lowered.endswith("_env"):
                hint = closest(f"{dotted}_env", _ALL_DOTTED)
                suffix = f" (did you mean {hint!r}?)" if hint else ""
                self.fail(
                    f"key {dotted!r} holds a value (not shown); profiles name environment "
                    f"variables only, never secrets{suffix}"
                )

    def check_keys(self, data: dict[str, Any]) -> None:
        for key in data:
            if key not in _TOP_KEYS and key not in _SECTIONS:
                self.unknown(key, [*_TOP_KEYS, *_SECTIONS])
        for section, keys in _SECTIONS.items():
            table = data.get(section, {})
            if not isinstance(table, dict):
                self.fail(f"{section} must be a table ([{section}]), not a {type(table).__name__}")
            for key in table:
                if key not in keys:
                    self.unknown(f"{section}.{key}", [f"{section}.{k}" for k in keys])

    def unknown(self, dotted: str, choices: list[str]) -> NoReturn:
        leaf = dotted.rsplit(".", 1)[-1]
        hint = closest(dotted, choices) or next(
            (d for d in _ALL_DOTTED if d.rsplit(".", 1)[-1] == leaf), None
        )
        suffix = f" (did you mean {hint!r}?)" if hint else ""
        self.fail(f"unknown key {dotted!r}{suffix}")

    def table(self, data: dict[str, Any], section: str) -> dict[str, Any]:
        value = data.get(section, {})
        return value if isinstance(value, dict) else {}

    # -- typed values (``dotted`` names the key in messages; its last part is the key) --------

    def string(self, table: dict[str, Any], dotted: str, default: str | None = None) -> str:
        value = self.value(table, dotted, default)
        if not isinstance(value, str) or (default is None and not value):
            self.fail(f"{dotted}={_show(value)} must be a non-empty string")
        return value

    def integer(
        self, table: dict[str, Any], dotted: str, *, minimum: int, default: int | None = None
    ) -> int:
        value = self.value(table, dotted, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(f"{dotted}={_show(value)} must be an integer")
        if value < minimum:
            self.fail(f"{dotted}={value} must be at least {minimum}")
        return value

    def boolean(self, table: dict[str, Any], dotted: str, default: bool) -> bool:
        value = self.value(table, dotted, default)
        if not isinstance(value, bool):
            hint = did_you_mean(str(value).lower(), ["true", "false"])
            self.fail(f"{dotted}={_show(value)} must be true or false{hint}")
        return value

    def choice(
        self, table: dict[str, Any], dotted: str, choices: list[str], default: str | None = None
    ) -> str:
        value = self.value(table, dotted, default)
        if not isinstance(value, str) or value not in choices:
            self.fail(
                f"{dotted}={_show(value)} is not one of {', '.join(choices)}"
                f"{did_you_mean(str(value), choices)}"
            )
        return value

    def env_name(self, table: dict[str, Any], dotted: str, default: str) -> str:
        value = self.value(table, dotted, default)
        if not isinstance(value, str) or not _ENV_NAME.fullmatch(value):
            self.fail(
                f"{dotted} must be an environment variable NAME such as {default!r} "
                "(value not shown: it may be a secret)"
            )
        return value

    def address(self, value: object, dotted: str) -> str:
        if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
            self.fail(f"{dotted}={_show(value)} is not a 20-byte 0x address")
        good = checksum(bytes.fromhex(value[2:]))
        digits = value[2:]
        if digits != digits.lower() and digits != digits.upper() and value != good:
            self.fail(f"{dotted}={value!r} has a bad EIP-55 checksum (did you mean {good!r}?)")
        return good

    def value(self, table: dict[str, Any], dotted: str, default: object = None) -> Any:
        """The value of ``dotted`` in ``table``: its default when absent, or a missing-key error."""
        key = dotted.rsplit(".", 1)[-1]
        if key in table:
            return table[key]
        if default is None:
            self.fail(f"missing required key {dotted!r}")
        return default
