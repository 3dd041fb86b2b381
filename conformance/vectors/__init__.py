"""Portable test vectors: ``amc vectors export DIR`` and ``amc vectors check DIR``.

An implementation in any language can test itself against these files without running the
suite. The format (``format`` = ``attestmesh-conformance-vectors``, ``format_version`` = 1):

Directory
    ``index.json`` plus one file per kind: ``userop_hashes.json``, ``signatures.json``,
    ``selectors.json``, ``calldata.json``, ``binding_hashes.json``, ``proof_chains.json``,
    ``webhook_signatures.json``. ``index.json`` holds ``format``, ``format_version``,
    ``suite_version``, ``catalogue_digest`` (sha256 of the rules.toml the ids refer to) and
    ``files``: a list of ``{"kind", "file", "count", "sha256"}`` (sha256 of the file bytes).

File
    ``{"format", "format_version", "kind", "description", "vectors": [...]}``.

Vector
    ``{"name", "description", "rule_ids", "input", "expected"}``. ``name`` is unique within
    its file and stable across releases; ``rule_ids`` names at least one rule of the catalogue
    (``amc rules``) the vector exercises. ``expected`` is a pure function of ``input``. Kinds
    that hold several operations say which in ``input.operation`` (each kind's module
    docstring lists its operations, inputs and outputs).

Values
    Bytes are ``0x``-prefixed lower-case hex (an address is 20 bytes of hex, not EIP-55).
    Integers are JSON numbers up to 2^53 − 1 and decimal strings above (uint256 nonces,
    values, gas at 2^128 − 1, uint64 expiries): readers accept both. Text stays text (the
    calldata *text* of ``calldata.json`` may be deliberately malformed hex; webhook secrets,
    ids and header values are strings). ``null`` means "no value" (no signer, no error).
    Keys of ``input``/``expected`` use the protocol's own field names (camelCase, as in
    PROTOCOL.md and the ABI); the envelope uses snake_case.

Reproducibility
    Fixed keys (PROTOCOL.md §4's public test keys 1, 2, 0xB17D and a few more) and fixed
    random seeds; signatures are RFC 6979 deterministic; the JSON is written with a fixed key
    order, ``indent=2``, UTF-8 and a trailing newline. Two exports of one suite version are
    byte-for-byte identical. Every PROTOCOL.md literal vector (§1 selectors, §2 hashes,
    digest and signature, §4 binding hashes and test-key addresses, §5 golden webhook
    signature) is included and pinned while building.

Python API: ``export_vectors(directory, kinds=(), force=False) -> ExportSummary``,
``check_vectors(directory) -> CheckReport``, ``render_export(kinds) -> {file: bytes}``,
``KINDS`` (name → ``Kind``), ``build_vectors(kind)``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

KIND_NAMES: tuple[str, ...] = (
    "userop_hashes", "signatures", "selectors", "calldata", "binding_hashes", "proof_chains",
    "webhook_signatures",
)  # fmt: skip
"""Every kind, in export order (``build.KINDS`` holds the kinds themselves)."""

_LAZY = {
    "FORMAT_NAME": "build", "FORMAT_VERSION": "build", "KINDS": "build",
    "build_vectors": "build", "CheckReport": "check", "Mismatch": "check",
    "check_vectors": "check", "ExportSummary": "export", "export_vectors": "export",
    "render_export": "export", "Kind": "model", "Vector": "model",
}  # fmt: skip
"""Public names, imported on first use so that ``amc`` starts fast (PEP 562)."""

if TYPE_CHECKING:
    from conformance.vectors.build import FORMAT_NAME, FORMAT_VERSION, KINDS, build_vectors
    from conformance.vectors.check import CheckReport, Mismatch, check_vectors
    from conformance.vectors.export import ExportSummary, export_vectors, render_export
    from conformance.vectors.model import Kind, Vector


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)


__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "KINDS",
    "KIND_NAMES",
    "CheckReport",
    "ExportSummary",
    "Kind",
    "Mismatch",
    "Vector",
    "build_vectors",
    "check_vectors",
    "export_vectors",
    "render_export",
]
