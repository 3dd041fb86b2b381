"""``KvPeer``: a tiny key-value cache over HTTP that a webhook under test can use as its cache.

PROTOCOL.md §5 "Caching": a cache outage must fall back to direct chain calls and never deny
(WH-039), and the daily cap then fails open (WH-045). A webhook that honours the suite's
optional ``CACHE_URL`` uses this peer, so the suite can read what it stored and make it fail.

Protocol (JSON bodies): ``GET /kv/<key>`` → 200 ``{"value": s}`` or 404 ``{"error":"not-found"}``;
``PUT /kv/<key>`` ``{"value": s, "ttl": n}`` → 200 ``{"ok": true}``; ``POST /incr/<key>``
``{"ttl": n}`` → 200 ``{"value": n}`` (the TTL starts when the counter is created). Keys are
percent-encoded path segments. While ``down`` every request answers 503.

Like the chain peer: aiohttp on 127.0.0.1 (a free port), its own loop in a daemon thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class KvRequest:
    """One request the peer received: method, operation (``kv``/``incr``) and key."""

    method: str
    operation: str
    key: str
    status: int


class KvPeer:
    """The KV cache peer; a context manager, or ``start()``/``stop()``.

    ``clock`` gives "now" for expiry; ``advance(seconds)`` moves the peer's own time forward so
    a check can expire entries without waiting.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._offset = 0.0
        self._lock = threading.Lock()
        self._items: dict[str, tuple[str, float]] = {}
        self._log: list[KvRequest] = []
        self._down = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # -- life cycle -----------------------------------------------------------------------

    def start(self) -> KvPeer:
        """Bind 127.0.0.1 on a free port and serve in a background thread."""
        if self._thread is not None:
            raise RuntimeError("KvPeer already started")
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=_run_loop, args=(loop,), name="kv-peer", daemon=True)
        self._thread.start()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        try:
            asyncio.run_coroutine_threadsafe(self._serve(sock), loop).result(timeout=10)
        except BaseException:
            self.stop()
            raise
        return self

    async def _serve(self, sock: socket.socket) -> None:
        app = web.Application()
        app.router.add_route("*", "/{operation}/{key}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    def stop(self) -> None:
        """Stop serving and release the thread and the port (idempotent)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if self._runner is not None and thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._loop = self._thread = self._runner = None
        self._port = None

    def __enter__(self) -> KvPeer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL to give the webhook as ``CACHE_URL``."""
        if self._port is None:
            raise RuntimeError("KvPeer not started")
        return f"http://127.0.0.1:{self._port}"

    # -- state the suite controls -----------------------------------------------------------

    def now(self) -> float:
        """The peer's time (its clock plus every ``advance``)."""
        return self._clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the peer's time forward (entries expire as if ``seconds`` had passed)."""
        with self._lock:
            self._offset += seconds

    @property
    def offset(self) -> float:
        """Seconds every ``advance`` added to the peer's clock so far."""
        with self._lock:
            return self._offset

    @property
    def is_down(self) -> bool:
        """True while the cache is out (``set_down``)."""
        with self._lock:
            return self._down

    def set_down(self, down: bool) -> None:
        """While down, every request answers 503 (a cache outage)."""
        with self._lock:
            self._down = down

    @contextlib.contextmanager
    def down(self) -> Iterator[KvPeer]:
        """``with kv.down(): ...`` — the cache is out inside the block."""
        self.set_down(True)
        try:
            yield self
        finally:
            self.set_down(False)

    def entries(self) -> dict[str, tuple[str, float]]:
        """Live entries: key → (value, seconds left)."""
        now = self.now()
        with self._lock:
            return {k: (v, exp - now) for k, (v, exp) in self._items.items() if exp > now}

    def clear(self) -> None:
        """Forget every entry and the request log."""
        with self._lock:
            self._items.clear()
            self._log.clear()

    @property
    def requests(self) -> tuple[KvRequest, ...]:
        """Every request received since the last ``clear()``."""
        with self._lock:
            return tuple(self._log)

    # -- request handling -----------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        operation, key = request.match_info["operation"], request.match_info["key"]
        body: Any = None
        if request.method in ("PUT", "POST"):
            with contextlib.suppress(ValueError):
                body = await request.json()
        with self._lock:
            status, answer = self._answer(request.method, operation, key, body)
            self._log.append(KvRequest(request.method, operation, key, status))
        return web.json_response(answer, status=status)

    def _answer(self, method: str, operation: str, key: str, body: Any) -> tuple[int, Any]:
        """The answer to one request (called under the lock)."""
        if self._down:
            return 503, {"error": "cache-down"}
        now = self._clock() + self._offset
        item = self._items.get(key)
        if item is not None and item[1] <= now:
            del self._items[key]
            item = None
        if (method, operation) == ("GET", "kv"):
            return (200, {"value": item[0]}) if item else (404, {"error": "not-found"})
        ttl = body.get("ttl") if isinstance(body, dict) else None
        if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 0:
            return 400, {"error": "ttl must be a whole number of seconds"}
        if (method, operation) == ("PUT", "kv") and isinstance(body.get("value"), str):
            self._items[key] = (body["value"], now + ttl)
            return 200, {"ok": True}
        if (method, operation) == ("POST", "incr"):
            current = int(item[0]) if item and item[0].isdigit() else 0
            self._items[key] = (str(current + 1), item[1] if item else now + ttl)
            return 200, {"value": current + 1}
        return 404, {"error": "not-found"}


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.close()
