"""The account's bootstrap parsing on the EVM: ``validateUserOp`` of a fresh ClusterMember (owner
unset) with a fuzzed ``callData``, the signature fixed (PROTOCOL.md §3, §6; AC-034, AC-035).

The userOpHash is a constant and the operation is signed over it by the key the real
registration binds, so the only input that changes is ``callData``: the answer is 0 when the
account's reading of it finds a ``dstack_register`` bound to that key, 1 when it finds another
signer, and a revert when it refuses the call. The oracle compares that answer with the answer
on the canonical encoding of Solidity's reading of the same bytes (as the AC-035 suite check
does): a reading that differs from Solidity's shows up as a different answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import encode

from conformance.fuzz.base import FEEDBACK, require
from conformance.fuzz.solidity_probe import Execution
from conformance.oracle.account import DSTACK_PROOF_FIELDS, InnerRejected, read_register_call
from conformance.protocol.attestation import encode_dstack_register
from conformance.protocol.calldata import DecodeError, encode_execute
from conformance.protocol.selectors import DSTACK_PROOF_TUPLE, DSTACK_REGISTER
from conformance.protocol.signatures import sign_eip191
from conformance.protocol.solidity_abi import decode_execute_solidity
from conformance.protocol.userop import pack

OP_HASH = b"\x5a" * 32
"""The fixed userOpHash every fuzzed operation is validated with."""

_REGISTER_TYPES = [DSTACK_PROOF_TUPLE.replace("string", "bytes"), "address", "bytes32", "bytes32"]


@dataclass
class AccountProbe:
    """A built account world and the pieces to validate one callData cheaply."""

    world: Any
    signature: bytes
    member: bytes

    @classmethod
    def open(cls, spec: dict[str, Any], profile: str = "base") -> AccountProbe:
        """Deploy the world around the account ``spec`` names (see ``open_account_world``)."""
        from conformance.profiles.loader import load_profile
        from conformance.targets.account import open_account_world
        from conformance.targets.account_world import BINDING_KEY

        world = open_account_world(spec, load_profile(profile))
        return cls(world, sign_eip191(BINDING_KEY, OP_HASH), world.fresh)

    def bootstrap_call(self, variant: int = 0) -> bytes:
        """The canonical bootstrap callData of the fresh member (a real registration); each
        ``variant`` binds other x/wg keys (all signed by the same binding key)."""
        from conformance.targets.account_world import BINDING_KEY, WG_PUB_KEY, X_PUB_KEY

        x = X_PUB_KEY if variant == 0 else bytes([variant]) * 32
        proof = self.world.proof_for(self.member, BINDING_KEY, x=x)
        inner = encode_dstack_register(proof, self.member, x, WG_PUB_KEY)
        return encode_execute(self.world.cluster, 0, inner)

    def answer(self, call_data: bytes) -> int | None:
        """validateUserOp's return word, or None when it reverts."""
        from conformance.targets.account_abi import encode_validate

        op = self.world.user_op(self.member, call_data).replace(signature=self.signature)
        data = encode_validate(pack(op), OP_HASH, 0)
        result = self.world.backend.call(self.member, data, sender=self.world.entry_point)
        if FEEDBACK.enabled:
            FEEDBACK.branch(b"acct" + Execution(result.success, result.gas_used,
                                                 result.output).signature())
        if not result.success:
            return None
        return int.from_bytes(result.output[:32], "big")

    def close(self) -> None:
        """Stop what the world started."""
        self.world.close()


def canonical_twin(call_data: bytes) -> tuple[bytes | None, str]:
    """The canonical encoding of what Solidity reads in ``call_data`` (the inner
    ``dstack_register`` re-encoded too), or None with the rule whose reading rejects it."""
    try:
        call = decode_execute_solidity(call_data)
    except DecodeError:
        return None, "AC-035"
    inner = call.data
    if inner[:4] == DSTACK_REGISTER.selector:
        try:
            reading = read_register_call(inner, DSTACK_PROOF_FIELDS)
        except InnerRejected:
            return None, "AC-034"
        values = [reading.proof, reading.member, reading.x_pub_key, reading.wg_pub_key]
        inner = inner[:4] + encode(_REGISTER_TYPES, values)
    return encode_execute(call.target, call.value, inner), "AC-035"


def check_bootstrap_reading(probe: AccountProbe, call_data: bytes) -> None:
    """AC-034/AC-035: the account reverts, or answers as on the canonical encoding of
    Solidity's reading; where Solidity rejects the callData it must revert."""
    answer = probe.answer(call_data)
    if answer is None:
        return
    twin, rule = canonical_twin(call_data)
    require(twin is not None, rule,
            lambda: f"Solidity's decoder rejects this callData but validateUserOp returned "
                    f"{answer}")
    assert twin is not None
    if twin == call_data:
        return
    expected = probe.answer(twin)
    require(answer == expected, "AC-035",
            lambda: f"validateUserOp returned {answer}, on the canonical encoding of Solidity's "
                    f"reading it {'reverts' if expected is None else f'returns {expected}'}")
