"""EIP-4337 v0.7 UserOperations: unpacked JSON, packed form, userOpHash, signing (PROTOCOL.md §2).

The unpacked form is what the webhook receives and the sidecar sends; the packed form is what
the EntryPoint hands to ``validateUserOp``. ``user_op_hash`` binds chain id, EntryPoint and
the paymaster fields; the owner signs its EIP-191 digest.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.encoding import AddressEncoder
from eth_abi.registry import registry

from conformance.protocol.hexutil import (
    HexFormatError,
    keccak,
    parse_address,
    parse_data,
    parse_quantity,
    to_data,
    to_quantity,
)
from conformance.protocol.signatures import sign_eip191

ENTRY_POINT_V07 = bytes.fromhex("0000000071727De22E5E9d8BAf0edAc6f37da032")
"""The canonical EntryPoint v0.7, the same on every chain (PROTOCOL.md §1)."""

MAX_UINT128 = (1 << 128) - 1
"""Upper bound of every 16-byte packed field (PROTOCOL.md §2)."""

MAX_UINT256 = (1 << 256) - 1

PACKED_USER_OP_ABI = "(address,uint256,bytes,bytes,bytes32,uint256,bytes32,bytes,bytes)"
"""The ABI tuple of v0.7 ``PackedUserOperation`` (for validateUserOp / handleOps calls)."""


class UserOpFormatError(ValueError):
    """A UserOperation field that the v0.7 wire format does not allow; ``field`` names it."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field


@dataclass(frozen=True)
class UserOperation:
    """A v0.7 UserOperation in its unpacked form (PROTOCOL.md §2), as Python values."""

    sender: bytes
    nonce: int
    factory: bytes | None = None
    factory_data: bytes = b""
    call_data: bytes = b""
    call_gas_limit: int = 0
    verification_gas_limit: int = 0
    pre_verification_gas: int = 0
    max_fee_per_gas: int = 0
    max_priority_fee_per_gas: int = 0
    paymaster: bytes | None = None
    paymaster_verification_gas_limit: int = 0
    paymaster_post_op_gas_limit: int = 0
    paymaster_data: bytes = b""
    signature: bytes = b""

    def replace(self, **changes: Any) -> UserOperation:
        """A copy with ``changes`` applied, as ``dataclasses.replace`` (an unknown name is a
        TypeError) but without running the frozen ``__init__`` again: the class has no
        ``__post_init__``, so copying the field values is all ``replace`` would do."""
        unknown = changes.keys() - _USER_OP_FIELDS
        if unknown:
            raise TypeError(f"UserOperation has no field {sorted(unknown)[0]!r}")
        copy = object.__new__(type(self))
        values = copy.__dict__
        values.update(self.__dict__)
        values.update(changes)
        return copy


_USER_OP_FIELDS = frozenset(field.name for field in dataclasses.fields(UserOperation))


@dataclass(frozen=True)
class PackedUserOperation:
    """A v0.7 ``PackedUserOperation`` (PROTOCOL.md §2 "Packing")."""

    sender: bytes
    nonce: int
    init_code: bytes
    call_data: bytes
    account_gas_limits: bytes
    pre_verification_gas: int
    gas_fees: bytes
    paymaster_and_data: bytes
    signature: bytes

    def as_abi_tuple(self) -> tuple[Any, ...]:
        """The fields in ABI order of ``PACKED_USER_OP_ABI``, ready for eth-abi ``encode``."""
        return (
            self.sender,
            self.nonce,
            self.init_code,
            self.call_data,
            self.account_gas_limits,
            self.pre_verification_gas,
            self.gas_fees,
            self.paymaster_and_data,
            self.signature,
        )

    @classmethod
    def from_abi_tuple(cls, values: tuple[Any, ...]) -> PackedUserOperation:
        """Rebuild from an eth-abi decoded ``PACKED_USER_OP_ABI`` tuple (address as text)."""
        sender = values[0]
        if isinstance(sender, str):
            sender = parse_address(sender)
        return cls(sender, *values[1:])


