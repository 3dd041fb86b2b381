"""The vector kinds and their pure builders: cases → vectors → file documents (no I/O).

One kind per file (see the package docstring for the format). Each kind computes ``expected``
from ``input`` with the suite's protocol code; PROTOCOL.md literals (§1, §2, §4, §5) are pinned
while building, so a change in the protocol layer that breaks a published vector fails here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from conformance.errors import UsageError, did_you_mean
from conformance.vectors import (
    KIND_NAMES,
    _binding_hashes,
    _calldata,
    _proof_chains,
    _selectors,
    _signatures,
    _userop_hashes,
    _webhook_signatures,
)
from conformance.vectors.model import Json, Kind, Vector, evaluate_case

FORMAT_NAME = "attestmesh-conformance-vectors"
"""The ``format`` field of every file of an export."""

FORMAT_VERSION = 1
"""The ``format_version`` field; bumped on any incompatible change of the layout."""

KINDS: Mapping[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("userop_hashes", "UserOperation v0.7 packing, userOpHash and EIP-191 digest "
             "(PROTOCOL.md §2)", _userop_hashes.cases, _userop_hashes.evaluate),
        Kind("signatures", "secp256k1 keys, EIP-191 and raw signing, recovery and invalid "
             "signature classes (PROTOCOL.md §2, §4)", _signatures.cases, _signatures.evaluate),
        Kind("selectors", "every selector set, never-sponsorable and historic selectors, "
             "custom errors and chain views, with who may sponsor each (PROTOCOL.md §0, §1)",
             _selectors.cases, _selectors.evaluate),
        Kind("calldata", "canonical and non-canonical execute calldata: the strict reading "
             "and Solidity's reading (PROTOCOL.md §3)", _calldata.cases, _calldata.evaluate),
        Kind("binding_hashes", "binding hash, operator binding hash, memberId and codeId "
             "(PROTOCOL.md §4)", _binding_hashes.cases, _binding_hashes.evaluate),
        Kind("proof_chains", "dstack proofs and operator vouchers, valid and broken at each "
             "link, with the cluster's failure (PROTOCOL.md §4)", _proof_chains.cases,
             _proof_chains.evaluate),
        Kind("webhook_signatures", "Standard Webhooks key derivations, signatures and "
             "verification with window edges and multi-entry headers (PROTOCOL.md §5)",
             _webhook_signatures.cases, _webhook_signatures.evaluate),
    )
}
"""Every vector kind by name, in export order."""

assert tuple(KINDS) == KIND_NAMES, "conformance.vectors.KIND_NAMES is out of date"


def select_kinds(names: Sequence[str] = ()) -> tuple[Kind, ...]:
    """The kinds named (all when empty), in export order; UsageError for an unknown name."""
    for name in names:
        if name not in KINDS:
            raise UsageError(f"--kind={name}: not one of {', '.join(KINDS)}"
                             f"{did_you_mean(name, KINDS)}")
    return tuple(kind for kind in KINDS.values() if not names or kind.name in names)


def build_vectors(kind: Kind) -> tuple[Vector, ...]:
    """Every vector of ``kind``, expected values computed and PROTOCOL.md literals checked."""
    vectors = tuple(evaluate_case(kind, case) for case in kind.cases())
    names = [v.name for v in vectors]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise AssertionError(f"{kind.name}: duplicate vector names {duplicates}")
    return vectors


def file_document(kind: Kind, vectors: Sequence[Vector]) -> Json:
    """The JSON document of one vector file."""
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "kind": kind.name,
        "description": kind.description,
        "vectors": [v.to_json() for v in vectors],
    }


def index_document(
    files: Sequence[tuple[Kind, int, str]], *, suite_version: str, catalogue_digest: str
) -> Json:
    """``index.json``: format, versions, catalogue digest and (kind, file, count, sha256)."""
    entries: list[dict[str, Any]] = [
        {"kind": kind.name, "file": kind.file, "count": count, "sha256": sha256}
        for kind, count, sha256 in files
    ]
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "suite_version": suite_version,
        "catalogue_digest": catalogue_digest,
        "files": entries,
    }
