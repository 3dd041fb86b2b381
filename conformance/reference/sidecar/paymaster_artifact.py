"""The committed VerifyingPaymaster artifact (account-abstraction 0.7.0 samples), built by
``python -m conformance.reference.sidecar.build``: the paymaster whose signature covers an
operation's gas fields, fees and a validity window (PROTOCOL.md §7, issue 9)."""

from __future__ import annotations

import json
from pathlib import Path

from conformance.reference.account.artifacts import ContractArtifact, contract_from_json

ARTIFACT = Path(__file__).resolve().parent / "artifacts" / "VerifyingPaymaster.json"


def load_verifying_paymaster() -> ContractArtifact:
    """The VerifyingPaymaster's ABI and creation code."""
    return contract_from_json(json.loads(ARTIFACT.read_text(encoding="utf-8")))
