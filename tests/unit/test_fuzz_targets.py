"""The pure fuzz targets (conformance.fuzz): each passes its committed corpus, each planted bug
is caught by its target on an explicit input naming the rule (any seed, no luck), seeds are
deterministic, dictionaries parse, findings are recorded with a replay line, promoted findings
become vectors. The EVM targets are in tests/integration/test_fuzz_evm.py; runs under libFuzzer
in tests/integration/test_fuzz_run.py.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
from pathlib import Path

import pytest

from conformance.errors import UsageError
from conformance.fuzz.base import Feedback, Finding
from conformance.fuzz.corpus import corpus_entries, crash_entries
from conformance.fuzz.dictionaries import CALLDATA_TOKENS, dictionary_text
from conformance.fuzz.findings import judge, record
from conformance.fuzz.planted import plants
from conformance.fuzz.targets import CANDIDATE_TARGETS, TARGETS, describe, load_target
from conformance.fuzz.worker import prepare
from conformance.protocol.calldata import encode_execute
from conformance.protocol.hexutil import word
from conformance.protocol.signatures import to_high_s

ROOT = Path(__file__).resolve().parents[2]
PURE = ("execute_calldata", "register_calldata", "webhook_body", "webhook_signature",
        "calldata_roundtrip", "signature_classes")
CALL = encode_execute(b"\x5a" * 20, 0, bytes.fromhex("b9f5a720") + b"\x11" * 32)


@pytest.mark.parametrize("name", PURE)
def test_committed_corpus_passes(name: str) -> None:
    module = prepare(name)
    entries = corpus_entries(ROOT / "corpora" / name)
    assert entries, f"corpora/{name} is empty: run amc fuzz seeds"
    for path in entries:
        assert judge(module, path.read_bytes()) is None, path


@pytest.mark.parametrize("name", [*TARGETS, *CANDIDATE_TARGETS])
def test_every_target_names_rules_and_its_invariant(name: str) -> None:
    rules, summary = describe(name)
    catalogue = (ROOT / "conformance/rules/rules.toml").read_text()
    assert rules and all(f'"{rule}"' in catalogue for rule in rules)
    assert summary
    module = load_target(name)
    assert callable(module.TestOneInput) and module.DICTIONARY


@pytest.mark.parametrize("name", ["execute_calldata", "register_calldata", "webhook_signature"])
def test_seeds_are_deterministic(name: str) -> None:
    module = load_target(name)
    assert module.seeds() == module.seeds()
    assert set(module.seeds(canonical_only=True)) <= set(module.seeds())


def _planted(name: str):  # type: ignore[no-untyped-def]
    plant = plants()[name]
    return prepare(plant.target, plant=name), plant


def _expect(name: str, data: bytes) -> None:
    """The reference passes ``data``; the plant ``name`` fails it with one of its rules."""
    module, plant = _planted(name)
    assert judge(prepare(plant.target), data) is None
    outcome = judge(module, data)
    assert outcome is not None and outcome.rule in plant.rules, outcome


def test_trailing_bytes_accepted_is_caught_uo017() -> None:
    _expect("trailing-bytes-accepted", CALL + b"\x00")


def test_length_off_by_one_is_caught_uo017() -> None:
    exact = encode_execute(b"\x5a" * 20, 0, b"\x01" * 64)
    _expect("length-off-by-one", exact[:100] + word(65) + exact[132:])


def test_high_s_app_signature_is_caught_at003() -> None:
    module = load_target("register_calldata")
    seed = module.seeds(canonical_only=True)[0]
    _expect("high-s-app-signature", b"\x01" + seed[1:])


def test_case_sensitive_selector_is_caught_wh029() -> None:
    module = load_target("webhook_body")
    body = json.loads(module.seeds(canonical_only=True)[0])
    text = body["userOperation"]["callData"]
    body["userOperation"]["callData"] = text[:266] + text[266:274].upper() + text[274:]
    assert text[266:274] != text[266:274].upper(), "pick a seed whose selector has a letter"
    _expect("case-sensitive-selector", json.dumps(body).encode())


def test_sender_crash_is_caught_as_an_escaping_exception() -> None:
    body = {"userOperation": {"sender": "0x1234", "callData": "0x"}, "chainId": "0x14a34"}
    _expect("sender-crashes", json.dumps(body).encode())


def test_mac_prefix_comparison_is_caught_wh048() -> None:
    module = load_target("webhook_signature")
    seed = module.seeds(canonical_only=True)[0]
    mac_end = seed.rindex(b"\x1e")
    broken = seed[: mac_end - 2] + (b"AA" if seed[mac_end - 2: mac_end] != b"AA" else b"BB")
    _expect("mac-prefix-compare", broken + seed[mac_end:])


def test_every_plant_has_an_explicit_catch() -> None:
    """Each planted bug is pinned by a test here or in tests/integration/test_fuzz_evm.py."""
    tests = (Path(__file__).read_text()
             + (ROOT / "tests/integration/test_fuzz_evm.py").read_text())
    for name in plants():
        assert f'"{name}"' in tests, name


def test_a_planted_bug_refuses_the_wrong_target() -> None:
    with pytest.raises(UsageError, match="belongs to target"):
        prepare("webhook_body", plant="trailing-bytes-accepted")
    with pytest.raises(UsageError, match="did you mean"):
        prepare("execute_calldata", plant="trailing-bytes-acepted")


def test_property_targets_run_hypothesis_on_raw_bytes() -> None:
    module = load_target("signature_classes")
    for data in module.seeds():
        module.TestOneInput(data)
    roundtrip = load_target("calldata_roundtrip")
    roundtrip.TestOneInput(b"\x00" * 700)


def test_high_s_signature_is_classified_invalid_by_the_property() -> None:
    from conformance.fuzz.properties import signature_classes
    from conformance.protocol.signatures import sign_digest

    good = sign_digest(5, b"\x42" * 32)
    signature_classes.hypothesis.inner_test(good)
    signature_classes.hypothesis.inner_test(to_high_s(good))


def test_feedback_is_inert_without_a_fuzzer() -> None:
    feedback = Feedback()
    feedback.branch(b"anything")
    assert feedback.equal(3, b"ab", b"ab") and not feedback.equal(3, b"ab", b"ac")


def test_dictionary_is_libfuzzer_syntax() -> None:
    text = dictionary_text(CALLDATA_TOKENS)
    assert text.splitlines()[0] == 'kw0="\\xb6\\x1d\'\\xf6"'
    assert all(re.fullmatch(r'kw\d+="(?:[ !#-\[\]-~]|\\x[0-9a-f]{2})*"', line)
               for line in text.splitlines())
    committed = (ROOT / "corpora/execute_calldata.dict").read_text()
    assert committed == text


def test_a_finding_is_recorded_with_a_one_line_replay(tmp_path: Path) -> None:
    module = prepare("execute_calldata", plant="trailing-bytes-accepted")
    outcome = judge(module, CALL + b"\x07")
    assert outcome is not None and outcome.rule == "UO-017"
    path = record(tmp_path, "execute_calldata", CALL + b"\x07", outcome,
                  plant="trailing-bytes-accepted")
    assert crash_entries(tmp_path) == [path]
    note = path.with_name(path.name + ".txt").read_text()
    assert f"replay: amc fuzz replay execute_calldata --input {path} --plant " \
           "trailing-bytes-accepted" in note


def test_finding_raises_the_rule() -> None:
    with pytest.raises(Finding) as caught:
        prepare("execute_calldata", plant="trailing-bytes-accepted").TestOneInput(CALL + b"\x01")
    assert caught.value.rule == "UO-017"


def test_promoted_finding_becomes_a_calldata_vector(tmp_path: Path) -> None:
    from conformance.fuzz.promote import promote
    from conformance.vectors._calldata import _promoted_cases, evaluate

    module = prepare("execute_calldata", plant="trailing-bytes-accepted")
    outcome = judge(module, CALL + b"\x09")
    assert outcome is not None
    crash = record(tmp_path / "corpus", "execute_calldata", CALL + b"\x09", outcome,
                   plant="trailing-bytes-accepted")
    promoted = tmp_path / "promoted.json"
    entry = promote(crash, path=promoted, corpus=tmp_path / "corpus")
    assert entry["rules"] == ["UO-017"] and entry["vector"]
    (case,) = _promoted_cases(promoted)
    assert case.input["callData"] == "0x" + (CALL + b"\x09").hex()
    assert evaluate(case.input)["strict"] == {"accepted": False, "errorKind": "trailing-bytes"}
    assert (tmp_path / "corpus" / dataclasses.replace(case).name).exists() is False
    assert len(corpus_entries(tmp_path / "corpus")) == 1


def test_a_fuzz_one_input_finding_replays_and_shrinks_under_pytest() -> None:
    """What atheris finds through ``fuzz_one_input`` is saved to the example database; the next
    plain run of the same property replays it first and shrinks it (derandomize stays off)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from hypothesis.database import InMemoryExampleDatabase

    from conformance.fuzz.properties import PROPERTY_SETTINGS

    database = InMemoryExampleDatabase()
    failing: list[bytes] = []

    @settings(PROPERTY_SETTINGS, database=database, max_examples=1)
    @given(st.binary(max_size=600))
    def prop(data: bytes) -> None:
        if len(data) >= 4:
            failing.append(data)
            raise Finding("UO-017", "planted")

    assert not PROPERTY_SETTINGS.derandomize
    raised = 0
    rng = random.Random(7)
    for buffer in (rng.randbytes(300) for _ in range(20)):  # raw bytes, as atheris gives
        try:
            prop.hypothesis.fuzz_one_input(buffer)
        except Finding:
            raised += 1
    assert raised and database.data, "no finding, or it was not saved"
    failing.clear()
    with pytest.raises(Finding):
        prop()
    assert failing[0] and len(failing[0]) >= 4  # the saved finding is replayed first
    assert failing[-1] == b"\x00" * 4  # and shrunk to the minimal failing input
