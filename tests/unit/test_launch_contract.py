"""The launch environment is pinned against docs/PROTOCOL.md §5 "Configuration" (issue 7 §5).

The variable names, the required ones and the allowed ``LOG_LEVEL`` values are parsed out of
the protocol text, so a drift on either side (a new variable, a renamed one, a value the live
worker rejects such as ``LOG_LEVEL=warning``) fails here. The reference reads the same contract:
a ``LOG_LEVEL`` outside the documented three is malformed (WH-065).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.profiles import load_profile
from conformance.reference.webhook.config import (
    LAUNCH_VARIABLES,
    ConfigError,
    parse_config,
)
from conformance.targets.webhook import CONFIG_VARS, generate_secrets, webhook_environment

PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "PROTOCOL.md"

SUITE_EXTENSIONS = {"HOST", "PORT", "CACHE_URL", "WEBHOOK_GENERATION", "PIMLICO_KEY_DERIVATION",
                    "AMC_MUTANT", "PYTHONUNBUFFERED"}
"""Variables the suite sets beyond §5 (documented as suite extensions in the README)."""


def _configuration_paragraph() -> str:
    text = PROTOCOL.read_text()
    section = text.split("\n## 5", 1)[1].split("\n## 6", 1)[0]
    start = section.index("Configuration the live webhook reads")
    return " ".join(section[start:].split("\n\n", 1)[0].split())


def _documented() -> tuple[set[str], set[str], set[str]]:
    """(every §5 variable, the required ones, the allowed LOG_LEVEL values) from PROTOCOL.md."""
    paragraph = _configuration_paragraph()
    names = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", paragraph))
    required_text = paragraph.split("Required:", 1)[1].split(". ", 1)[0]
    required = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", required_text))
    levels_text = paragraph.split("`LOG_LEVEL` (", 1)[1].split(";", 1)[0]
    levels = set(re.findall(r"`([a-z]+)`", levels_text))
    return names, required, levels


def _launch_env(profile: str = "pimlico") -> dict[str, str]:
    prof = load_profile(profile)
    return webhook_environment(prof, rpc_url="http://127.0.0.1:1", base={},
                               secrets=generate_secrets(prof.webhook.key_derivation),
                               cache_url="http://127.0.0.1:2")


def test_the_protocol_text_parses() -> None:
    names, required, levels = _documented()
    assert "LOG_LEVEL" in names and "ALCHEMY_WEBHOOK_TOKEN" in required
    assert levels == {"info", "warn", "error"}, levels
    assert required < names


@pytest.mark.parametrize("profile", ["pimlico", "multi-attestor", "base"])
def test_launch_environment_is_the_documented_contract(profile: str) -> None:
    """Every variable the launcher sets is a §5 name or a suite extension; every §5 name the
    profile uses is set; every required one is non-empty; LOG_LEVEL is a documented value."""
    names, required, levels = _documented()
    env = _launch_env(profile)
    assert set(env) - SUITE_EXTENSIONS <= names, set(env) - SUITE_EXTENSIONS - names
    optional_unset = names - set(env)
    assert optional_unset <= {"CANONICAL_CLUSTER_FACTORY_V2"}, optional_unset
    assert all(env[name] for name in required)
    assert env["LOG_LEVEL"] in levels
    assert int(env["CACHE_TTL_SECONDS"]) >= 60
    assert env["SPONSOR_OPERATOR_METHOD"] in ("true", "false")
    assert set(CONFIG_VARS) - SUITE_EXTENSIONS == names
    assert set(LAUNCH_VARIABLES) - SUITE_EXTENSIONS == names


def test_the_reference_accepts_the_launch_environment() -> None:
    parse_config(_launch_env())


@pytest.mark.parametrize("level", ["info", "warn", "error"])
def test_documented_log_levels_are_accepted(level: str) -> None:
    parse_config(dict(_launch_env(), LOG_LEVEL=level))


@pytest.mark.parametrize("level", ["warning", "debug", "INFO", "Warn", "trace", " info", ""])
def test_other_log_levels_are_malformed(level: str) -> None:
    """WH-065: the live worker answers 500 to any LOG_LEVEL but the three; so does the reference."""
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        parse_config(dict(_launch_env(), LOG_LEVEL=level))


def test_unset_log_level_is_info() -> None:
    env = _launch_env()
    del env["LOG_LEVEL"]
    assert parse_config(env).log_level == "INFO"


@pytest.mark.parametrize(("name", "value"), [
    ("RPC_URL", "not-a-url"), ("RPC_URL", "ftp://127.0.0.1:1"), ("RPC_URL", ""),
    ("EXPECTED_CHAIN_ID", "0x"), ("EXPECTED_CHAIN_ID", "base-sepolia"),
    ("CANONICAL_CLUSTER_FACTORY", "0x" + "zz" * 20), ("CANONICAL_MEMBER_FACTORY", "0x1234"),
    ("ALCHEMY_WEBHOOK_TOKEN", ""), ("ALCHEMY_WEBHOOK_TOKEN", None),
])
def test_required_values_missing_empty_or_malformed(name: str, value: str | None) -> None:
    """WH-065's classes, as the reference reads them (the suite's check is test_config.py)."""
    env = _launch_env()
    if value is None:
        del env[name]
    else:
        env[name] = value
    with pytest.raises(ConfigError, match=name):
        parse_config(env)


def test_only_the_mutant_reads_an_empty_token_as_no_token() -> None:
    env = dict(_launch_env(), ALCHEMY_WEBHOOK_TOKEN="")
    assert parse_config(env, optional_token=True).token == ""


@pytest.mark.parametrize("profile", ["pimlico", "multi-attestor", "base"])
def test_clocked_variants_use_valid_non_default_settings(profile: str) -> None:
    """The clock checks' variant (issue 7 §9) sets every named setting to a value other than the
    §5 default and the profile's, and the contract still accepts it."""
    from types import SimpleNamespace

    from conformance.suites.webhook.clocked import non_default_settings

    prof = load_profile(profile)
    chosen = non_default_settings(SimpleNamespace(settings=prof.webhook))  # type: ignore[arg-type]
    defaults = {"MAX_DAILY_OPS_PER_SENDER": "100", "CACHE_TTL_SECONDS": "86400",
                "SPONSOR_OPERATOR_METHOD": "false", "LOG_LEVEL": "info"}
    env = _launch_env(profile)
    for name, default in defaults.items():
        assert chosen[name] not in (default, env[name]), name
    _names, _required, levels = _documented()
    assert chosen["LOG_LEVEL"] in levels
    variant = {**env, **{k: v for k, v in chosen.items() if v is not None}}
    variant.pop("CACHE_URL")
    parse_config(variant)
