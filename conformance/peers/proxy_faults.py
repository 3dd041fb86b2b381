"""The sidecar's peers on the wire: a recording JSON-RPC HTTP server on 127.0.0.1 with faults
injected per method and per call, as a proxy between the sidecar and the real service would
(PROTOCOL.md §7, rules SC-004, SC-013, SC-014, SC-018, SC-022).

``RpcPeerServer`` serves one or more ``MethodTable``s (node RPC, bundler, paymaster) and writes
every exchange — request, answer, fault, time — into a shared ``Transcript``, the reproducer of
every sidecar FAIL. ``SidecarFault`` and ``FaultSchedule`` say which call of which method goes
wrong and how; wire faults (latency, timeout, reset, truncated body, JSON-RPC error) are applied
here, the semantic ones (declined or expired sponsorship, ``success: false``, a receipt that
never comes) by the peer that owns the method.
"""

from __future__ import annotations

import contextlib
import enum
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

JsonValue = Any
Handler = Callable[[list[Any], "CallContext"], JsonValue]
"""A method implementation: params, context → the JSON-RPC ``result`` (raise ``RpcError``)."""

METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
SERVER_ERROR = -32000
MAX_BODY = 1 << 20
"""Largest request body a peer reads (a flooding client gets 413, never a hung peer)."""


class RpcError(Exception):
    """A JSON-RPC error answer (``code``, ``message``, optional ``data``)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.data = data

    def as_json(self) -> dict[str, Any]:
        """The ``error`` member of the answer."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            out["data"] = self.data
        return out


class FaultKind(enum.StrEnum):
    """What goes wrong with one call (PROTOCOL.md §7 failure modes)."""

    LATENCY = "latency"
    TIMEOUT = "timeout"
    RESET = "reset"
    TRUNCATED = "truncated"
    RPC_ERROR = "rpc-error"
    DECLINE = "decline"
    """The paymaster declines sponsorship (a JSON-RPC error from the sponsorship method)."""
    NO_PAYMASTER = "no-paymaster"
    """The paymaster answers success without paymaster fields (SC-009)."""
    EXPIRED = "expired"
    """The paymaster signs a validity window that has already ended (AA32 at the EntryPoint)."""
    RECEIPT_FAILED = "receipt-failed"
    """The operation really runs and its inner call really reverts: ``success: false``."""
    RECEIPT_NEVER = "receipt-never"
    """The bundler accepts the operation and drops it: no receipt ever comes."""


WIRE_KINDS = frozenset({FaultKind.LATENCY, FaultKind.TIMEOUT, FaultKind.RESET,
                        FaultKind.TRUNCATED, FaultKind.RPC_ERROR})
"""Faults the server applies itself, whatever the method."""


@dataclass(frozen=True)
class SidecarFault:
    """One fault; ``seconds`` is a delay (LATENCY) or a hold bound (TIMEOUT)."""

    kind: FaultKind
    seconds: float = 0.0
    code: int = SERVER_ERROR
    message: str = "injected fault"

    def describe(self) -> str:
        """A short label, e.g. ``latency(0.5s)``."""
        if self.kind in (FaultKind.LATENCY, FaultKind.TIMEOUT):
            return f"{self.kind.value}({self.seconds:g}s)"
        return self.kind.value


@dataclass(frozen=True)
class FaultRule:
    """``fault`` on the listed 1-based ``calls`` of ``method`` (empty: every call); with a
    ``selector`` (``0x`` + 8 hex digits) only eth_calls of that selector, counted apart."""

    method: str
    fault: SidecarFault
    calls: tuple[int, ...] = ()
    selector: str | None = None

    @property
    def key(self) -> str:
        """The counter this rule reads: the method, or method and selector."""
        return self.method if self.selector is None else f"{self.method}:{self.selector}"

    def matches(self, counts: Mapping[str, int]) -> bool:
        """Whether the call just counted in ``counts`` gets the fault."""
        number = counts.get(self.key, 0)
        return number > 0 and (not self.calls or number in self.calls)


