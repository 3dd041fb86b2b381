"""Profiles (PROTOCOL.md §0): the shipped TOML files and the validating loader's one-line errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from conformance.errors import UsageError
from conformance.profiles import Generation, Profile, load_profile, shipped_profiles
from conformance.protocol.webhook_wire import KeyDerivation

CANONICAL_EP = "0x0000000071727De22E5E9d8BAf0edAc6f37da032"  # PROTOCOL.md §1
KMS_ROOT = "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"  # private key 1 (§4)

MINIMAL = """\
name = "mine"
generation = "base"
chain_id = 84532

[factories]
cluster = "0x00000000000000000000000000000000000000C1"
member = "0x00000000000000000000000000000000000000f1"
"""

FULL = """\
name = "mine"
generation = "multi-attestor"
description = "test"
chain_id = 84532
entry_point = "0x0000000071727De22E5E9d8BAf0edAc6f37da032"

[factories]
cluster = "0x00000000000000000000000000000000000000C1"
member = "0x00000000000000000000000000000000000000f1"
cluster_v2 = "0x00000000000000000000000000000000000000c2"

[webhook]
token_env = "ALCHEMY_WEBHOOK_TOKEN"
hmac_secret_env = "PIMLICO_WEBHOOK_SECRET"
key_derivation = "live-base57"
daily_cap = 100
cache_ttl_seconds = 86400
operator_method = false

[attestation]
kms_roots = ["0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"]
"""


def _write(tmp_path: Path, text: str, name: str = "base.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _error(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Load ``text`` as ./base.toml and return the one-line UsageError it raises."""
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, text)
    with pytest.raises(UsageError) as info:
        load_profile("base.toml")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("profile base.toml: ")
    return message


# --------------------------------------------------------------------------- shipped profiles


def test_shipped_profiles_are_listed() -> None:
    names = shipped_profiles()
    assert names == sorted(names)
    assert {"pimlico", "multi-attestor", "base", "base-mainnet", "local"} <= set(names)


@pytest.mark.parametrize("name", shipped_profiles())
def test_every_shipped_profile_loads(name: str) -> None:
    profile = load_profile(name)
    assert profile.name == name
    assert profile.entry_point == CANONICAL_EP
    assert profile.webhook.token_env == "ALCHEMY_WEBHOOK_TOKEN"
    assert profile.webhook.hmac_secret_env == "PIMLICO_WEBHOOK_SECRET"
    assert profile.webhook.operator_method is False
    assert profile.source.endswith(f"{name}.toml")


def test_base_mainnet_is_the_live_deployment() -> None:
    profile = load_profile("base-mainnet")
    assert profile.chain_id == 8453
    assert profile.generation is Generation.PIMLICO
    assert profile.cluster_factory == "0xf6E85fD138E3208d3AAE63ce4E2A33f20e82b9fb"
    assert profile.member_factory == "0xFf9f438EFdAa197f4ae59D1d711C4f09640b8417"
    assert profile.cluster_factory_v2 is None
    assert profile.webhook.key_derivation is KeyDerivation.LIVE_BASE57
    assert profile.has_pimlico_route


@pytest.mark.parametrize(
    ("name", "generation", "chain_id"),
    [
        ("pimlico", Generation.PIMLICO, 84532),
        ("multi-attestor", Generation.MULTI_ATTESTOR, 84532),
        ("base", Generation.BASE, 84532),
        ("local", Generation.BASE, 31337),
    ],
)
def test_local_profiles(name: str, generation: Generation, chain_id: int) -> None:
    profile = load_profile(name)
    assert (profile.generation, profile.chain_id) == (generation, chain_id)
    assert profile.kms_roots == (KMS_ROOT,)
    assert profile.webhook.daily_cap == 100
    assert profile.webhook.cache_ttl_seconds == 86400
    assert profile.has_pimlico_route is (name == "pimlico")


def test_multi_attestor_has_a_v2_factory() -> None:
    assert load_profile("multi-attestor").cluster_factory_v2 == (
        "0x00000000000000000000000000000000000000c2"
    )


# --------------------------------------------------------------------------- allowlists (§0)

PUBLISH_ED25519 = bytes.fromhex("cedc29c2")
OPERATOR_REGISTER = bytes.fromhex("57977c40")
DSTACK_REGISTER = bytes.fromhex("537d491c")


@pytest.mark.parametrize(
    ("name", "size"),
    [("pimlico", 18), ("base-mainnet", 18), ("base", 17), ("local", 17), ("multi-attestor", 17)],
)
def test_allowlist_sizes(name: str, size: int) -> None:
    allowed = load_profile(name).allowlist()
    assert len(allowed) == size
    assert DSTACK_REGISTER in allowed
    assert (PUBLISH_ED25519 in allowed) is (size == 18)
    assert OPERATOR_REGISTER not in allowed


