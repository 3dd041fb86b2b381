"""``amc serve webhook``: run the bundled reference webhook (or a named mutant) on loopback.

The configuration defaults to the profile (chain id, factories, generation, key derivation,
cap, TTL, operator gate); the token and HMAC secret come from the environment variables the
profile names, and never appear in output. Any launch-contract variable set in the environment
wins (see ``conformance.reference.webhook.server``). One line ``listening on http://H:P`` is
printed, flushed, once the socket is bound.
"""

from __future__ import annotations

import argparse
import os
import sys

from conformance.errors import UsageError, did_you_mean

SERVABLE = ("webhook",)


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise UsageError(f"--port={text!r}: expected a port number 0-65535 (0: a free port)")
    return int(text)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="run a bundled reference implementation (or a mutant)")
    p.add_argument("component", help="what to serve: webhook")
    p.add_argument("--profile", default="pimlico", help="shipped profile name or TOML path")
    p.add_argument("--mutant", default=None, help="serve this named mutant (amc mutants list)")
    p.add_argument("--host", default=None, help="bind address (default: $HOST or 127.0.0.1)")
    p.add_argument("--port", default=None, help="port (default: $PORT or 0, a free port)")
    p.add_argument("--rpc-url", default=None, help="chain JSON-RPC URL (default: $RPC_URL)")
    p.set_defaults(handler=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    if args.component not in SERVABLE:
        raise UsageError(f"component={args.component!r}: only 'webhook' can be served"
                         + did_you_mean(args.component, SERVABLE))
    from conformance.profiles import load_profile
    from conformance.reference.webhook import MUTANTS, create_app
    from conformance.reference.webhook.config import ConfigError, parse_config, profile_environment
    from conformance.reference.webhook.server import DEFAULT_HOST, announce_stdout, serve

    profile = load_profile(args.profile)
    if args.mutant is not None and args.mutant not in MUTANTS:
        raise UsageError(f"--mutant={args.mutant!r}: no such webhook mutant"
                         + did_you_mean(args.mutant, MUTANTS))
    env = profile_environment(profile, os.environ)
    if args.rpc_url:
        env["RPC_URL"] = args.rpc_url
    if args.mutant:
        env["AMC_MUTANT"] = args.mutant
    try:
        parse_config(env)
    except ConfigError as exc:  # the launch contract: start anyway, answer 500 everywhere
        print(f"amc serve: warning: {exc}: every request will answer 500 server-misconfigured",
              file=sys.stderr, flush=True)
    host = args.host or os.environ.get("HOST", "").strip() or DEFAULT_HOST
    port = _port(args.port if args.port is not None else os.environ.get("PORT", "").strip() or "0")
    try:
        serve(create_app(env), host, port, announce=announce_stdout)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return 0
