"""The reference sponsorship webhook (PROTOCOL.md §5), every generation, and its mutants.

``create_app(env)`` is the starlette app; ``server`` runs it (its docstring is the launch
contract); ``mutants`` holds the named variants that each break known rules; ``openapi.yaml``
documents the surface for the schemathesis phase.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance.reference.webhook.app import create_app
from conformance.reference.webhook.mutants import MUTANTS, Mutant, list_mutants

OPENAPI_PATH = Path(__file__).with_name("openapi.yaml")
"""The OpenAPI 3.1 document of the webhook surface."""


def load_openapi() -> dict[str, Any]:
    """The OpenAPI document as a dict (PyYAML)."""
    import yaml

    data = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


__all__ = ["MUTANTS", "OPENAPI_PATH", "Mutant", "create_app", "list_mutants", "load_openapi"]