# Unpacked JSON keys (PROTOCOL.md §2) in wire order, with their field names and kinds.
_KeyGroup = tuple[tuple[str, str, str], ...]
_FACTORY_KEYS: _KeyGroup = (
    ("factory", "factory", "address"),
    ("factoryData", "factory_data", "data"),
)
_PAYMASTER_KEYS: _KeyGroup = (
    ("paymaster", "paymaster", "address"),
    ("paymasterVerificationGasLimit", "paymaster_verification_gas_limit", "quantity"),
    ("paymasterPostOpGasLimit", "paymaster_post_op_gas_limit", "quantity"),
    ("paymasterData", "paymaster_data", "data"),
)
_CORE_KEYS: _KeyGroup = (
    ("sender", "sender", "address"),
    ("nonce", "nonce", "quantity"),
    ("callData", "call_data", "data"),
    ("callGasLimit", "call_gas_limit", "quantity"),
    ("verificationGasLimit", "verification_gas_limit", "quantity"),
    ("preVerificationGas", "pre_verification_gas", "quantity"),
    ("maxFeePerGas", "max_fee_per_gas", "quantity"),
    ("maxPriorityFeePerGas", "max_priority_fee_per_gas", "quantity"),
    ("signature", "signature", "data"),
)
JSON_KEYS: tuple[str, ...] = (
    "sender", "nonce", "factory", "factoryData", "callData", "callGasLimit",
    "verificationGasLimit", "preVerificationGas", "maxFeePerGas", "maxPriorityFeePerGas",
    "paymaster", "paymasterVerificationGasLimit", "paymasterPostOpGasLimit", "paymasterData",
    "signature",
)  # fmt: skip
"""The 15 unpacked keys in wire order (PROTOCOL.md §2)."""


def _parse(key: str, kind: str, value: object, canonical: bool) -> bytes | int:
    if not isinstance(value, str):
        raise UserOpFormatError(key, f"must be a 0x hex string, got {type(value).__name__}")
    try:
        parsed: bytes | int
        if kind == "address":
            parsed = parse_address(value)
        elif kind == "data":
            parsed = parse_data(value)
        else:
            parsed = parse_quantity(value)
    except HexFormatError as exc:
        raise UserOpFormatError(key, str(exc)) from exc
    if isinstance(parsed, int) and parsed > MAX_UINT256:
        raise UserOpFormatError(key, f"{value[:20]}… does not fit in uint256")
    if canonical and kind != "address" and _render(kind, parsed) != value:
        raise UserOpFormatError(key, f"{value[:20]!r} is not minimal lower-case hex")
    return parsed


def _render(kind: str, value: bytes | int) -> str:
    return to_quantity(value) if isinstance(value, int) else to_data(value)


def from_json(obj: Mapping[str, Any], *, canonical: bool = False) -> UserOperation:
    """Parse an unpacked v0.7 UserOperation (PROTOCOL.md §2), strictly.

    Required: sender, nonce, callData, the five gas/fee quantities, signature. factory and
    factoryData come together or not at all; the three paymaster keys only with ``paymaster``,
    and then all of them. Unknown keys and non-string values are rejected. ``canonical=True``
    also demands minimal lower-case quantities and lower-case byte fields.
    """
    if not isinstance(obj, Mapping):
        raise UserOpFormatError("userOperation", "must be a JSON object")
    unknown = sorted(set(obj) - set(JSON_KEYS))
    if unknown:
        raise UserOpFormatError(unknown[0], "unknown UserOperation key")
    fields: dict[str, Any] = {}
    groups: list[tuple[_KeyGroup, bool]] = [
        (_CORE_KEYS, True),
        (_FACTORY_KEYS, "factory" in obj),
        (_PAYMASTER_KEYS, "paymaster" in obj),
    ]
    for keys, wanted in groups:
        for key, name, kind in keys:
            if key not in obj:
                if wanted:
                    raise UserOpFormatError(key, "required key is missing")
                continue
            if not wanted:
                raise UserOpFormatError(key, f"present without {keys[0][0]}")
            fields[name] = _parse(key, kind, obj[key], canonical)
    return UserOperation(**fields)


def _check_optional_groups(op: UserOperation) -> None:
    if op.factory is None and op.factory_data:
        raise UserOpFormatError("factoryData", "set without factory")
    if op.paymaster is None and (
        op.paymaster_verification_gas_limit or op.paymaster_post_op_gas_limit or op.paymaster_data
    ):
        raise UserOpFormatError("paymaster", "paymaster fields set without paymaster")


