"""The reference webhook as a starlette ASGI app: the four routes of PROTOCOL.md §5.

``create_app(env)`` reads the launch contract (see ``server``); every other method or path is
404 JSON (WH-001), every answer is JSON (WH-002), and a malformed request never reaches a 5xx
(WH-009): bodies are capped at ``MAX_BODY_BYTES`` and anything over it is a malformed body.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from conformance.protocol.hexutil import HexFormatError, parse_address
from conformance.protocol.webhook_wire import BodyFormatError, SecretFormatError, sign_webhook
from conformance.reference.webhook.cache import Cache, DailyCap, KvCache, MemoryCache, ReadCache
from conformance.reference.webhook.chain import ChainClient, ChainFault
from conformance.reference.webhook.config import ConfigError, WebhookConfig, read_config
from conformance.reference.webhook.pimlico import authentic, sponsor_request
from conformance.reference.webhook.policy import REFERENCE, Policy, SponsorRequest, Variant

MAX_BODY_BYTES = 1 << 20
"""Largest body read (1 MiB); a larger one is answered as malformed (400, or 401 on /pimlico)."""

CANONICAL_ENTRY_POINT = "0x0000000071727de22e5e9d8baf0edac6f37da032"
"""EntryPoint v0.7 (PROTOCOL.md §1), only read by the undocumented-status mutant."""

log = logging.getLogger("amc.reference.webhook")

Handler = Callable[["Runtime", Request], Awaitable[Response]]


def error(status: int, code: str) -> JSONResponse:
    """A JSON error answer ``{"error": code}``."""
    return JSONResponse({"error": code}, status_code=status)


@dataclass
class Runtime:
    """A configured webhook: its policy, chain client and HTTP client."""

    config: WebhookConfig
    variant: Variant
    http: httpx.AsyncClient
    chain: ChainClient
    policy: Policy
    clock: Callable[[], float]
    replays: dict[str, tuple[float, dict[str, bool]]] = field(default_factory=dict)
    """WH-070: the answer to each signed request (webhook-id, timestamp, body) seen within the
    window, by capture key, with when it may be forgotten."""

    @classmethod
    def build(cls, config: WebhookConfig, variant: Variant, clock: Callable[[], float]) -> Runtime:
        http = httpx.AsyncClient()
        chain = ChainClient(config.rpc_url, http, revert_is_fault=variant.revert_is_fault)
        cache: Cache = KvCache(config.cache_url, http) if config.cache_url else MemoryCache(clock)
        reads = ReadCache(
            cache, positive_ttl=variant.positive_ttl(config.cache_ttl),
            negative_ttl=variant.negative_ttl(config.cache_ttl), cache_faults=variant.cache_faults,
            cache_negative=variant.cache_negative, outage_is_fault=variant.cache_outage_is_fault,
        )
        cap = DailyCap(cache, chain_id=config.chain_id, limit=config.daily_cap,
                       day=variant.cap_day)
        policy = Policy(config, variant, chain, reads, cap, clock)
        return cls(config, variant, http, chain, policy, clock)


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The raw body, or None when it is larger than ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def token_ok(given: str | None, expected: str) -> bool:
    """Policy step 1, compared in constant time (WH-010, WH-011)."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


async def alchemy(rt: Runtime, request: Request) -> Response:
    """``POST /``: 400 for a malformed body, else 200 approved / denied with a reason."""
    body = await read_body(request)
    if body is None:
        return error(400, "bad-request")
    try:
        parsed = rt.variant.parse_alchemy(body)
    except BodyFormatError:
        return error(400, "bad-request")
    sender = parse_address(parsed.sender)
    teapot = rt.variant.foreign_entry_point_status
    foreign = parsed.entry_point is not None and parsed.entry_point.lower() != CANONICAL_ENTRY_POINT
    if teapot is not None and foreign:
        return PlainTextResponse("I'm a teapot", status_code=teapot)
    no_token_needed = rt.variant.optional_token and not rt.config.token  # a mutant only
    if not no_token_needed and not token_ok(request.query_params.get("token"), rt.config.token):
        if rt.variant.chain_read_before_token:
            await rt.policy.provenance(sender)
        return JSONResponse({"approved": False, "reason": "bad-token"})
    decision = await rt.policy.decide(SponsorRequest(sender, parsed.call_data, parsed.chain_id))
    if decision.approved:
        return JSONResponse({"approved": True})
    return JSONResponse({"approved": False, "reason": decision.reason})


async def pimlico(rt: Runtime, request: Request) -> Response:
    """``POST /pimlico``: Standard Webhooks HMAC, then 200 ``{"sponsor": b}`` (WH-047…WH-057)."""
    if rt.config.generation != "pimlico" and not rt.variant.pimlico_everywhere:
        return error(404, "not-found")
    if rt.config.pimlico_secret is None:
        return error(503, "pimlico-disabled")
    body = await read_body(request)
    if body is None:
        return error(401, "unauthorized")  # a body not read cannot be verified
    if not authentic(rt.config, rt.variant, request.headers, body, int(rt.clock())):
        if rt.variant.echo_mac_prefix:  # a mutant only (WH-071)
            return _echo_mac(rt, request, body)
        return error(401, "unauthorized")
    capture = _capture(request, body)
    remembered = rt.replays.get(capture) if rt.variant.remember_replays else None
    if remembered is not None and remembered[0] > rt.clock():
        return JSONResponse(remembered[1])  # a replay: the same answer, not counted (WH-070)
    answer = await _sponsor(rt, body)
    if isinstance(answer, dict):
        _remember(rt, capture, answer)
        return JSONResponse(answer)
    return answer