def test_multi_attestor_operator_gate_gives_20(tmp_path: Path) -> None:
    text = FULL.replace("operator_method = false", "operator_method = true")
    profile = load_profile(_write(tmp_path, text, "gate.toml"))
    allowed = profile.allowlist()
    assert len(allowed) == 20
    assert OPERATOR_REGISTER in allowed
    assert {bytes.fromhex("01249ef0"), bytes.fromhex("a3b6909f")} <= allowed


# --------------------------------------------------------------------------- loading by path


def test_minimal_profile_gets_defaults(tmp_path: Path) -> None:
    profile = load_profile(_write(tmp_path, MINIMAL, "mine.toml"))
    assert profile.entry_point == CANONICAL_EP
    assert profile.kms_roots == ()
    assert profile.description == ""
    assert profile.webhook.key_derivation is KeyDerivation.LIVE_BASE57
    assert profile.webhook.daily_cap == 100
    assert profile.cluster_factory == "0x00000000000000000000000000000000000000C1"


def test_full_profile_from_a_path(tmp_path: Path) -> None:
    profile = load_profile(_write(tmp_path, FULL, "full.toml"))
    assert isinstance(profile, Profile)
    assert profile.name == "mine"
    assert profile.generation is Generation.MULTI_ATTESTOR
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.chain_id = 1  # type: ignore[misc]


def test_lower_case_addresses_are_checksummed(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        '"0x00000000000000000000000000000000000000C1"',
        '"0xf6e85fd138e3208d3aae63ce4e2a33f20e82b9fb"',
    )
    profile = load_profile(_write(tmp_path, text, "lower.toml"))
    assert profile.cluster_factory == "0xf6E85fD138E3208d3AAE63ce4E2A33f20e82b9fb"


@pytest.mark.parametrize("derivation", ["standard", "base58", "live-base57"])
def test_key_derivations_accepted(tmp_path: Path, derivation: str) -> None:
    text = FULL.replace('"live-base57"', f'"{derivation}"')
    profile = load_profile(_write(tmp_path, text, "kd.toml"))
    assert profile.webhook.key_derivation == derivation


# --------------------------------------------------------------------------- errors


def test_unknown_profile_name_lists_shipped_ones() -> None:
    with pytest.raises(UsageError) as info:
        load_profile("pimlco")
    message = str(info.value)
    assert "\n" not in message
    assert "'pimlco'" in message
    assert "base-mainnet, local" in message
    assert message.endswith("(did you mean 'pimlico'?)")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        load_profile(str(tmp_path / "nope.toml"))
    assert "nope.toml" in str(info.value) and "not found" in str(info.value)


def test_toml_syntax_error_names_the_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    message = _error(tmp_path, 'name = "x"\ngeneration = "base"\nchain_id = = 5\n', monkeypatch)
    assert "TOML syntax error" in message and "line 3" in message


