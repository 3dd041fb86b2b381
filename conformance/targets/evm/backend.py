"""The EVM backend interface: one small protocol over an embedded EVM or a JSON-RPC node.

An account-contract target (ARCHITECTURE.md: targets/) runs its checks through this interface,
so the same check runs in-process (``PyrevmBackend``, the fast default) or against a real
node (``RpcBackend``, e.g. a managed anvil). Addresses are 20-byte ``bytes`` at the interface.

``BackendError`` is a harness fault (transport, node, EVM set-up): the suite maps it to ERROR,
never FAIL. A transaction that reverts is *not* an error: it is a ``CallResult`` with
``success=False`` and the revert data as ``output``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

DEFAULT_GAS_LIMIT = 30_000_000
"""Gas of a call or transaction when none is given, and the block gas limit (anvil's default)."""

ADDRESS_LENGTH = 20


class BackendError(Exception):
    """A transport or harness fault: the backend could not run the case (verdict ERROR)."""


class DeploymentError(BackendError):
    """A contract creation failed; ``revert_data`` holds the constructor's revert data."""

    def __init__(self, message: str, revert_data: bytes = b"") -> None:
        super().__init__(message)
        self.revert_data = revert_data


@dataclass(frozen=True, slots=True)
class Log:
    """One event log: emitting contract, topics (32 bytes each) and data."""

    address: bytes
    topics: tuple[bytes, ...]
    data: bytes


@dataclass(frozen=True, slots=True)
class CallResult:
    """Outcome of a call or transaction.

    ``output`` is the return data on success and the revert data on failure (empty on an
    exceptional halt such as out-of-gas). ``gas_used`` includes the intrinsic 21000 + calldata
    gas. ``logs`` is empty when ``success`` is False.
    """

    success: bool
    output: bytes
    gas_used: int
    logs: tuple[Log, ...] = ()


@runtime_checkable
class EvmBackend(Protocol):
    """What a check needs from an EVM. Both implementations behave alike (tested side by side).

    ``call`` runs like ``eth_call``: it may execute state-changing code, but nothing persists.
    ``transact`` persists its effects and never raises on revert. ``snapshot`` returns an id;
    ``revert(id)`` restores the state (code, balances, storage, timestamp, chain id) of that
    moment and spends that id and every later one.
    """

    @property
    def chain_id(self) -> int:
        """The chain id the EVM runs with (the CHAINID opcode)."""
        ...

    @property
    def timestamp(self) -> int:
        """The block timestamp calls and transactions see."""
        ...

    def deploy(self, creation_code: bytes, *, sender: bytes, value: int = 0) -> bytes:
        """Create a contract from ``creation_code``; its address (else ``DeploymentError``)."""
        ...

    def call(
        self, to: bytes, data: bytes, *, sender: bytes, value: int = 0, gas: int | None = None
    ) -> CallResult:
        """Execute without persisting anything."""
        ...

    def transact(
        self, to: bytes, data: bytes, *, sender: bytes, value: int = 0, gas: int | None = None
    ) -> CallResult:
        """Execute and persist (state changes of a reverted transaction are dropped)."""
        ...

    def set_code(self, address: bytes, code: bytes) -> None:
        """Replace the runtime code at ``address``."""
        ...

    def get_code(self, address: bytes) -> bytes:
        """The runtime code at ``address`` (empty for an account without code)."""
        ...

    def set_balance(self, address: bytes, wei: int) -> None:
        """Set the balance of ``address``."""
        ...

    def get_balance(self, address: bytes) -> int:
        """The balance of ``address`` in wei."""
        ...

    def set_storage(self, address: bytes, slot: int, value: int) -> None:
        """Write one storage slot of ``address``."""
        ...

    def get_storage(self, address: bytes, slot: int) -> int:
        """Read one storage slot of ``address``."""
        ...

    def snapshot(self) -> int:
        """Remember the current state; an id for ``revert``."""
        ...

    def revert(self, snapshot_id: int) -> None:
        """Go back to the state of ``snapshot_id`` (spends it and every later snapshot)."""
        ...

    def set_timestamp(self, ts: int) -> None:
        """Make following calls and transactions see ``block.timestamp == ts``."""
        ...

    def set_chain_id(self, chain_id: int) -> None:
        """Make following calls and transactions see ``block.chainid == chain_id``, state kept
        (a fork, or the same deployment on another chain: AC-015)."""
        ...

    def close(self) -> None:
        """Release the backend's resources (idempotent)."""
        ...

    def __enter__(self) -> EvmBackend: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class ClosingContext:
    """Mixin: ``with backend:`` closes the backend on exit."""

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


MAX_CHAIN_ID = 2**64 - 1
"""The largest chain id both backends accept (revm and anvil keep it in a u64)."""


def require_chain_id(chain_id: int) -> int:
    """Return ``chain_id`` if it is an int in 1..MAX_CHAIN_ID, else raise ``ValueError``."""
    if (
        isinstance(chain_id, bool)
        or not isinstance(chain_id, int)
        or not (1 <= chain_id <= MAX_CHAIN_ID)
    ):
        raise ValueError(f"chain_id={chain_id!r}: must be an int in 1..2**64-1")
    return chain_id


def require_address(value: bytes, name: str = "address") -> bytes:
    """Return ``value`` if it is a 20-byte address, else raise ``ValueError`` naming it."""
    if not isinstance(value, bytes | bytearray) or len(value) != ADDRESS_LENGTH:
        raise ValueError(f"{name}={value!r}: must be 20 bytes")
    return bytes(value)
