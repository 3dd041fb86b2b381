"""The bundler a sidecar submits to (PROTOCOL.md §7 steps 4–5; SC-012, SC-013, SC-014).

Each ``eth_sendUserOperation`` runs through the real ``EntryPoint.handleOps`` of the run's EVM
(a ``BundleChain`` handed in by the targets layer), so receipts, ``success`` and the AAxx codes
of a rejected operation are the EntryPoint's own. The endpoint is bundler-only: node methods
(``eth_call``, ``eth_getCode``, ``eth_getTransactionCount``, ``eth_estimateGas``) are refused
with "method not found", as live bundler endpoints refuse them (the second live getNonce
failure of §7). Faults RECEIPT_FAILED (the op's inner call really reverts) and RECEIPT_NEVER
(the op is dropped) come from the run's ``FaultSchedule``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol

from conformance.peers.proxy_faults import CallContext, FaultKind, RpcError
from conformance.protocol.hexutil import checksum, parse_address, parse_data, to_data, to_quantity
from conformance.protocol.userop import UserOperation, from_json, user_op_hash

NODE_METHODS = ("eth_call", "eth_getCode", "eth_getTransactionCount", "eth_estimateGas",
                "eth_getBalance", "eth_getStorageAt")
"""Node methods a bundler-only endpoint refuses."""
REFUSAL = "method not supported by this bundler endpoint (use the node RPC)"

ESTIMATE = {"preVerificationGas": 50_000, "verificationGasLimit": 1_500_000,
            "callGasLimit": 1_000_000, "paymasterVerificationGasLimit": 150_000,
            "paymasterPostOpGasLimit": 0}
"""Gas limits the bundler and the paymaster quote (enough for a registration)."""


@dataclass(frozen=True)
class BundleOutcome:
    """What handleOps did with one operation.

    ``failed`` is the EntryPoint's FailedOp reason (``AA25 invalid account nonce`` …) when the
    bundle reverted; otherwise ``success`` is the UserOperationEvent's flag.
    """

    failed: str | None
    success: bool = False
    actual_gas_cost: int = 0
    actual_gas_used: int = 0
    block_number: int = 0
    transaction_hash: bytes = b"\x00" * 32
    revert_reason: bytes = b""


class BundleChain(Protocol):
    """What the bundler needs from the chain."""

    @property
    def chain_id(self) -> int:
        """The chain id."""
        ...

    @property
    def entry_point(self) -> bytes:
        """The EntryPoint address."""
        ...

    def handle_op(self, op: UserOperation, *, sabotage: bool = False) -> BundleOutcome:
        """Run ``op`` through EntryPoint.handleOps; ``sabotage``: make its inner call revert."""
        ...


def _aa_code(reason: str) -> int:
    """ERC-7769 error code of a FailedOp reason: -32501 for paymaster (AA3x), else -32500."""
    return -32501 if reason.startswith("AA3") else -32500


@dataclass
class _Stored:
    op: UserOperation
    outcome: BundleOutcome | None


class Bundler:
    """Bundler state: the operations it accepted and their outcomes."""

    def __init__(self, chain: BundleChain) -> None:
        self.chain = chain
        self._lock = threading.Lock()
        self._ops: dict[bytes, _Stored] = {}

    def _entry_point(self, params: list[Any], index: int) -> None:
        given = parse_address(str(params[index]))
        if given != self.chain.entry_point:
            raise RpcError(-32602, f"unsupported entrypoint {params[index]}")

    def send(self, params: list[Any], ctx: CallContext) -> str:
        """eth_sendUserOperation [op, entryPoint] → userOpHash (errors carry the AAxx reason)."""
        if len(params) != 2 or not isinstance(params[0], dict):
            raise RpcError(-32602, "expected [userOperation, entryPoint]")
        self._entry_point(params, 1)
        op = from_json(params[0])
        digest = user_op_hash(op, self.chain.entry_point, self.chain.chain_id)
        kind = ctx.fault.kind if ctx.fault else None
        with self._lock:
            if kind is FaultKind.RECEIPT_NEVER:
                self._ops[digest] = _Stored(op, None)
                return to_data(digest)
            outcome = self.chain.handle_op(op, sabotage=kind is FaultKind.RECEIPT_FAILED)
            if outcome.failed is not None:
                raise RpcError(_aa_code(outcome.failed), outcome.failed)
            self._ops[digest] = _Stored(op, outcome)
        return to_data(digest)

    def receipt(self, params: list[Any], ctx: CallContext) -> dict[str, Any] | None:
        """eth_getUserOperationReceipt [hash] → the receipt, or null while none exists."""
        digest = parse_data(str(params[0]))
        with self._lock:
            stored = self._ops.get(digest)
        if stored is None or stored.outcome is None:
            return None
        out, op = stored.outcome, stored.op
        receipt: dict[str, Any] = {
            "userOpHash": to_data(digest), "entryPoint": checksum(self.chain.entry_point),
            "sender": checksum(op.sender), "nonce": to_quantity(op.nonce),
            "paymaster": checksum(op.paymaster or bytes(20)), "success": out.success,
            "actualGasCost": to_quantity(out.actual_gas_cost),
            "actualGasUsed": to_quantity(out.actual_gas_used), "logs": [],
            "receipt": {"transactionHash": to_data(out.transaction_hash),
                        "blockNumber": to_quantity(out.block_number), "status": "0x1"},
        }
        if not out.success:
            receipt["reason"] = to_data(out.revert_reason)
        return receipt

    def supported(self, params: list[Any], ctx: CallContext) -> list[str]:
        """eth_supportedEntryPoints → [the canonical EntryPoint]."""
        return [checksum(self.chain.entry_point)]

    def chain_id(self, params: list[Any], ctx: CallContext) -> str:
        """eth_chainId."""
        return to_quantity(self.chain.chain_id)

    def estimate(self, params: list[Any], ctx: CallContext) -> dict[str, str]:
        """eth_estimateUserOperationGas [op, entryPoint] → gas limits."""
        self._entry_point(params, 1)
        from_json(params[0])
        return {key: to_quantity(value) for key, value in ESTIMATE.items()}

    def methods(self) -> dict[str, Any]:
        """The bundler's method table entries."""
        return {
            "eth_sendUserOperation": self.send,
            "eth_getUserOperationReceipt": self.receipt,
            "eth_supportedEntryPoints": self.supported,
            "eth_chainId": self.chain_id,
            "eth_estimateUserOperationGas": self.estimate,
        }

    def submitted(self) -> list[UserOperation]:
        """Every operation accepted so far (executed or dropped)."""
        with self._lock:
            return [s.op for s in self._ops.values()]


def refused_node_methods() -> dict[str, str]:
    """The node methods a bundler-only endpoint refuses, with the refusal message."""
    return dict.fromkeys(NODE_METHODS, REFUSAL)
