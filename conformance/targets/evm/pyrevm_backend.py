"""The embedded EVM backend: revm in-process through pyrevm 0.3.7 (the default account target).

pyrevm keeps the whole world state in revm's journal and never finalises a transaction. What
that means here, and how this module copes (each point is tested in
tests/integration/test_evm_backends.py):

- ``message_call`` raises ``RuntimeError("Revert { gas_used: N, output: 0x… }")`` or
  ``"Halt { reason: …, gas_used: N }"`` instead of returning; ``evm.result`` has no output. The
  revert data is parsed from that text; any other error is a ``BackendError``.
- Logs of a successful call are ``evm.result.logs`` (``Log.data`` is ``(topics, data)``).
- ``spec_id`` is case-sensitive and an unknown name silently means *latest*: ``"CANCUN"``
  would not run Cancun. ``SPECS`` maps our names to revm's (``"Cancun"``).
- EIP-3607: a caller whose code hash is not empty is refused (``RejectCallerWithCode``), with no
  switch. revm checks the code *hash* only, so for one call the caller's account is given the
  empty code hash while keeping its code (call-backs into it still run its code); afterwards its
  original account info is put back, keeping any balance/nonce the call changed. The one
  visible trace: during that call ``EXTCODEHASH(sender)`` reads ``keccak("")``
  (``EXTCODESIZE``/``EXTCODECOPY`` are right). anvil has no such difference.
- ``snapshot``/``revert`` are journal checkpoints. They undo executed transactions, but not
  ``insert_account_info``/``set_balance`` (not journaled; ``insert_account_storage`` and the
  nonce bump of a deployment are): this module keeps its own undo list for code and balance
  edits, interleaved with checkpoints so that everything is undone in exact reverse order.
- Transient storage would leak between transactions: it is cleared before each one.
- ``get_code`` returns revm's analysed code (padded with 33 zero bytes): the true code is read
  with ``EXTCODECOPY`` by a tiny helper contract at ``CODE_READER_ADDRESS``.
- Accounts and slots touched by one transaction stay *warm* for later ones (there is no
  finalisation), so ``gas_used`` after the first touch can be lower than on a real chain; ``call``
  leaves no warmth behind (it runs inside a checkpoint). Use ``RpcBackend`` for exact gas.
- ``message_call`` does not bump the sender's nonce (a deployment does); the basefee and gas
  price are 0.
- The chain id lives in the EVM's ``CfgEnv``, which pyrevm cannot change once built.
  ``set_chain_id`` therefore builds a new EVM with the new chain id and copies the whole state
  into it: every account (``journal_state`` and ``db_accounts``: balance, nonce, exact code) and
  every storage slot. pyrevm has no API listing an account's slots; their keys are read from
  ``journal_str`` (revm's ``Debug`` of the journaled state, where every slot this backend ever
  wrote or read lives, as nothing is ever finalised) and cross-checked against
  ``journal_state``. The old EVM is kept while a snapshot taken on it is open: ``revert`` to
  it switches back (chain id and state as they were). The copied slots count as written in
  the new EVM's journal (original value 0), so SSTORE gas after a switch is approximate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from eth_hash.auto import keccak
from pyrevm import EVM, AccountInfo, BlockEnv, CfgEnv, Env, JournalCheckpoint

from conformance.targets.evm.backend import (
    DEFAULT_GAS_LIMIT,
    BackendError,
    CallResult,
    ClosingContext,
    DeploymentError,
    Log,
    require_chain_id,
)
from conformance.targets.evm.deployer import CREATE2_DEPLOYER_ADDRESS, CREATE2_DEPLOYER_RUNTIME

SPECS = {"MERGE": "Merge", "SHANGHAI": "Shanghai", "CANCUN": "Cancun"}
"""Hardfork names accepted by ``PyrevmBackend`` → revm's (case-sensitive) spec ids."""

GENESIS_TIMESTAMP = 1_700_000_000
"""Block timestamp of a fresh ``PyrevmBackend`` (fixed, so runs are reproducible)."""

CODE_READER_ADDRESS = keccak(b"attestmesh-conformance/pyrevm/code-reader")[:20]
"""Where the helper that returns ``EXTCODECOPY`` of a 32-byte address argument lives."""

CODE_READER_RUNTIME = bytes.fromhex("5f35803b805f5f843c5ff3")
"""PUSH0 CALLDATALOAD DUP1 EXTCODESIZE DUP1 PUSH0 PUSH0 DUP5 EXTCODECOPY PUSH0 RETURN."""

