"""What a conforming ClusterMember must answer to ``validateUserOp`` (PROTOCOL.md §6; pure).

The suite's own reading of §6 steps 1-6, independent of the reference contracts: for the
account's state (``AccountView``) and one call (``ValidationInput``) it returns an
``ExpectedValidation`` — revert with a named error, or return 0 / 1 — with the prefund the
EntryPoint must receive and the rule id whose statement decides the case.

Readings of callData follow Solidity's ABI decoder (PROTOCOL.md §3, decoder agreement): the
outer ``execute`` arguments through ``solidity_abi.decode_execute_solidity``; the inner
``dstack_register`` / ``operator_register`` arguments through ``read_register_call``, a model of
the checks solc 0.8.24 emits for ``abi.decode(call[4:], (Proof, address, bytes32, bytes32))``.
A callData that is not the canonical encoding but that Solidity accepts may be read exactly as
Solidity reads it or make validation revert (AC-035); one Solidity rejects must revert (AC-034).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from conformance.protocol.attestation import binding_hash
from conformance.protocol.calldata import EXECUTE_SELECTOR, DecodeError, decode_execute_strict
from conformance.protocol.selectors import DSTACK_REGISTER, OPERATOR_REGISTER
from conformance.protocol.signatures import (
    classify_signature,
    eip191_digest,
    recover_digest,
    recover_eip191,
)
from conformance.protocol.solidity_abi import decode_execute_solidity

ZERO_ADDRESS = bytes(20)
UINT64_MAX = (1 << 64) - 1
_ADDRESS_LIMIT = 1 << 160

SIG_VALIDATION_SUCCESS = 0
SIG_VALIDATION_FAILED = 1
"""The only two answers of validateUserOp (PROTOCOL.md §6 step 6, AC-014)."""

ONLY_ENTRY_POINT = "OnlyEntryPoint"
INVALID_BOOTSTRAP_CALL = "InvalidBootstrapCall"


class FieldKind(StrEnum):
    """ABI kinds of the struct fields the account decodes (PROTOCOL.md §4)."""

    BYTES32 = "bytes32"
    ADDRESS = "address"
    UINT64 = "uint64"
    BYTES = "bytes"


DSTACK_PROOF_FIELDS: tuple[FieldKind, ...] = (
    FieldKind.BYTES32, FieldKind.BYTES32, *(FieldKind.BYTES,) * 6,
)  # fmt: skip
"""DstackProof (bytes32,bytes32,bytes,bytes,bytes,bytes,bytes,string): a string decodes like
bytes (solc does not check UTF-8)."""

OPERATOR_PROOF_FIELDS: tuple[FieldKind, ...] = (
    FieldKind.ADDRESS, FieldKind.ADDRESS, FieldKind.UINT64, FieldKind.BYTES,
)  # fmt: skip
"""OperatorProof (address,address,uint64,bytes)."""


class InnerRejected(ValueError):
    """Solidity's decoder reverts on these register-call bytes (PROTOCOL.md §3, AC-034)."""


@dataclass(frozen=True)
class RegisterReading:
    """Solidity's reading of ``register(proof, memberContract, xPubKey, wgPubKey)``."""

    proof: tuple[bytes | int, ...]
    member: bytes
    x_pub_key: bytes
    wg_pub_key: bytes
    canonical: bool


def _word(data: bytes, position: int) -> int:
    """``calldataload(position)``: 32 bytes big-endian, zero-filled past the end."""
    chunk = data[position : position + 32]
    return int.from_bytes(chunk, "big") << (8 * (32 - len(chunk)))


def _read_field(body: bytes, start: int, index: int, kind: FieldKind) -> bytes | int:
    """One struct field as solc decodes it (offsets relative to the struct's start)."""
    value = _word(body, start + 32 * index)
    if kind is FieldKind.BYTES32:
        return value.to_bytes(32, "big")
    if kind is FieldKind.ADDRESS:
        if value >= _ADDRESS_LIMIT:
            raise InnerRejected(f"field {index}: address word {value:#x} is not clean")
        return value.to_bytes(20, "big")
    if kind is FieldKind.UINT64:
        if value > UINT64_MAX:
            raise InnerRejected(f"field {index}: {value:#x} does not fit uint64")
        return value
    if value > UINT64_MAX:
        raise InnerRejected(f"field {index}: offset {value:#x} > 0xffffffffffffffff")
    position = start + value
    if not position + 0x1F < len(body):
        raise InnerRejected(f"field {index}: no length word at {position:#x}")
    length = _word(body, position)
    if length > UINT64_MAX or position + 32 + length > len(body):
        raise InnerRejected(f"field {index}: length {length:#x} passes the end")
    return body[position + 32 : position + 32 + length]


