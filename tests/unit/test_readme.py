"""The README's rule table is generated from the catalogue, never written by hand."""

from __future__ import annotations

from pathlib import Path

from conformance.readme import BEGIN, END, render

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_rule_table_is_current() -> None:
    text = README.read_text()
    assert BEGIN in text and END in text
    assert render(text) == text, "README rule table is stale: run `make readme-rules`"


def test_readme_names_the_two_setup_commands() -> None:
    text = README.read_text()
    assert "make conformance" in text and "make test" in text
