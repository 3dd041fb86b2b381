"""The EVM side of the fuzz targets: Solidity itself (solc bytecode of SolidityDecoderProbe in
pyrevm) agrees with the Solidity model on every calldata vector; the decoder_agreement planted
bugs — lenient webhook readers and the account mutant ``bootstrap-inner-at-fixed-offset`` — are
each caught by their rule on an explicit input (AC-035, WH-066, WH-067); memory stays flat over
many EVM calls because each runs inside a reverted checkpoint.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conformance.fuzz.corpus import calldata_vectors
from conformance.fuzz.findings import judge
from conformance.fuzz.planted import plants
from conformance.fuzz.solidity_probe import SolidityProbe
from conformance.fuzz.worker import prepare
from conformance.protocol.calldata import DecodeError, encode_execute
from conformance.protocol.hexutil import word
from conformance.protocol.solidity_abi import decode_execute_solidity

pytest.importorskip("pyrevm")

CALL = encode_execute(b"\x5a" * 20, 0, bytes.fromhex("b9f5a720") + b"\x11" * 32)


@pytest.fixture(scope="module")
def probe() -> SolidityProbe:
    return SolidityProbe()


def test_probe_reads_every_vector_as_the_model_does(probe: SolidityProbe) -> None:
    from eth_hash.auto import keccak

    vectors = calldata_vectors()
    assert len(vectors) > 20
    for data in vectors:
        try:
            model = decode_execute_solidity(data)
        except DecodeError:
            assert probe.read(data) is None, data.hex()
            continue
        evm = probe.read(data)
        assert evm is not None
        assert (evm.target, evm.value, evm.data_length, evm.data_hash) == \
            (model.target, model.value, len(model.data), keccak(model.data))


def _expect(name: str, data: bytes) -> None:
    plant = plants()[name]
    assert judge(prepare(plant.target), data) is None
    outcome = judge(prepare(plant.target, plant=name), data)
    assert outcome is not None and outcome.rule in plant.rules, outcome


def test_dirty_address_reader_is_caught_wh067() -> None:
    _expect("webhook-dirty-address-ignoring", CALL[:4] + b"\x01" + CALL[5:])


def test_fixed_offset_reader_is_caught_wh066() -> None:
    into_head = CALL[:68] + word(0x40) + CALL[100:]  # Solidity reads an empty data
    _expect("webhook-fixed-offset", into_head)


def test_offset_trusting_reader_is_caught_wh067() -> None:
    _expect("webhook-offset-trusting", CALL[:68] + word(0x1000) + CALL[100:])


def test_account_reading_at_the_canonical_place_is_caught_ac035() -> None:
    module = prepare("decoder_agreement")
    bootstrap = module.seeds(canonical_only=True)[0]
    _expect("bootstrap-inner-at-fixed-offset", bootstrap[:68] + word(0x40) + bootstrap[100:])


def test_reference_account_agrees_on_the_committed_layouts() -> None:
    module = prepare("decoder_agreement")
    for data in module.seeds():
        module.TestOneInput(data)


def _rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _flat_over(probe: SolidityProbe, calls: int) -> tuple[int, int]:
    other = CALL[:68] + word(0x20) + CALL[100:]
    for _ in range(2000):
        probe.read(CALL)
    before = _rss_kb()
    for i in range(calls):
        probe.read(CALL if i % 2 else other)
    return before, _rss_kb()


def test_rss_stays_flat_over_10k_evm_calls(probe: SolidityProbe) -> None:
    """pyrevm keeps ~400 B per message_call; reverted checkpoints keep none (10k calls would
    grow ~4 MB without them)."""
    before, after = _flat_over(probe, 10_000)
    assert after - before < 1024, (before, after)


@pytest.mark.slow
def test_rss_stays_flat_over_100k_evm_calls(probe: SolidityProbe) -> None:
    before, after = _flat_over(probe, 100_000)
    assert after - before < max(2048, before // 10), (before, after)


def _account_target(monkeypatch: pytest.MonkeyPatch, artifact: Path):  # type: ignore[no-untyped-def]
    from conformance.fuzz.targets import load_target

    monkeypatch.setenv("AMC_FUZZ_ACCOUNT_ARTIFACT", str(artifact))
    module = load_target("decoder_agreement", fresh=True)
    module.setup()
    return module


ARTIFACTS = Path(__file__).resolve().parents[2] / "conformance/reference/account/artifacts"


def test_a_candidate_account_artifact_outside_the_package_is_judged_ac035(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``amc fuzz account --artifact FILE``: a copy of the reference passes the seeds, a copy
    of the fixed-offset mutant fails the offset-into-the-head layout by AC-035."""
    good, bad = tmp_path / "Good.json", tmp_path / "Bad.json"
    shutil.copy(ARTIFACTS / "ClusterMember.json", good)
    shutil.copy(ARTIFACTS / "mutants/bootstrap-inner-at-fixed-offset.json", bad)
    reference = _account_target(monkeypatch, good)
    seed = reference.seeds(canonical_only=True)[0]
    moved = seed[:68] + word(0x40) + seed[100:]
    assert judge(reference, seed) is None and judge(reference, moved) is None
    outcome = judge(_account_target(monkeypatch, bad), moved)
    assert outcome is not None and outcome.rule == "AC-035"


@pytest.mark.slow
def test_amc_fuzz_account_finds_the_fixed_offset_candidate(tmp_path: Path) -> None:
    import subprocess
    import sys

    bad = tmp_path / "Candidate.json"
    shutil.copy(ARTIFACTS / "mutants/bootstrap-inner-at-fixed-offset.json", bad)
    done = subprocess.run([sys.executable, "-m", "conformance.cli", "fuzz", "account",
                           "--artifact", str(bad), "--seconds", "120", "--corpus",
                           str(tmp_path / "corpus")], capture_output=True, text=True,
                          timeout=600, cwd=ARTIFACTS.parents[3])
    assert done.returncode == 1 and "FINDING AC-03" in done.stdout, done.stdout + done.stderr
    assert f"--artifact {bad}" in done.stdout  # the replay line names the candidate
