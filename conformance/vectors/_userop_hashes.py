"""``userop_hashes.json``: v0.7 packing, userOpHash and its EIP-191 digest (PROTOCOL.md §2).

Input: ``userOperation`` (the unpacked wire JSON), ``entryPoint``, ``chainId``. Expected: the
packed fields, ``userOpHash`` and ``eip191Digest`` — or, for a value that does not fit its
16-byte packed field, ``accepted: false`` and the offending JSON key (UO-008).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from conformance.protocol.signatures import eip191_digest
from conformance.protocol.userop import (
    ENTRY_POINT_V07,
    MAX_UINT128,
    MAX_UINT256,
    UserOperation,
    UserOpFormatError,
    from_json,
    pack,
    packed_user_op_hash,
    to_json,
)
from conformance.vectors.model import Case, Json, hx, num, read_hex, read_num, read_obj

EE = b"\xee" * 20
SENDER = b"\x01" * 20
PAYMASTER = b"\x22" * 20
BASE, BASE_SEPOLIA = 8453, 84532
SEED = 0x4337

_HASH_RULES = ("UO-009", "UO-005", "UO-006", "UO-007", "UO-001", "UO-002", "UO-003")
_SENSITIVITY_RULES = ("UO-010", "UO-009")

V1 = UserOperation(sender=SENDER, nonce=5, call_data=bytes.fromhex("010203"))
V2 = UserOperation(
    sender=SENDER, nonce=7, call_data=b"\x09", call_gas_limit=100000,
    verification_gas_limit=100000, pre_verification_gas=50000, max_fee_per_gas=1,
    max_priority_fee_per_gas=1,
)  # fmt: skip
V2_PM = V2.replace(paymaster=PAYMASTER, paymaster_data=bytes.fromhex("dead"))
V3 = UserOperation(sender=SENDER, nonce=0, call_data=bytes.fromhex("010203"))


def evaluate(inp: Mapping[str, Any]) -> Json:
    """Pack and hash the operation under (entryPoint, chainId) (PROTOCOL.md §2)."""
    try:
        op = from_json(read_obj(inp, "userOperation"))
        packed = pack(op)
    except UserOpFormatError as exc:
        return {"accepted": False, "field": exc.field}
    digest = packed_user_op_hash(packed, read_hex(inp, "entryPoint", size=20),
                                 read_num(inp, "chainId"))
    return {
        "accepted": True,
        "packed": {
            "sender": hx(packed.sender),
            "nonce": num(packed.nonce),
            "initCode": hx(packed.init_code),
            "callData": hx(packed.call_data),
            "accountGasLimits": hx(packed.account_gas_limits),
            "preVerificationGas": num(packed.pre_verification_gas),
            "gasFees": hx(packed.gas_fees),
            "paymasterAndData": hx(packed.paymaster_and_data),
            "signature": hx(packed.signature),
        },
        "userOpHash": hx(digest),
        "eip191Digest": hx(eip191_digest(digest)),
    }


def _case(name: str, description: str, op: UserOperation, entry_point: bytes, chain_id: int,
          rules: tuple[str, ...] = _HASH_RULES, **pinned: str) -> Case:
    inp = {"userOperation": to_json(op), "entryPoint": hx(entry_point), "chainId": chain_id}
    return Case(name, description, rules, inp, dict(pinned))


def _literal_cases() -> list[Case]:
    """The four PROTOCOL.md §2 vectors, pinned to their published hashes."""
    ep07 = ENTRY_POINT_V07
    return [
        _case("protocol-nonce5", "PROTOCOL.md §2 literal: nonce 5, callData 0x010203, all gas 0, "
              "no paymaster, EntryPoint 0xEE..EE, chain 84532", V1, EE, BASE_SEPOLIA,
              userOpHash="0xdb802e1ba52a3e8726ead72b79990a72513c1bd155128df00332cdedd3570684"),
        _case("protocol-gas-no-paymaster", "PROTOCOL.md §2 literal: nonce 7, callData 0x09, "
              "gas 100000/100000, preVerificationGas 50000, fees 1/1, no paymaster", V2, EE,
              BASE_SEPOLIA,
              userOpHash="0xadac60f3235d9d7b49e19c8d25f3b7ae1ca963140c2447cf47da777f2eb29326"),
        _case("protocol-gas-paymaster", "PROTOCOL.md §2 literal: the same with paymaster 0x22..22, "
              "paymaster gas 0/0, paymasterData 0xdead", V2_PM, EE, BASE_SEPOLIA,
              userOpHash="0xd3811c5320c03108dd2c6a003e1096c23e0fa16201575444d652331c0f47be1e"),
        _case("protocol-canonical-entrypoint", "PROTOCOL.md §2 literal: nonce 0, callData "
              "0x010203, gas 0, the canonical EntryPoint v0.7, chain 8453", V3, ep07, BASE,
              (*_HASH_RULES, "UO-014"),
              userOpHash="0xc97f0ed3aa891d90150732096ea7d6f3a046b3e141e98eb772fcf9be03769af2",
              eip191Digest="0xabc0e0a2d3b67e0ba6442da27c5deb9fcc63096a20793036b003e3fa7ef92fc4"),
    ]


def _sensitivity_cases() -> list[Case]:
    """One field changed at a time: the hash must change (UO-010)."""
    base = V2_PM
    variants = [
        ("chain-id", "chain 8453 instead of 84532", base, EE, BASE),
        ("entrypoint", "the canonical EntryPoint instead of 0xEE..EE", base, ENTRY_POINT_V07,
         BASE_SEPOLIA),
        ("paymaster", "paymaster 0x23..23", base.replace(paymaster=b"\x23" * 20), EE,
         BASE_SEPOLIA),
        ("pm-verification-gas", "paymasterVerificationGasLimit 1",
         base.replace(paymaster_verification_gas_limit=1), EE, BASE_SEPOLIA),
        ("pm-postop-gas", "paymasterPostOpGasLimit 1",
         base.replace(paymaster_post_op_gas_limit=1), EE, BASE_SEPOLIA),
        ("pm-data", "paymasterData 0xdeae", base.replace(paymaster_data=b"\xde\xae"), EE,
         BASE_SEPOLIA),
        ("signature-ignored", "a signature set: the hash does not cover it",
         base.replace(signature=b"\x5a" * 65), EE, BASE_SEPOLIA),
    ]
    return [
        _case(f"changed-{name}", f"protocol-gas-paymaster with {text}", op, ep, chain,
              _SENSITIVITY_RULES)
        for name, text, op, ep, chain in variants
    ]


def _edge_cases() -> list[Case]:
    top = MAX_UINT128
    full = UserOperation(
        sender=b"\xff" * 20, nonce=MAX_UINT256, call_data=b"\xb6\x1d\x27\xf6",
        call_gas_limit=top, verification_gas_limit=top - 1, pre_verification_gas=MAX_UINT256,
        max_fee_per_gas=top, max_priority_fee_per_gas=top - 2, paymaster=b"\xfe" * 20,
        paymaster_verification_gas_limit=top, paymaster_post_op_gas_limit=top - 3,
        paymaster_data=b"\x00" * 3,
    )  # fmt: skip
    factory = V3.replace(factory=b"\x0f" * 20, factory_data=b"\xfa\xc7")
    return [
        _case("max-values", "every 16-byte field at or near 2^128 - 1, nonce and "
              "preVerificationGas 2^256 - 1 (decimal strings)", full, ENTRY_POINT_V07, BASE,
              (*_HASH_RULES, "UO-008")),
        _case("factory-initcode", "factory and factoryData set: initCode = factory ‖ factoryData "
              "(AttestMesh nodes never do this, the packing still defines it)", factory,
              ENTRY_POINT_V07, BASE, ("UO-009", "UO-004")),
    ]


def _overflow_cases() -> list[Case]:
    """A value above 2^128 - 1 in a 16-byte field: rejected, never truncated (UO-008)."""
    over = MAX_UINT128 + 1
    fields = [
        ("callGasLimit", "call_gas_limit"),
        ("verificationGasLimit", "verification_gas_limit"),
        ("maxFeePerGas", "max_fee_per_gas"),
        ("maxPriorityFeePerGas", "max_priority_fee_per_gas"),
        ("paymasterVerificationGasLimit", "paymaster_verification_gas_limit"),
        ("paymasterPostOpGasLimit", "paymaster_post_op_gas_limit"),
    ]
    return [
        _case(f"overflow-{key}", f"{key} = 2^128: does not fit its 16-byte packed field",
              V2_PM.replace(**{name: over}), EE, BASE_SEPOLIA, ("UO-008",))
        for key, name in fields
    ]


def _random_op(rng: random.Random) -> UserOperation:
    op = UserOperation(
        sender=rng.randbytes(20),
        nonce=rng.getrandbits(rng.choice([8, 64, 256])),
        call_data=rng.randbytes(rng.randrange(0, 200)),
        call_gas_limit=rng.getrandbits(rng.choice([20, 128])),
        verification_gas_limit=rng.getrandbits(rng.choice([20, 128])),
        pre_verification_gas=rng.getrandbits(rng.choice([20, 256])),
        max_fee_per_gas=rng.getrandbits(rng.choice([40, 128])),
        max_priority_fee_per_gas=rng.getrandbits(rng.choice([40, 128])),
    )
    if rng.random() < 0.5:
        op = op.replace(
            paymaster=rng.randbytes(20),
            paymaster_verification_gas_limit=rng.getrandbits(rng.choice([20, 128])),
            paymaster_post_op_gas_limit=rng.getrandbits(rng.choice([20, 128])),
            paymaster_data=rng.randbytes(rng.randrange(0, 80)),
        )
    return op


def cases() -> list[Case]:
    """Every userop_hashes case, literals first."""
    rng = random.Random(SEED)
    seeded = [
        _case(f"seeded-{i}", f"random fields (seed {SEED:#x}, draw {i})", _random_op(rng),
              rng.choice([ENTRY_POINT_V07, EE]), rng.choice([BASE, BASE_SEPOLIA, 1]))
        for i in range(8)
    ]
    return [*_literal_cases(), *_sensitivity_cases(), *_edge_cases(), *_overflow_cases(), *seeded]
