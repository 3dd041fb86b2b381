"""The account test world: the EntryPoint, the reference cluster around the account under test,
its members, and every call a check makes, journaled for replay (PROTOCOL.md §2, §4, §6).

``AccountWorld`` is built by ``conformance.targets.account.open_account_world``. Checks reach
the chain only through it: ``validate`` (validateUserOp as the EntryPoint or anyone), ``send``
and ``call`` (any contract call), ``handle_ops`` (EntryPoint v0.7), ``register`` (the cluster's
dstack_register), ``new_member``. Every transaction and call since the last ``reset`` is kept
in ``journal``, so a failure record replays it step by step in a freshly built world.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from conformance.protocol.attestation import (
    DstackProof,
    build_dstack_proof,
    encode_dstack_register,
)
from conformance.protocol.signatures import key_pair, sign_eip191
from conformance.protocol.userop import UserOperation, pack, sign_user_op, to_json, user_op_hash
from conformance.targets.account_abi import (
    GET_NONCE,
    FailedOp,
    OpEvent,
    decode_failed_op,
    decode_values,
    encode_function,
    encode_handle_ops,
    encode_validate,
    error_name,
    op_events,
    revert_reasons,
)
from conformance.targets.evm.backend import CallResult, EvmBackend, Log

KMS_KEY = 1
"""Public test key 1, the cluster's KMS root (PROTOCOL.md §4)."""
APP_KEY = 2
"""Public test key 2, the app key (PROTOCOL.md §4)."""
BINDING_KEY = 0xB17D
"""Public test key 0xB17D: the derived (binding) key of the fresh member (PROTOCOL.md §4)."""
OWNER_KEY = 0xA11CE
"""The derived key registered for the owned member (its owner)."""
STRANGER_KEY = 0x5E7A
"""The owner of a member of the second cluster (not a member of the first)."""
CLUSTER_OWNER_KEY = 0xC1A5
"""The cluster owner (admin operations, upgrades)."""
OPERATOR_KEY = 0x0BE7
"""The operator signer on the cluster's allowlist (multi-attestor)."""
OTHER_KEY = 0xBAD
"""A key nobody installed anywhere."""

X_PUB_KEY = b"\x11" * 32
WG_PUB_KEY = b"\x22" * 32

DEPLOYER = bytes.fromhex("000000000000000000000000000000000000a11c")
BUNDLER = bytes.fromhex("000000000000000000000000000000000000b0b0")
REGISTRAR = bytes.fromhex("000000000000000000000000000000000000e9e9")
FUNDS = 10**24
MEMBER_FUNDS = 10 * 10**18

DEFAULT_GAS = {
    "call_gas_limit": 1_000_000,
    "verification_gas_limit": 1_500_000,
    "pre_verification_gas": 50_000,
    "max_fee_per_gas": 1_000,
    "max_priority_fee_per_gas": 1_000,
}
"""Gas fields of the operations the suite builds (enough for a registration)."""


WORLD_NAMES = ("entry_point", "member_factory", "cluster", "cluster_b", "paymaster", "fresh",
               "owned", "stranger")
"""The addresses a failure record names its world by (``AccountWorld.addresses``)."""


@dataclass(frozen=True)
class Step:
    """One journaled chain action: a ``call``/``send`` (``to`` set), a ``paying`` send undone
    afterwards (``validate_paying``), a ``deploy``, a ``set_code`` or a ``set_chain_id`` (the
    chain id in ``value``)."""

    kind: str
    sender: bytes
    data: bytes
    to: bytes | None = None
    value: int = 0

    def as_json(self) -> dict[str, Any]:
        """JSON form, as a failure record carries it."""
        out: dict[str, Any] = {"kind": self.kind, "from": "0x" + self.sender.hex()}
        if self.to is not None:
            out["to"] = "0x" + self.to.hex()
        out["data"] = "0x" + self.data.hex()
        if self.value:
            out["value"] = self.value
        return out


