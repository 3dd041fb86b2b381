"""scripts/mutation.py's triage of cosmic-ray mutants before they run: annotations are
equivalent (never evaluated), functions outside a scope are skipped, the marks of
scripts/mutation-equivalent.toml apply by module, function, line text and operator."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mutation():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("amc_mutation", ROOT / "scripts" / "mutation.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["amc_mutation"] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


SOURCE = '''from __future__ import annotations


def authentic(a: int | None, b: str) -> bool | None:
    return a == 1


def _lenient(now: int, stamp: int) -> bool:
    return abs(now - stamp) > 300


LIMIT: int | str = 3 | 4
'''


def test_triage(mutation, tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "m.py"
    path.write_text(SOURCE)
    source = mutation.Source(path)
    assert source.function(5) == "authentic" and source.function(9) == "_lenient"
    classify = mutation.classify
    op = "core/ReplaceBinaryOperator_BitOr_RShift"
    assert classify("m.py", (4, 21), op, source, None).startswith("equivalent: inside an annot")
    assert classify("m.py", (4, 43), op, source, None).startswith("equivalent: inside an annot")
    assert classify("m.py", (12, 7), op, source, None).startswith("equivalent: inside an annot")
    assert classify("m.py", (12, 19), op, source, None) is None  # the value is evaluated
    assert classify("m.py", (5, 13), "core/ReplaceComparisonOperator_Eq_Lt", source, None) is None
    scoped = frozenset({"_lenient"})
    assert classify("m.py", (5, 13), "core/X", source, scoped) == "out-of-scope"
    assert classify("m.py", (9, 15), "core/X", source, scoped) is None
    marks = tmp_path / "eq.toml"
    marks.write_text('[[equivalent]]\nmodule = "m.py"\nfunction = "_lenient"\nreason = "seam"\n'
                     '[[equivalent]]\nmodule = "m.py"\nline_contains = "a == 1"\n'
                     'operator = "core/ReplaceComparisonOperator_Eq_GtE"\nreason = "sorts last"\n')
    monkeypatch.setattr(mutation, "EQUIVALENT", marks)
    assert classify("m.py", (9, 15), "core/X", source, None) == "equivalent: seam"
    assert classify("m.py", (5, 13), "core/ReplaceComparisonOperator_Eq_GtE", source, None) \
        == "equivalent: sorts last"
    assert classify("m.py", (5, 13), "core/ReplaceComparisonOperator_Eq_Lt", source, None) is None
    assert classify("other.py", (9, 15), "core/X", source, None) is None


def test_shipped_marks_name_real_code(mutation) -> None:
    """Every mark of scripts/mutation-equivalent.toml still matches its module's code."""
    for mark in mutation._equivalent():
        source = mutation.Source(ROOT / str(mark["module"]))
        if mark.get("function"):
            assert any(name == mark["function"] for _, _, name in source.functions), mark
        if mark.get("line_contains"):
            assert any(str(mark["line_contains"]) in line for line in source.lines), mark
