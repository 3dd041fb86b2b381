"""The README's "Your own tests" example runs as written (with the reference's strict reader
standing in for ``my_webhook.decoding``), under five seeds with hypothesis' health checks on,
and catches a reader that accepts dirty address bits (docs/API.md)."""

from __future__ import annotations

import importlib.util
import re
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import Phase, given, seed, settings

from conformance.protocol.calldata import DecodeError, decode_execute_strict
from conformance.strategies import malformed_execute_calldata

README = Path(__file__).resolve().parents[2] / "README.md"


def example_source() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- api-example -->\n```python\n(.*?)```", text, re.S)
    assert match, "README lacks the api-example block"
    return match.group(1)


def strict_reader(calldata: bytes) -> tuple[bytes, int, bytes] | None:
    try:
        return decode_execute_strict(calldata).reading
    except DecodeError:
        return None


def lenient_reader(calldata: bytes) -> tuple[bytes, int, bytes] | None:
    """A plausible bug: ignores the 12 upper bytes of the address word (dirty-address-bits)."""
    cleaned = calldata[:4] + bytes(12) + calldata[16:] if len(calldata) >= 36 else calldata
    return strict_reader(cleaned)


def load_example(tmp_path: Path, reader: Callable[[bytes], object],
                 monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    package = types.ModuleType("my_webhook")
    decoding = types.ModuleType("my_webhook.decoding")
    decoding.read_execute = reader  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "my_webhook", package)
    monkeypatch.setitem(sys.modules, "my_webhook.decoding", decoding)
    path = tmp_path / "test_my_reader.py"
    path.write_text(example_source())
    spec = importlib.util.spec_from_file_location("test_my_reader", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


TESTS = ("test_reads_every_canonical_execute_call",
         "test_refuses_what_the_canonical_reader_refuses")


@pytest.mark.parametrize("run_seed", [0, 1, 2, 3, 4])
def test_readme_example_passes_health_checks_under_every_seed(tmp_path, monkeypatch,
                                                              run_seed) -> None:
    module = load_example(tmp_path, strict_reader, monkeypatch)
    for name in TESTS:
        test = getattr(module, name)
        seed(run_seed)(settings(database=None, max_examples=30)(test))()


def test_readme_example_catches_a_lenient_reader(tmp_path, monkeypatch) -> None:
    """The example's second test, fed only dirty-address-bits cases (so no lucky draw), fails
    a reader that ignores the address word's upper bytes, naming the flaw and its rules."""
    module = load_example(tmp_path, lenient_reader, monkeypatch)
    inner = module.test_refuses_what_the_canonical_reader_refuses.hypothesis.inner_test
    only_dirty = malformed_execute_calldata(generation="base", kinds=["dirty-address-bits"])
    fast = settings(database=None, max_examples=20, phases=(Phase.generate,))  # no shrinking
    test = seed(0)(fast(given(only_dirty)(inner)))
    with pytest.raises(AssertionError, match="dirty-address-bits"):
        test()
