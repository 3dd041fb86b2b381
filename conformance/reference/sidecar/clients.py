"""The reference sidecar's clients: JSON-RPC over HTTP (node, bundler, paymaster) and the dstack
guest agent (HTTP URL or Unix socket, the dstack SDK convention) (PROTOCOL.md §7).

Every failure — transport, HTTP status, malformed answer, a JSON-RPC ``error`` — raises
``CallFailed``: an error is never swallowed into a default value (SC-022).
"""

from __future__ import annotations

import http.client
import itertools
import json
import socket
from typing import Any
from urllib.parse import urlsplit

from conformance.protocol.signatures import normalise_v

_TRANSPORT_ERRORS = (OSError, http.client.HTTPException, ValueError)


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over a Unix socket (the dstack agent's ``/var/run/dstack.sock`` convention)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


class _Http:
    """One keep-alive HTTP connection (re-opened after a failure); stdlib only, so the
    sidecar starts fast."""

    def __init__(self, url: str, timeout: float, *, unix_path: str | None = None) -> None:
        parts = urlsplit(url)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.host, self.port, self.https = parts.hostname or "localhost", parts.port, \
            parts.scheme == "https"
        self.timeout = timeout
        self.unix_path = unix_path
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self.unix_path is not None:
                self._conn = _UnixConnection(self.unix_path, self.timeout)
            elif self.https:
                self._conn = http.client.HTTPSConnection(self.host, self.port,
                                                         timeout=self.timeout)
            else:
                self._conn = http.client.HTTPConnection(self.host, self.port,
                                                        timeout=self.timeout)
        return self._conn

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        """POST JSON; (status, decoded JSON body). Transport errors propagate."""
        data = json.dumps(body).encode()
        conn = self._connection()
        try:
            conn.request("POST", path, body=data, headers={"content-type": "application/json"})
            answer = conn.getresponse()
            raw = answer.read()
        except BaseException:
            self.close()
            raise
        if answer.will_close:
            self.close()
        return answer.status, json.loads(raw)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class CallFailed(Exception):
    """A call did not produce a result; the attempt it belongs to ends here."""


class RpcClient:
    """A JSON-RPC 2.0 client for one URL (one persistent connection pool)."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self._http = _Http(url, timeout)
        self._ids = itertools.count(1)

    def call(self, method: str, params: list[Any]) -> Any:
        """The ``result`` of ``method(params)``; CallFailed on any failure."""
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        try:
            status, body = self._http.post(self._http.path, request)
        except _TRANSPORT_ERRORS as exc:
            raise CallFailed(f"{method}: {type(exc).__name__}") from None
        if status != 200 or not isinstance(body, dict):
            raise CallFailed(f"{method}: HTTP {status}")
        if body.get("error") is not None:
            error = body["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise CallFailed(f"{method}: error {message}")
        if "result" not in body:
            raise CallFailed(f"{method}: answer without result")
        return body["result"]

    def close(self) -> None:
        """Close the connection."""
        self._http.close()


class DstackClient:
    """The guest agent: ``DSTACK_SIMULATOR_ENDPOINT`` is an HTTP URL or a Unix socket path."""

    def __init__(self, endpoint: str, *, timeout: float = 10.0) -> None:
        if endpoint.startswith(("http://", "https://")):
            self._http = _Http(endpoint, timeout)
        else:
            self._http = _Http("http://localhost/", timeout, unix_path=endpoint)
        self._base = self._http.path.rstrip("/")

    def _post(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            status, data = self._http.post(f"{self._base}/{method}", body)
        except _TRANSPORT_ERRORS as exc:
            raise CallFailed(f"dstack {method}: {type(exc).__name__}") from None
        if status != 200 or not isinstance(data, dict):
            raise CallFailed(f"dstack {method}: HTTP {status}")
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
        self._http.close()
