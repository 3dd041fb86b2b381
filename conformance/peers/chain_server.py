"""``ChainPeer``: the fake chain JSON-RPC node a webhook under test talks to (PROTOCOL.md §5).

A real HTTP server on 127.0.0.1 (random free port) serving ``conformance.peers.chain`` answers
for a ``ChainScenario``, with per-call fault injection (``conformance.peers.faults``) and a log
of every call. It runs its own asyncio loop in a background thread so synchronous checks can
use it; ``stop()`` always releases the thread, the loop and the port.

Server choice: ``aiohttp.web`` (pinned in requirements.lock). Its handlers can reach the
request's transport, so CONNECTION_RESET is a genuine TCP RST (SO_LINGER 0 + ``abort()``) and
TIMEOUT can drop a held connection without a response; ASGI (starlette/uvicorn) hides the
transport, so a handler there can only answer or error (uvicorn turns that into a 500). It
also serves a socket we bind ourselves (``SockSite``), so the port is known before the thread
starts and a "refuse connections" mode can close and re-open the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any, Literal

from aiohttp import web

from conformance.peers.chain import (
    JsonObject,
    ParsedBody,
    RecordedCall,
    Rejected,
    RpcCall,
    answer_call,
    call_keys,
    parse_body,
    record_call,
)
from conformance.peers.chain_scenario import ChainScenario
from conformance.peers.faults import CallKey, Fault, FaultBook, FaultKind, FaultPlan, malform

DownMode = Fault | Literal["refuse"]
"""How the whole chain is down: every request gets a fault, or connections are refused."""

NOT_JSON_BODY = b'{"jsonrpc":"2.0","id":'
"""The MALFORMED/NOT_JSON body: JSON cut short, as a proxy that dropped the upstream gives."""


class ChainPeer:
    """A fake chain RPC node; use as a context manager or ``start()``/``stop()``."""

    def __init__(
        self, scenario: ChainScenario, *, max_hold: float = 10.0, log_limit: int = 100_000
    ) -> None:
        """``max_hold`` bounds every TIMEOUT/LATENCY hold; the log keeps the last ``log_limit``."""
        if max_hold <= 0 or log_limit < 1:
            raise ValueError(f"max_hold={max_hold}, log_limit={log_limit}: must be positive")
        self._scenario = scenario
        self._max_hold = max_hold
        self._lock = threading.Lock()
        self._book = FaultBook()
        self._down: DownMode | None = None
        self._log: deque[RecordedCall] = deque(maxlen=log_limit)
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.SockSite | None = None
        self._release: asyncio.Event | None = None

    # -- life cycle ---------------------------------------------------------------------

    def start(self) -> ChainPeer:
        """Bind 127.0.0.1 on a free port and serve in a background thread."""
        if self._thread is not None:
            raise RuntimeError("ChainPeer already started")
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(
            target=_run_loop, args=(loop,), name="chain-peer", daemon=True
        )
        self._thread.start()
        try:
            sock = _listening_socket(0)
            self._port = sock.getsockname()[1]
            asyncio.run_coroutine_threadsafe(self._serve(sock), loop).result(timeout=10)
        except BaseException:
            self.stop()
            raise
        return self

    async def _serve(self, sock: socket.socket) -> None:
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=2.0
        )
        await self._runner.setup()
        await self._open_site(sock)

    async def _open_site(self, sock: socket.socket) -> None:
        assert self._runner is not None
        self._site = web.SockSite(self._runner, sock)
        await self._site.start()

    def stop(self) -> None:
        """Stop serving; release held connections, the thread and the port. Idempotent."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if not loop.is_closed() and thread.is_alive():
            loop.call_soon_threadsafe(self._release_holds)
            if self._runner is not None:
                cleanup = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop)
                with contextlib.suppress(Exception):
                    cleanup.result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._loop = self._thread = self._runner = self._site = None
        self._port = None

    def _release_holds(self) -> None:
        if self._release is not None:
            self._release.set()

    def __enter__(self) -> ChainPeer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (only while started)."""
        if self._port is None:
            raise RuntimeError("ChainPeer not started")
        return self._port

    @property
    def url(self) -> str:
        """The RPC URL to give the webhook (``RPC_URL``)."""
        return f"http://127.0.0.1:{self.port}/"

    # -- scenario, faults, log ------------------------------------------------------------

    @property
    def scenario(self) -> ChainScenario:
        """The scenario now served."""
        with self._lock:
            return self._scenario

    def set_scenario(self, scenario: ChainScenario) -> None:
        """Serve ``scenario`` from the next request on."""
        with self._lock:
            self._scenario = scenario

    def inject(self, *plans: FaultPlan) -> None:
        """Arm fault plans (first armed, first to fire on a matching call)."""
        with self._lock:
            for plan in plans:
                self._book.add(plan)

    def clear_faults(self) -> None:
        """Disarm every plan and bring the chain back up."""
        with self._lock:
            self._book.clear()
        self.set_down(None)

    def armed(self) -> tuple[FaultPlan, ...]:
        """The armed plans still able to fire, with the counts they have left."""
        with self._lock:
            return self._book.remaining()

    @property
    def down_mode(self) -> DownMode | None:
        """How the whole chain is down now (None: up)."""
        with self._lock:
            return self._down

    def set_down(self, mode: DownMode | None) -> None:
        """Whole chain down: every request gets ``mode`` (a Fault), or with ``"refuse"`` the port
        stops accepting connections (requests on open connections are reset). None: back up."""
        with self._lock:
            was_refusing, self._down = self._down == "refuse", mode
        refusing = mode == "refuse"
        if refusing != was_refusing and self._loop is not None:
            change = self._close_site() if refusing else self._reopen_site()
            asyncio.run_coroutine_threadsafe(change, self._loop).result(timeout=10)

    async def _close_site(self) -> None:
        if self._site is not None:
            await self._site.stop()
            self._site = None

    async def _reopen_site(self) -> None:
        if self._site is None:
            await self._open_site(_listening_socket(self.port))

    @contextlib.contextmanager
    def down(self, mode: DownMode = "refuse") -> Iterator[ChainPeer]:
        """``with peer.down(): ...`` — the chain is unreachable inside the block."""
        self.set_down(mode)
        try:
            yield self
        finally:
            self.set_down(None)

    @property
    def requests(self) -> tuple[RecordedCall, ...]:
        """Every call received since the last ``clear_log()``, in arrival order."""
        with self._lock:
            return tuple(self._log)

    def clear_log(self) -> None:
        """Forget the recorded calls."""
        with self._lock:
            self._log.clear()

    def calls(
        self,
        selector_name: str | None = None,
        *,
        to: bytes | None = None,
        argument: bytes | None = None,
    ) -> list[RecordedCall]:
        """The ``eth_call`` calls received, optionally only those with this selector name
        (``isOurMember``…, or ``0x`` hex), target and address argument."""
        return [
            r
            for r in self.requests
            if r.method == "eth_call"
            and (selector_name is None or r.selector_name == selector_name)
            and (to is None or r.to == to)
            and (argument is None or r.argument == argument)
        ]

    # -- request handling -----------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        received = time.time()
        body = await request.read() if request.method == "POST" else b""
        parsed = parse_body(body) if request.method == "POST" else None
        with self._lock:
            scenario, down = self._scenario, self._down
            keys = call_keys(parsed)
            faults = [self._fault_for(key, down) for key in keys]
        answers = _answers(scenario, parsed)
        self._record(received, parsed, answers, faults)
        latency = max((f.seconds for f in faults if f and f.kind is FaultKind.LATENCY), default=0)
        if latency:
            await self._hold(latency)
        transport = next((f for f in faults if f is not None and f.is_transport), None)
        if transport is not None:
            return await self._apply_transport(request, transport)
        if parsed is None:
            return web.Response(status=405, text="method not allowed")
        return _json_response(parsed, answers, faults)

    def _fault_for(self, key: CallKey, down: DownMode | None) -> Fault | None:
        if down == "refuse":
            return Fault.connection_reset()
        if isinstance(down, Fault):
            return down
        return self._book.pick(key)

    def _record(
        self,
        received: float,
        parsed: ParsedBody | JsonObject | None,
        answers: list[tuple[JsonObject, str]],
        faults: list[Fault | None],
    ) -> None:
        entries = []
        items = parsed.items if isinstance(parsed, ParsedBody) else (None,)
        for item, (_, outcome), fault in zip(items, answers, faults, strict=True):
            entries.append(record_call(received, item, outcome, fault, len(items)))
        with self._lock:
            self._log.extend(entries)

    async def _hold(self, seconds: float) -> None:
        """Sleep ``seconds`` (at most ``max_hold``), or until the peer stops."""
        assert self._release is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._release.wait(), timeout=min(seconds, self._max_hold))

    async def _apply_transport(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        if fault.kind is FaultKind.HTTP_5XX:
            return web.Response(status=fault.status, text=f"injected HTTP {fault.status}")
        if fault.kind is FaultKind.MALFORMED:
            return web.Response(body=NOT_JSON_BODY, content_type="application/json")
        if fault.kind is FaultKind.TIMEOUT:
            await self._hold(fault.seconds or self._max_hold)
        reset_connection(request)
        return web.Response(status=204)  # never reaches the client: the transport is gone


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.close()


def _listening_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    return sock


def reset_connection(request: web.Request) -> None:
    """Abort the connection with a TCP RST (SO_LINGER 0), sending nothing."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _answers(
    scenario: ChainScenario, parsed: ParsedBody | JsonObject | None
) -> list[tuple[JsonObject, str]]:
    if parsed is None:
        return [({}, "invalid")]
    if not isinstance(parsed, ParsedBody):
        return [(parsed, "invalid")]
    return [
        (item.response, "invalid") if isinstance(item, Rejected) else answer_call(scenario, item)
        for item in parsed.items
    ]


def _json_response(
    parsed: ParsedBody | JsonObject,
    answers: list[tuple[JsonObject, str]],
    faults: list[Fault | None],
) -> web.Response:
    if not isinstance(parsed, ParsedBody):
        return _json_body(answers[0][0])
    out: list[JsonObject] = []
    for item, (response, _), fault in zip(parsed.items, answers, faults, strict=True):
        if isinstance(item, RpcCall) and item.is_notification:
            continue
        if fault is not None and fault.kind is FaultKind.MALFORMED:
            response = malform(response, fault.malformation)
        out.append(response)
    if not out:
        return web.Response(status=200)
    return _json_body(out if parsed.is_batch else out[0])


def _json_body(payload: Any) -> web.Response:
    return web.Response(body=json.dumps(payload).encode(), content_type="application/json")
