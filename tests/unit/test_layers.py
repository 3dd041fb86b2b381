"""The layers of ARCHITECTURE.md hold: a lower layer never imports a higher one.

protocol → rules/profiles → strategies → oracle → peers/targets → suites/fuzz → report/cli.
``reference`` is an independent reading of the protocol: it may use ``protocol`` and
``profiles`` but never ``oracle``, ``strategies`` or ``suites``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "conformance"

BASE = {"errors", "secrecy"}
"""Bottom modules every layer may import: errors, and the secret registry (secrets are masked
at the source, in every layer)."""

ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "secrecy": set(),
    "protocol": {"protocol", "errors"},
    "rules": {"rules", "errors"},
    "profiles": {"profiles", "protocol", "errors"},
    "report": {"report", "errors"},
    "strategies": {"strategies", "protocol", "profiles", "rules", "errors"},
    "oracle": {"oracle", "protocol", "profiles", "rules", "errors"},
    "peers": {"peers", "protocol", "profiles", "errors"},
    "targets": {"targets", "peers", "protocol", "profiles", "errors", "reference"},
    "reference": {"reference", "protocol", "profiles", "errors"},
    "engine": {"engine", "report", "rules", "profiles", "protocol", "errors", "conformance"},
}
"""Layer → the top-level ``conformance`` sub-packages it may import. Unlisted layers
(suites, fuzz, commands, cli, console) sit on top and may import anything."""


def _layer(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "conformance":
                found.add(parts[1] if len(parts) > 1 else "conformance")
    return found


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if _layer(p) in ALLOWED)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_lower_layers(path: Path) -> None:
    layer = _layer(path)
    forbidden = _imports(path) - ALLOWED[layer] - {layer} - BASE
    assert not forbidden, f"{path.relative_to(PACKAGE)} ({layer}) imports {sorted(forbidden)}"


def test_the_lint_sees_the_layers() -> None:
    assert {"protocol", "report", "engine"} <= {_layer(p) for p in SOURCES}