def to_json(op: UserOperation) -> dict[str, str]:
    """The unpacked JSON of ``op`` (PROTOCOL.md §2): minimal lower-case quantities, ``0x0``
    for zero, factory keys only with a factory, paymaster keys only with a paymaster."""
    _check_optional_groups(op)
    groups: list[_KeyGroup] = [_CORE_KEYS]
    if op.factory is not None:
        groups.append(_FACTORY_KEYS)
    if op.paymaster is not None:
        groups.append(_PAYMASTER_KEYS)
    present = {key: (name, kind) for keys in groups for key, name, kind in keys}
    return {
        key: _render(present[key][1], getattr(op, present[key][0]))
        for key in JSON_KEYS
        if key in present
    }


def _u128(field: str, value: int) -> bytes:
    if not 0 <= value <= MAX_UINT128:
        raise UserOpFormatError(field, f"{value} does not fit in 128 bits")
    return value.to_bytes(16, "big")


def _packed_fields(op: UserOperation) -> tuple[bytes, bytes, bytes, bytes]:
    """initCode, accountGasLimits, gasFees and paymasterAndData of ``op`` (§2 "Packing")."""
    _check_optional_groups(op)
    init_code = (op.factory + op.factory_data) if op.factory is not None else b""
    paymaster_and_data = b""
    if op.paymaster is not None:
        paymaster_and_data = (
            op.paymaster
            + _u128("paymasterVerificationGasLimit", op.paymaster_verification_gas_limit)
            + _u128("paymasterPostOpGasLimit", op.paymaster_post_op_gas_limit)
            + op.paymaster_data
        )
    account_gas_limits = _u128("verificationGasLimit", op.verification_gas_limit) + _u128(
        "callGasLimit", op.call_gas_limit
    )
    gas_fees = _u128("maxPriorityFeePerGas", op.max_priority_fee_per_gas) + _u128(
        "maxFeePerGas", op.max_fee_per_gas
    )
    return init_code, account_gas_limits, gas_fees, paymaster_and_data


def pack(op: UserOperation) -> PackedUserOperation:
    """Pack ``op`` (PROTOCOL.md §2): every 16-byte field must fit in 128 bits."""
    init_code, account_gas_limits, gas_fees, paymaster_and_data = _packed_fields(op)
    return PackedUserOperation(
        sender=op.sender,
        nonce=op.nonce,
        init_code=init_code,
        call_data=op.call_data,
        account_gas_limits=account_gas_limits,
        pre_verification_gas=op.pre_verification_gas,
        gas_fees=gas_fees,
        paymaster_and_data=paymaster_and_data,
        signature=op.signature,
    )


def unpack(packed: PackedUserOperation) -> UserOperation:
    """Split a packed operation back into its unpacked fields (inverse of ``pack``)."""
    for name in ("account_gas_limits", "gas_fees"):
        if len(getattr(packed, name)) != 32:
            raise UserOpFormatError(name, "must be 32 bytes")
    if 0 < len(packed.init_code) < 20:
        raise UserOpFormatError("initCode", "shorter than a factory address")
    pad = packed.paymaster_and_data
    if 0 < len(pad) < 52:
        raise UserOpFormatError("paymasterAndData", "shorter than 52 bytes")
    gas, fees = packed.account_gas_limits, packed.gas_fees
    return UserOperation(
        sender=packed.sender,
        nonce=packed.nonce,
        factory=packed.init_code[:20] or None,
        factory_data=packed.init_code[20:],
        call_data=packed.call_data,
        call_gas_limit=int.from_bytes(gas[16:], "big"),
        verification_gas_limit=int.from_bytes(gas[:16], "big"),
        pre_verification_gas=packed.pre_verification_gas,
        max_fee_per_gas=int.from_bytes(fees[16:], "big"),
        max_priority_fee_per_gas=int.from_bytes(fees[:16], "big"),
        paymaster=pad[:20] or None,
        paymaster_verification_gas_limit=int.from_bytes(pad[20:36], "big"),
        paymaster_post_op_gas_limit=int.from_bytes(pad[36:52], "big"),
        paymaster_data=pad[52:],
        signature=packed.signature,
    )


