"""The ``amc`` verbs: one module each, every one a thin layer over the Python API."""

from __future__ import annotations

import argparse
import importlib

VERBS = (
    "run",
    "rules",
    "vectors",
    "report",
    "mutants",
    "serve",
    "probe",
    "replay",
    "bench",
    "fuzz",
)


def register_all(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add every verb whose module exists to the ``amc`` parser."""
    for verb in VERBS:
        try:
            module = importlib.import_module(f"conformance.commands.{verb}_cmd")
        except ModuleNotFoundError as exc:
            if exc.name != f"conformance.commands.{verb}_cmd":
                raise
            continue
        module.register(sub)