def read_register_call(inner: bytes, fields: tuple[FieldKind, ...]) -> RegisterReading:
    """Solidity's reading of ``selector ‖ abi.encode(proof, address, bytes32, bytes32)``.

    The checks solc 0.8.24 emits (ABI coder v2): a 4-word head; the proof offset at most
    2^64-1 and a whole struct head after it; each dynamic member's offset at most 2^64-1, its
    length word inside the data and its bytes not past the end; clean address words; uint64
    in range. Nothing else: trailing bytes, dirty padding and any in-range offset are accepted.
    Raises InnerRejected where the EVM reverts.
    """
    body = inner[4:]
    if len(body) < 128:
        raise InnerRejected(f"{len(body)} argument bytes: the head needs 128")
    offset = _word(body, 0)
    if offset > UINT64_MAX:
        raise InnerRejected(f"proof offset {offset:#x} > 0xffffffffffffffff")
    if len(body) - offset < 32 * len(fields):
        raise InnerRejected(f"proof at {offset:#x}: no whole struct head before the end")
    proof = tuple(_read_field(body, offset, i, kind) for i, kind in enumerate(fields))
    member = _word(body, 32)
    if member >= _ADDRESS_LIMIT:
        raise InnerRejected(f"memberContract word {member:#x} is not clean")
    canonical = _is_canonical(body, offset, proof, fields)
    return RegisterReading(
        proof, member.to_bytes(20, "big"), body[64:96], body[96:128], canonical
    )


def _is_canonical(
    body: bytes, offset: int, proof: tuple[bytes | int, ...], fields: tuple[FieldKind, ...]
) -> bool:
    """True when every offset is where the canonical encoder puts it and nothing trails."""
    if offset != 128:
        return False
    cursor = 32 * len(fields)
    for index, (kind, value) in enumerate(zip(fields, proof, strict=True)):
        if kind is not FieldKind.BYTES:
            continue
        assert isinstance(value, bytes)
        if _word(body, offset + 32 * index) != cursor:
            return False
        cursor += 32 + (len(value) + 31) // 32 * 32
    return len(body) == offset + cursor


class Step(StrEnum):
    """The §6 step that decided a case."""

    CALLER = "caller"
    SIGNATURE = "signature"
    BOOTSTRAP_SHAPE = "bootstrap-shape"
    BOOTSTRAP_SIGNER = "bootstrap-signer"
    OWNER = "owner"


@dataclass(frozen=True)
class AccountView:
    """What the oracle must know of the account: itself, its cluster, its owner (None: unset)."""

    account: bytes
    cluster: bytes
    owner: bytes | None
    multi_attestor: bool = False


@dataclass(frozen=True)
class ValidationInput:
    """One ``validateUserOp`` call: who calls, the userOpHash, the op's signature and callData."""

    user_op_hash: bytes
    signature: bytes
    call_data: bytes
    missing_account_funds: int = 0
    from_entry_point: bool = True


@dataclass(frozen=True)
class ExpectedValidation:
    """The answer §6 requires: ``returns`` 0/1, or a revert with ``error`` when it is None.

    ``may_revert`` marks a non-canonical callData Solidity accepts: reverting is conforming
    too (AC-035). ``rule`` is the rule id whose statement decides the case.
    """

    returns: int | None
    error: str | None
    prefund: int
    step: Step
    rule: str
    detail: str
    may_revert: bool = False

    @property
    def reverts(self) -> bool:
        """True when the call must revert."""
        return self.returns is None


@dataclass(frozen=True)
class _Shape:
    """A bootstrap callData read as far as it goes: the expected signer, or why it reverts."""

    signer: bytes | None
    rule: str
    detail: str
    canonical: bool