class _StaticAbiTuple:
    """eth-abi's own encoders for a list of static ABI types, built once, each value checked once.

    ``eth_abi.encode(types, values)`` checks every value twice (its tuple encoder validates them
    all, then each component encoder validates its own again). A tuple of static types has no
    offsets and no tail: its encoding is its components' encodings in order (Solidity ABI
    specification, "Formal Specification of the Encoding"), so the registry-built component
    encoders are called directly. Address words, and the words at the ``memo`` positions, are
    memoised per exact value (eth-abi converts an address through hex text; EntryPoints, chain
    ids and senders repeat).
    """

    def __init__(self, *types: str, memo: Collection[int] = ()) -> None:
        tuple_encoder = registry.get_tuple_encoder(*types)
        components: tuple[Callable[[Any], bytes], ...] = tuple(tuple_encoder.encoders or ())
        if tuple_encoder.is_dynamic or len(components) != len(types):
            raise ValueError(f"types={types!r}: not a list of static types")
        self.types = types
        self._encoders = tuple(
            _memoised(e) if i in memo or isinstance(e, AddressEncoder) else e
            for i, e in enumerate(components)
        )

    def encode(self, values: Sequence[Any]) -> bytes:
        """The ABI encoding of ``values`` (eth-abi's errors for a value that does not fit)."""
        if len(values) != len(self._encoders):
            raise ValueError(f"{len(values)} values for {len(self.types)} types {self.types!r}")
        return b"".join(
            [encode(value) for encode, value in zip(self._encoders, values, strict=True)]
        )


def _memoised(encoder: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    cached = functools.lru_cache(maxsize=4096, typed=True)(encoder)

    def encode(value: Any) -> bytes:
        try:
            return cached(value)
        except TypeError:  # unhashable (a bytearray): encode it uncached
            return encoder(value)

    return encode


_INNER_HASH = _StaticAbiTuple(
    "address", "uint256", "bytes32", "bytes32", "bytes32", "uint256", "bytes32", "bytes32"
)
_OUTER_HASH = _StaticAbiTuple("bytes32", "address", "uint256", memo=(2,))
_EMPTY_KECCAK = keccak(b"")


def _keccak_of(data: bytes) -> bytes:
    return keccak(data) if data else _EMPTY_KECCAK


def packed_user_op_hash(packed: PackedUserOperation, entry_point: bytes, chain_id: int) -> bytes:
    """userOpHash of a packed operation, as EntryPoint v0.7 ``getUserOpHash`` (§2)."""
    return _hash(
        (
            packed.sender,
            packed.nonce,
            packed.init_code,
            packed.call_data,
            packed.account_gas_limits,
            packed.pre_verification_gas,
            packed.gas_fees,
            packed.paymaster_and_data,
        ),
        entry_point,
        chain_id,
    )


def user_op_hash(op: UserOperation, entry_point: bytes, chain_id: int) -> bytes:
    """userOpHash (PROTOCOL.md §2): binds chain id, EntryPoint and the paymaster fields."""
    init_code, account_gas_limits, gas_fees, paymaster_and_data = _packed_fields(op)
    return _hash(
        (
            op.sender,
            op.nonce,
            init_code,
            op.call_data,
            account_gas_limits,
            op.pre_verification_gas,
            gas_fees,
            paymaster_and_data,
        ),
        entry_point,
        chain_id,
    )


def _hash(packed: tuple[Any, ...], entry_point: bytes, chain_id: int) -> bytes:
    """keccak(abi.encode(keccak(abi.encode(packed fields, byte fields hashed)), EP, chain))."""
    sender, nonce, init_code, call_data, account_gas_limits, pre_verification_gas, gas_fees, pad = (
        packed
    )
    inner = keccak(
        _INNER_HASH.encode(
            (
                sender,
                nonce,
                _keccak_of(init_code),
                _keccak_of(call_data),
                account_gas_limits,
                pre_verification_gas,
                gas_fees,
                _keccak_of(pad),
            )
        )
    )
    return keccak(_OUTER_HASH.encode((inner, entry_point, chain_id)))


def sign_user_op(
    op: UserOperation, private: int, entry_point: bytes, chain_id: int
) -> UserOperation:
    """``op`` with its signature set: EIP-191 over its userOpHash by ``private`` (§2, §7)."""
    digest = user_op_hash(op, entry_point, chain_id)
    return op.replace(signature=sign_eip191(private, digest))
