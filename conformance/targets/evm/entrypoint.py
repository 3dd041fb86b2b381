"""The real EntryPoint v0.7, deployed at its canonical address (PROTOCOL.md §1).

Its creation bytecode comes from the npm package ``@account-abstraction/contracts@0.7.0``
(``artifacts/EntryPoint.json``). Replaying the public deployment — the CREATE2 proxy with the
salt below — lands it exactly at ``0x0000000071727De22E5E9d8BAf0edAc6f37da032``, which
``deploy_entry_point`` verifies before sending anything. Checks that need it SKIP with
``entry_point_unavailable_reason()`` when the artifact is missing; they never pass silently.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from conformance.targets.evm.artifacts import (
    INSTALL_HINT,
    ArtifactUnavailable,
    find_node_artifact,
)
from conformance.targets.evm.backend import EvmBackend
from conformance.targets.evm.deployer import (
    CREATE2_DEPLOYER_ADDRESS,
    DEFAULT_DEPLOY_SENDER,
    create2_address,
    deploy_create2,
)

ENTRY_POINT_ADDRESS = bytes.fromhex("0000000071727De22E5E9d8BAf0edAc6f37da032")
"""EntryPoint v0.7 on every chain (PROTOCOL.md §1)."""

ENTRY_POINT_SALT = bytes.fromhex("90d8084deab30c2a37c45e8d47f49f2f7965183cb6990a98943ef94940681de3")
"""CREATE2 salt of the public v0.7 deployment (eth-infinitism/account-abstraction's
``hardhat.config.ts`` ``deterministicDeployment``); verified by recomputing the address."""

ENTRY_POINT_ARTIFACT = "@account-abstraction/contracts/artifacts/EntryPoint.json"
"""The artifact's path inside node_modules."""


@lru_cache(maxsize=4)
def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def _artifact() -> dict[str, Any] | None:
    path = find_node_artifact(ENTRY_POINT_ARTIFACT)
    return None if path is None else _load(path)


def entry_point_artifact() -> bytes | None:
    """The EntryPoint v0.7 creation bytecode from the npm artifact, or None when absent."""
    data = _artifact()
    if data is None:
        return None
    return bytes.fromhex(str(data["bytecode"]).removeprefix("0x"))


def entry_point_abi() -> list[dict[str, Any]] | None:
    """The EntryPoint ABI from the npm artifact, or None when absent."""
    data = _artifact()
    return None if data is None else list(data["abi"])


def entry_point_unavailable_reason() -> str | None:
    """Why the canonical EntryPoint cannot be deployed (a SKIP reason), or None when it can."""
    init_code = entry_point_artifact()
    if init_code is None:
        return f"EntryPoint v0.7 artifact not found: {INSTALL_HINT}"
    landing = create2_address(CREATE2_DEPLOYER_ADDRESS, ENTRY_POINT_SALT, init_code)
    if landing != ENTRY_POINT_ADDRESS:
        return (
            f"EntryPoint artifact is not the canonical v0.7 build: it would land at "
            f"0x{landing.hex()}, not 0x{ENTRY_POINT_ADDRESS.hex()}; {INSTALL_HINT}"
        )
    return None


def deploy_entry_point(backend: EvmBackend, *, sender: bytes = DEFAULT_DEPLOY_SENDER) -> bytes:
    """Deploy EntryPoint v0.7 at its canonical address (idempotent); that address.

    Raises ``ArtifactUnavailable`` (→ SKIP) when the artifact is missing or not canonical.
    """
    reason = entry_point_unavailable_reason()
    if reason is not None:
        raise ArtifactUnavailable(reason)
    init_code = entry_point_artifact()
    assert init_code is not None
    return deploy_create2(backend, init_code, ENTRY_POINT_SALT, sender=sender)