def expect_validation(view: AccountView, case: ValidationInput) -> ExpectedValidation:
    """The answer of a conforming account to ``case`` (PROTOCOL.md §6 steps 1-6)."""
    if not case.from_entry_point:
        return ExpectedValidation(None, ONLY_ENTRY_POINT, 0, Step.CALLER, "AC-001", "not the EP")
    digest = eip191_digest(case.user_op_hash)
    prefund = case.missing_account_funds
    signer = recover_digest(digest, case.signature)
    if signer is None:
        verdict = classify_signature(case.signature, digest)
        detail = f"userOp signature is {verdict.value}"
        return ExpectedValidation(SIG_VALIDATION_FAILED, None, prefund, Step.SIGNATURE, "AC-002",
                                  detail)
    if view.owner is not None:
        ok = signer == view.owner
        detail = "signer is the owner" if ok else "signer is not the owner"
        return ExpectedValidation(_answer(ok), None, prefund, Step.OWNER, "AC-012", detail)
    shape = read_bootstrap(view, case.call_data)
    if shape.signer is None:
        return ExpectedValidation(None, INVALID_BOOTSTRAP_CALL, 0, Step.BOOTSTRAP_SHAPE,
                                  shape.rule, shape.detail)
    may_revert = not shape.canonical
    if shape.signer == ZERO_ADDRESS:
        return ExpectedValidation(SIG_VALIDATION_FAILED, None, prefund, Step.BOOTSTRAP_SIGNER,
                                  "AC-010", "expected signer is zero", may_revert)
    ok = signer == shape.signer
    detail = f"userOp signer {'is' if ok else 'is not'} the expected 0x{shape.signer.hex()}"
    return ExpectedValidation(_answer(ok), None, prefund, Step.BOOTSTRAP_SIGNER, shape.rule,
                              detail, may_revert)


def _answer(ok: bool) -> int:
    return SIG_VALIDATION_SUCCESS if ok else SIG_VALIDATION_FAILED


def _reject(rule: str, detail: str) -> _Shape:
    return _Shape(None, rule, detail, True)


def read_bootstrap(view: AccountView, call_data: bytes) -> _Shape:
    """The bootstrap reading of callData (§6 step 3): the expected signer, or the reject."""
    if len(call_data) < 4 or call_data[:4] != EXECUTE_SELECTOR:
        return _reject("AC-004", f"outer selector 0x{call_data[:4].hex()} is not execute")
    try:
        call = decode_execute_solidity(call_data)
    except DecodeError as exc:
        return _reject("AC-035", f"Solidity's decoder rejects the execute call: {exc}")
    outer_canonical = _outer_canonical(call_data)
    if call.target != view.cluster:
        return _reject("AC-005", f"target 0x{call.target.hex()} is not the account's cluster")
    if call.value != 0:
        return _reject("AC-006", f"value {call.value} is not zero")
    selector = call.data[:4] if len(call.data) >= 4 else b""
    if view.multi_attestor and selector == OPERATOR_REGISTER.selector:
        return _operator_shape(view, call.data, outer_canonical)
    if selector != DSTACK_REGISTER.selector:
        return _reject("AC-007", f"inner selector 0x{selector.hex()} is not dstack_register")
    try:
        reading = read_register_call(call.data, DSTACK_PROOF_FIELDS)
    except InnerRejected as exc:
        return _reject("AC-034", f"Solidity's decoder rejects dstack_register: {exc}")
    if reading.member != view.account:
        return _reject("AC-008", f"memberContract 0x{reading.member.hex()} is not the account")
    message_signature = reading.proof[2]
    assert isinstance(message_signature, bytes)
    binding = binding_hash(view.cluster, view.account, reading.x_pub_key, reading.wg_pub_key)
    expected = recover_eip191(binding, message_signature) or ZERO_ADDRESS
    detail = "binding signer of the proof"
    return _Shape(expected, "AC-009", detail, outer_canonical and reading.canonical)


def _operator_shape(view: AccountView, inner: bytes, outer_canonical: bool) -> _Shape:
    """multi-attestor: operator_register bootstrap, expected signer = proof.ownerKey (AC-011)."""
    try:
        reading = read_register_call(inner, OPERATOR_PROOF_FIELDS)
    except InnerRejected as exc:
        return _reject("AC-034", f"Solidity's decoder rejects operator_register: {exc}")
    if reading.member != view.account:
        return _reject("AC-008", f"memberContract 0x{reading.member.hex()} is not the account")
    owner_key = reading.proof[1]
    assert isinstance(owner_key, bytes)
    return _Shape(owner_key, "AC-011", "proof.ownerKey", outer_canonical and reading.canonical)


def _outer_canonical(call_data: bytes) -> bool:
    try:
        decode_execute_strict(call_data)
    except DecodeError:
        return False
    return True


def outcome_matches(expected: ExpectedValidation, returned: int | None, error: str | None, *,
                    any_error: bool = False) -> bool:
    """Whether an observed answer (``returned`` None = reverted with ``error``) conforms;
    ``any_error`` accepts a revert with any error where one is due."""
    if returned is None:
        if expected.reverts:
            return any_error or expected.error is None or error == expected.error
        return expected.may_revert
    return returned == expected.returns