_KECCAK_EMPTY = keccak(b"")
_ZERO = "0x" + "00" * 20
_REVERT = re.compile(r"Revert \{ gas_used: (\d+), output: 0x([0-9a-fA-F]*) \}")
_HALT = re.compile(r"Halt \{ reason: (.*), gas_used: (\d+) \}")
_STATE_ACCOUNT = re.compile(r"(0x[0-9a-fA-F]{40}): Account \{ info: ")
_STATE_SLOT = re.compile(r"(\d+): StorageSlot \{")
_STATE_END = "}, transient_storage: {"


def _hex(address: bytes) -> str:
    if len(address) != 20:
        raise ValueError(f"address={address!r}: must be 20 bytes")
    return "0x" + address.hex()


def _log(raw: object) -> Log:
    topics, data = raw.data  # type: ignore[attr-defined]
    return Log(bytes.fromhex(raw.address[2:]), tuple(topics), bytes(data))  # type: ignore[attr-defined]


def _account(balance: int, nonce: int, code_hash: bytes | None, code: bytes | None) -> AccountInfo:
    """An ``AccountInfo`` (the pyrevm stub omits ``balance``; ``code_hash`` None = hash of code)."""
    return AccountInfo(balance=balance, nonce=nonce, code_hash=code_hash, code=code)  # type: ignore[call-arg]


def _code_hash(info: AccountInfo) -> bytes:
    return bytes(info.code_hash or _KECCAK_EMPTY)


def _state_slots(journal: str) -> dict[str, list[int]]:
    """Storage slot keys per account (lower-case 0x address) in pyrevm's ``journal_str``."""
    end = journal.find(_STATE_END)
    if not journal.startswith("JournaledState { state: {") or end < 0:
        raise BackendError(f"pyrevm journal_str has an unexpected form: {journal[:120]!r}")
    accounts = list(_STATE_ACCOUNT.finditer(journal, 0, end))
    slots: dict[str, list[int]] = {}
    for index, match in enumerate(accounts):
        stop = accounts[index + 1].start() if index + 1 < len(accounts) else end
        keys = _STATE_SLOT.findall(journal, match.end(), stop)
        slots[match[1].lower()] = [int(key) for key in keys]
    return slots


def _failure(exc: RuntimeError) -> CallResult:
    """A revert or halt as a result; anything else (a refused transaction) is a harness fault."""
    text = str(exc)
    revert = _REVERT.fullmatch(text)
    if revert:
        return CallResult(False, bytes.fromhex(revert[2]), int(revert[1]))
    halt = _HALT.fullmatch(text)
    if halt:
        return CallResult(False, b"", int(halt[2]))
    raise BackendError(f"pyrevm refused the transaction: {text}") from exc


@dataclass
class _Frame:
    """A journal checkpoint plus the non-journaled account changes made right after it."""

    snapshot_id: int | None
    checkpoint: JournalCheckpoint
    timestamp: int
    evm: EVM
    chain_id: int
    undo: list[tuple[str, AccountInfo]] = field(default_factory=list)


