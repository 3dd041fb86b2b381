"""UserOperation v0.7: JSON, packing, userOpHash, signing (PROTOCOL.md §2).

Pinned against the PROTOCOL.md vectors and independent computations (eth-abi, eth-hash,
eth-account, the §1 validateUserOp selector).
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import decode, encode
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_hash.auto import keccak
from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.protocol.userop import (
    ENTRY_POINT_V07,
    JSON_KEYS,
    PACKED_USER_OP_ABI,
    PackedUserOperation,
    UserOperation,
    UserOpFormatError,
    from_json,
    pack,
    sign_user_op,
    to_json,
    unpack,
    user_op_hash,
)

EE = b"\xee" * 20
SENDER = b"\x01" * 20
PAYMASTER = b"\x22" * 20
BASE_SEPOLIA = 84532
BASE = 8453

VECTOR_1 = UserOperation(sender=SENDER, nonce=5, call_data=bytes.fromhex("010203"))
VECTOR_2 = UserOperation(
    sender=SENDER,
    nonce=7,
    call_data=b"\x09",
    call_gas_limit=100000,
    verification_gas_limit=100000,
    pre_verification_gas=50000,
    max_fee_per_gas=1,
    max_priority_fee_per_gas=1,
)
VECTOR_2_PM = VECTOR_2.replace(paymaster=PAYMASTER, paymaster_data=bytes.fromhex("dead"))
VECTOR_3 = UserOperation(sender=SENDER, nonce=0, call_data=bytes.fromhex("010203"))
VECTOR_3_SIG = bytes.fromhex(
    "37fdeb99e042bb24c3681e94c9197297ddb753ebd729ae89f4a6c38d3c25fcf3"
    "30f0c1be9b539dc8c780a52c2038535365099102eab565b46de047f20b6ccc3d1c"
)
B17D_ADDRESS = "0xa34e80f04240Af8A52604CEB5408B6eD5E50BB42"


def h(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


def test_entry_point_constant() -> None:
    assert to_checksum_address(ENTRY_POINT_V07) == "0x0000000071727De22E5E9d8BAf0edAc6f37da032"


HASH_VECTORS = {
    "nonce5": (VECTOR_1, EE, BASE_SEPOLIA,
               "db802e1ba52a3e8726ead72b79990a72513c1bd155128df00332cdedd3570684"),
    "gas-no-paymaster": (VECTOR_2, EE, BASE_SEPOLIA,
                         "adac60f3235d9d7b49e19c8d25f3b7ae1ca963140c2447cf47da777f2eb29326"),
    "gas-paymaster": (VECTOR_2_PM, EE, BASE_SEPOLIA,
                      "d3811c5320c03108dd2c6a003e1096c23e0fa16201575444d652331c0f47be1e"),
    "canonical-entrypoint": (VECTOR_3, ENTRY_POINT_V07, BASE,
                             "c97f0ed3aa891d90150732096ea7d6f3a046b3e141e98eb772fcf9be03769af2"),
}  # fmt: skip


@pytest.mark.parametrize(
    ("op", "entry_point", "chain_id", "expected"),
    list(HASH_VECTORS.values()),
    ids=list(HASH_VECTORS),
)
def test_user_op_hash_vectors(
    op: UserOperation, entry_point: bytes, chain_id: int, expected: str
) -> None:
    assert user_op_hash(op, entry_point, chain_id) == h(expected)


def test_user_op_hash_binds_chain_entry_point_and_paymaster() -> None:
    base = user_op_hash(VECTOR_2_PM, EE, BASE_SEPOLIA)
    assert user_op_hash(VECTOR_2_PM, EE, BASE) != base
    assert user_op_hash(VECTOR_2_PM, ENTRY_POINT_V07, BASE_SEPOLIA) != base
    assert user_op_hash(VECTOR_2_PM.replace(paymaster_data=b"\xde"), EE, BASE_SEPOLIA) != base
    changed_gas = VECTOR_2_PM.replace(paymaster_post_op_gas_limit=1)
    assert user_op_hash(changed_gas, EE, BASE_SEPOLIA) != base
    assert user_op_hash(VECTOR_2_PM.replace(signature=b"\x01"), EE, BASE_SEPOLIA) == base


def test_signed_vector_and_independent_recovery() -> None:
    signed = sign_user_op(VECTOR_3, 0xB17D, ENTRY_POINT_V07, BASE)
    assert signed.signature == VECTOR_3_SIG
    assert signed.replace(signature=b"") == VECTOR_3
    user_op_hash_literal = h(HASH_VECTORS["canonical-entrypoint"][3])
    message = encode_defunct(primitive=user_op_hash_literal)
    assert Account.recover_message(message, signature=VECTOR_3_SIG) == B17D_ADDRESS
    digest = h("abc0e0a2d3b67e0ba6442da27c5deb9fcc63096a20793036b003e3fa7ef92fc4")
    assert Account._recover_hash(digest, signature=VECTOR_3_SIG) == B17D_ADDRESS


@pytest.mark.parametrize("private", [1, 2, 3, 0xC0DE, 0xB17D])
def test_sign_user_op_matches_eth_account(private: int) -> None:
    op = VECTOR_2_PM.replace(nonce=private)
    signed = sign_user_op(op, private, ENTRY_POINT_V07, BASE)
    digest = user_op_hash(op, ENTRY_POINT_V07, BASE)
    message = encode_defunct(primitive=digest)
    expected = Account.sign_message(message, private.to_bytes(32, "big"))
    assert signed.signature == expected.signature
    recovered = Account.recover_message(message, signature=signed.signature)
    assert recovered == Account.from_key(private.to_bytes(32, "big")).address


def test_user_op_hash_recomputed_with_raw_eth_abi() -> None:
    """An independent reading of §2 for the paymaster vector."""
    pm_and_data = PAYMASTER + (0).to_bytes(16, "big") * 2 + h("dead")
    gas = (100000).to_bytes(16, "big") * 2
    fees = (1).to_bytes(16, "big") * 2
    types = ["address", "uint256", "bytes32", "bytes32", "bytes32", "uint256", "bytes32", "bytes32"]
    inner = keccak(
        encode(
            types,
            [SENDER, 7, keccak(b""), keccak(b"\x09"), gas, 50000, fees, keccak(pm_and_data)],
        )
    )
    outer = keccak(encode(["bytes32", "address", "uint256"], [inner, EE, BASE_SEPOLIA]))
    assert outer == user_op_hash(VECTOR_2_PM, EE, BASE_SEPOLIA)
    packed = pack(VECTOR_2_PM)
    assert packed.account_gas_limits == gas
    assert packed.gas_fees == fees
    assert packed.paymaster_and_data == pm_and_data
    assert packed.init_code == b""


def test_packing_puts_verification_and_priority_fee_high() -> None:
    op = VECTOR_3.replace(
        verification_gas_limit=1, call_gas_limit=2, max_priority_fee_per_gas=3, max_fee_per_gas=4
    )
    packed = pack(op)
    assert packed.account_gas_limits == h("00" * 15 + "01" + "00" * 15 + "02")
    assert packed.gas_fees == h("00" * 15 + "03" + "00" * 15 + "04")


def test_factory_goes_into_init_code() -> None:
    op = VECTOR_3.replace(factory=b"\x33" * 20, factory_data=b"\x01\x02")
    assert pack(op).init_code == b"\x33" * 20 + b"\x01\x02"
    assert unpack(pack(op)) == op


U128_FIELDS = [
    ("call_gas_limit", "callGasLimit"),
    ("verification_gas_limit", "verificationGasLimit"),
    ("max_fee_per_gas", "maxFeePerGas"),
    ("max_priority_fee_per_gas", "maxPriorityFeePerGas"),
    ("paymaster_verification_gas_limit", "paymasterVerificationGasLimit"),
    ("paymaster_post_op_gas_limit", "paymasterPostOpGasLimit"),
]


@pytest.mark.parametrize(("field", "key"), U128_FIELDS)
def test_128_bit_fields_overflow_is_rejected(field: str, key: str) -> None:
    fits = VECTOR_2_PM.replace(**{field: 2**128 - 1})
    assert unpack(pack(fits)) == fits
    with pytest.raises(UserOpFormatError) as info:
        pack(VECTOR_2_PM.replace(**{field: 2**128}))
    assert info.value.field == key
    with pytest.raises(UserOpFormatError):
        user_op_hash(VECTOR_2_PM.replace(**{field: 2**128}), EE, BASE)


def test_paymaster_fields_without_paymaster_are_rejected() -> None:
    with pytest.raises(UserOpFormatError):
        pack(VECTOR_2.replace(paymaster_data=b"\x01"))
    with pytest.raises(UserOpFormatError):
        to_json(VECTOR_2.replace(paymaster_post_op_gas_limit=1))
    with pytest.raises(UserOpFormatError):
        pack(VECTOR_2.replace(factory_data=b"\x01"))


def test_abi_tuple_matches_validate_user_op_selector() -> None:
    """§1: validateUserOp(PackedUserOperation,bytes32,uint256) is 0x19822f7c."""
    signature = f"validateUserOp({PACKED_USER_OP_ABI},bytes32,uint256)"
    assert keccak(signature.encode())[:4] == h("19822f7c")
    packed = pack(VECTOR_2_PM.replace(signature=VECTOR_3_SIG))
    data = encode([PACKED_USER_OP_ABI], [packed.as_abi_tuple()])
    (decoded,) = decode([PACKED_USER_OP_ABI], data)
    assert PackedUserOperation.from_abi_tuple(decoded) == packed


def test_to_json_vector() -> None:
    assert to_json(VECTOR_2_PM.replace(signature=h("abcd"))) == {
        "sender": "0x" + "01" * 20,
        "nonce": "0x7",
        "callData": "0x09",
        "callGasLimit": "0x186a0",
        "verificationGasLimit": "0x186a0",
        "preVerificationGas": "0xc350",
        "maxFeePerGas": "0x1",
        "maxPriorityFeePerGas": "0x1",
        "paymaster": "0x" + "22" * 20,
        "paymasterVerificationGasLimit": "0x0",
        "paymasterPostOpGasLimit": "0x0",
        "paymasterData": "0xdead",
        "signature": "0xabcd",
    }


def test_to_json_without_paymaster_or_factory_omits_their_keys() -> None:
    obj = to_json(VECTOR_1)
    assert set(obj) == {
        "sender", "nonce", "callData", "callGasLimit", "verificationGasLimit",
        "preVerificationGas", "maxFeePerGas", "maxPriorityFeePerGas", "signature",
    }  # fmt: skip
    assert obj["nonce"] == "0x5" and obj["callGasLimit"] == "0x0" and obj["signature"] == "0x"
    assert list(to_json(VECTOR_2_PM.replace(factory=b"\x33" * 20))) == list(JSON_KEYS)


def addresses() -> st.SearchStrategy[bytes]:
    return st.binary(min_size=20, max_size=20)


u128 = st.integers(min_value=0, max_value=2**128 - 1)
u256 = st.integers(min_value=0, max_value=2**256 - 1)


@st.composite
def user_operations(draw: st.DrawFn) -> UserOperation:
    factory = draw(st.none() | addresses())
    paymaster = draw(st.none() | addresses())
    return UserOperation(
        sender=draw(addresses()),
        nonce=draw(u256),
        factory=factory,
        factory_data=draw(st.binary(max_size=40)) if factory else b"",
        call_data=draw(st.binary(max_size=80)),
        call_gas_limit=draw(u128),
        verification_gas_limit=draw(u128),
        pre_verification_gas=draw(u256),
        max_fee_per_gas=draw(u128),
        max_priority_fee_per_gas=draw(u128),
        paymaster=paymaster,
        paymaster_verification_gas_limit=draw(u128) if paymaster else 0,
        paymaster_post_op_gas_limit=draw(u128) if paymaster else 0,
        paymaster_data=draw(st.binary(max_size=40)) if paymaster else b"",
        signature=draw(st.binary(max_size=70)),
    )


@settings(max_examples=60, deadline=None)
@given(user_operations())
def test_json_and_packing_round_trips(op: UserOperation) -> None:
    obj = to_json(op)
    assert from_json(obj, canonical=True) == op
    assert unpack(pack(op)) == op
    for key, value in obj.items():
        assert value.startswith("0x") and value == value.lower(), key
        if key not in {"sender", "factory", "paymaster"} and not key.endswith(("Data", "ature")):
            assert value == hex(int(value, 16)), key


def valid_json() -> dict[str, Any]:
    return to_json(VECTOR_2_PM)


def without(obj: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in keys}


BAD_JSON = [
    ("missing-sender", without(valid_json(), "sender"), "sender"),
    ("missing-signature", without(valid_json(), "signature"), "signature"),
    ("missing-callGasLimit", without(valid_json(), "callGasLimit"), "callGasLimit"),
    ("pm-data-missing", without(valid_json(), "paymasterData"), "paymasterData"),
    (
        "pm-keys-without-paymaster",
        without(valid_json(), "paymaster"),
        "paymasterVerificationGasLimit",
    ),
    ("factoryData-alone", {**to_json(VECTOR_1), "factoryData": "0x"}, "factoryData"),
    ("factory-alone", {**to_json(VECTOR_1), "factory": "0x" + "33" * 20}, "factoryData"),
    ("unknown-key", {**valid_json(), "eip7702Auth": "0x"}, "eip7702Auth"),
    ("nonce-number", {**valid_json(), "nonce": 7}, "nonce"),
    ("null-paymaster", {**valid_json(), "paymaster": None}, "paymaster"),
    ("nonce-no-prefix", {**valid_json(), "nonce": "7"}, "nonce"),
    ("nonce-empty", {**valid_json(), "nonce": "0x"}, "nonce"),
    ("nonce-too-big", {**valid_json(), "nonce": "0x1" + "0" * 64}, "nonce"),
    ("sender-19-bytes", {**valid_json(), "sender": "0x" + "01" * 19}, "sender"),
    ("callData-odd", {**valid_json(), "callData": "0x123"}, "callData"),
    ("callData-non-hex", {**valid_json(), "callData": "0xzz"}, "callData"),
]


@pytest.mark.parametrize(("obj", "field"), [c[1:] for c in BAD_JSON], ids=[c[0] for c in BAD_JSON])
def test_from_json_rejects_and_names_the_field(obj: dict[str, Any], field: str) -> None:
    with pytest.raises(UserOpFormatError) as info:
        from_json(obj)
    assert info.value.field == field


def test_from_json_rejects_non_objects() -> None:
    with pytest.raises(UserOpFormatError):
        from_json([])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "loose", "strict"),
    [
        ("nonce", "0x07", "0x7"),
        ("nonce", "0X7", "0x7"),
        ("callGasLimit", "0x186A0", "0x186a0"),
        ("callData", "0xAB", "0xab"),
    ],
)
def test_canonical_mode_demands_minimal_lower_case(key: str, loose: str, strict: str) -> None:
    obj = {**valid_json(), key: loose}
    assert from_json(obj) == from_json({**obj, key: strict}, canonical=True)
    with pytest.raises(UserOpFormatError) as info:
        from_json(obj, canonical=True)
    assert info.value.field == key


def test_unpack_rejects_truncated_fields() -> None:
    packed = pack(VECTOR_2_PM)
    for changes in (
        {"paymaster_and_data": packed.paymaster_and_data[:51]},
        {"init_code": b"\x01" * 19},
        {"account_gas_limits": b"\x00" * 31},
        {"gas_fees": b"\x00" * 33},
    ):
        bad = PackedUserOperation(**{**packed.__dict__, **changes})
        with pytest.raises(UserOpFormatError):
            unpack(bad)
