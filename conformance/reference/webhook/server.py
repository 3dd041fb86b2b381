"""Run the reference webhook under uvicorn. The launch contract (PROTOCOL.md §5 "Configuration"):

The reference runs unchanged under the environment the live webhook reads:

- ``RPC_URL`` (required): the chain JSON-RPC endpoint.
- ``EXPECTED_CHAIN_ID`` (required): decimal (``8453``) or ``0x`` hex.
- ``CANONICAL_CLUSTER_FACTORY`` (required), ``CANONICAL_CLUSTER_FACTORY_V2`` (optional),
  ``CANONICAL_MEMBER_FACTORY`` (required): 20-byte ``0x`` addresses.
- ``ALCHEMY_WEBHOOK_TOKEN`` (required): the ``?token=`` of ``POST /``.
- ``PIMLICO_WEBHOOK_SECRET`` (optional): unset disables ``POST /pimlico`` (503).
- ``MAX_DAILY_OPS_PER_SENDER``: approvals per sender per UTC day, default 100, 0 disables.
- ``CACHE_TTL_SECONDS``: positive-answer TTL, a whole number >= 60, default 86400.
- ``SPONSOR_OPERATOR_METHOD``: exactly ``true`` enables the OPERATOR selectors (multi-attestor);
  any other value, or none, leaves them off.
- ``LOG_LEVEL``: ``info`` (default), ``warn`` or ``error``; any other value is malformed (500
  everywhere, WH-065); secrets are never logged.
- ``HOST`` (default 127.0.0.1) and ``PORT`` (default 0: a free port).

Suite extensions, optional (an implementation may ignore them; the checks that need them SKIP):

- ``CACHE_URL``: use the suite's KV peer (``conformance.peers.kv``) as the cache, so the suite
  can make the cache fail.
- ``WEBHOOK_GENERATION``: ``pimlico`` (default) | ``multi-attestor`` | ``base``.
- ``PIMLICO_KEY_DERIVATION``: ``live-base57`` (default) | ``standard`` | ``base58``.
- ``AMC_MUTANT`` (reference only): serve the named mutant (``amc mutants list``).

A missing or malformed required value (or a malformed optional one) does not stop the process:
it starts, and every request is answered 500 ``{"error":"server-misconfigured"}``. Once bound,
the server prints one line ``listening on http://HOST:PORT`` to stdout (flushed).

Run: ``python -m conformance.reference.webhook.server`` (the environment only), or
``amc serve webhook --profile P [--mutant M]``: the profile then fills in the chain id,
factories, generation, key derivation, cap, TTL and operator gate, and the token and secret are
read from the variables the profile names — unless the environment sets ``EXPECTED_CHAIN_ID``
or a ``CANONICAL_*`` factory, in which case the environment is the complete contract (only
``WEBHOOK_GENERATION`` and ``PIMLICO_KEY_DERIVATION`` still default to the profile), so a
launcher can leave a variable out on purpose.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from conformance.reference.webhook.app import create_app

DEFAULT_HOST = "127.0.0.1"
"""Every server the suite starts binds loopback unless told otherwise (ARCHITECTURE.md)."""


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that name it, and
    # without it every keep-alive answer waits ~40 ms on Nagle and delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    return sock


def _server(app: ASGIApp, sock: socket.socket, log_level: str) -> uvicorn.Server:
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level.lower(),
                            access_log=False, lifespan="on", timeout_graceful_shutdown=2)
    return uvicorn.Server(config)


def serve(app: ASGIApp, host: str, port: int, *, log_level: str = "warning",
          announce: Callable[[str], None] | None = None) -> None:
    """Serve ``app`` until interrupted; ``announce`` gets the URL once the socket is bound."""
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    url = f"http://{bound_host}:{bound_port}"
    server = _server(app, sock, log_level)
    if announce is not None:
        announce(url)
    server.run(sockets=[sock])


@dataclass
class RunningServer:
    """A webhook served by uvicorn in a background thread (tests and in-process targets)."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, *, wait: bool = True) -> None:
        """Ask uvicorn to exit (it stops accepting within 0.1 s); ``wait`` joins the thread."""
        self.server.should_exit = True
        if wait:
            self.thread.join(timeout=10)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_in_thread(app: ASGIApp, host: str = DEFAULT_HOST, port: int = 0,
                    *, ready_timeout: float = 10.0) -> RunningServer:
    """Start ``app`` on ``host:port`` in a daemon thread; returns once it accepts connections."""
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    server = _server(app, sock, "warning")

    def run() -> None:
        asyncio.run(server.serve(sockets=[sock]))

    thread = threading.Thread(target=run, name=f"webhook-{bound_port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + ready_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the reference webhook did not start")
        time.sleep(0.01)
    return RunningServer(f"http://{bound_host}:{bound_port}", server, thread)


def announce_stdout(url: str) -> None:
    """Print the one line a launcher reads."""
    print(f"listening on {url}", flush=True)


def main() -> int:
    """Serve the reference configured by ``os.environ`` (the launch contract above)."""
    host = os.environ.get("HOST", "").strip() or DEFAULT_HOST
    port_text = os.environ.get("PORT", "").strip() or "0"
    if not port_text.isdigit() or int(port_text) > 65535:
        print(f"PORT={port_text!r}: expected a port number", file=sys.stderr)
        return 2
    serve(create_app(os.environ), host, int(port_text), announce=announce_stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
