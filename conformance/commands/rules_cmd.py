"""``amc rules``: print the rule catalogue with each rule's checks."""

from __future__ import annotations

import argparse

from conformance.engine.registry import checks_by_rule
from conformance.rules import format_catalogue, load_catalogue, markdown_table


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("rules", help="print the numbered rule catalogue")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    p.add_argument("--component", default=None, help="only this component's rules")
    p.set_defaults(handler=rules_command)


def rules_command(args: argparse.Namespace) -> int:
    catalogue = load_catalogue()
    if args.component:
        from conformance.engine.config import COMPONENTS
        from conformance.errors import UsageError, did_you_mean

        valid = (*COMPONENTS, "protocol")
        if args.component not in valid:
            raise UsageError(
                f"--component={args.component!r}: expected one of {', '.join(valid)}"
                + did_you_mean(args.component, valid)
            )
        catalogue = catalogue.restricted_to(args.component)
    if args.format == "markdown":
        print(markdown_table(catalogue))
    else:
        print(format_catalogue(catalogue, checks_by_rule(), args.format))
    return 0
