"""The account harness: target loading (artifact shapes, proxy or not, rpc), the world, the
oracle's model of solc's register-call decoder against the real compiled decoder, failure
records that replay, and the CLI's exit codes (PROTOCOL.md §3, §4, §6; AC-034, AC-035)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.engine.config import RunConfig, TargetSpec
from conformance.engine.run import run_component
from conformance.errors import UsageError
from conformance.oracle.account import (
    DSTACK_PROOF_FIELDS,
    AccountView,
    InnerRejected,
    ValidationInput,
    expect_validation,
    read_register_call,
)
from conformance.profiles import load_profile
from conformance.protocol.attestation import build_dstack_proof, encode_dstack_register
from conformance.protocol.calldata import encode_execute
from conformance.protocol.signatures import key_pair, sign_eip191
from conformance.reference.account import load_artifact
from conformance.reference.account.artifacts import artifact_json
from conformance.report.model import Verdict
from conformance.suites.account._layouts import PINNED_INNER, inner_mutations
from conformance.targets.account import open_account_world, replay_account_failure
from conformance.targets.account_abi import decode_values, encode_function
from conformance.targets.account_artifact import parse_account_artifact
from conformance.targets.account_world import AccountWorld
from conformance.targets.evm.anvil import ManagedAnvil, anvil_available
from conformance.targets.evm.entrypoint import ENTRY_POINT_ADDRESS
from conformance.targets.evm.rpc_backend import RpcBackend

BASE = load_profile("base")
CLUSTER = bytes.fromhex("00000000000000000000000000000000000000c1")
MEMBER = bytes.fromhex("00000000000000000000000000000000000000b1")
X, WG = b"\x11" * 32, b"\x22" * 32


@pytest.fixture(scope="module")
def world() -> Iterator[AccountWorld]:
    built = open_account_world({"kind": "reference"}, BASE)
    yield built
    built.close()


# -- the oracle, pinned by independent computation -------------------------------------------


def _inner(member: bytes = MEMBER) -> bytes:
    proof = build_dstack_proof(kms_private=1, app_private=2, derived_private=0xB17D,
                               cluster=CLUSTER, member=member, x_pub_key=X, wg_pub_key=WG)
    return encode_dstack_register(proof, member, X, WG)


def test_oracle_answers_the_six_steps() -> None:
    """AC-001, AC-002, AC-004, AC-009, AC-012 read off PROTOCOL.md §6 for hand-made cases."""
    digest = b"\x42" * 32
    signed = sign_eip191(0xB17D, digest)
    unset = AccountView(MEMBER, CLUSTER, None)
    bootstrap = encode_execute(CLUSTER, 0, _inner())
    cases = [
        (unset, ValidationInput(digest, signed, bootstrap, 5, from_entry_point=False),
         (None, "OnlyEntryPoint", 0)),
        (unset, ValidationInput(digest, signed[:64], b"junk", 5), (1, None, 5)),
        (unset, ValidationInput(digest, signed, b"\x00\x00\x00\x00" + bootstrap[4:], 5),
         (None, "InvalidBootstrapCall", 0)),
        (unset, ValidationInput(digest, signed, bootstrap, 7), (0, None, 7)),
        (unset, ValidationInput(digest, sign_eip191(3, digest), bootstrap, 0), (1, None, 0)),
        (AccountView(MEMBER, CLUSTER, key_pair(0xB17D).address),
         ValidationInput(digest, signed, b"", 1), (0, None, 1)),
        (AccountView(MEMBER, CLUSTER, key_pair(3).address),
         ValidationInput(digest, signed, b"", 1), (1, None, 1)),
    ]
    for view, case, (returns, error, prefund) in cases:
        expected = expect_validation(view, case)
        assert (expected.returns, expected.error, expected.prefund) == (returns, error, prefund)


def test_register_reading_matches_eth_abi_on_canonical_calls() -> None:
    """Canonical dstack_register: the model reads what eth-abi encoded, and says canonical."""
    inner = _inner()
    reading = read_register_call(inner, DSTACK_PROOF_FIELDS)
    assert reading.canonical and reading.member == MEMBER and reading.x_pub_key == X
    assert reading.proof[0] == MEMBER + bytes(12)
    with pytest.raises(InnerRejected):
        read_register_call(inner[:-40], DSTACK_PROOF_FIELDS)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_register_model_agrees_with_solc(world: AccountWorld, data: st.DataObject) -> None:
    """AC-034's model against the compiled decoder: ClusterMember.decodeDstackRegisterCall
    (solc 0.8.24's abi.decode) accepts exactly what ``read_register_call`` accepts, with the
    same fields."""
    _label, mutated = data.draw(inner_mutations(_inner()))
    _model_agrees_with_solc(world, mutated)


def test_register_model_agrees_with_solc_on_pinned_layouts(world: AccountWorld) -> None:
    """The same agreement on every explicit inner layout AC-034 pins (PINNED_INNER)."""
    for layout in PINNED_INNER:
        _model_agrees_with_solc(world, layout.inner(_inner()))


def _model_agrees_with_solc(world: AccountWorld, mutated: bytes) -> None:
    seen = world.call(world.fresh, encode_function("decodeDstackRegisterCall(bytes)", mutated))
    try:
        reading = read_register_call(mutated, DSTACK_PROOF_FIELDS)
    except InnerRejected:
        assert not seen.success, f"solc accepted 0x{mutated.hex()}"
        return
    assert seen.success, f"solc rejected 0x{mutated.hex()} that the model reads"
    types = ["(bytes32,bytes32,bytes,bytes,bytes,bytes,bytes,bytes)", "address", "bytes32",
             "bytes32"]
    proof, member, x, wg = decode_values(types, seen.output)
    assert tuple(proof) == reading.proof
    assert (bytes.fromhex(member[2:]), x, wg) == (reading.member, reading.x_pub_key,
                                                  reading.wg_pub_key)


# -- the world -----------------------------------------------------------------------------


def test_world_members_and_snapshot(world: AccountWorld) -> None:
    """Factory members bound to the cluster; the owned one registered; reset undoes a change."""
    for member in (world.fresh, world.owned):
        (cluster,) = world.read(member, "cluster()", returns=["address"])
        assert bytes.fromhex(cluster[2:]) == world.cluster
    (registered, _) = world.read(world.cluster, "memberOf(address)", world.owned,
                                 returns=["bool", "bytes32"])
    assert registered
    world.backend.set_balance(world.fresh, 1)
    world.reset()
    assert world.backend.get_balance(world.fresh) == 10 * 10**18
    assert world.target_info["runtime_code_keccak"].startswith("0x")


@pytest.mark.parametrize("shape", ["hardhat", "foundry", "solc-entry", "solc-output"])
def test_artifact_shapes_load(shape: str) -> None:
    """The four JSON shapes of --artifact give the same ABI and bytecode."""
    raw = artifact_json("ClusterMember")
    shapes = {
        "hardhat": {"abi": raw["abi"], "bytecode": raw["bytecode"]},
        "foundry": {"abi": raw["abi"], "bytecode": {"object": raw["bytecode"]}},
        "solc-entry": {"abi": raw["abi"],
                       "evm": {"bytecode": {"object": raw["bytecode"].removeprefix("0x")}}},
        "solc-output": {"contracts": {"src/ClusterMember.sol": {"ClusterMember": {
            "abi": raw["abi"], "evm": {"bytecode": {"object": raw["bytecode"][2:]}}}}}},
    }
    artifact = parse_account_artifact(shapes[shape], shape)
    assert artifact.bytecode == bytes.fromhex(raw["bytecode"][2:])
    assert "initialize(address)" in artifact.functions()


def test_bad_artifacts_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no creation bytecode"):
        parse_account_artifact({"abi": []}, "x.json")
    with pytest.raises(UsageError, match="validateUserOp"):
        parse_account_artifact({"abi": [], "bytecode": "0x6000"}, "x.json")
    with pytest.raises(UsageError, match="did you mean"):
        open_account_world({"kind": "reference", "mutant": "high-s-acepted"}, BASE)


def _artifact_file(tmp_path: Path) -> Path:
    raw = artifact_json("ClusterMember")
    path = tmp_path / "ClusterMember.json"
    path.write_text(json.dumps({"abi": raw["abi"], "bytecode": {"object": raw["bytecode"]}}))
    return path


def test_artifact_target_behind_a_proxy_passes(tmp_path: Path) -> None:
    """--artifact (Foundry shape): members are ERC1967 proxies on the Path A allowlist, and
    the reference's bytecode passes a sample of rules through them; AC-028 (the cluster's Path
    A gate) SKIPs: it exercises the suite's own cluster, not the target."""
    config = RunConfig(component="account", profile="base", seed=7, max_examples=5,
                       target=TargetSpec(kind="artifact", artifact=str(_artifact_file(tmp_path))),
                       include=("AC-001", "AC-009", "AC-012", "AC-023", "AC-028", "AC-035"),
                       report_dir=str(tmp_path / "report"))
    outcome = run_component(config)
    verdicts = {r.rule_id: r.verdict for r in outcome.results.results}
    cluster_rule = verdicts.pop("AC-028")  # the suite's own cluster's Path A gate: not judged
    assert cluster_rule is Verdict.SKIP
    assert set(verdicts.values()) == {Verdict.PASS}, verdicts
    assert "runtime_code_keccak" in outcome.results.logs["account-target"]