def test_not_utf8(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bin.toml").write_bytes(b'name = "\xff"\n')
    with pytest.raises(UsageError) as info:
        load_profile("bin.toml")
    assert str(info.value).startswith("profile bin.toml: ")


ERRORS = {
    "unknown-top-key": (
        MINIMAL.replace("chain_id =", "chain_idd ="),
        "profile base.toml: unknown key 'chain_idd' (did you mean 'chain_id'?)",
    ),
    "unknown-section-key": (
        FULL.replace("daily_cap", "daily_capp"),
        "profile base.toml: unknown key 'webhook.daily_capp' (did you mean 'webhook.daily_cap'?)",
    ),
    "misplaced-key": (
        'cluster_v2 = "0x00000000000000000000000000000000000000c2"\n' + MINIMAL,
        "profile base.toml: unknown key 'cluster_v2' (did you mean 'factories.cluster_v2'?)",
    ),
    "unknown-generation": (
        MINIMAL.replace('"base"', '"pimlcio"'),
        "profile base.toml: generation='pimlcio' is not one of pimlico, multi-attestor, base"
        " (did you mean 'pimlico'?)",
    ),
    "generation-number": (
        MINIMAL.replace('"base"', "3"),
        "profile base.toml: generation=3 is not one of pimlico, multi-attestor, base",
    ),
    "bad-derivation": (
        FULL.replace('"live-base57"', '"live_base57"'),
        "profile base.toml: webhook.key_derivation='live_base57' is not one of standard,"
        " live-base57, base58 (did you mean 'live-base57'?)",
    ),
    "chain-id-string": (
        MINIMAL.replace("84532", '"84532"'),
        "profile base.toml: chain_id='84532' must be an integer",
    ),
    "chain-id-bool": (
        MINIMAL.replace("84532", "true"),
        "profile base.toml: chain_id=True must be an integer",
    ),
    "chain-id-zero": (
        MINIMAL.replace("84532", "0"),
        "profile base.toml: chain_id=0 must be at least 1",
    ),
    "daily-cap-negative": (
        FULL.replace("daily_cap = 100", "daily_cap = -1"),
        "profile base.toml: webhook.daily_cap=-1 must be at least 0",
    ),
    "ttl-too-short": (
        FULL.replace("86400", "59"),
        "profile base.toml: webhook.cache_ttl_seconds=59 must be at least 60",
    ),
    "operator-method-string": (
        FULL.replace("operator_method = false", 'operator_method = "true"'),
        "profile base.toml: webhook.operator_method='true' must be true or false"
        " (did you mean 'true'?)",
    ),
    "operator-method-outside-multi": (
        FULL.replace('"multi-attestor"', '"base"').replace(
            "operator_method = false", "operator_method = true"
        ),
        "profile base.toml: webhook.operator_method=true applies only to generation"
        " 'multi-attestor', not 'base' (did you mean 'false'?)",
    ),
    "short-address": (
        MINIMAL.replace('"0x00000000000000000000000000000000000000C1"', '"0x123"'),
        "profile base.toml: factories.cluster='0x123' is not a 20-byte 0x address",
    ),
    "bad-checksum": (
        MINIMAL.replace(
            '"0x00000000000000000000000000000000000000C1"',
            '"0xF6E85fD138E3208d3AAE63ce4E2A33f20e82b9fb"',
        ),
        "profile base.toml: factories.cluster='0xF6E85fD138E3208d3AAE63ce4E2A33f20e82b9fb' has a"
        " bad EIP-55 checksum (did you mean '0xf6E85fD138E3208d3AAE63ce4E2A33f20e82b9fb'?)",
    ),
    "entry-point-number": (
        MINIMAL.replace("chain_id = 84532", "chain_id = 84532\nentry_point = 5"),
        "profile base.toml: entry_point=5 is not a 20-byte 0x address",
    ),
    "missing-member": (
        MINIMAL.replace('member = "0x00000000000000000000000000000000000000f1"\n', ""),
        "profile base.toml: missing required key 'factories.member'",
    ),
    "missing-chain-id": (
        MINIMAL.replace("chain_id = 84532\n", ""),
        "profile base.toml: missing required key 'chain_id'",
    ),
    "missing-name": (
        MINIMAL.replace('name = "mine"\n', ""),
        "profile base.toml: missing required key 'name'",
    ),
    "factories-not-table": (
        'name = "x"\ngeneration = "base"\nchain_id = 1\nfactories = "0x"\n',
        "profile base.toml: factories must be a table ([factories]), not a str",
    ),
    "kms-roots-not-list": (
        FULL.replace(
            'kms_roots = ["0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"]', 'kms_roots = "0x7E"'
        ),
        "profile base.toml: attestation.kms_roots='0x7E' must be a list of addresses",
    ),
    "kms-root-bad": (
        FULL.replace('"0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"]', f'"{KMS_ROOT}", "0x01"]'),
        "profile base.toml: attestation.kms_roots[1]='0x01' is not a 20-byte 0x address",
    ),
}


@pytest.mark.parametrize(("text", "expected"), list(ERRORS.values()), ids=list(ERRORS))
def test_error_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: str
) -> None:
    assert _error(tmp_path, text, monkeypatch) == expected


SECRET = "whsec_TOPSECRETVALUE"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (FULL.replace("[webhook]\n", f'[webhook]\ntoken = "{SECRET}"\n'), "'webhook.token'"),
        (
            FULL.replace("[webhook]\n", f'[webhook]\nhmac_secret = "{SECRET}"\n'),
            "'webhook.hmac_secret'",
        ),
        (f'pimlico_webhook_secret = "{SECRET}"\n' + MINIMAL, "'pimlico_webhook_secret'"),
        (
            MINIMAL + f'\n[webhook]\nALCHEMY_WEBHOOK_TOKEN = "{SECRET}"\n',
            "'webhook.ALCHEMY_WEBHOOK_TOKEN'",
        ),
    ],
)
def test_secret_values_are_refused_and_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, key: str
) -> None:
    message = _error(tmp_path, text, monkeypatch)
    assert key in message
    assert "holds a value" in message
    assert "TOPSECRETVALUE" not in message


def test_secret_key_suggests_the_env_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = FULL.replace("[webhook]\n", f'[webhook]\ntoken = "{SECRET}"\n')
    assert _error(tmp_path, text, monkeypatch).endswith("(did you mean 'webhook.token_env'?)")


@pytest.mark.parametrize("value", [f'"{SECRET}"', '"alchemy_token"', '""', "5"])
def test_env_name_must_be_a_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    text = FULL.replace('token_env = "ALCHEMY_WEBHOOK_TOKEN"', f"token_env = {value}")
    message = _error(tmp_path, text, monkeypatch)
    assert "webhook.token_env" in message
    assert "TOPSECRETVALUE" not in message
