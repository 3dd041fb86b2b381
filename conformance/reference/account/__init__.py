"""The reference ClusterMember account, its cluster, factories and test paymaster (Solidity),
with committed compiler artifacts and the mutants that each break named rules (PROTOCOL.md §4,
§6). Loading artifacts needs only Python; rebuilding them needs Node (see ``build``)."""

from __future__ import annotations

from conformance.reference.account.artifacts import (
    REFERENCE_CONTRACTS,
    ArtifactError,
    ContractArtifact,
    MutantArtifact,
    contract_set,
    load_artifact,
    load_mutant_artifact,
)
from conformance.reference.account.mutants import Mutant, MutantError, load_mutants

__all__ = [
    "REFERENCE_CONTRACTS",
    "ArtifactError",
    "ContractArtifact",
    "Mutant",
    "MutantArtifact",
    "MutantError",
    "contract_set",
    "load_artifact",
    "load_mutant_artifact",
    "load_mutants",
]
