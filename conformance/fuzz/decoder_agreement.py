"""Fuzz target ``decoder_agreement`` (the headline, differential): the same bytes read by
Solidity itself (solc bytecode in pyrevm), the Solidity model, the strict decoder, eth-abi, the
reference webhook's reader and the account's bootstrap parsing (PROTOCOL.md §3; rules WH-066,
WH-067, AC-034, AC-035, UO-017).

Invariant (the oracle is §3):
- the Solidity model equals the EVM exactly: both reject, or both read the same target, value
  and data (keccak and length);
- every other reader either rejects or reads exactly Solidity's target, value, inner selector
  and inner data; a reader that accepts what Solidity rejects is a finding (the webhook would
  approve what the account cannot execute). The strict decoder refusing a valid non-canonical
  layout is by design, not a finding;
- the account's ``validateUserOp`` on the bytes reverts or answers as on the canonical encoding
  of Solidity's reading (``account_probe``), when an account is attached.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from eth_hash.auto import keccak

from conformance.fuzz.account_probe import AccountProbe, check_bootstrap_reading
from conformance.fuzz.base import FEEDBACK, Finding, draw_examples, require, unique
from conformance.fuzz.dictionaries import CALLDATA_TOKENS
from conformance.fuzz.mutators import calldata_mutator
from conformance.fuzz.solidity_probe import EvmReading, SolidityProbe
from conformance.protocol.calldata import (
    EXECUTE_SELECTOR,
    DecodeError,
    ExecuteCall,
    decode_execute_strict,
)
from conformance.protocol.solidity_abi import decode_execute_eth_abi, decode_execute_solidity
from conformance.reference.webhook.policy import decode_call_data

NAME = "decoder_agreement"
RULES = ("WH-066", "WH-067", "AC-034", "AC-035", "UO-017")
DICTIONARY = CALLDATA_TOKENS
MUTATOR = calldata_mutator

Reader = Callable[[bytes], ExecuteCall]


def webhook_reader(calldata: bytes) -> ExecuteCall:
    """The reference webhook's reading: policy step 4 on the callData's JSON hex text."""
    return decode_call_data("0x" + calldata.hex())


READERS: dict[str, Reader] = {
    "strict": decode_execute_strict,
    "eth_abi": decode_execute_eth_abi,
    "webhook": webhook_reader,
}
"""The readers held to Solidity's reading (planted bugs replace one)."""

ACCOUNT_SPEC: dict[str, str] | None = {"kind": "reference"}
"""The account whose bootstrap parsing is compared (None: no account; env AMC_FUZZ_ACCOUNT)."""

_state: dict[str, object] = {}


def setup() -> None:
    """Deploy the probe (and the account world) once per process."""
    if "probe" not in _state:
        _state["probe"] = SolidityProbe()
    spec = _account_spec()
    if spec is not None and "account" not in _state:
        _state["account"] = AccountProbe.open(spec)


def _account_spec() -> dict[str, str] | None:
    artifact = os.environ.get("AMC_FUZZ_ACCOUNT_ARTIFACT")
    if artifact:
        return {"kind": "artifact", "artifact": artifact}
    mutant = os.environ.get("AMC_FUZZ_ACCOUNT_MUTANT")
    if mutant:
        return {"kind": "reference", "mutant": mutant}
    return ACCOUNT_SPEC


def _model(calldata: bytes) -> ExecuteCall | None:
    try:
        return decode_execute_solidity(calldata)
    except DecodeError:
        return None


def _same(model: ExecuteCall | None, evm: EvmReading | None) -> bool:
    if model is None or evm is None:
        return model is None and evm is None
    return (model.target, model.value, len(model.data)) == (evm.target, evm.value,
                                                            evm.data_length) \
        and keccak(model.data) == evm.data_hash


def _check_reader(name: str, reader: Reader, calldata: bytes, solidity: ExecuteCall | None) -> None:
    try:
        reading = reader(calldata)
    except DecodeError:
        return
    rule = "WH-067" if solidity is None else "WH-066"
    require(solidity is not None, rule,
            f"reader {name!r} accepts callData Solidity's decoder rejects: read {reading.reading}")
    assert solidity is not None
    require(reading == solidity, rule,
            lambda: f"reader {name!r} reads target 0x{reading.target.hex()} value {reading.value} "
                    f"data 0x{reading.data[:40].hex()}; Solidity reads target "
                    f"0x{solidity.target.hex()} value {solidity.value} "
                    f"data 0x{solidity.data[:40].hex()}")


def TestOneInput(data: bytes) -> None:  # noqa: N802 (libFuzzer's name)
    """Every reader against Solidity on ``data``; raises Finding on disagreement."""
    if "probe" not in _state:
        setup()
    probe = _state["probe"]
    assert isinstance(probe, SolidityProbe)
    model = _model(data)
    evm = probe.read(data)
    if not _same(model, evm):
        raise Finding("WH-066", f"the Solidity model reads {model and model.reading}, solc in the "
                                f"EVM reads {evm}")
    for name, reader in READERS.items():
        _check_reader(name, reader, data, model)
    account = _state.get("account")
    if account is not None and FEEDBACK.equal(0, data[:4], EXECUTE_SELECTOR):
        assert isinstance(account, AccountProbe)
        check_bootstrap_reading(account, data)


def seeds(*, canonical_only: bool = False) -> list[bytes]:
    """Seeds: the account's real bootstrap call, canonical callData from the hypothesis
    generators and (unless ``canonical_only``) every calldata vector."""
    from conformance.fuzz.corpus import calldata_vectors
    from conformance.strategies import execute_calldata

    found = [*draw_examples(execute_calldata(), 24)]
    spec = _account_spec()
    if spec is not None:
        account = AccountProbe.open(spec)
        try:
            found[:0] = [account.bootstrap_call(variant) for variant in range(6)]
        finally:
            account.close()
    if not canonical_only:
        found += calldata_vectors()
    return unique(found)
