"""The UserOperation encoding rules judged on what a sidecar really submits (PROTOCOL.md §2, §3):
the raw JSON of every ``eth_sendUserOperation`` and its signature, callData and packing."""

from __future__ import annotations

import re

from conformance.oracle.sidecar import (
    SEND,
    Finding,
    NotJudged,
    RunView,
    canonical_execute,
    evidence,
    op_signer,
    submitted_op,
)
from conformance.protocol.signatures import SignatureClass, classify_signature

QUANTITY = re.compile(r"0x(0|[1-9a-f][0-9a-f]*)")
BYTES = re.compile(r"0x([0-9a-fA-F]{2})*")
QUANTITY_KEYS = ("nonce", "callGasLimit", "verificationGasLimit", "preVerificationGas",
                 "maxFeePerGas", "maxPriorityFeePerGas", "paymasterVerificationGasLimit",
                 "paymasterPostOpGasLimit")
BYTE_KEYS = ("callData", "signature", "paymasterData", "factoryData")
PACKED_128 = ("callGasLimit", "verificationGasLimit", "maxFeePerGas", "maxPriorityFeePerGas",
              "paymasterVerificationGasLimit", "paymasterPostOpGasLimit")
PAYMASTER_KEYS = ("paymaster", "paymasterVerificationGasLimit", "paymasterPostOpGasLimit",
                  "paymasterData")


def _sends(view: RunView) -> list[dict]:  # type: ignore[type-arg]
    sends = [e for e in view.calls(SEND) if e["params"] and isinstance(e["params"][0], dict)]
    if not sends:
        raise NotJudged("the sidecar submitted no operation in this run")
    return sends


def judge_quantities(view: RunView) -> Finding | None:
    """UO-001: quantities are minimal lower-case 0x hex, zero as 0x0."""
    for e in _sends(view):
        for key in QUANTITY_KEYS:
            value = e["params"][0].get(key)
            if value is not None and not (isinstance(value, str) and QUANTITY.fullmatch(value)):
                return Finding(f"{key}={value!r} is not minimal lower-case 0x hex", (e,))
    return None


def judge_byte_fields(view: RunView) -> Finding | None:
    """UO-002: byte fields are 0x-prefixed hex (even length)."""
    for e in _sends(view):
        for key in BYTE_KEYS:
            value = e["params"][0].get(key)
            if value is not None and not (isinstance(value, str) and BYTES.fullmatch(value)):
                return Finding(f"{key}={str(value)[:24]!r}… is not 0x hex bytes", (e,))
    return None


def judge_paymaster_keys(view: RunView) -> Finding | None:
    """UO-003: the four paymaster keys appear together, and only with a paymaster."""
    for e in _sends(view):
        present = [k for k in PAYMASTER_KEYS if k in e["params"][0]]
        if present and len(present) != len(PAYMASTER_KEYS):
            return Finding(f"only {present} of the paymaster keys are present", (e,))
    return None


def judge_no_factory(view: RunView) -> Finding | None:
    """UO-004: a node never sets factory or factoryData."""
    for e in _sends(view):
        if "factory" in e["params"][0] or "factoryData" in e["params"][0]:
            return Finding("the op sets factory/factoryData (initCode must be empty)", (e,))
    return None


def judge_fits_128(view: RunView) -> Finding | None:
    """UO-008: the values packed into 16-byte fields fit in 128 bits."""
    for e in _sends(view):
        for key in PACKED_128:
            value = e["params"][0].get(key)
            if isinstance(value, str) and QUANTITY.fullmatch(value) and int(value, 16) >= 1 << 128:
                return Finding(f"{key} does not fit in 128 bits", (e,))
    return None


def judge_signature_form(view: RunView) -> Finding | None:
    """UO-011…013: 65 bytes r‖s‖v, v 27/28, low s, made over the EIP-191 digest."""
    for e in _sends(view):
        op = submitted_op(e)
        if op is None:
            return Finding("the submitted op does not parse", (e,))
        kind = classify_signature(op.signature)
        if kind is not SignatureClass.VALID:
            return Finding(f"the op's signature is {kind.value}", (e,))
    return None


def judge_packing_agrees(view: RunView) -> Finding | None:
    """UO-005/006/007/009: the signature verifies over the suite's userOpHash of the packed op
    (the sidecar packed and hashed alike) for ops that the EntryPoint then ran."""
    for e in _sends(view):
        op = submitted_op(e)
        if op is not None and "error" not in e and op_signer(op, view) != view.owner:
            return Finding("the signature does not verify over the userOpHash of the packed op "
                           "(the sidecar packs or hashes differently)", evidence([e]))
    return None


def judge_canonical_calldata(view: RunView) -> Finding | None:
    """UO-017: canonical outer callData (offset 0x60, padded, nothing trailing)."""
    for e in _sends(view):
        op = submitted_op(e)
        if op is None or not canonical_execute(op):
            return Finding("the op's callData is not canonical execute calldata", (e,))
    return None