@dataclass(frozen=True)
class Observation:
    """What one call did: success, return or revert data, the revert's error name, logs."""

    success: bool
    output: bytes
    error: str | None
    logs: tuple[Log, ...] = ()
    gas_used: int = 0

    @classmethod
    def of(cls, result: CallResult) -> Observation:
        """From a backend result (the error named from the revert data)."""
        error = None if result.success else error_name(result.output)
        return cls(result.success, result.output, error, result.logs, result.gas_used)

    @property
    def word(self) -> int | None:
        """The 32-byte return value as an int; None when reverted or not exactly one word."""
        if not self.success or len(self.output) != 32:
            return None
        return int.from_bytes(self.output, "big")

    def describe(self) -> str:
        """One line: ``returned 0x…`` or ``reverted Name (0x…)``."""
        if self.success:
            return f"returned 0x{self.output.hex()}"
        return f"reverted {self.error} (0x{self.output.hex()[:200]})"


@dataclass(frozen=True)
class HandleOpsResult:
    """handleOps: the whole bundle reverted with ``failed``, or ran with these events."""

    observation: Observation
    failed: FailedOp | None
    events: tuple[OpEvent, ...]
    revert_reasons: tuple[bytes, ...]


@dataclass
class AccountWorld:
    """The deployed world around the account under test (addresses are 20-byte ``bytes``)."""

    backend: EvmBackend
    chain_id: int
    entry_point: bytes
    entry_point_missing: str | None
    multi_attestor: bool
    cluster: bytes
    cluster_b: bytes
    cluster_owner: bytes
    member_factory: bytes
    paymaster: bytes
    make_member: Callable[[AccountWorld, bytes, int], bytes]
    upgrade_target: bytes | None
    target_info: dict[str, Any]
    kms_roots: tuple[bytes, ...] = ()
    cluster_factory: bytes = bytes(20)
    """The reference cluster factory (``isDeployedCluster``), for a webhook reading this chain."""
    fresh: bytes = bytes(20)
    owned: bytes = bytes(20)
    stranger: bytes = bytes(20)
    recorder: bytes = bytes(20)
    reverter: bytes = bytes(20)
    journal: list[Step] = field(default_factory=list)
    closers: list[Callable[[], None]] = field(default_factory=list)
    _snapshot: int | None = None
    _hashes: dict[UserOperation, bytes] = field(default_factory=dict)
    _salt: int = 0
    _frozen_salt: int = 0

    # -- state ------------------------------------------------------------------------------

    def freeze(self) -> None:
        """Take the snapshot every check starts from."""
        self._snapshot = self.backend.snapshot()
        self.journal.clear()
        self._frozen_salt = self._salt

    def reset(self) -> None:
        """Back to the snapshot taken by ``freeze`` (fresh state for the next check)."""
        if self._snapshot is None:
            raise RuntimeError("reset() before freeze()")
        self.backend.revert(self._snapshot)
        self._snapshot = self.backend.snapshot()
        self.journal.clear()
        self._salt = self._frozen_salt
        self._follow_chain_id()

    @contextmanager
    def isolated(self) -> Iterator[None]:
        """Run a block whose chain effects and journal entries are undone afterwards."""
        snapshot = self.backend.snapshot()
        mark, salt = len(self.journal), self._salt
        try:
            yield
        finally:
            self.backend.revert(snapshot)
            del self.journal[mark:]
            self._salt = salt
            self._follow_chain_id()

    def set_chain_id(self, chain_id: int) -> None:
        """Run what follows on chain ``chain_id``, state kept (a fork, or this deployment on
        another chain: AC-015); ``reset`` and ``isolated`` bring the chain id back."""
        self.journal.append(Step("set_chain_id", DEPLOYER, b"", None, chain_id))
        self.backend.set_chain_id(chain_id)
        self._follow_chain_id()

    def _follow_chain_id(self) -> None:
        """``chain_id`` (and the userOpHash cache) as the backend's after a switch or revert."""
        if self.chain_id != self.backend.chain_id:
            self.chain_id = self.backend.chain_id
            self._hashes.clear()

    def close(self) -> None:
        """Stop what the world started (a managed node) and release the backend."""
        self.backend.close()
        while self.closers:
            self.closers.pop()()

    # -- raw actions (journaled) ----------------------------------------------------------------

    def call(self, to: bytes, data: bytes, *, sender: bytes = DEPLOYER,
             value: int = 0) -> Observation:
        """An eth_call-like call (nothing persists)."""
        self.journal.append(Step("call", sender, data, to, value))
        return Observation.of(self.backend.call(to, data, sender=sender, value=value))

    def send(self, to: bytes, data: bytes, *, sender: bytes = DEPLOYER,
             value: int = 0) -> Observation:
        """A transaction (persists unless it reverts)."""
        self.journal.append(Step("send", sender, data, to, value))
        return Observation.of(self.backend.transact(to, data, sender=sender, value=value))

    def deploy(self, creation_code: bytes, *, sender: bytes = DEPLOYER) -> bytes:
        """Create a contract; its address."""
        self.journal.append(Step("deploy", sender, creation_code))
        return self.backend.deploy(creation_code, sender=sender)

    def set_code(self, address: bytes, code: bytes) -> None:
        """Install runtime code at ``address`` (a test contract or a clone)."""
        self.journal.append(Step("set_code", DEPLOYER, code, address))
        self.backend.set_code(address, code)

    def read(self, to: bytes, signature: str, *args: Any, returns: list[str]) -> tuple[Any, ...]:
        """Call a view and decode its return values (a revert raises RuntimeError)."""
        seen = self.call(to, encode_function(signature, *args))
        if not seen.success:
            raise RuntimeError(f"{signature} on 0x{to.hex()} {seen.describe()}")
        return decode_values(returns, seen.output)

    # -- members, registration ----------------------------------------------------------------

    def new_member(self, cluster: bytes | None = None) -> bytes:
        """A fresh account under test, a member of ``cluster`` (default: the main cluster)."""
        self._salt += 1
        return self.make_member(self, cluster or self.cluster, self._salt)

    def proof_for(self, member: bytes, derived_key: int, *, cluster: bytes | None = None,
                  x: bytes = X_PUB_KEY, wg: bytes = WG_PUB_KEY, **overrides: Any) -> DstackProof:
        """A valid dstack proof binding ``member`` of ``cluster`` to ``derived_key``."""
        arguments: dict[str, Any] = {
            "kms_private": KMS_KEY, "app_private": APP_KEY, "derived_private": derived_key,
            "cluster": cluster or self.cluster, "member": member, "x_pub_key": x, "wg_pub_key": wg,
        }  # fmt: skip
        arguments.update(overrides)
        return build_dstack_proof(**arguments)

    def register(self, member: bytes, proof: DstackProof, *, cluster: bytes | None = None,
                 x: bytes = X_PUB_KEY, wg: bytes = WG_PUB_KEY, persist: bool = True) -> Observation:
        """cluster.dstack_register(proof, member, x, wg) sent by an outside EOA."""
        data = encode_dstack_register(proof, member, x, wg)
        action = self.send if persist else self.call
        return action(cluster or self.cluster, data, sender=REGISTRAR)

    # -- user operations ------------------------------------------------------------------------

    def user_op(self, sender: bytes, call_data: bytes, *, nonce: int = 0,
                sponsored: bool = False, **fields: Any) -> UserOperation:
        """An unsigned operation of ``sender`` with the suite's gas fields."""
        values: dict[str, Any] = dict(DEFAULT_GAS)
        if sponsored:
            values.update(paymaster=self.paymaster, paymaster_verification_gas_limit=200_000,
                          paymaster_post_op_gas_limit=100_000)
        values.update(fields)
        return UserOperation(sender=sender, nonce=nonce, call_data=call_data, **values)

    def sign(self, op: UserOperation, key: int, *, chain_id: int | None = None,
             entry_point: bytes | None = None) -> UserOperation:
        """``op`` signed by ``key`` (EIP-191 over its userOpHash; this world's chain and EP)."""
        if chain_id is None and entry_point is None:
            return op.replace(signature=sign_eip191(key, self.op_hash(op)))
        return sign_user_op(op, key, entry_point or self.entry_point, chain_id or self.chain_id)

    def op_hash(self, op: UserOperation) -> bytes:
        """userOpHash of ``op`` for this world's chain and EntryPoint (PROTOCOL.md §2); the
        signature is not hashed, so one entry serves an operation and its signed copies."""
        key = op.replace(signature=b"")
        digest = self._hashes.get(key)
        if digest is None:
            if len(self._hashes) > 4096:
                self._hashes.clear()
            digest = self._hashes[key] = user_op_hash(op, self.entry_point, self.chain_id)
        return digest

    def validate(self, op: UserOperation, *, op_hash: bytes | None = None, missing: int = 0,
                 caller: bytes | None = None) -> Observation:
        """``op.sender.validateUserOp(pack(op), hash, missing)`` called by ``caller`` (the EP)."""
        data = encode_validate(pack(op), op_hash or self.op_hash(op), missing)
        return self.call(op.sender, data, sender=caller or self.entry_point)

    def validate_paying(self, op: UserOperation, *, missing: int,
                        op_hash: bytes | None = None) -> tuple[Observation, int]:
        """validateUserOp as a transaction, undone afterwards; also what the EP received."""
        snapshot = self.backend.snapshot()
        try:
            before = self.backend.get_balance(self.entry_point)
            data = encode_validate(pack(op), op_hash or self.op_hash(op), missing)
            self.journal.append(Step("paying", self.entry_point, data, op.sender))
            seen = Observation.of(self.backend.transact(op.sender, data,
                                                        sender=self.entry_point))
            paid = self.backend.get_balance(self.entry_point) - before
        finally:
            self.backend.revert(snapshot)
        return seen, paid

    def handle_ops(self, *ops: UserOperation) -> HandleOpsResult:
        """EntryPoint.handleOps(ops, bundler) sent by the bundler EOA."""
        seen = self.send(self.entry_point, encode_handle_ops([pack(o) for o in ops], BUNDLER),
                         sender=BUNDLER)
        failed = None if seen.success else decode_failed_op(seen.output)
        return HandleOpsResult(seen, failed, tuple(op_events(seen.logs, self.entry_point)),
                               tuple(revert_reasons(seen.logs, self.entry_point)))

    def nonce_of(self, sender: bytes, key: int = 0) -> int:
        """EntryPoint.getNonce(sender, key) (PROTOCOL.md §7)."""
        (nonce,) = self.read(self.entry_point, GET_NONCE, sender, key, returns=["uint256"])
        return int(nonce)

    # -- failure records ------------------------------------------------------------------------

    def record(self, *, op: UserOperation | None = None, **extra: Any) -> dict[str, Any]:
        """A failure record: the target, the world's named addresses (a replay's rebuilt world
        must have the same for the steps to mean the same), the journal since the snapshot and
        the case's op."""
        out: dict[str, Any] = {"target": dict(self.target_info), "world": self.addresses()}
        if op is not None:
            out["userOperation"] = to_json(op)
            out["callData"] = "0x" + op.call_data.hex()
            out["userOpHash"] = "0x" + self.op_hash(op).hex()
        out.update(extra)
        out["steps"] = [s.as_json() for s in self.replay_steps()]
        return out

    def addresses(self) -> dict[str, str]:
        """The world's named contracts and members (``0x`` hex): its compact description."""
        return {name: "0x" + getattr(self, name).hex() for name in WORLD_NAMES}

    def replay_steps(self, tail: int = 2) -> list[Step]:
        """The journal a replay needs: every state-changing step, and the last ``tail`` steps
        (earlier read-only calls and ``paying`` sends undone at once, e.g. of previous
        hypothesis examples, change nothing)."""
        head = self.journal[:-tail] if tail else self.journal
        return [s for s in head if s.kind not in ("call", "paying")] + self.journal[len(head):]


def address_of(key: int) -> bytes:
    """The address of a private key."""
    return key_pair(key).address