@dataclass
class FaultSchedule:
    """The fault rules of one run and the per-method call counters they are read against."""

    rules: list[FaultRule] = field(default_factory=list)
    _counts: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, method: str, fault: SidecarFault, *calls: int,
            selector: str | None = None) -> FaultSchedule:
        """Schedule ``fault`` for ``calls`` of ``method`` (none: every call); self."""
        self.rules.append(FaultRule(method, fault, tuple(calls), selector))
        return self

    def next_call(self, method: str, params: Any = None) -> tuple[int, SidecarFault | None]:
        """Count one call of ``method``: its number and the fault it gets, if any."""
        keys = [method]
        selector = _call_selector(params) if method == "eth_call" else None
        if selector:
            keys.append(f"{method}:{selector}")
        with self._lock:
            for key in keys:
                self._counts[key] = self._counts.get(key, 0) + 1
            counts = {key: self._counts[key] for key in keys}
        for rule in self.rules:
            if rule.method == method and rule.matches(counts):
                return counts[method], rule.fault
        return counts[method], None


def _call_selector(params: Any) -> str | None:
    """The lower-case selector of an eth_call's data, if it has one."""
    if isinstance(params, list) and params and isinstance(params[0], dict):
        data = params[0].get("data") or params[0].get("input")
        if isinstance(data, str) and len(data) >= 10:
            return data[:10].lower()
    return None


@dataclass(frozen=True)
class Exchange:
    """One recorded JSON-RPC exchange (a transcript line)."""

    seq: int
    at: float
    """Seconds since the transcript started."""
    peer: str
    path: str
    method: str
    params: Any
    result: Any = None
    error: dict[str, Any] | None = None
    fault: str | None = None
    duration: float = 0.0

    def as_json(self) -> dict[str, Any]:
        """JSON form, as a reproducer carries it."""
        out: dict[str, Any] = {"seq": self.seq, "t": round(self.at, 4),
                               "d": round(self.duration, 4), "peer": self.peer,
                               "path": self.path, "method": self.method, "params": self.params}
        if self.error is not None:
            out["error"] = self.error
        else:
            out["result"] = self.result
        if self.fault:
            out["fault"] = self.fault
        return out


class Transcript:
    """Every exchange of a run with every peer, in arrival order (thread-safe)."""

    def __init__(self, limit: int = 50_000) -> None:
        self._lock = threading.Lock()
        self._items: list[Exchange] = []
        self._start = time.monotonic()
        self.limit = limit
        self.dropped = 0

    def now(self) -> float:
        """Seconds since the transcript started."""
        return time.monotonic() - self._start

    def add(self, **values: Any) -> Exchange:
        """Record one exchange (beyond ``limit`` only counted: a flood cannot exhaust memory)."""
        with self._lock:
            item = Exchange(seq=len(self._items) + self.dropped, **values)
            if len(self._items) < self.limit:
                self._items.append(item)
            else:
                self.dropped += 1
            return item

    def items(self, *, peer: str | None = None, method: str | None = None) -> list[Exchange]:
        """The exchanges so far, optionally of one peer and/or one method."""
        with self._lock:
            found = list(self._items)
        return [e for e in found if (peer is None or e.peer == peer)
                and (method is None or e.method == method)]

    def as_json(self, items: list[Exchange] | None = None) -> list[dict[str, Any]]:
        """JSON form of ``items`` (default: all)."""
        return [e.as_json() for e in (self.items() if items is None else items)]


@dataclass
class CallContext:
    """What a method implementation knows about its call."""

    peer: str
    path: str
    number: int
    fault: SidecarFault | None


@dataclass
class MethodTable:
    """The methods of one peer, and the path prefix it answers under (``/`` for every path)."""

    peer: str
    methods: Mapping[str, Handler]
    path_contains: str = ""
    refused: Mapping[str, str] = field(default_factory=dict)
    """Methods this endpoint knows but refuses (a bundler-only endpoint and node methods)."""