def test_artifact_without_proxy_needs_a_usable_constructor(tmp_path: Path) -> None:
    """--no-proxy deploys the artifact as is: the reference implementation disables its
    initializers in the constructor, so the run cannot start (UsageError naming why)."""
    spec = {"kind": "artifact", "artifact": str(_artifact_file(tmp_path)), "proxy": False}
    with pytest.raises(UsageError, match="disable initializers"):
        open_account_world(spec, BASE)


# -- failures replay ---------------------------------------------------------------------------


def test_failure_record_replays(tmp_path: Path) -> None:
    """A mutant's FAIL carries a record and a snippet; both replay the failing call."""
    config = RunConfig(component="account", profile="base", seed=3, max_examples=5,
                       target=TargetSpec(kind="reference", mutant="zero-signer-accepted"),
                       include=("AC-010",), report_dir=str(tmp_path / "report"))
    results = run_component(config).results
    failure = next(r for r in results.results if r.rule_id == "AC-010").failures[0]
    assert results.target["mutant"] == "zero-signer-accepted"
    assert len(results.target["runtime_code_keccak"]) == 66  # the identity is the code hash
    assert len(results.target["creation_code_keccak"]) == 66
    from conformance.report.external import resolve

    record = resolve(failure.minimal_input, tmp_path / "report")  # large inputs: a file
    assert record["userOperation"]["callData"] == record["callData"]
    text = replay_account_failure(record)
    assert "mutant" in text
    snippet = subprocess.run([sys.executable, "-c",
                              resolve(failure.reproducer, tmp_path / "report")],
                             capture_output=True, text=True, timeout=120, check=True)
    assert "step 0" in snippet.stdout
    replayed = subprocess.run([sys.executable, "-m", "conformance.cli", "replay",
                               str(tmp_path / "report"), "--rule", "AC-010"],
                              capture_output=True, text=True, timeout=120)
    assert replayed.returncode == 1, replayed.stdout + replayed.stderr
    assert "reproduced      AC-010" in replayed.stdout
    wrong = subprocess.run([sys.executable, "-m", "conformance.cli", "replay",
                            str(tmp_path / "report"), "--url", "http://127.0.0.1:9"],
                           capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 2 and wrong.stderr.count("\n") == 1, wrong.stderr


def test_cli_exit_codes(tmp_path: Path) -> None:
    """exit 2 for an unusable artifact; exit 1 for a caught mutant."""
    bad = tmp_path / "bad.json"
    bad.write_text('{"abi": []}')
    amc = [sys.executable, "-m", "conformance.cli", "run", "account", "--seed", "1",
           "--max-examples", "3", "--report-dir", str(tmp_path / "r")]
    done = subprocess.run([*amc, "--artifact", str(bad)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    done = subprocess.run([*amc, "--reference", "--mutant", "execute-open-to-anyone", "--rule",
                           "AC-017"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr


# -- rpc ----------------------------------------------------------------------------------------


@pytest.mark.node
@pytest.mark.skipif(anvil_available() is not None, reason=str(anvil_available()))
def test_rpc_target_on_anvil(tmp_path: Path) -> None:
    """--rpc URL --address A: an account deployed on a node (a reference proxy) is found behind
    its ERC1967 proxy, and its implementation passes a sample of rules there."""
    with ManagedAnvil(chain_id=BASE.chain_id) as node:
        backend = RpcBackend(node.url)
        deployer = b"\x0d" * 20
        backend.set_balance(deployer, 10**20)
        member_code = load_artifact("ClusterMember").creation_code(
            ["address", "bool"], [ENTRY_POINT_ADDRESS, False])
        implementation = backend.deploy(member_code, sender=deployer)
        proxy = load_artifact("ERC1967Proxy").creation_code(
            ["address", "bytes"], [implementation, encode_function("initialize(address)", CLUSTER)])
        deployed = backend.deploy(proxy, sender=deployer)
        backend.close()
        config = RunConfig(component="account", profile="base", seed=5, max_examples=3,
                           target=TargetSpec(kind="rpc", rpc=node.url,
                                             address="0x" + deployed.hex()),
                           include=("AC-001", "AC-009", "AC-012", "AC-013", "AC-023"),
                           report_dir=str(tmp_path / "report"))
        outcome = run_component(config)
    verdicts = {r.rule_id: r.verdict for r in outcome.results.results}
    assert set(verdicts.values()) == {Verdict.PASS}, verdicts
    assert implementation.hex() in outcome.results.logs["account-target"]
