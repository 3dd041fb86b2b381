"""Small things users expect: ``amc --version``, help with defaults and examples, ``amc rules
ID``, a LICENSE matching the declared licence, and an ARCHITECTURE.md holding every section the
code cites."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from conformance import __version__
from conformance.cli import main
from conformance.rules import load_catalogue

ROOT = Path(__file__).resolve().parents[2]
ABSENT = "DESIGN" + ".md"


def test_version_names_suite_and_catalogue(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    catalogue = load_catalogue()
    assert f"attestmesh-conformance) {__version__}" in out
    assert catalogue.digest in out and f"({len(catalogue)} rules)" in out


def test_help_shows_defaults_and_examples(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    assert "examples:\n  amc run webhook --url" in top and "exit codes: 0" in top
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    run = re.sub(r"\s+", " ", capsys.readouterr().out)
    assert "hypothesis examples per generated check (default: 50)" in run
    assert "(default: 5.0)" in run and "(default: None)" not in run
    assert run.count("(default: pyrevm)") <= 1


def test_rules_id_prints_one_rule_in_full(capsys) -> None:
    assert main(["rules", "wh-013"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("WH-013  MUST  (webhook;")
    assert "A chainId other than the expected chain id is denied with chain-mismatch." in out
    assert "source: PROTOCOL.md §5 Policy" in out
    assert "  | ## 5. The sponsorship webhook" in out and "chain-mismatch`" in out
    assert "webhook/test_chain_id.py::" in out
    assert "webhook/skip-chain-check: " in out
    assert "example failure: amc rules WH-013 --example" in out
    assert main(["rules", "WH-0133"]) == 2
    assert "did you mean 'WH-033'" in capsys.readouterr().err


def test_license_matches_the_declared_licence() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    assert declared == {"text": "Apache-2.0"}
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_every_cited_architecture_section_exists() -> None:
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    headings = set(re.findall(r"^## (.+)$", doc, re.M))
    cited: set[str] = set()
    for path in [*ROOT.joinpath("conformance").rglob("*"), *ROOT.joinpath("tests").rglob("*.py")]:
        if path.suffix in (".py", ".json", ".j2", ".toml") and path.is_file():
            text = path.read_text(errors="replace")
            assert ABSENT not in text, f"{path} cites the absent {ABSENT}"
            cited |= {" ".join(c.split()) for c in
                      re.findall(r'ARCHITECTURE\.md \\?"([^"\\]+)\\?"', text)}
    assert cited, "the code cites no ARCHITECTURE.md section"
    missing = sorted(c for c in cited if c not in headings)
    assert not missing, f"cited but absent from docs/ARCHITECTURE.md: {missing}"