REPLAY_SECONDS = 600
"""How long a capture is remembered: a ±300 s window lets one be re-sent up to 600 s later."""


def _capture(request: Request, body: bytes) -> str:
    """A signed request's identity: webhook-id, webhook-timestamp and the body's hash."""
    parts = (request.headers.get("webhook-id", ""), request.headers.get("webhook-timestamp", ""),
             hashlib.sha256(body).hexdigest())
    return "|".join(parts)


def _remember(rt: Runtime, capture: str, answer: dict[str, bool]) -> None:
    now = rt.clock()
    if len(rt.replays) > 10_000:  # forget what the window no longer admits
        rt.replays = {k: v for k, v in rt.replays.items() if v[0] > now}
    rt.replays[capture] = (now + REPLAY_SECONDS, answer)


async def _sponsor(rt: Runtime, body: bytes) -> dict[str, bool] | Response:
    """The answer to an authentic event: ``{"sponsor": b}`` (or a mutant's error status)."""
    event = sponsor_request(body)
    if event is None:
        if rt.variant.unparsable_event_status != 200:
            return error(rt.variant.unparsable_event_status, "bad-request")
        return {"sponsor": False}
    decision = await rt.policy.decide(event)
    return {"sponsor": decision.approved}


def _echo_mac(rt: Runtime, request: Request, body: bytes) -> Response:
    """The MAC-echo mutant's 401: "for debugging", the start of the MAC it expected."""
    try:
        entry = sign_webhook(rt.config.pimlico_secret or "", rt.config.key_derivation,
                             request.headers.get("webhook-id", ""),
                             request.headers.get("webhook-timestamp", ""),  # type: ignore[arg-type]
                             body)
    except SecretFormatError:
        return error(401, "unauthorized")
    return JSONResponse({"error": "unauthorized", "expected": entry[3:15]}, status_code=401)


async def check(rt: Runtime, request: Request) -> Response:
    """``GET /check?cluster=ADDR``: 200 deployed/sponsored, 400 bad address, 503 chain down."""
    try:
        cluster = parse_address(request.query_params.get("cluster", ""))
    except HexFormatError:
        return error(400, "bad-request")
    try:
        deployed = await rt.policy.is_deployed_cluster(cluster)
    except ChainFault:
        return error(503, "rpc-failure")
    return JSONResponse({"deployed": deployed, "sponsored": rt.variant.check_sponsored(deployed)})


async def healthz(rt: Runtime, request: Request) -> Response:
    """``GET /healthz``: 200 ``{"ok":true}`` while the chain answers, else 503 (WH-063, WH-064)."""
    if not rt.variant.healthz_probes or await rt.chain.probe():
        return JSONResponse({"ok": True})
    return JSONResponse({"ok": False}, status_code=503)


ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "/"): alchemy,
    ("POST", "/pimlico"): pimlico,
    ("GET", "/check"): check,
    ("GET", "/healthz"): healthz,
}
"""The whole surface (PROTOCOL.md §5); anything else is 404."""


def resolve(
    env: Mapping[str, str], variant: Variant | None
) -> tuple[WebhookConfig, Variant] | ConfigError:
    """The configuration and variant to serve (``AMC_MUTANT`` picks a mutant by name; it is
    looked up first, since a mutant may read the configuration differently)."""
    name = env.get("AMC_MUTANT", "").strip()
    if variant is None and name:
        from conformance.reference.webhook.mutants import MUTANTS

        if name not in MUTANTS:
            return ConfigError("AMC_MUTANT names no mutant")
        variant = MUTANTS[name].variant
    variant = variant or REFERENCE
    config = read_config(env, optional_token=variant.optional_token)
    if isinstance(config, ConfigError):
        return config
    return config, variant


def create_app(
    env: Mapping[str, str] | None = None,
    *,
    variant: Variant | None = None,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The reference webhook configured from ``env`` (default ``os.environ``)."""
    resolved = resolve(os.environ if env is None else env, variant)
    runtime: Runtime | None = None
    if isinstance(resolved, ConfigError):
        log.error("server-misconfigured: %s", resolved)
    else:
        runtime = Runtime.build(*resolved, clock)
        log.setLevel(resolved[0].log_level)

    async def dispatch(request: Request) -> Response:
        if runtime is None:
            return error(500, "server-misconfigured")
        handler = ROUTES.get((request.method, request.url.path))
        if runtime.variant.debug_route == request.url.path and request.method == "GET":
            return JSONResponse({"ok": True, "generation": runtime.config.generation})  # mutant
        if handler is None:
            return error(404, "not-found")
        try:
            return await handler(runtime, request)
        except Exception:  # a reference bug: still JSON, and visible as a 5xx
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            return error(500, "internal-error")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if runtime is not None:
            await runtime.http.aclose()

    return Starlette(routes=[Route("/{path:path}", _AnyMethod(dispatch))], lifespan=lifespan)


class _AnyMethod:
    """An ASGI endpoint for every method (a plain function endpoint would be GET-only)."""

    def __init__(self, handle: Callable[[Request], Awaitable[Response]]) -> None:
        self._handle = handle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._handle(Request(scope, receive))
        await response(scope, receive, send)
