"""The reference sidecar's clients: JSON-RPC over HTTP (node, bundler, paymaster) and the dstack
guest agent (HTTP URL or Unix socket, the dstack SDK convention) (PROTOCOL.md §7).

Every failure — transport, HTTP status, malformed answer, a JSON-RPC ``error`` — raises
``CallFailed``: an error is never swallowed into a default value (SC-022).
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from conformance.protocol.signatures import normalise_v


class CallFailed(Exception):
    """A call did not produce a result; the attempt it belongs to ends here."""


class RpcClient:
    """A JSON-RPC 2.0 client for one URL (one persistent connection pool)."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self._client = httpx.Client(timeout=timeout)
        self._ids = itertools.count(1)

    def call(self, method: str, params: list[Any]) -> Any:
        """The ``result`` of ``method(params)``; CallFailed on any failure."""
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        try:
            answer = self._client.post(self.url, json=request)
            body = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise CallFailed(f"{method}: {type(exc).__name__}") from None
        if answer.status_code != 200 or not isinstance(body, dict):
            raise CallFailed(f"{method}: HTTP {answer.status_code}")
        if body.get("error") is not None:
            error = body["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise CallFailed(f"{method}: error {message}")
        if "result" not in body:
            raise CallFailed(f"{method}: answer without result")
        return body["result"]

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


class DstackClient:
    """The guest agent: ``DSTACK_SIMULATOR_ENDPOINT`` is an HTTP URL or a Unix socket path."""

    def __init__(self, endpoint: str, *, timeout: float = 10.0) -> None:
        if endpoint.startswith(("http://", "https://")):
            self._client = httpx.Client(base_url=endpoint, timeout=timeout)
        else:
            transport = httpx.HTTPTransport(uds=endpoint)
            self._client = httpx.Client(base_url="http://localhost", transport=transport,
                                        timeout=timeout)

    def _post(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            answer = self._client.post(f"/{method}", json=body)
            data = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise CallFailed(f"dstack {method}: {type(exc).__name__}") from None
        if answer.status_code != 200 or not isinstance(data, dict):
            raise CallFailed(f"dstack {method}: HTTP {answer.status_code}")
        return data

    def get_key(self, path: str, purpose: str) -> tuple[int, list[bytes]]:
        """GetKey: the derived private key and its signature chain, v normalised to 27/28
        (dstack emits 0/1; PROTOCOL.md §4, SC-020)."""
        data = self._post("GetKey", {"path": path, "purpose": purpose})
        try:
            key = int(str(data["key"]).removeprefix("0x"), 16)
            chain = [bytes.fromhex(str(s).removeprefix("0x")) for s in data["signature_chain"]]
        except (KeyError, ValueError, TypeError) as exc:
            raise CallFailed(f"dstack GetKey: malformed answer ({exc})") from None
        return key, chain

    def normalised(self, chain: list[bytes]) -> list[bytes]:
        """The chain with every v written 27/28."""
        return [normalise_v(sig) for sig in chain]

    def app_id(self) -> bytes:
        """Info: the app id (the member contract)."""
        data = self._post("Info", {})
        try:
            return bytes.fromhex(str(data["app_id"]).removeprefix("0x"))
        except (KeyError, ValueError) as exc:
            raise CallFailed(f"dstack Info: malformed answer ({exc})") from None

    def close(self) -> None:
        """Close the connection."""
        self._client.close()
