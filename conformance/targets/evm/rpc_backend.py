"""An EVM backend over a JSON-RPC node with anvil's test methods (e.g. a ``ManagedAnvil``).

One keep-alive ``httpx.Client``, one request per operation (``transact`` takes two). How each
operation is done, as checked against anvil 1.7.1:

- Transactions are sent from any address: the node must impersonate senders (anvil
  ``--auto-impersonate``; callers with code are accepted then, so EIP-3607 is no obstacle),
  accept a zero gas price (anvil ``--base-fee 0``) and auto-mine. Gas is always given, so
  nothing is estimated. anvil's ``eth_sendTransaction`` answers *before* its automine has
  produced the block (a receipt read right after it is often null), so transactions go through
  ``eth_sendTransactionSync`` (EIP-7966: answers with the receipt once mined); a node without it
  gets ``eth_sendTransaction`` and a short receipt poll.
- Status, gas used and logs come from the receipt; return or revert data from
  ``debug_traceTransaction`` with the ``callTracer`` (``onlyTopCall``): its ``output`` is the
  revert data of a failed transaction (a halt has none).
- ``call`` is ``debug_traceCall`` with the ``callTracer`` and ``withLog``: output, gas used,
  success and the logs of the frames that did not revert, in one request (``eth_call`` alone
  has neither gas nor logs, and reports a halt as a JSON-RPC error).
- ``set_timestamp`` is ``evm_setNextBlockTimestamp`` + ``anvil_setBlockTimestampInterval(0)``
  + ``evm_mine``: the latest block (which ``call`` reads) and every later block carry exactly
  that timestamp. anvil cannot go back in time, except by ``revert`` to an older snapshot.
- ``snapshot``/``revert`` are ``evm_snapshot``/``evm_revert`` (reverting spends the id and later
  ones; anvil answers ``false`` for an unknown id, raised here as a ``BackendError``).
- ``set_chain_id`` is ``anvil_setChainId`` (state kept; ``eth_chainId`` and CHAINID follow).
  ``evm_revert`` does not restore the chain id, so each snapshot remembers it and ``revert``
  sets it back.

Transport faults and JSON-RPC errors raise ``BackendError`` naming the method.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import httpx

from conformance.targets.evm.backend import (
    DEFAULT_GAS_LIMIT,
    BackendError,
    CallResult,
    ClosingContext,
    DeploymentError,
    Log,
    require_chain_id,
)

_METHOD_NOT_FOUND = -32601
_TRACE_TOP = {"tracer": "callTracer", "tracerConfig": {"onlyTopCall": True}}
_TRACE_LOGS = {"tracer": "callTracer", "tracerConfig": {"withLog": True}}


def _address(value: bytes) -> str:
    if len(value) != 20:
        raise ValueError(f"address={value!r}: must be 20 bytes")
    return "0x" + value.hex()


def _word(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


def _bytes(text: str | None) -> bytes:
    return bytes.fromhex(text[2:]) if text else b""


def _log(raw: dict[str, Any]) -> Log:
    return Log(
        _bytes(raw["address"]), tuple(_bytes(topic) for topic in raw["topics"]), _bytes(raw["data"])
    )


def _frame_logs(frame: dict[str, Any]) -> list[Log]:
    """Logs of a callTracer frame and its sub-calls in execution order, none from reverted ones."""
    if frame.get("error"):
        return []
    logs = frame.get("logs") or []
    calls = frame.get("calls") or []
    ordered: list[Log] = []
    for position in range(len(calls) + 1):
        ordered += [_log(raw) for raw in logs if int(raw.get("position", "0x0"), 16) == position]
        if position < len(calls):
            ordered += _frame_logs(calls[position])
    return ordered


class RpcError(BackendError):
    """A JSON-RPC error answer; ``code``, ``data`` as the node sent them."""

    def __init__(self, method: str, code: int, message: str, data: object = None) -> None:
        super().__init__(f"{method}: JSON-RPC error {code}: {message}")
        self.method = method
        self.code = code
        self.data = data


class RpcBackend(ClosingContext):
    """``EvmBackend`` over JSON-RPC at ``url`` (anvil test methods required for state edits)."""

    def __init__(self, url: str, *, timeout: float = 10.0, gas_price: int = 0) -> None:
        self._url = url
        self._gas_price = gas_price
        self._timeout = timeout
        self._sync = True
        self._ids = itertools.count(1)
        self._snapshot_chain: dict[int, int] = {}
        self._client = httpx.Client(timeout=timeout, headers={"content-type": "application/json"})
        try:
            self._chain_id = int(self.request("eth_chainId", []), 16)
        except BaseException:
            self._client.close()
            raise

    def __repr__(self) -> str:
        return f"RpcBackend({self._url!r})"

    # -- transport --------------------------------------------------------------------------

    def _post(self, method: str, payload: object) -> Any:
        try:
            response = self._client.post(self._url, json=payload)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise BackendError(f"{method}: {type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _result(method: str, answer: Any) -> Any:
        if not isinstance(answer, dict):
            raise BackendError(f"{method}: malformed JSON-RPC answer {answer!r:.200}")
        error = answer.get("error")
        if error is not None:
            code, message = error.get("code", 0), error.get("message", "")
            raise RpcError(method, code, message, error.get("data"))
        return answer.get("result")

    def request(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC call; its result (``BackendError`` on transport or RPC error)."""
        payload = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        return self._result(method, self._post(method, payload))

    # -- execution --------------------------------------------------------------------------

    @property
    def chain_id(self) -> int:
        """The node's chain id (``eth_chainId`` at construction, then ``set_chain_id``)."""
        return self._chain_id

    def set_chain_id(self, chain_id: int) -> None:
        """``anvil_setChainId``: what follows runs with ``block.chainid == chain_id``."""
        self.request("anvil_setChainId", [require_chain_id(chain_id)])
        self._chain_id = chain_id

    def _tx(self, to: bytes | None, data: bytes, sender: bytes, value: int, gas: int | None):  # type: ignore[no-untyped-def]
        tx = {
            "from": _address(sender),
            "data": "0x" + data.hex(),
            "value": hex(value),
            "gas": hex(DEFAULT_GAS_LIMIT if gas is None else gas),
            "gasPrice": hex(self._gas_price),
        }
        if to is not None:
            tx["to"] = _address(to)
        return tx

    def call(
        self, to: bytes, data: bytes, *, sender: bytes, value: int = 0, gas: int | None = None
    ) -> CallResult:
        """``debug_traceCall`` at the latest block: nothing persists."""
        tx = self._tx(to, data, sender, value, gas)
        tx.pop("gasPrice")
        frame = self.request("debug_traceCall", [tx, "latest", _TRACE_LOGS])
        success = not frame.get("error")
        logs = tuple(_frame_logs(frame)) if success else ()
        return CallResult(success, _bytes(frame.get("output")), int(frame["gasUsed"], 16), logs)

    def _send(self, tx: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Send a transaction and wait until it is mined; its receipt and top-call trace."""
        receipt = None
        if self._sync:
            try:
                receipt = self.request("eth_sendTransactionSync", [tx])
            except RpcError as exc:
                if exc.code != _METHOD_NOT_FOUND:
                    raise
                self._sync = False
        if receipt is None:
            receipt = self._wait_receipt(self.request("eth_sendTransaction", [tx]))
        trace = self.request("debug_traceTransaction", [receipt["transactionHash"], _TRACE_TOP])
        return receipt, trace

    def _wait_receipt(self, tx_hash: str) -> dict[str, Any]:
        """Poll ``eth_getTransactionReceipt`` until the (auto-mined) transaction is in a block."""
        deadline = time.monotonic() + self._timeout
        delay = 0.001
        while True:
            receipt = self.request("eth_getTransactionReceipt", [tx_hash])
            if receipt is not None:
                return dict(receipt)
            if time.monotonic() > deadline:
                raise BackendError(
                    f"eth_getTransactionReceipt: {tx_hash} not mined within {self._timeout}s "
                    "(is auto-mining on?)"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def transact(
        self, to: bytes, data: bytes, *, sender: bytes, value: int = 0, gas: int | None = None
    ) -> CallResult:
        """Send and mine a transaction; a revert is a result, not an error."""
        receipt, trace = self._send(self._tx(to, data, sender, value, gas))
        success = receipt["status"] == "0x1"
        logs = tuple(_log(raw) for raw in receipt["logs"]) if success else ()
        return CallResult(success, _bytes(trace.get("output")), int(receipt["gasUsed"], 16), logs)

    def deploy(self, creation_code: bytes, *, sender: bytes, value: int = 0) -> bytes:
        """A contract-creation transaction; the new address."""
        receipt, trace = self._send(self._tx(None, creation_code, sender, value, None))
        if receipt["status"] != "0x1":
            raise DeploymentError(
                f"contract creation from {_address(sender)} failed (gas used "
                f"{int(receipt['gasUsed'], 16)})",
                revert_data=_bytes(trace.get("output")),
            )
        return _bytes(receipt["contractAddress"])

    # -- state ------------------------------------------------------------------------------

    def set_code(self, address: bytes, code: bytes) -> None:
        """``anvil_setCode``."""
        self.request("anvil_setCode", [_address(address), "0x" + code.hex()])

    def get_code(self, address: bytes) -> bytes:
        """``eth_getCode`` at the latest block."""
        return _bytes(self.request("eth_getCode", [_address(address), "latest"]))

    def set_balance(self, address: bytes, wei: int) -> None:
        """``anvil_setBalance``."""
        self.request("anvil_setBalance", [_address(address), hex(wei)])

    def get_balance(self, address: bytes) -> int:
        """``eth_getBalance`` at the latest block."""
        return int(self.request("eth_getBalance", [_address(address), "latest"]), 16)

    def set_storage(self, address: bytes, slot: int, value: int) -> None:
        """``anvil_setStorageAt`` (slot and value as 32-byte words)."""
        self.request("anvil_setStorageAt", [_address(address), _word(slot), _word(value)])

    def get_storage(self, address: bytes, slot: int) -> int:
        """``eth_getStorageAt`` at the latest block."""
        return int(self.request("eth_getStorageAt", [_address(address), hex(slot), "latest"]), 16)

    def snapshot(self) -> int:
        """``evm_snapshot`` (the chain id of the moment is remembered for ``revert``)."""
        snapshot_id = int(self.request("evm_snapshot", []), 16)
        self._snapshot_chain[snapshot_id] = self._chain_id
        return snapshot_id

    def revert(self, snapshot_id: int) -> None:
        """``evm_revert``, then the chain id of the snapshot back (``BackendError`` when the
        node does not know the id)."""
        if self.request("evm_revert", [hex(snapshot_id)]) is not True:
            raise BackendError(f"evm_revert: snapshot_id={snapshot_id} unknown or already reverted")
        chain_id = self._snapshot_chain.get(snapshot_id)
        for spent in [i for i in self._snapshot_chain if i >= snapshot_id]:
            del self._snapshot_chain[spent]
        if chain_id is not None and chain_id != self._chain_id:
            self.set_chain_id(chain_id)

    @property
    def timestamp(self) -> int:
        """Timestamp of the latest block (what ``call`` sees)."""
        block = self.request("eth_getBlockByNumber", ["latest", False])
        return int(block["timestamp"], 16)

    def set_timestamp(self, ts: int) -> None:
        """Mine a block at ``ts`` and keep later blocks at ``ts`` (``ts`` ≥ latest block's)."""
        latest = self.timestamp
        if ts < latest:
            raise BackendError(
                f"evm_setNextBlockTimestamp: ts={ts} is before the latest block's {latest}; "
                "a node cannot go back in time (revert to a snapshot taken earlier)"
            )
        self.request("evm_setNextBlockTimestamp", [ts])
        self.request("anvil_setBlockTimestampInterval", [0])
        self.request("evm_mine", [])

    def close(self) -> None:
        """Close the HTTP client (idempotent)."""
        self._client.close()
