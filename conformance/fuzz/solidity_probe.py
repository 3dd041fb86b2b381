"""Solidity itself reading ``execute`` calldata: solc 0.8.24 bytecode of
``tests/fixtures/SolidityDecoderProbe.sol`` run in pyrevm (PROTOCOL.md §3; WH-066, WH-067,
AC-035).

``execute(address,uint256,bytes calldata)`` returns ``abi.encode(target, value, keccak256(data),
data.length)`` of what solc's decoder read, or reverts where it rejects. Each call runs inside a
journal checkpoint that is reverted at once, so nothing accumulates (pyrevm otherwise keeps
~400 B per ``message_call``), and each execution's signature (success, gas used, revert data,
return-data hash) lights an EVM-feedback counter when feedback is on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import eth_abi
from eth_hash.auto import keccak
from pyrevm import EVM

from conformance.fuzz.base import FEEDBACK

PROBE_ARTIFACT = Path(__file__).resolve().parents[2] / "tests/fixtures/solidity_decoder_probe.json"
"""The compiled probe (solc 0.8.24; legacy and via-IR bytecode)."""

CALLER = "0x" + "11" * 20
_REVERT_MARK = "Revert"


@dataclass(frozen=True, slots=True)
class EvmReading:
    """What solc's decoder read: target, value, keccak256 and length of ``data``."""

    target: bytes
    value: int
    data_hash: bytes
    data_length: int


@dataclass(frozen=True, slots=True)
class Execution:
    """One EVM execution: success, gas used, output or revert data (for feedback and oracles)."""

    success: bool
    gas_used: int
    output: bytes

    def signature(self) -> bytes:
        """A cheap fingerprint: success, gas used, the revert selector, the return-data hash."""
        head = self.output[:4] if not self.success else keccak(self.output)[:8]
        return bytes([self.success]) + self.gas_used.to_bytes(8, "big") + head


def run_call(evm: EVM, to: str, data: bytes) -> Execution:
    """``message_call`` inside a checkpoint that is always reverted (flat memory)."""
    checkpoint = evm.snapshot()
    try:
        output = bytes(evm.message_call(CALLER, to, data))
        result = evm.result
        execution = Execution(True, result.gas_used if result is not None else 0, output)
    except RuntimeError as exc:
        execution = _failed(str(exc))
    finally:
        evm.revert(checkpoint)
    if FEEDBACK.enabled:
        FEEDBACK.branch(execution.signature())
    return execution


def _failed(text: str) -> Execution:
    """A revert or halt from pyrevm's error text (``Revert { gas_used: N, output: 0x… }``)."""
    if not text.startswith(_REVERT_MARK) and not text.startswith("Halt"):
        raise RuntimeError(f"pyrevm refused the call: {text}")
    gas = 0
    if "gas_used: " in text:
        gas = int(text.split("gas_used: ", 1)[1].split(",", 1)[0].rstrip(" }"))
    output = bytes.fromhex(text.rsplit("0x", 1)[1].rstrip(" }")) if "output: 0x" in text else b""
    return Execution(False, gas, output)


class SolidityProbe:
    """The probe deployed in a fresh pyrevm (Cancun); ``read(calldata)`` is Solidity's reading."""

    def __init__(self, variant: str = "legacy") -> None:
        artifact = json.loads(PROBE_ARTIFACT.read_text())
        self.evm = EVM(spec_id="Cancun")  # revm's exact spelling
        self.evm.set_balance(CALLER, 10**18)
        self.address = self.evm.deploy(CALLER, bytes.fromhex(artifact["bytecode"][variant][2:]))

    def execute(self, calldata: bytes) -> Execution:
        """Run ``calldata`` against the probe."""
        return run_call(self.evm, self.address, calldata)

    def read(self, calldata: bytes) -> EvmReading | None:
        """Solidity's reading of ``execute`` calldata; None where it reverts."""
        execution = self.execute(calldata)
        if not execution.success:
            return None
        (encoded,) = eth_abi.decode(["bytes"], execution.output)
        target, value, data_hash, length = eth_abi.decode(
            ["address", "uint256", "bytes32", "uint256"], encoded)
        return EvmReading(bytes.fromhex(target[2:]), value, data_hash, length)
