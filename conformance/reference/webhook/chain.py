"""The four chain reads of the webhook, over JSON-RPC ``eth_call`` (PROTOCOL.md §5 "Chain calls").

A read that reverts (JSON-RPC error code 3) or returns ``0x`` (no code) is a definitive "no"
(WH-022); only a transport fault — no answer, timeout, HTTP error, malformed JSON-RPC — raises
``ChainFault`` (WH-033). A result that is not the ABI word Solidity would accept (a bool other
than 0/1, an address with dirty bits) is read as "no", as a Solidity caller would revert.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx
from eth_abi import decode, encode
from eth_abi.exceptions import DecodingError

from conformance.protocol import selectors
from conformance.protocol.hexutil import HexFormatError, parse_data, parse_quantity, to_data

REVERT_CODE = 3
"""JSON-RPC error code of an ``eth_call`` that reverted (geth, anvil)."""

RPC_TIMEOUT = 3.0
"""Seconds per chain request: a slow chain is a transport fault, never a hang."""


class ChainFault(Exception):
    """The chain could not be reached or answered garbage (a transport fault, WH-033)."""


class ChainClient:
    """``eth_call`` and probes against ``rpc_url`` on a shared ``httpx.AsyncClient``."""

    def __init__(
        self, rpc_url: str, http: httpx.AsyncClient, *, revert_is_fault: bool = False
    ) -> None:
        """``revert_is_fault`` exists for a mutant only (revert-is-rpc-failure)."""
        self._url = rpc_url
        self._http = http
        self._ids = itertools.count(1)
        self._revert_is_fault = revert_is_fault

    async def request(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC request; its ``result``, or the ``error`` object as ``{"error": …}``."""
        request_id = next(self._ids)
        payload = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        try:
            response = await self._http.post(self._url, json=payload, timeout=RPC_TIMEOUT)
        except httpx.HTTPError as exc:
            raise ChainFault(f"{method}: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise ChainFault(f"{method}: HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            raise ChainFault(f"{method}: answer is not JSON") from None
        if not isinstance(answer, dict) or answer.get("id") != request_id:
            raise ChainFault(f"{method}: answer is not the JSON-RPC answer to this request")
        if isinstance(answer.get("error"), dict):
            return {"error": answer["error"]}
        if "result" not in answer or answer.get("error") is not None:
            raise ChainFault(f"{method}: answer has neither result nor error")
        return answer["result"]

    async def call(self, to: bytes, data: bytes) -> bytes:
        """``eth_call`` at ``latest``; ``b""`` for a revert or no code (a definitive no)."""
        params = [{"to": to_data(to), "data": to_data(data)}, "latest"]
        result = await self.request("eth_call", params)
        if isinstance(result, dict):
            error = result["error"]
            if error.get("code") == REVERT_CODE and not self._revert_is_fault:
                return b""
            raise ChainFault(f"eth_call: JSON-RPC error {error.get('code')}")
        try:
            return parse_data(result)
        except (HexFormatError, TypeError):
            raise ChainFault("eth_call: result is not 0x hex") from None

    async def _bool_view(self, to: bytes, method: selectors.Method, arg: bytes) -> bool:
        raw = await self.call(to, method.selector + encode(["address"], [arg]))
        try:
            (value,) = decode(["bool"], raw, strict=True) if len(raw) == 32 else (False,)
        except DecodingError:
            return False
        return bool(value)

    async def is_our_member(self, factory: bytes, sender: bytes) -> bool:
        """``isOurMember(sender)`` (0xd5455541) on the member factory."""
        return await self._bool_view(factory, selectors.IS_OUR_MEMBER, sender)

    async def is_deployed_cluster(self, factory: bytes, cluster: bytes) -> bool:
        """``isDeployedCluster(cluster)`` (0x80c872ae) on a cluster factory."""
        return await self._bool_view(factory, selectors.IS_DEPLOYED_CLUSTER, cluster)

    async def allowed_app_id(self, cluster: bytes, sender: bytes) -> bool:
        """``allowedAppIds(sender)`` (0x875f31fb) on ``cluster``."""
        return await self._bool_view(cluster, selectors.ALLOWED_APP_IDS, sender)

    async def cluster_of(self, sender: bytes) -> bytes | None:
        """``sender.cluster()`` (0xdbd01de1); None on a revert, no code or a non-address."""
        raw = await self.call(sender, selectors.CLUSTER.selector)
        if len(raw) != 32 or raw[:12] != bytes(12):
            return None
        return raw[12:]

    async def probe(self) -> bool:
        """``/healthz``: ``eth_chainId``, else ``eth_blockNumber``, answers a quantity."""
        for method in ("eth_chainId", "eth_blockNumber"):
            try:
                result = await self.request(method, [])
            except ChainFault:
                return False
            if isinstance(result, str):
                try:
                    parse_quantity(result)
                except HexFormatError:
                    return False
                return True
        return False
