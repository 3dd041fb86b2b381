"""``amc rules ID --example`` runs the first bundled mutant breaking the rule and prints the
failure it gives (a real run of the reference webhook's skip-chain-check mutant, WH-013)."""

from __future__ import annotations

import pytest

from conformance.cli import main


@pytest.mark.slow
def test_rules_example_shows_a_real_failure(capsys) -> None:
    assert main(["rules", "WH-013", "--example"]) == 0
    out = capsys.readouterr().out
    assert "example failure (mutant skip-chain-check, FAIL):" in out
    assert "minimal input:" in out
