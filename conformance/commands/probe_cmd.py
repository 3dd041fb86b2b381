"""``amc probe URL --profile P``: check a deployed webhook without a chain of its own (WH-068).

Thin over ``conformance.targets.webhook_probe.probe_webhook``. The token and HMAC secret come
from the environment variables the profile names. Exit 0 when every step passes, 1 with the
cause otherwise, 2 on a usage error (no token in the environment).
"""

from __future__ import annotations

import argparse
import os

from conformance.errors import UsageError
from conformance.secrecy import scrub


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("probe", help="check a deployed webhook: route, token, healthz, verdicts")
    p.add_argument("url", help="the deployed webhook's base URL")
    p.add_argument("--profile", default="pimlico", help="shipped profile name or TOML path")
    p.add_argument("--request-timeout", "--timeout", dest="timeout", type=float, default=5.0,
                   help="seconds per request (as in amc run)")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="json: the steps for machines (as in amc rules / amc bench)")
    p.add_argument("--json", dest="format", action="store_const", const="json",
                   help=argparse.SUPPRESS)
    p.set_defaults(handler=probe_command)


def probe_command(args: argparse.Namespace) -> int:
    from conformance.cli import print_json
    from conformance.profiles import load_profile
    from conformance.targets.webhook import WebhookSecrets, check_url_secrets, register_secrets
    from conformance.targets.webhook_probe import probe_webhook

    profile = load_profile(args.profile)
    token = os.environ.get(profile.webhook.token_env)
    if not token:
        raise UsageError(f"set {profile.webhook.token_env} to the deployment's token "
                         f"(profile {profile.name} names that variable)")
    secret = os.environ.get(profile.webhook.hmac_secret_env) or None
    check_url_secrets(profile, os.environ)  # malformed: one usage line, never the value
    register_secrets(WebhookSecrets(token, secret), profile.webhook.key_derivation,
                     profile.webhook.token_env, profile.webhook.hmac_secret_env)
    report = probe_webhook(args.url, profile, token=token, secret=secret, timeout=args.timeout)
    if args.format == "json":
        print_json({"url": scrub(report.url), "profile": report.profile, "ok": report.ok,
                    "cause": scrub(report.cause),
                    "steps": [{"name": s.name, "ok": s.ok, "detail": scrub(s.detail)}
                              for s in report.steps]})
    else:
        for step in report.steps:
            print(scrub(f"{'ok  ' if step.ok else 'FAIL'} {step.name}: {step.detail}"))
        print(scrub(f"probe {'passed' if report.ok else 'failed: ' + report.cause}"))
    return 0 if report.ok else 1
