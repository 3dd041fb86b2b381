"""Calls, revert data and events of the account test world (PROTOCOL.md §1, §2, §6).

Function calls are ``selector(signature) ‖ eth_abi.encode(types, args)``; revert data is named
by its 4-byte id (the protocol's custom errors plus the EntryPoint's, OpenZeppelin's and the
reference cluster's own); EntryPoint v0.7 ``FailedOp`` reverts and ``UserOperationEvent`` logs
are decoded with eth-abi.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from eth_abi import decode, encode
from eth_abi.exceptions import DecodingError

from conformance.protocol.calldata import argument_types
from conformance.protocol.hexutil import keccak
from conformance.protocol.selectors import ERRORS, selector
from conformance.protocol.userop import PACKED_USER_OP_ABI, PackedUserOperation
from conformance.targets.evm.backend import Log

VALIDATE_USER_OP = f"validateUserOp({PACKED_USER_OP_ABI},bytes32,uint256)"
"""IAccount.validateUserOp (PROTOCOL.md §6), selector 0x19822f7c."""

HANDLE_OPS = f"handleOps({PACKED_USER_OP_ABI}[],address)"
GET_USER_OP_HASH = f"getUserOpHash({PACKED_USER_OP_ABI})"
GET_NONCE = "getNonce(address,uint192)"
BALANCE_OF = "balanceOf(address)"
EXECUTE = "execute(address,uint256,bytes)"
SET_OWNER_FROM_CLUSTER = "__setOwnerFromCluster(address)"
UPGRADE_TO_AND_CALL = "upgradeToAndCall(address,bytes)"
INITIALIZE = "initialize(address)"

_EXTRA_ERRORS = (
    "FailedOp(uint256,string)",
    "FailedOpWithRevert(uint256,string,bytes)",
    "Error(string)",
    "Panic(uint256)",
    "NotRegisteredMember()",
    "NotPendingClusterOwner()",
    "OperatorSignerNotAllowed()",
    "VoucherExpired()",
    "ZeroOwner()",
    "ECDSAInvalidSignature()",
    "ECDSAInvalidSignatureLength(uint256)",
    "ECDSAInvalidSignatureS(bytes32)",
    "UUPSUnauthorizedCallContext()",
    "UUPSUnsupportedProxiableUUID(bytes32)",
    "ERC1967InvalidImplementation(address)",
    "InvalidInitialization()",
    "OwnableUnauthorizedAccount(address)",
)
ERROR_NAMES: dict[bytes, str] = {m.selector: m.name for m in ERRORS}
ERROR_NAMES.update({selector(sig): sig.split("(", 1)[0] for sig in _EXTRA_ERRORS})
"""Revert data's first four bytes → error name."""

USER_OPERATION_EVENT = keccak(
    b"UserOperationEvent(bytes32,address,address,uint256,bool,uint256,uint256)"
)
USER_OPERATION_REVERT_REASON = keccak(b"UserOperationRevertReason(bytes32,address,uint256,bytes)")
OWNER_SET_SKIPPED = keccak(b"OwnerSetSkipped(address)")

EIP1967_IMPLEMENTATION_SLOT = (
    int.from_bytes(keccak(b"eip1967.proxy.implementation"), "big") - 1
)
"""ERC-1967 implementation slot: keccak256("eip1967.proxy.implementation") - 1."""


@functools.lru_cache(maxsize=256)
def _function_head(signature: str) -> tuple[bytes, list[str]]:
    """The selector and argument types of a canonical signature (parsed once per signature)."""
    return selector(signature), list(argument_types(signature))


def encode_function(signature: str, *args: Any) -> bytes:
    """``selector ‖ abi.encode(args)`` for a canonical signature (eth-abi)."""
    head, types = _function_head(signature)
    if len(types) != len(args):
        raise ValueError(f"signature={signature!r}: takes {len(types)} arguments, got {len(args)}")
    return head + encode(types, list(args))


def decode_values(types: list[str], output: bytes) -> tuple[Any, ...]:
    """eth-abi decode of return data."""
    return tuple(decode(types, output))


def encode_validate(packed: PackedUserOperation, user_op_hash: bytes, missing: int) -> bytes:
    """validateUserOp calldata as the EntryPoint sends it."""
    return encode_function(VALIDATE_USER_OP, packed.as_abi_tuple(), user_op_hash, missing)


def encode_handle_ops(ops: list[PackedUserOperation], beneficiary: bytes) -> bytes:
    """EntryPoint v0.7 handleOps calldata."""
    return encode_function(HANDLE_OPS, [op.as_abi_tuple() for op in ops], beneficiary)


def error_name(revert_data: bytes) -> str | None:
    """The name of the error ``revert_data`` carries; ``"<empty>"`` / ``"0x…"`` when unknown."""
    if not revert_data:
        return "<empty>"
    return ERROR_NAMES.get(revert_data[:4], "0x" + revert_data[:4].hex())


@dataclass(frozen=True)
class FailedOp:
    """A decoded EntryPoint ``FailedOp`` / ``FailedOpWithRevert`` (e.g. ``AA23 reverted``)."""

    op_index: int
    reason: str
    inner: bytes = b""

    @property
    def code(self) -> str:
        """The AAxx code the reason starts with (PROTOCOL.md §6), or the whole reason."""
        return self.reason.split(" ", 1)[0]


def decode_failed_op(revert_data: bytes) -> FailedOp | None:
    """The FailedOp in handleOps revert data, or None when it is something else."""
    name = error_name(revert_data)
    try:
        if name == "FailedOp":
            index, reason = decode(["uint256", "string"], revert_data[4:])
            return FailedOp(index, reason)
        if name == "FailedOpWithRevert":
            index, reason, inner = decode(["uint256", "string", "bytes"], revert_data[4:])
            return FailedOp(index, reason, inner)
    except (DecodingError, UnicodeDecodeError):
        return None
    return None


@dataclass(frozen=True)
class OpEvent:
    """A ``UserOperationEvent``: which operation ran and whether its execution succeeded."""

    user_op_hash: bytes
    sender: bytes
    nonce: int
    success: bool


def op_events(logs: tuple[Log, ...], entry_point: bytes) -> list[OpEvent]:
    """The UserOperationEvents the EntryPoint emitted, in order."""
    events = []
    for log in logs:
        if log.address != entry_point or not log.topics or log.topics[0] != USER_OPERATION_EVENT:
            continue
        nonce, success, _cost, _used = decode(["uint256", "bool", "uint256", "uint256"], log.data)
        events.append(OpEvent(log.topics[1], log.topics[2][12:], nonce, success))
    return events


def revert_reasons(logs: tuple[Log, ...], entry_point: bytes) -> list[bytes]:
    """The revertReason bytes of every ``UserOperationRevertReason`` log, in order."""
    reasons = []
    for log in logs:
        ours = log.address == entry_point and log.topics
        if ours and log.topics[0] == USER_OPERATION_REVERT_REASON:
            _nonce, reason = decode(["uint256", "bytes"], log.data)
            reasons.append(reason)
    return reasons
