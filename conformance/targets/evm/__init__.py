"""EVM backends for the account target: one small interface, an embedded EVM and a JSON-RPC node.

``PyrevmBackend`` (in-process, the default) and ``RpcBackend`` (any node with anvil's test
methods, e.g. a ``ManagedAnvil``) both satisfy ``EvmBackend``; ``deploy_entry_point`` puts the
real EntryPoint v0.7 at its canonical address in either (PROTOCOL.md §1).
"""

from __future__ import annotations

from conformance.targets.evm.anvil import ManagedAnvil, anvil_available, find_anvil
from conformance.targets.evm.artifacts import ArtifactUnavailable, find_node_modules
from conformance.targets.evm.backend import (
    DEFAULT_GAS_LIMIT,
    BackendError,
    CallResult,
    DeploymentError,
    EvmBackend,
    Log,
)
from conformance.targets.evm.deployer import (
    CREATE2_DEPLOYER_ADDRESS,
    CREATE2_DEPLOYER_RUNTIME,
    create2_address,
    deploy_create2,
    ensure_create2_deployer,
)
from conformance.targets.evm.entrypoint import (
    ENTRY_POINT_ADDRESS,
    ENTRY_POINT_SALT,
    deploy_entry_point,
    entry_point_abi,
    entry_point_artifact,
    entry_point_unavailable_reason,
)
from conformance.targets.evm.pyrevm_backend import PyrevmBackend
from conformance.targets.evm.rpc_backend import RpcBackend, RpcError

__all__ = [
    "CREATE2_DEPLOYER_ADDRESS",
    "CREATE2_DEPLOYER_RUNTIME",
    "DEFAULT_GAS_LIMIT",
    "ENTRY_POINT_ADDRESS",
    "ENTRY_POINT_SALT",
    "ArtifactUnavailable",
    "BackendError",
    "CallResult",
    "DeploymentError",
    "EvmBackend",
    "Log",
    "ManagedAnvil",
    "PyrevmBackend",
    "RpcBackend",
    "RpcError",
    "anvil_available",
    "create2_address",
    "deploy_create2",
    "deploy_entry_point",
    "entry_point_abi",
    "entry_point_artifact",
    "entry_point_unavailable_reason",
    "ensure_create2_deployer",
    "find_anvil",
    "find_node_modules",
]
