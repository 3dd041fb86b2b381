"""The fuzz targets by name, and loading one (optionally with a planted bug or a candidate).

A target module defines ``NAME``, ``RULES``, ``DICTIONARY``, ``seeds(canonical_only=False)``,
``setup()`` and ``TestOneInput(data: bytes)`` (see ``conformance.fuzz.base``).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from types import ModuleType

from conformance.errors import UsageError, did_you_mean

TARGETS: dict[str, str] = {
    "execute_calldata": "conformance.fuzz.execute_calldata",
    "decoder_agreement": "conformance.fuzz.decoder_agreement",
    "register_calldata": "conformance.fuzz.register_calldata",
    "webhook_body": "conformance.fuzz.webhook_body",
    "webhook_signature": "conformance.fuzz.webhook_signature",
    "calldata_roundtrip": "conformance.fuzz.properties",
    "signature_classes": "conformance.fuzz.properties",
}
"""Target name → module. The last two are hypothesis properties run as atheris targets."""

CANDIDATE_TARGETS: dict[str, str] = {
    "candidate_decoder": "conformance.fuzz.candidate_decoder",
    "webhook_http": "conformance.fuzz.webhook_http",
}
"""Targets that need a candidate (``amc fuzz decoder --callable``); not replayed by default."""


def require_target(name: str) -> str:
    """``name`` when it is a target, else UsageError with the closest name."""
    if name not in TARGETS and name not in CANDIDATE_TARGETS:
        raise UsageError(f"target={name!r}: no such fuzz target" + did_you_mean(name, TARGETS)
                         + f"; targets: {', '.join(TARGETS)}")
    return name


def load_target(name: str, *, fresh: bool = False) -> ModuleType:
    """The module of target ``name`` (property targets: a view selecting that property).

    ``fresh``: a private instance of the module (its own globals), for a plant or a candidate
    to change without touching the shared one.
    """
    require_target(name)
    path = TARGETS.get(name) or CANDIDATE_TARGETS[name]
    if fresh and not path.endswith(".properties"):
        spec = importlib.util.find_spec(path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(path)
    if hasattr(module, "target"):
        return module.target(name)  # type: ignore[no-any-return]
    return module


def describe(name: str) -> tuple[tuple[str, ...], str]:
    """(rule ids, the first line of the invariant) of target ``name``."""
    module = load_target(name)
    doc = inspect.getdoc(module) or ""
    return tuple(module.RULES), doc.split("\n\n", 1)[0].replace("\n", " ")
