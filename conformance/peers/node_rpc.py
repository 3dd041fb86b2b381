"""The node JSON-RPC a sidecar reads the chain through (PROTOCOL.md §7 step 1; SC-001, SC-002).

Backed by the run's EVM (any ``ChainView``: the targets layer hands in the embedded EVM), so
``EntryPoint.getNonce``, ``cluster()`` and ``memberOf`` answer from real contract state. Serves
``eth_chainId``, ``eth_call``, ``eth_getCode``, ``eth_blockNumber``,
``eth_getTransactionCount`` and ``eth_estimateGas``; any other method is "method not found".
A reverting ``eth_call`` is the node's error 3 with the revert data, as geth answers.
"""

from __future__ import annotations

from typing import Any, Protocol

from conformance.peers.proxy_faults import CallContext, MethodTable, RpcError
from conformance.protocol.hexutil import parse_address, parse_data, to_data, to_quantity

BLOCK_TAGS = frozenset({"latest", "pending", "safe", "finalized", "earliest"})
"""Named block tags a node accepts (a hex block number is accepted too)."""


class ChainView(Protocol):
    """What the peers need from the chain (the targets layer implements it over an EVM)."""

    @property
    def chain_id(self) -> int:
        """The chain id."""
        ...

    def eth_call(self, to: bytes, data: bytes, sender: bytes) -> tuple[bool, bytes, int]:
        """Run a call without persisting: (success, return or revert data, gas used)."""
        ...

    def code(self, address: bytes) -> bytes:
        """Runtime code at ``address``."""
        ...

    def block_number(self) -> int:
        """The latest block number."""
        ...

    def transaction_count(self, address: bytes) -> int:
        """The EOA transaction count of ``address`` (never a smart account's EntryPoint nonce)."""
        ...


def _block_tag(params: list[Any], index: int) -> str:
    tag = params[index] if len(params) > index else "latest"
    if not isinstance(tag, str) or (tag not in BLOCK_TAGS and not tag.startswith("0x")):
        raise RpcError(-32602, f"invalid block tag {tag!r}")
    return tag


def _call_object(params: list[Any]) -> tuple[bytes, bytes, bytes]:
    if not params or not isinstance(params[0], dict):
        raise RpcError(-32602, "missing call object")
    call = params[0]
    to = parse_address(str(call.get("to", "")))
    data = parse_data(str(call.get("data") or call.get("input") or "0x"))
    sender = parse_address(str(call.get("from") or "0x" + "00" * 20))
    return to, data, sender


def node_methods(chain: ChainView, *, peer: str = "node") -> MethodTable:
    """The node RPC's method table over ``chain``."""

    def chain_id(params: list[Any], ctx: CallContext) -> str:
        return to_quantity(chain.chain_id)

    def eth_call(params: list[Any], ctx: CallContext) -> str:
        to, data, sender = _call_object(params)
        _block_tag(params, 1)
        ok, output, _ = chain.eth_call(to, data, sender)
        if not ok:
            raise RpcError(3, "execution reverted", to_data(output))
        return to_data(output)

    def get_code(params: list[Any], ctx: CallContext) -> str:
        _block_tag(params, 1)
        return to_data(chain.code(parse_address(str(params[0]))))

    def block_number(params: list[Any], ctx: CallContext) -> str:
        return to_quantity(chain.block_number())

    def transaction_count(params: list[Any], ctx: CallContext) -> str:
        _block_tag(params, 1)
        return to_quantity(chain.transaction_count(parse_address(str(params[0]))))

    def estimate_gas(params: list[Any], ctx: CallContext) -> str:
        to, data, sender = _call_object(params)
        ok, output, gas_used = chain.eth_call(to, data, sender)
        if not ok:
            raise RpcError(3, "execution reverted", to_data(output))
        return to_quantity(gas_used)

    methods = {
        "eth_chainId": chain_id,
        "eth_call": eth_call,
        "eth_getCode": get_code,
        "eth_blockNumber": block_number,
        "eth_getTransactionCount": transaction_count,
        "eth_estimateGas": estimate_gas,
    }
    return MethodTable(peer, methods)
