"""Committed compiler artifacts of the reference contracts and their mutants (no Node needed).

Layout (written by ``python -m conformance.reference.account.build``):

- ``artifacts/<Contract>.json``: contractName, sourceName, abi, bytecode (creation code, 0x
  hex), deployedBytecode, compiler (version, settings), sources (source unit → sha256) and
  sourcesSha256 (sha256 of that map as sorted compact JSON).
- ``artifacts/mutants/<name>.json``: the same keys for the mutated contract (the contract named
  like the patched file), plus ``mutant`` (the mutants.toml entry) and ``dependents`` (other
  contracts whose bytecode the patch changes, e.g. a factory embedding a mutated cluster).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi import encode

from conformance.reference.account.mutants import Mutant

HERE = Path(__file__).resolve().parent
ARTIFACTS_DIR = HERE / "artifacts"
MUTANTS_DIR = ARTIFACTS_DIR / "mutants"
SOURCES_DIR = HERE / "src"

REFERENCE_CONTRACTS: dict[str, str] = {
    "ClusterMember": "src/ClusterMember.sol",
    "ReferenceCluster": "src/ReferenceCluster.sol",
    "ReferenceClusterFactory": "src/ReferenceClusterFactory.sol",
    "ReferenceMemberFactory": "src/ReferenceMemberFactory.sol",
    "TestPaymaster": "src/TestPaymaster.sol",
    "ERC1967Proxy": "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol",
}
"""Every deployable contract with a committed artifact, by name → source unit."""


class ArtifactError(LookupError):
    """An artifact is missing or does not have the expected shape."""


@dataclass(frozen=True)
class ContractArtifact:
    """A compiled contract: ABI and creation/runtime code."""

    contract_name: str
    source_name: str
    abi: tuple[dict[str, Any], ...]
    bytecode: bytes
    deployed_bytecode: bytes

    def creation_code(self, types: list[str] | None = None, args: list[Any] | None = None) -> bytes:
        """Creation code followed by the ABI-encoded constructor arguments (eth-abi)."""
        if not types:
            return self.bytecode
        return self.bytecode + encode(types, args or [])

    def function_names(self) -> frozenset[str]:
        """Names of the functions in the ABI."""
        return frozenset(e["name"] for e in self.abi if e.get("type") == "function")


@dataclass(frozen=True)
class MutantArtifact:
    """A compiled mutant: the mutated contract and any dependents it changes."""

    mutant: Mutant
    contract: ContractArtifact
    dependents: tuple[ContractArtifact, ...]

    def contracts(self) -> dict[str, ContractArtifact]:
        """The mutated contract and its dependents, by contract name."""
        found = {c.contract_name: c for c in self.dependents}
        found[self.contract.contract_name] = self.contract
        return found


def contract_from_json(data: dict[str, Any]) -> ContractArtifact:
    """A ContractArtifact from an artifact's JSON object."""
    try:
        return ContractArtifact(
            contract_name=data["contractName"],
            source_name=data["sourceName"],
            abi=tuple(data["abi"]),
            bytecode=bytes.fromhex(data["bytecode"].removeprefix("0x")),
            deployed_bytecode=bytes.fromhex(data["deployedBytecode"].removeprefix("0x")),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ArtifactError(f"malformed artifact: {exc!r}") from exc


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ArtifactError(f"artifact={path} does not exist (run the build)")
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ArtifactError(f"artifact={path}: not a JSON object")
    return data


def artifact_json(name: str) -> dict[str, Any]:
    """The raw JSON of the reference artifact ``name``."""
    if name not in REFERENCE_CONTRACTS:
        raise ArtifactError(f"contract={name!r}: expected one of {sorted(REFERENCE_CONTRACTS)}")
    return _read_json(ARTIFACTS_DIR / f"{name}.json")


def mutant_json(name: str) -> dict[str, Any]:
    """The raw JSON of the mutant artifact ``name``."""
    return _read_json(MUTANTS_DIR / f"{name}.json")


def load_artifact(name: str) -> ContractArtifact:
    """The committed reference artifact of contract ``name`` (see REFERENCE_CONTRACTS)."""
    return contract_from_json(artifact_json(name))


def load_mutant_artifact(name: str) -> MutantArtifact:
    """The committed artifact of mutant ``name`` (a mutants.toml entry)."""
    data = mutant_json(name)
    try:
        spec = data["mutant"]
        mutant = Mutant(
            name=spec["name"],
            breaks=tuple(spec["breaks"]),
            description=spec["description"],
            file=spec["file"],
            find=spec["find"],
            replace=spec["replace"],
        )
        dependents = tuple(contract_from_json(d) for d in data.get("dependents", {}).values())
    except (KeyError, TypeError) as exc:
        raise ArtifactError(f"mutant={name!r}: malformed artifact: {exc!r}") from exc
    return MutantArtifact(mutant, contract_from_json(data), dependents)


def contract_set(mutant: str | None = None) -> dict[str, ContractArtifact]:
    """Every reference contract by name, with ``mutant``'s contracts in place when given."""
    contracts = {name: load_artifact(name) for name in REFERENCE_CONTRACTS}
    if mutant is not None:
        contracts.update(load_mutant_artifact(mutant).contracts())
    return contracts


def read_sources() -> dict[str, str]:
    """The reference Solidity sources by source unit name (``src/<File>.sol``)."""
    return {
        f"src/{p.name}": p.read_text(encoding="utf-8") for p in sorted(SOURCES_DIR.glob("*.sol"))
    }


def sha256_text(text: str) -> str:
    """sha256 hex of UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sources_digest(sources: dict[str, str]) -> str:
    """sha256 of a source unit → sha256 map, as sorted compact JSON (artifact sourcesSha256)."""
    canonical = json.dumps(sources, sort_keys=True, separators=(",", ":"))
    return sha256_text(canonical)