class RpcPeerServer:
    """A JSON-RPC peer on 127.0.0.1: ``start()``/``stop()`` or a context manager."""

    def __init__(self, name: str, tables: list[MethodTable], transcript: Transcript,
                 schedule: FaultSchedule, *, max_hold: float = 5.0) -> None:
        self.name = name
        self.tables = tables
        self.transcript = transcript
        self.schedule = schedule
        self.max_hold = max_hold
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> RpcPeerServer:
        """Bind a free port and serve in a daemon thread."""
        server = _QuietServer(("127.0.0.1", 0), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"peer-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release held calls, stop serving, free the port (idempotent)."""
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> RpcPeerServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (only while started)."""
        if self._server is None:
            raise RuntimeError(f"peer {self.name} not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def table_for(self, path: str) -> MethodTable | None:
        """The table serving ``path``: the first whose ``path_contains`` is in it."""
        for table in self.tables:
            if table.path_contains in path:
                return table
        return None

    def hold(self, seconds: float) -> None:
        """Wait ``seconds`` (bounded by ``max_hold``), released early by ``stop``."""
        self._release.wait(min(seconds or self.max_hold, self.max_hold))

    def answer(self, path: str, request: Any) -> tuple[dict[str, Any] | None, SidecarFault | None]:
        """The JSON-RPC answer to one request object (None: a wire fault drops it)."""
        rid = request.get("id") if isinstance(request, dict) else None
        method = request.get("method") if isinstance(request, dict) else None
        params = request.get("params", []) if isinstance(request, dict) else None
        table = self.table_for(path)
        if not isinstance(method, str) or not isinstance(params, list) or table is None:
            invalid = RpcError(-32600, "invalid request").as_json()
            self._record(table, path, str(method), params, None, invalid, None,
                         self.transcript.now())
            return {"jsonrpc": "2.0", "id": rid, "error": invalid}, None
        number, fault = self.schedule.next_call(method, params)
        arrived = self.transcript.now()
        result, error = self._dispatch(table, path, method, params, number, fault)
        self._record(table, path, method, params, result, error, fault, arrived)
        answer: dict[str, Any] = {"jsonrpc": "2.0", "id": rid}
        answer.update({"error": error} if error is not None else {"result": result})
        return answer, fault

    def _dispatch(self, table: MethodTable, path: str, method: str, params: list[Any],
                  number: int, fault: SidecarFault | None) -> tuple[Any, dict[str, Any] | None]:
        if fault is not None and fault.kind is FaultKind.RPC_ERROR:
            return None, RpcError(fault.code, fault.message).as_json()
        if method in table.refused:
            return None, RpcError(METHOD_NOT_FOUND, table.refused[method]).as_json()
        handler = table.methods.get(method)
        if handler is None:
            return None, RpcError(METHOD_NOT_FOUND, f"the method {method} does not exist"
                                  " / is not available").as_json()
        try:
            return handler(params, CallContext(table.peer, path, number, fault)), None
        except RpcError as exc:
            return None, exc.as_json()
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            return None, RpcError(INVALID_PARAMS, f"invalid params: {exc}").as_json()

    def _record(self, table: MethodTable | None, path: str, method: str, params: Any,
                result: Any, error: dict[str, Any] | None, fault: SidecarFault | None,
                arrived: float) -> None:
        """One transcript line; ``at`` is when the request arrived (the time rules judge)."""
        self.transcript.add(at=arrived, peer=table.peer if table else self.name,
                            path=path, method=method, params=params, result=result, error=error,
                            fault=fault.describe() if fault else None,
                            duration=self.transcript.now() - arrived)


class _QuietServer(ThreadingHTTPServer):
    """A threading server that does not print the tracebacks of connections a fault reset."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        return


def _make_handler(peer: RpcPeerServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            return

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            self._send(405, b'{"error":"POST JSON-RPC"}')

        def do_POST(self) -> None:  # noqa: N802 - stdlib name
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY:
                self.close_connection = True
                self._send(413, b'{"error":"body too large"}')
                return
            raw = self.rfile.read(length)
            try:
                request = json.loads(raw)
            except ValueError:
                self._send(200, json.dumps({"jsonrpc": "2.0", "id": None, "error": RpcError(
                    -32700, "parse error").as_json()}).encode())
                return
            answer, fault = peer.answer(self.path, request)
            self._deliver(answer, fault)

        def _deliver(self, answer: dict[str, Any] | None, fault: SidecarFault | None) -> None:
            body = json.dumps(answer).encode()
            kind = fault.kind if fault is not None else None
            if kind is FaultKind.LATENCY:
                peer.hold(fault.seconds if fault else 0.0)
            elif kind is FaultKind.TIMEOUT:
                peer.hold(fault.seconds if fault else 0.0)
                self._reset()
                return
            elif kind is FaultKind.RESET:
                self._reset()
                return
            elif kind is FaultKind.TRUNCATED:
                self.close_connection = True
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: max(1, len(body) // 2)])
                self.wfile.flush()
                self._reset()
                return
            self._send(200, body)

        def finish(self) -> None:
            with contextlib.suppress(OSError, ValueError):
                super().finish()

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _reset(self) -> None:
            """A genuine TCP RST: linger 0, then close."""
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()

    return _Handler
