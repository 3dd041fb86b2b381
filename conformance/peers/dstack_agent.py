"""The dstack guest agent a sidecar gets its keys from (PROTOCOL.md §4, §7; SC-020, SC-021).

``GetKey`` (``{"path", "purpose"}`` → ``{"key", "signature_chain"}``) derives a key per
(path, purpose) and signs it in the chain the cluster verifies: the app key (test key 2) over
``purpose:hex(derived key)``, a KMS root (test key 1) over ``dstack-kms-issued:‖app id‖app key``
— with v as 0/1, the way dstack emits it, so a sidecar must normalise. ``Info`` answers the app
id, which is the member contract. Served over HTTP on 127.0.0.1 or on a Unix socket at a
per-run path (never the fixed ``/var/run/dstack.sock``); the sidecar gets either in
``DSTACK_SIMULATOR_ENDPOINT``, the dstack SDK convention.
"""

from __future__ import annotations

import json
import os
import socketserver
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from conformance.peers.proxy_faults import Transcript
from conformance.protocol.attestation import app_message_digest, kms_message_digest
from conformance.protocol.hexutil import keccak
from conformance.protocol.signatures import SECP256K1_N, key_pair, sign_digest

KMS_ROOT_KEY = 1
"""Public test key 1, the KMS root (PROTOCOL.md §4)."""
APP_KEY = 2
"""Public test key 2, the app key (PROTOCOL.md §4)."""


def derive_key(seed: bytes, path: str, purpose: str) -> int:
    """The private key the agent derives for (path, purpose) from its per-run ``seed``."""
    value = int.from_bytes(keccak(seed + path.encode() + b"\x00" + purpose.encode()), "big")
    return value % (SECP256K1_N - 1) + 1


def raw_v(sig: bytes) -> bytes:
    """``sig`` with v written 0/1, as dstack emits it."""
    return sig[:64] + bytes([sig[64] - 27 if sig[64] >= 27 else sig[64]])


@dataclass
class DstackAgent:
    """The agent's identity: app id (the member contract) and the per-run derivation seed."""

    app_id: bytes
    seed: bytes
    transcript: Transcript

    def get_key(self, request: dict[str, Any]) -> dict[str, Any]:
        """GetKey: the derived key and its signature chain [app signature, KMS signature]."""
        path, purpose = str(request.get("path", "")), str(request.get("purpose", ""))
        private = derive_key(self.seed, path, purpose)
        derived_pub = key_pair(private).public_compressed
        app_pub = key_pair(APP_KEY).public_compressed
        app_sig = sign_digest(APP_KEY, app_message_digest(purpose, derived_pub))
        kms_sig = sign_digest(KMS_ROOT_KEY, kms_message_digest(self.app_id, app_pub))
        return {"key": private.to_bytes(32, "big").hex(),
                "signature_chain": [raw_v(app_sig).hex(), raw_v(kms_sig).hex()]}

    def info(self, request: dict[str, Any]) -> dict[str, Any]:
        """Info: the app id (= member contract) and boot measurements."""
        return {"app_id": self.app_id.hex(), "instance_id": keccak(self.seed)[:20].hex(),
                "app_name": "attestmesh-node", "tcb_info": json.dumps({"compose_hash": "00" * 32}),
                "compose_hash": "00" * 32}

    def answer(self, path: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        """The HTTP status and JSON body for one request; recorded (the key itself is not)."""
        started = self.transcript.now()
        try:
            request = json.loads(raw or b"{}")
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError:
            status, body, method = 400, {"error": "bad json"}, path
        else:
            name = path.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
            method = name
            if name == "GetKey":
                status, body = 200, self.get_key(request)
            elif name == "Info":
                status, body = 200, self.info(request)
            else:
                status, body = 404, {"error": f"unknown method {name}"}
            recorded = {**body, "key": "<derived key>"} if "key" in body else body
            self.transcript.add(at=started, peer="dstack", path=path, method=method,
                                params=request, result=recorded,
                                duration=self.transcript.now() - started)
        return status, body


def _handler(agent: DstackAgent, *, tcp: bool) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = tcp

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            return

        def address_string(self) -> str:
            return "dstack-client"

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            status, body = agent.answer(self.path, self.rfile.read(min(length, 1 << 16)))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = _serve  # noqa: N815 - stdlib name
        do_GET = _serve  # noqa: N815 - stdlib name

    return _Handler


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class DstackAgentServer:
    """Serve a ``DstackAgent`` over HTTP on 127.0.0.1 or on the Unix socket ``socket_path``."""

    def __init__(self, agent: DstackAgent, *, socket_path: str | None = None) -> None:
        self.agent = agent
        self.socket_path = socket_path
        self._server: socketserver.BaseServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> DstackAgentServer:
        """Bind and serve in a daemon thread."""
        server: socketserver.BaseServer
        if self.socket_path:
            if os.path.exists(self.socket_path):
                os.unlink(self.socket_path)
            server = _UnixServer(self.socket_path, _handler(self.agent, tcp=False))
        else:
            server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.agent, tcp=True))
            server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="peer-dstack", daemon=True)
        self._thread.start()
        return self

    @property
    def endpoint(self) -> str:
        """The value of ``DSTACK_SIMULATOR_ENDPOINT``: the socket path or the HTTP URL."""
        if self._server is None:
            raise RuntimeError("dstack agent not started")
        if self.socket_path:
            return self.socket_path
        address: Any = self._server.server_address
        return f"http://{address[0]}:{address[1]}"

    def stop(self) -> None:
        """Stop serving and remove the socket file (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.socket_path and os.path.exists(self.socket_path):
            os.unlink(self.socket_path)
        self._server = self._thread = None

    def __enter__(self) -> DstackAgentServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