class PyrevmBackend(ClosingContext):
    """An in-process EVM (``EvmBackend``) with the CREATE2 deployer pre-installed, like anvil."""

    def __init__(
        self, chain_id: int, *, spec: str = "CANCUN", timestamp: int = GENESIS_TIMESTAMP
    ) -> None:
        revm_spec = SPECS.get(spec.upper())
        if revm_spec is None:
            raise ValueError(f"spec={spec!r}: must be one of {sorted(SPECS)}")
        self._chain_id = require_chain_id(chain_id)
        self._spec = spec.upper()
        self._revm_spec = revm_spec
        self._timestamp = timestamp
        self._evm = self._new_evm(chain_id)
        self._frames: list[_Frame] = []
        self._next_snapshot = 1
        self._dirty = True
        self._code_cache: dict[bytes, bytes] = {}
        self._lifted: dict[tuple[bytes, int, int], AccountInfo] = {}
        self._evm.insert_account_info(
            "0x" + CODE_READER_ADDRESS.hex(), AccountInfo(code=CODE_READER_RUNTIME)
        )
        self.set_code(CREATE2_DEPLOYER_ADDRESS, CREATE2_DEPLOYER_RUNTIME)

    def __repr__(self) -> str:
        return f"PyrevmBackend(chain_id={self._chain_id}, spec={self._spec!r})"

    @property
    def chain_id(self) -> int:
        """The chain id (CfgEnv) that CHAINID returns."""
        return self._chain_id

    @property
    def timestamp(self) -> int:
        """The block timestamp calls and transactions see."""
        return self._timestamp

    def set_timestamp(self, ts: int) -> None:
        """Set ``block.timestamp`` for what follows (any value, also backwards)."""
        self._timestamp = ts
        self._evm.set_block_env(self._block_env())

    def _new_evm(self, chain_id: int) -> EVM:
        env = Env(cfg=CfgEnv(chain_id=chain_id), block=self._block_env())
        return EVM(env=env, spec_id=self._revm_spec, gas_limit=DEFAULT_GAS_LIMIT)

    def set_chain_id(self, chain_id: int) -> None:
        """Run what follows with ``chain_id`` (CHAINID), on a new EVM holding a copy of the
        whole state; a snapshot taken before goes back to the old EVM and chain id."""
        require_chain_id(chain_id)
        if chain_id == self._chain_id:
            return
        accounts = self._dump_state()
        evm = self._new_evm(chain_id)
        for address, (info, slots) in accounts.items():
            evm.insert_account_info(address, info)
            if slots:
                evm.basic(address)
                for slot, value in slots.items():
                    evm.insert_account_storage(address, slot, value)
        self._evm, self._chain_id = evm, chain_id
        self._dirty = True

    def _dump_state(self) -> dict[str, tuple[AccountInfo, dict[int, int]]]:
        """Every account's info (exact code) and non-zero slots; the EVM is left as it was."""
        evm = self._evm
        loaded = {address.lower() for address in evm.journal_state}
        slots = _state_slots(evm.journal_str)
        if set(slots) != loaded:
            raise BackendError(
                f"pyrevm journal_str lists {len(slots)} accounts, journal_state {len(loaded)}"
            )
        checkpoint = evm.snapshot()
        try:
            addresses = sorted(loaded | {a.lower() for a in evm.db_accounts})
            return {a: self._copy_account(a, slots.get(a, [])) for a in addresses}
        finally:
            evm.revert(checkpoint)

    def _copy_account(self, address: str, keys: list[int]) -> tuple[AccountInfo, dict[int, int]]:
        """``address``'s info with its exact code, and its non-zero slots among ``keys``."""
        info = self._evm.basic(address)
        code_hash = _code_hash(info)
        code = None if code_hash == _KECCAK_EMPTY else self._runtime_code(address, code_hash)
        values = {key: int(self._evm.storage(address, key)) for key in keys}
        nonzero = {key: value for key, value in values.items() if value}
        return _account(info.balance, info.nonce, None, code), nonzero

    def _block_env(self) -> BlockEnv:
        return BlockEnv(
            number=1,
            timestamp=self._timestamp,
            gas_limit=DEFAULT_GAS_LIMIT,
            basefee=0,
            prevrandao=bytes(32),
            excess_blob_gas=0,
        )

    # -- execution -------------------------------------------------------------------------

    def call(
        self, to: bytes, data: bytes, *, sender: bytes, value: int = 0, gas: int | None = None
    ) -> CallResult:
        """Execute like ``eth_call``: inside a checkpoint that is always reverted."""
        caller = _hex(sender)
        lifted = self._lift_caller_code(caller)
        checkpoint = self._evm.snapshot()
        try:
            return self._execute(caller, _hex(to), data, value, gas)
        finally:
            self._evm.revert(checkpoint)
            if lifted is not None:
                self._restore_caller_code(caller, lifted)

    def transact(
        self, to: bytes, data: bytes, *, sender: bytes, value: int = 0, gas: int | None = None
    ) -> CallResult:
        """Execute and keep the effects (a revert keeps none)."""
        caller = _hex(sender)
        lifted = self._lift_caller_code(caller)
        self._dirty = True
        try:
            return self._execute(caller, _hex(to), data, value, gas)
        finally:
            if lifted is not None:
                self._restore_caller_code(caller, lifted)

    def _execute(
        self, caller: str, to: str, data: bytes, value: int, gas: int | None
    ) -> CallResult:
        evm = self._evm
        evm.reset_transient_storage()
        try:
            output = evm.message_call(caller, to, data, value, gas)
        except RuntimeError as exc:
            return _failure(exc)
        result = evm.result
        assert result is not None
        return CallResult(True, bytes(output), result.gas_used, tuple(map(_log, result.logs)))

    def deploy(self, creation_code: bytes, *, sender: bytes, value: int = 0) -> bytes:
        """Run ``creation_code`` as a CREATE from ``sender`` (its nonce picks the address)."""
        caller = _hex(sender)
        lifted = self._lift_caller_code(caller)
        self._dirty = True
        self._evm.reset_transient_storage()
        try:
            address = self._evm.deploy(caller, creation_code, value or None)
        except RuntimeError as exc:
            failure = _failure(exc)
            raise DeploymentError(
                f"contract creation from {caller} failed (gas used {failure.gas_used})",
                revert_data=failure.output,
            ) from exc
        finally:
            if lifted is not None:
                self._restore_caller_code(caller, lifted)
        return bytes.fromhex(address[2:])

    # -- EIP-3607: callers with code ------------------------------------------------------

    def _lift_caller_code(self, caller: str) -> AccountInfo | None:
        """Give a caller with code the empty code hash (code kept); its original info, or None."""
        info = self._evm.basic(caller)
        code_hash = _code_hash(info)
        if code_hash == _KECCAK_EMPTY:
            return None
        key = (code_hash, info.balance, info.nonce)
        stand_in = self._lifted.get(key)
        if stand_in is None:
            code = self._runtime_code(caller, code_hash)
            stand_in = _account(info.balance, info.nonce, _KECCAK_EMPTY, code)
            if len(self._lifted) > 256:
                self._lifted.clear()
            self._lifted[key] = stand_in
        self._evm.insert_account_info(caller, stand_in)
        return info

    def _restore_caller_code(self, caller: str, original: AccountInfo) -> None:
        """Put the caller's own account info back, keeping the balance/nonce the call left."""
        now = self._evm.basic(caller)
        self._evm.insert_account_info(caller, original)
        if now.nonce != original.nonce:
            code_hash = _code_hash(original)
            code = self._runtime_code(caller, code_hash)
            self._evm.insert_account_info(caller, _account(now.balance, now.nonce, code_hash, code))
        elif now.balance != original.balance:
            self._evm.set_balance(caller, now.balance)

    def _runtime_code(self, address: str, code_hash: bytes) -> bytes:
        """The exact runtime code of ``address`` (cached by code hash)."""
        code = self._code_cache.get(code_hash)
        if code is None:
            checkpoint = self._evm.snapshot()
            try:
                argument = bytes(12) + bytes.fromhex(address[2:])
                reader = "0x" + CODE_READER_ADDRESS.hex()
                code = bytes(self._evm.message_call(_ZERO, reader, argument))
            finally:
                self._evm.revert(checkpoint)
            self._code_cache[code_hash] = code
        return code

    # -- state ------------------------------------------------------------------------------

    def _account_before_change(self, address: str) -> AccountInfo:
        """The account's info; remembered for ``revert`` when a snapshot is open."""
        info = self._evm.basic(address)
        if self._frames:
            if self._dirty:
                self._frames.append(self._frame(None))
                self._dirty = False
            self._frames[-1].undo.append((address, info))
        return info

    def set_code(self, address: bytes, code: bytes) -> None:
        """Replace the code at ``address`` (balance, nonce and storage kept)."""
        target = _hex(address)
        info = self._account_before_change(target)
        code_hash = keccak(code) if code else None
        self._evm.insert_account_info(
            target, _account(info.balance, info.nonce, code_hash, code or None)
        )
        if code_hash is not None:
            self._code_cache[code_hash] = bytes(code)

    def get_code(self, address: bytes) -> bytes:
        """The exact runtime code at ``address``."""
        target = _hex(address)
        code_hash = _code_hash(self._evm.basic(target))
        if code_hash == _KECCAK_EMPTY:
            return b""
        return self._runtime_code(target, code_hash)

    def set_balance(self, address: bytes, wei: int) -> None:
        """Set the balance of ``address``."""
        target = _hex(address)
        self._account_before_change(target)
        self._evm.set_balance(target, wei)

    def get_balance(self, address: bytes) -> int:
        """The balance of ``address``."""
        return int(self._evm.get_balance(_hex(address)))

    def set_storage(self, address: bytes, slot: int, value: int) -> None:
        """Write a storage slot (journaled by revm, so ``revert`` undoes it)."""
        target = _hex(address)
        self._evm.basic(target)
        self._evm.insert_account_storage(target, slot, value)
        self._dirty = True

    def get_storage(self, address: bytes, slot: int) -> int:
        """Read a storage slot."""
        return int(self._evm.storage(_hex(address), slot))

    # -- snapshots --------------------------------------------------------------------------

    def snapshot(self) -> int:
        """Open a checkpoint; its id."""
        snapshot_id = self._next_snapshot
        self._next_snapshot += 1
        self._frames.append(self._frame(snapshot_id))
        self._dirty = False
        return snapshot_id

    def _frame(self, snapshot_id: int | None) -> _Frame:
        return _Frame(snapshot_id, self._evm.snapshot(), self._timestamp, self._evm, self._chain_id)

    def revert(self, snapshot_id: int) -> None:
        """Undo everything since ``snapshot_id`` (spending it and later ones)."""
        ids = [frame.snapshot_id for frame in self._frames]
        if snapshot_id not in ids:
            raise BackendError(f"snapshot_id={snapshot_id}: unknown or already reverted")
        index = ids.index(snapshot_id)
        while len(self._frames) > index:
            frame = self._frames.pop()
            frame.evm.revert(frame.checkpoint)
            for address, info in reversed(frame.undo):
                frame.evm.insert_account_info(address, info)
        self._evm, self._chain_id = frame.evm, frame.chain_id
        self._dirty = True
        self.set_timestamp(frame.timestamp)

    def close(self) -> None:
        """Drop snapshots and caches (the EVM itself is freed with the object)."""
        self._frames.clear()
        self._code_cache.clear()
        self._lifted.clear()
