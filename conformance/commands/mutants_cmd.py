"""``amc mutants list``: the bundled mutants (reference copies that each break one rule)."""

from __future__ import annotations

import argparse
from typing import Any

from conformance.cli import print_json
from conformance.errors import UsageError, did_you_mean

MUTANT_COMPONENTS = ("webhook", "account", "sidecar")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("mutants", help="list the bundled mutants and the rules each breaks")
    verbs = p.add_subparsers(dest="mutants_verb", required=True)
    listing = verbs.add_parser(
        "list", help="print the mutants as JSON (name, breaks; account: also_fails)"
    )
    listing.add_argument("--component", default=None,
                         help="webhook, account or sidecar (default: all)")
    listing.set_defaults(handler=list_command)


def mutants_of(component: str) -> list[dict[str, Any]]:
    """JSON-ready mutants of ``component``: ``name``, ``breaks`` and ``description`` (webhook:
    ``profile``; account: ``also_fails``, the rules a mutant breaks as a consequence)."""
    if component == "webhook":
        from conformance.reference.webhook.mutants import list_mutants

        return list_mutants()
    if component == "account":
        from conformance.reference.account.mutants import list_mutants as list_account

        return list_account()
    if component == "sidecar":
        from conformance.reference.sidecar.mutants import list_mutants as list_sidecar

        return list_sidecar()
    raise UsageError(
        f"--component={component!r}: expected one of {', '.join(MUTANT_COMPONENTS)}"
        + did_you_mean(component, MUTANT_COMPONENTS)
    )


def list_command(args: argparse.Namespace) -> int:
    components = [args.component] if args.component else list(MUTANT_COMPONENTS)
    if len(components) == 1:
        print_json(mutants_of(components[0]))
    else:
        print_json({c: mutants_of(c) for c in components})
    return 0
