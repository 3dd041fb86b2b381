"""UserOperation encoding on what the sidecar really submits (PROTOCOL.md §2, §3): the wire
JSON, the signature, canonical callData and a packing/hash that agrees with the suite's."""

from __future__ import annotations

import pytest

from conformance.engine.checks import Observer, rules
from conformance.oracle.sidecar_wire import (
    judge_byte_fields,
    judge_canonical_calldata,
    judge_fits_128,
    judge_no_factory,
    judge_packing_agrees,
    judge_paymaster_keys,
    judge_quantities,
    judge_signature_form,
)
from conformance.suites.sidecar._support import SidecarRuns, judge
from conformance.targets.sidecar_scenarios import SCENARIOS as ALL_SCENARIOS

SCENARIOS = sorted(name for name, scenario in ALL_SCENARIOS.items() if scenario.landed > 0)
"""Every scenario that submits an operation: both dialects, every kind of work and every fault
the peers inject (issue 9 §3: the UO rules hold on what the sidecar submits under each)."""


@rules("UO-001")
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_quantities_minimal_hex(runs: SidecarRuns, observe: Observer, scenario: str) -> None:
    judge(runs, observe, "UO-001", scenario, judge_quantities)


@rules("UO-002")
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_byte_fields_hex(runs: SidecarRuns, observe: Observer, scenario: str) -> None:
    judge(runs, observe, "UO-002", scenario, judge_byte_fields)


@rules("UO-003")
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_paymaster_keys_together(runs: SidecarRuns, observe: Observer, scenario: str) -> None:
    judge(runs, observe, "UO-003", scenario, judge_paymaster_keys)


@rules("UO-004")
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_factory(runs: SidecarRuns, observe: Observer, scenario: str) -> None:
    judge(runs, observe, "UO-004", scenario, judge_no_factory)


@rules("UO-008")
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_packed_fields_fit(runs: SidecarRuns, observe: Observer, scenario: str) -> None:
    judge(runs, observe, "UO-008", scenario, judge_fits_128)


@rules("UO-011", "UO-012", "UO-013")
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_signature_form(runs: SidecarRuns, observe: Observer, scenario: str) -> None:
    judge(runs, observe, "UO-012", scenario, judge_signature_form)


@rules("UO-005", "UO-006", "UO-007", "UO-009")
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_packing_and_hash_agree(runs: SidecarRuns, observe: Observer, scenario: str) -> None:
    judge(runs, observe, "UO-009", scenario, judge_packing_agrees)


@rules("UO-017")
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_canonical_calldata(runs: SidecarRuns, observe: Observer, scenario: str) -> None:
    judge(runs, observe, "UO-017", scenario, judge_canonical_calldata)
