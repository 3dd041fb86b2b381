"""Candidates under fuzz: a Python decoder named ``pkg.module:function`` (imported from the
current directory or ``PYTHONPATH``) installed into ``candidate_decoder``."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

from conformance.errors import UsageError


def resolve_callable(spec: str) -> Callable[[bytes], Any]:
    """The function ``spec`` names (UsageError, one line, when it cannot be imported)."""
    module_name, colon, attribute = spec.partition(":")
    if not colon or not module_name or not attribute:
        raise UsageError(f"--callable={spec!r}: expected pkg.module:function")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 (any import failure is a usage error)
        raise UsageError(f"--callable={spec!r}: cannot import {module_name}: {exc}") from None
    function = getattr(module, attribute, None)
    if not callable(function):
        raise UsageError(f"--callable={spec!r}: {module_name} has no function {attribute!r}")
    return function  # type: ignore[no-any-return]


def install_candidate(module: ModuleType, spec: str) -> None:
    """Put the candidate ``spec`` into a target that takes one (``candidate_decoder``)."""
    if not hasattr(module, "CANDIDATE"):
        raise UsageError(f"--callable: target {module.NAME!r} does not take a candidate")
    setattr(module, "CANDIDATE", resolve_callable(spec))  # noqa: B010 (a module seam)
