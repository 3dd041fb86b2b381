"""Keeps the README's rule table generated from the catalogue (``make readme-rules``)."""

from __future__ import annotations

import sys
from pathlib import Path

from conformance.rules import load_catalogue, markdown_table

BEGIN, END = "<!-- rules:begin -->", "<!-- rules:end -->"


def rules_section() -> str:
    """The generated table, between its markers."""
    return f"{BEGIN}\n{markdown_table(load_catalogue()).strip()}\n{END}"


def render(readme: str) -> str:
    """``readme`` with its rule table regenerated."""
    head, _, rest = readme.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return head + rules_section() + tail


def main(path: Path = Path("README.md")) -> int:
    """Rewrite the README's rule table in place."""
    path.write_text(render(path.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
