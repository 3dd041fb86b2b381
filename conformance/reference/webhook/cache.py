"""Caching of chain answers and the per-sender daily cap (PROTOCOL.md §5 "Caching").

Positive answers live for the configured TTL (WH-035), negative ones — a revert or ``0x``
included — for 600 s (WH-036), keyed by chain id and checksummed address (WH-037); a transport
fault is never cached (WH-038). The store is in memory, or the suite's KV peer when
``CACHE_URL`` is set; a store that fails is bypassed and never causes a denial (WH-039), and
the daily cap then fails open (WH-045).

KV-over-HTTP protocol (served by ``conformance.peers.kv``): ``GET /kv/<key>`` → 200
``{"value": s}`` or 404; ``PUT /kv/<key>`` ``{"value": s, "ttl": n}`` → 200;
``POST /incr/<key>`` ``{"ttl": n}`` → 200 ``{"value": n}`` (the TTL starts at creation).
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol
from urllib.parse import quote

import httpx

from conformance.protocol.hexutil import checksum
from conformance.reference.webhook.chain import ChainFault

NEGATIVE_TTL = 600
"""Seconds a negative chain answer is cached (WH-036)."""

CAP_KEY_TTL = 2 * 86_400
"""A daily-cap counter outlives its UTC date by a day, then expires."""

CACHE_TIMEOUT = 2.0
"""Seconds per request to a KV cache."""

log = logging.getLogger("amc.reference.webhook")


class CacheError(Exception):
    """The cache store could not be used (an outage: bypass it, never deny)."""


class Cache(Protocol):
    """A tiny key-value store with expiry."""

    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, value: str, ttl: int) -> None: ...

    async def incr(self, key: str, ttl: int) -> int: ...


class MemoryCache:
    """An in-process ``Cache`` with expiry on an injectable clock."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._items: dict[str, tuple[str, float]] = {}

    async def get(self, key: str) -> str | None:
        item = self._items.get(key)
        if item is None or item[1] <= self._clock():
            self._items.pop(key, None)
            return None
        return item[0]

    async def put(self, key: str, value: str, ttl: int) -> None:
        self._items[key] = (value, self._clock() + ttl)

    async def incr(self, key: str, ttl: int) -> int:
        current = await self.get(key)
        expiry = self._items[key][1] if current is not None else self._clock() + ttl
        value = int(current or 0) + 1
        self._items[key] = (str(value), expiry)
        return value


class KvCache:
    """A ``Cache`` over HTTP at ``CACHE_URL`` (the protocol is in the module docstring)."""

    def __init__(self, url: str, http: httpx.AsyncClient) -> None:
        self._url = url.rstrip("/")
        self._http = http

    async def _send(
        self, method: str, path: str, key: str, body: dict[str, object] | None
    ) -> object:
        url = f"{self._url}/{path}/{quote(key, safe='')}"
        try:
            response = await self._http.request(method, url, json=body, timeout=CACHE_TIMEOUT)
            if response.status_code == 404 and method == "GET":
                return None
            if response.status_code != 200:
                raise CacheError(f"{method} {path}: HTTP {response.status_code}")
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise CacheError(f"{method} {path}: {type(exc).__name__}") from None

    async def get(self, key: str) -> str | None:
        answer = await self._send("GET", "kv", key, None)
        if answer is None:
            return None
        value = answer.get("value") if isinstance(answer, dict) else None
        if not isinstance(value, str):
            raise CacheError("GET kv: malformed answer")
        return value

    async def put(self, key: str, value: str, ttl: int) -> None:
        await self._send("PUT", "kv", key, {"value": value, "ttl": ttl})

    async def incr(self, key: str, ttl: int) -> int:
        answer = await self._send("POST", "incr", key, {"ttl": ttl})
        value = answer.get("value") if isinstance(answer, dict) else None
        if not isinstance(value, int) or isinstance(value, bool):
            raise CacheError("POST incr: malformed answer")
        return value


def never(key: str) -> bool:
    """No key: the conforming ``cache_faults`` (a transport fault is never cached, WH-038)."""
    return False


def read_key(chain_id: int, view: str, *addresses: bytes) -> str:
    """Cache key of a chain read: chain id, view name, checksummed addresses (WH-037)."""
    return ":".join([str(chain_id), view, *(checksum(a) for a in addresses)])


class ReadCache:
    """Chain answers through the cache: positive for ``positive_ttl``, negative for 600 s.

    Mutant seams: ``cache_faults(key)`` True stores a transport fault on that key as "no"
    (transport-failure-cached, target-fault-cached); ``cache_negative`` False never stores a
    "no"; ``outage_is_fault`` turns a cache outage into a chain fault (cache-outage-denies).
    """

    def __init__(
        self, cache: Cache, *, positive_ttl: int, cache_faults: Callable[[str], bool] = never,
        cache_negative: bool = True, outage_is_fault: bool = False,
        negative_ttl: int = NEGATIVE_TTL,
    ) -> None:
        self._cache = cache
        self._positive_ttl = positive_ttl
        self._negative_ttl = negative_ttl
        self._cache_faults = cache_faults
        self._cache_negative = cache_negative
        self._outage_is_fault = outage_is_fault

    async def read(self, key: str, fetch: Callable[[], Awaitable[str]]) -> str:
        """The cached value of ``key``, else ``fetch()`` stored (``""`` is the negative answer)."""
        try:
            hit = await self._cache.get(key)
        except CacheError as exc:
            if self._outage_is_fault:
                raise ChainFault(f"cache outage: {exc}") from None
            log.warning("cache outage, reading the chain: %s", exc)
            hit = None
        if hit is not None:
            return hit
        try:
            value = await fetch()
        except ChainFault:
            if self._cache_faults(key):
                await self._store(key, "")
            raise
        await self._store(key, value)
        return value

    async def _store(self, key: str, value: str) -> None:
        if not value and not self._cache_negative:
            return
        ttl = self._positive_ttl if value else self._negative_ttl
        try:
            await self._cache.put(key, value, ttl)
        except CacheError as exc:
            log.warning("cache outage, answer not stored: %s", exc)


def utc_date(now: float) -> str:
    """The UTC calendar date of a unix time, ``YYYY-MM-DD`` (the daily cap's day, WH-042)."""
    return datetime.datetime.fromtimestamp(now, datetime.UTC).date().isoformat()


class DailyCap:
    """Approvals per sender per UTC day (PROTOCOL.md §5 policy step 8, WH-040…WH-046)."""

    def __init__(self, cache: Cache, *, chain_id: int, limit: int,
                 day: Callable[[float], str] = utc_date) -> None:
        self._cache = cache
        self._chain_id = chain_id
        self._limit = limit
        self._day = day

    def _key(self, sender: bytes, now: float) -> str:
        return f"cap:{self._chain_id}:{checksum(sender)}:{self._day(now)}"

    async def reached(self, sender: bytes, now: float) -> bool:
        """True when ``sender`` has ``limit`` approvals today; 0 disables; an outage → False."""
        if self._limit == 0:
            return False
        try:
            count = await self._cache.get(self._key(sender, now))
        except CacheError:
            return False
        return count is not None and count.isdigit() and int(count) >= self._limit

    async def count(self, sender: bytes, now: float) -> None:
        """Count one approval for ``sender`` today (best effort: an outage is ignored)."""
        if self._limit == 0:
            return
        with contextlib.suppress(CacheError):
            await self._cache.incr(self._key(sender, now), CAP_KEY_TTL)
