"""The reference contracts: committed artifacts, mutants as exact patches, the offline build,
and an embedded-EVM smoke test of the account and cluster (PROTOCOL.md §1, §4, §6).

Selectors and error ids are pinned against PROTOCOL.md literals, hashed here with eth-hash
from the artifacts' own ABI JSON; expected addresses and ids come from PROTOCOL.md or eth-abi.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_abi import decode, encode
from eth_hash.auto import keccak

from conformance.reference.account import artifacts as art
from conformance.reference.account import build
from conformance.reference.account.mutants import Mutant, MutantError, load_mutants
from conformance.rules.catalogue import load_catalogue

REQUIRED_MUTANTS = {
    "no-entrypoint-gate", "revert-on-bad-signature", "bootstrap-any-inner-selector",
    "bootstrap-ignores-target", "bootstrap-ignores-value", "bootstrap-ignores-member-contract",
    "bootstrap-signer-from-userop", "owner-settable-twice", "execute-open-to-anyone",
    "revert-data-swallowed", "prefund-skipped-on-failure", "raw-hash-not-eip191",
    "high-s-accepted", "zero-signer-accepted", "upgrade-open-to-anyone",
    "bootstrap-inner-at-fixed-offset", "chain-id-cached-at-deploy",
    "entrypoint-gate-after-signature-check", "execute-target-dirty-bits-ignored",
    "register-member-dirty-bits-ignored",
}  # fmt: skip

# PROTOCOL.md §1 literals.
MEMBER_SELECTORS = {
    "validateUserOp": "0x19822f7c", "execute": "0xb61d27f6", "__setOwnerFromCluster": "0xd3346d6e",
    "initialize": "0xc4d66de8", "upgradeToAndCall": "0x4f1ef286", "cluster": "0xdbd01de1",
}  # fmt: skip
CLUSTER_SELECTORS = {
    "dstack_register": "0x537d491c", "operator_register": "0x57977c40",
    "publishWgKey": "0x4979ff72", "send": "0x84076765", "setCskCommitment": "0x3eeb8ee8",
    "transferClusterOwnership": "0x8af487aa", "acceptClusterOwnership": "0x319b215c",
    "transferBothOwners": "0xd9c8dbfe", "acceptBothOwners": "0x29ca97eb",
    "acceptOwnership": "0x79ba5097", "addComposeHash": "0xdfc77223",
    "removeComposeHash": "0x67b3f22c", "addDevice": "0x2a819728", "removeDevice": "0x1d266200",
    "setAllowAnyDevice": "0x7c4beeb8", "setRequireTcbUpToDate": "0x6e4c7422",
    "addAllowedKmsRoot": "0x2514ce2d", "removeAllowedKmsRoot": "0x7e02756a",
    "addOperatorSigner": "0x01249ef0", "removeOperatorSigner": "0xa3b6909f",
    "publishEd25519Key": "0xcedc29c2", "addAllowedAppId": "0x64e985f8",
    "removeAllowedAppId": "0x4bc7cbb7", "allowedAppIds": "0x875f31fb",
}  # fmt: skip
ERRORS = {
    "OnlyEntryPoint": "0xbd07c551", "OnlyCluster": "0x3b5fe322", "OwnerAlreadySet": "0xcf04b1bb",
    "InvalidBootstrapCall": "0x68dbe400", "NotClusterOwner": "0x4b016c90",
    "NotOurMember": "0x3d30ea79", "AlreadyRegistered": "0x3a81d6fc",
    "CodeIdMismatch": "0x8b2fc9a0", "BindingMismatch": "0x438c4873",
    "InvalidSigChain": "0x35565c11", "InvalidPubKeyLength": "0x9f106472",
    "PointNotOnCurve": "0xa3d28e13",
}  # fmt: skip
BINDING_KEY_ADDRESS = bytes.fromhex("a34e80f04240Af8A52604CEB5408B6eD5E50BB42")  # key 0xB17D, §4
KMS_ROOT_ADDRESS = bytes.fromhex("7E5F4552091A69125d5DfCb7b8C2659029395Bdf")  # key 1, §4


def _canonical_type(entry: dict[str, Any]) -> str:
    kind: str = entry["type"]
    if not kind.startswith("tuple"):
        return kind
    inner = ",".join(_canonical_type(c) for c in entry["components"])
    return f"({inner}){kind[len('tuple') :]}"


def _selectors(abi: tuple[dict[str, Any], ...], kind: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for entry in abi:
        if entry.get("type") == kind:
            sig = f"{entry['name']}({','.join(_canonical_type(i) for i in entry['inputs'])})"
            found.setdefault(entry["name"], set()).add("0x" + keccak(sig.encode()).hex()[:8])
    return found


# -- artifacts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(art.REFERENCE_CONTRACTS))
def test_reference_artifact_parses_with_compiler_settings(name: str) -> None:
    data = art.artifact_json(name)
    contract = art.load_artifact(name)
    assert contract.contract_name == name and contract.source_name == art.REFERENCE_CONTRACTS[name]
    assert contract.bytecode and contract.deployed_bytecode
    assert data["compiler"]["version"].startswith("0.8.24+")
    settings = data["compiler"]["settings"]
    assert settings["evmVersion"] == "cancun" and settings["optimizer"]["enabled"] is True
    assert len(contract.deployed_bytecode) <= 24576  # EIP-170
    shas = {unit: digest for unit, digest in data["sources"].items()}
    assert (
        data["sourcesSha256"]
        == hashlib.sha256(
            json.dumps(shas, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
    )


def test_reference_artifacts_match_current_sources() -> None:
    """Node-free freshness: every src/*.sol hash recorded in an artifact is the file's hash."""
    current = {
        f"src/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest()
        for p in art.SOURCES_DIR.glob("*.sol")
    }
    for name in art.REFERENCE_CONTRACTS:
        recorded = {u: d for u, d in art.artifact_json(name)["sources"].items() if u in current}
        assert recorded == current, name


@pytest.mark.parametrize(
    ("contract", "expected"),
    [("ClusterMember", MEMBER_SELECTORS), ("ReferenceCluster", CLUSTER_SELECTORS)],
)
def test_abi_selectors_match_protocol(contract: str, expected: dict[str, str]) -> None:
    found = _selectors(art.load_artifact(contract).abi, "function")
    for name, selector in expected.items():
        assert found.get(name) == {selector}, name


def test_views_the_webhook_calls_have_protocol_selectors() -> None:
    member_factory = _selectors(art.load_artifact("ReferenceMemberFactory").abi, "function")
    cluster_factory = _selectors(art.load_artifact("ReferenceClusterFactory").abi, "function")
    assert member_factory["isOurMember"] == {"0xd5455541"}
    assert cluster_factory["isDeployedCluster"] == {"0x80c872ae"}


def test_custom_errors_match_protocol_ids() -> None:
    found: dict[str, set[str]] = {}
    for name in ("ClusterMember", "ReferenceCluster"):
        for error, ids in _selectors(art.load_artifact(name).abi, "error").items():
            found.setdefault(error, set()).update(ids)
    for error, selector in ERRORS.items():
        assert found.get(error) == {selector}, error


# -- mutants -----------------------------------------------------------------------------------


def test_mutant_catalogue_covers_required_names_and_known_rules() -> None:
    mutants = load_mutants()
    assert len(mutants) >= 12
    assert {m.name for m in mutants} >= REQUIRED_MUTANTS
    catalogue = load_catalogue()
    for mutant in mutants:
        assert mutant.breaks and all(rule in catalogue for rule in mutant.breaks), mutant.name
        assert all(rule in catalogue for rule in mutant.also_fails), mutant.name
        assert not set(mutant.breaks) & set(mutant.also_fails), mutant.name
    assert {m.name for m in mutants if "AC-035" in m.breaks} == {
        "bootstrap-inner-at-fixed-offset", "execute-target-dirty-bits-ignored"}
    assert {m.name for m in mutants if "AC-034" in m.breaks} == {
        "register-member-dirty-bits-ignored"}


_ENTRY = 'name = "m"\nbreaks = ["AC-001"]\ndescription = "d"\nfile = "src/X.sol"\nfind = "a"\n'


def _toml(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "mutants.toml"
    path.write_text("".join(f'[[mutant]]\n{e}replace = "b"\n' for e in entries))
    return path


def test_loader_reads_optional_also_fails(tmp_path: Path) -> None:
    (plain,) = load_mutants(_toml(tmp_path, _ENTRY))
    assert plain.also_fails == ()
    (more,) = load_mutants(_toml(tmp_path, _ENTRY + 'also_fails = ["AC-013", "UO-012"]\n'))
    assert more.also_fails == ("AC-013", "UO-012") and more.breaks == ("AC-001",)
    assert "also_fails" not in more.as_dict()  # the artifact records the patch only


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('also_fails = "AC-013"\n', "also_fails='AC-013' must be a list"),
        ('also_fails = ["AC-001"]\n', "also_fails repeats breaks"),
        ('co_breaks = ["AC-013"]\n', "optionally \\['also_fails'\\]"),
    ],
)
def test_loader_rejects_bad_also_fails(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(MutantError, match=message):
        load_mutants(_toml(tmp_path, _ENTRY + extra))


def test_account_listing_carries_also_fails(capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.cli import main

    assert main(["mutants", "list", "--component", "account"]) == 0
    listed = {m["name"]: m for m in json.loads(capsys.readouterr().out)}
    assert set(listed) == {m.name for m in load_mutants()}
    assert all(set(m) == {"name", "breaks", "also_fails", "description"} for m in listed.values())
    assert listed["high-s-accepted"]["breaks"] == ["AC-002"]
    assert listed["high-s-accepted"]["also_fails"] == ["AC-003", "AC-010", "UO-013"]
    assert listed["bootstrap-inner-at-fixed-offset"]["also_fails"] == []


@pytest.mark.parametrize("mutant", load_mutants(), ids=lambda m: m.name)
def test_mutant_artifact_is_exactly_the_patch(mutant: Mutant) -> None:
    data = art.mutant_json(mutant.name)
    assert data["mutant"] == mutant.as_dict()
    reference_sources = art.read_sources()
    original = reference_sources[mutant.file]
    assert original.count(mutant.find) == 1
    patched = original.replace(mutant.find, mutant.replace)
    assert patched != original
    primary = Path(mutant.file).stem
    reference = art.artifact_json(primary)
    expected = dict(reference["sources"])
    expected[mutant.file] = hashlib.sha256(patched.encode()).hexdigest()
    assert data["sources"] == expected  # differs from the reference by exactly the patch
    assert data["contractName"] == primary
    assert data["bytecode"] != reference["bytecode"]  # not an equivalent mutant
    loaded = art.load_mutant_artifact(mutant.name)
    assert loaded.contract.bytecode.hex() == data["bytecode"][2:]


def test_every_mutant_artifact_has_a_catalogue_entry() -> None:
    names = {p.stem for p in art.MUTANTS_DIR.glob("*.json")}
    assert names == {m.name for m in load_mutants()}


def test_patch_must_match_exactly_once() -> None:
    twice = Mutant("m", ("AC-001",), "d", "src/X.sol", "a", "b")
    with pytest.raises(MutantError, match="2 times"):
        twice.apply("a a")
    with pytest.raises(MutantError, match="0 times"):
        twice.apply("c")
    assert twice.apply("xay") == "xby"


def test_cluster_mutant_carries_the_factory_that_embeds_it() -> None:
    mutant = art.load_mutant_artifact("register-skips-provenance")
    contracts = mutant.contracts()
    assert set(contracts) == {"ReferenceCluster", "ReferenceClusterFactory"}
    reference = art.load_artifact("ReferenceClusterFactory")
    assert contracts["ReferenceClusterFactory"].bytecode != reference.bytecode


# -- the build ---------------------------------------------------------------------------------


def test_build_without_node_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    assert build.main(["--check"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "node not found" in err


NODE_ABSENT = shutil.which("node") is None or build.find_node_modules() is None


def test_drift_compares_the_committed_text() -> None:
    committed = {p: json.loads(p.read_text(encoding="utf-8")) for p in build.committed_files()}
    assert build.drift(committed) == []  # committed files are in the canonical rendering
    path = art.ARTIFACTS_DIR / "ClusterMember.json"
    changed = dict(committed)
    changed[path] = {**committed[path], "bytecode": committed[path]["bytecode"] + "00"}
    assert build.drift(changed) == ["differs: artifacts/ClusterMember.json"]
    del changed[path]
    assert build.drift(changed) == ["stale (no longer built): artifacts/ClusterMember.json"]


@pytest.mark.node
@pytest.mark.skipif(NODE_ABSENT, reason="node or node_modules/solc absent (run `make install`)")
def test_build_check_reference_and_sample_mutants(capsys: pytest.CaptureFixture[str]) -> None:
    """Recompiles the reference, one account mutant and one cluster mutant (with dependent)."""
    argv = ["--check", "--only", "revert-data-swallowed", "--only", "register-skips-provenance"]
    assert build.main(argv) == 0, capsys.readouterr().err


@pytest.mark.node
@pytest.mark.slow
@pytest.mark.skipif(NODE_ABSENT, reason="node or node_modules/solc absent (run `make install`)")
def test_build_check_everything(capsys: pytest.CaptureFixture[str]) -> None:
    """The whole build (every mutant: ~30 CPU-seconds), nightly."""
    assert build.main(["--check"]) == 0, capsys.readouterr().err


# -- embedded EVM smoke (PROTOCOL.md §4, §6) ---------------------------------------------------

PACKED = "(address,uint256,bytes,bytes,bytes32,uint256,bytes32,bytes,bytes)"
DEPLOYER = b"\xd0" * 20
ENTRY_POINT = b"\xe0" * 20  # a stand-in address; the real EntryPoint is the backend's business
X_KEY, WG_KEY = b"\x11" * 32, b"\x22" * 32


def _sel(signature: str) -> bytes:
    return keccak(signature.encode())[:4]


class _System:
    """Factories, one cluster (owner DEPLOYER, KMS root key 1) and one member, on PyrevmBackend."""

    def __init__(self) -> None:
        from conformance.targets.evm.pyrevm_backend import PyrevmBackend

        self.evm = PyrevmBackend(8453)
        self.evm.set_balance(DEPLOYER, 10**24)
        impl_code = art.load_artifact("ClusterMember").creation_code(
            ["address", "bool"], [ENTRY_POINT, False]
        )
        self.impl = self.evm.deploy(impl_code, sender=DEPLOYER)
        member_factory = self._deploy("ReferenceMemberFactory", self.impl)
        cluster_factory = self._deploy("ReferenceClusterFactory", member_factory)
        args = (["address", "address[]", "bytes32"], [DEPLOYER, [KMS_ROOT_ADDRESS], bytes(32)])
        self.cluster = self._address(
            cluster_factory, "createCluster(address,address[],bytes32)", *args
        )
        args = (["address", "bytes32"], [self.cluster, b"\x01" * 32])
        self.member = self._address(member_factory, "createMember(address,bytes32)", *args)

    def _deploy(self, name: str, arg: bytes) -> bytes:
        code = art.load_artifact(name).creation_code(["address"], [arg])
        return self.evm.deploy(code, sender=DEPLOYER)

    def _address(self, to: bytes, signature: str, types: list[str], values: list[Any]) -> bytes:
        result = self.evm.transact(to, _sel(signature) + encode(types, values), sender=DEPLOYER)
        assert result.success, result.output.hex()
        return bytes.fromhex(decode(["address"], result.output)[0][2:])

    def validate(self, call_data: bytes, signature: bytes, *, caller: bytes = ENTRY_POINT) -> Any:
        op = (self.member, 0, b"", call_data, bytes(32), 0, bytes(32), b"", signature)
        data = _sel(f"validateUserOp({PACKED},bytes32,uint256)") + encode(
            [PACKED, "bytes32", "uint256"], [op, b"\x42" * 32, 0]
        )
        return self.evm.transact(self.member, data, sender=caller)


@pytest.fixture(scope="module")
def system() -> Iterator[_System]:
    pytest.importorskip("pyrevm")
    yield _System()


@pytest.fixture()
def chain(system: _System) -> Iterator[_System]:
    snapshot = system.evm.snapshot()
    yield system
    system.evm.revert(snapshot)


def _register_call(chain: _System, **overrides: Any) -> bytes:
    attestation = pytest.importorskip("conformance.protocol.attestation")
    proof = attestation.build_dstack_proof(
        kms_private=1, app_private=2, derived_private=0xB17D, cluster=chain.cluster,
        member=chain.member, x_pub_key=X_KEY, wg_pub_key=WG_KEY, **overrides,
    )  # fmt: skip
    return bytes(attestation.encode_dstack_register(proof, chain.member, X_KEY, WG_KEY))


def _eip191_sign(private: int, message32: bytes) -> bytes:
    from coincurve import PrivateKey

    digest = keccak(b"\x19Ethereum Signed Message:\n32" + message32)
    raw = PrivateKey.from_int(private).sign_recoverable(digest, hasher=None)
    return raw[:64] + bytes([27 + raw[64]])


def test_validate_from_non_entry_point_reverts_only_entry_point(chain: _System) -> None:
    result = chain.validate(b"", _eip191_sign(0xB17D, b"\x42" * 32), caller=DEPLOYER)
    assert not result.success and result.output.hex() == ERRORS["OnlyEntryPoint"][2:]


def test_invalid_signature_returns_1_before_reading_call_data(chain: _System) -> None:
    result = chain.validate(b"\x01\x02", b"\x00" * 65)  # garbage callData, owner unset
    assert result.success and decode(["uint256"], result.output) == (1,)


def test_bootstrap_validates_only_the_proofs_binding_key(chain: _System) -> None:
    execute = _sel("execute(address,uint256,bytes)")
    call_data = execute + encode(
        ["address", "uint256", "bytes"], [chain.cluster, 0, _register_call(chain)]
    )
    ok = chain.validate(call_data, _eip191_sign(0xB17D, b"\x42" * 32))
    wrong = chain.validate(call_data, _eip191_sign(5, b"\x42" * 32))
    assert decode(["uint256"], ok.output) == (0,) and decode(["uint256"], wrong.output) == (1,)
    other = execute + encode(["address", "uint256", "bytes"], [DEPLOYER, 0, _register_call(chain)])
    shape = chain.validate(other, _eip191_sign(0xB17D, b"\x42" * 32))
    assert not shape.success and shape.output.hex() == ERRORS["InvalidBootstrapCall"][2:]


def test_direct_registration_installs_the_derived_key(chain: _System) -> None:
    result = chain.evm.transact(chain.cluster, _register_call(chain), sender=DEPLOYER)
    assert result.success, result.output.hex()
    owner = chain.evm.call(chain.member, _sel("owner()"), sender=DEPLOYER).output
    assert owner[12:] == BINDING_KEY_ADDRESS
    member_of = chain.evm.call(
        chain.cluster,
        _sel("memberOf(address)") + encode(["address"], [chain.member]),
        sender=DEPLOYER,
    )
    attestor = keccak(b"attestmesh.attestor.dstack")
    member_id = keccak(
        encode(["address", "address", "bytes32"], [chain.cluster, chain.member, attestor])
    )
    assert decode(["bool", "bytes32"], member_of.output) == (True, member_id)
    again = chain.evm.transact(chain.cluster, _register_call(chain), sender=DEPLOYER)
    assert again.output.hex() == ERRORS["AlreadyRegistered"][2:]
    owner_op = chain.validate(b"", _eip191_sign(0xB17D, b"\x42" * 32))
    assert decode(["uint256"], owner_op.output) == (0,)


@pytest.mark.parametrize(
    ("derived", "error"),
    [(b"\x02" * 20, "InvalidPubKeyLength"), (b"\x02" + (5).to_bytes(32, "big"), "PointNotOnCurve")],
)
def test_registration_rejects_bad_public_keys(chain: _System, derived: bytes, error: str) -> None:
    # x = 5: 5³ + 7 = 132 is not a square mod p (checked independently below).
    p = 2**256 - 2**32 - 977
    assert pow(132, (p - 1) // 2, p) == p - 1
    result = chain.evm.transact(
        chain.cluster, _register_call(chain, derived_pubkey=derived), sender=DEPLOYER
    )
    assert not result.success and result.output.hex() == ERRORS[error][2:]


def test_member_and_admin_gates_stand_on_chain(chain: _System) -> None:
    publish = _sel("publishWgKey(bytes32)") + b"\x33" * 32
    not_member = chain.evm.transact(chain.cluster, publish, sender=DEPLOYER)
    assert (
        not not_member.success
        and not_member.output.hex() == keccak(b"NotRegisteredMember()")[:4].hex()
    )
    chain.evm.transact(chain.cluster, _register_call(chain), sender=DEPLOYER)
    execute = _sel("execute(address,uint256,bytes)")
    admin = _sel("addDevice(bytes32)") + b"\x33" * 32
    via_member = chain.evm.transact(
        chain.member, execute + encode(["address", "uint256", "bytes"], [chain.cluster, 0, admin]),
        sender=ENTRY_POINT,
    )  # fmt: skip
    assert not via_member.success and via_member.output.hex() == ERRORS["NotClusterOwner"][2:]
    by_owner = chain.evm.transact(chain.cluster, admin, sender=DEPLOYER)
    assert by_owner.success


def test_owner_is_set_once_and_only_by_the_cluster(chain: _System) -> None:
    set_owner = _sel("__setOwnerFromCluster(address)")
    stranger = chain.evm.transact(
        chain.member, set_owner + encode(["address"], [DEPLOYER]), sender=DEPLOYER
    )
    assert not stranger.success and stranger.output.hex() == ERRORS["OnlyCluster"][2:]
    first = chain.evm.transact(
        chain.member, set_owner + encode(["address"], [b"\x01" * 20]), sender=chain.cluster
    )
    second = chain.evm.transact(
        chain.member, set_owner + encode(["address"], [b"\x02" * 20]), sender=chain.cluster
    )
    assert first.success and second.output.hex() == ERRORS["OwnerAlreadySet"][2:]
    owner = chain.evm.call(chain.member, _sel("owner()"), sender=DEPLOYER).output
    assert owner[12:] == b"\x01" * 20
