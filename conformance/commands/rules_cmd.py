"""``amc rules``: print the rule catalogue with each rule's checks, or one rule in full
(statement, source section, checks, the bundled mutants it catches and an example failure)."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from conformance.engine.registry import checks_by_rule
from conformance.rules import format_catalogue, load_catalogue, markdown_table

PROTOCOL = Path(__file__).resolve().parent.parent.parent / "docs" / "PROTOCOL.md"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "rules", help="print the numbered rule catalogue, or one rule in full",
        epilog="examples:\n  amc rules --component webhook\n  amc rules WH-013\n"
               "  amc rules WH-013 --example")
    p.add_argument("rule_id", nargs="?", default=None, metavar="ID",
                   help="one rule: statement, source section, checks, mutants, example failure")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    p.add_argument("--component", default=None, help="only this component's rules")
    p.add_argument("--example", action="store_true",
                   help="with ID: run the first bundled mutant breaking the rule and show its "
                        "failure (a few seconds)")
    p.set_defaults(handler=rules_command)


def rules_command(args: argparse.Namespace) -> int:
    catalogue = load_catalogue()
    if args.rule_id:
        return _one_rule(args.rule_id.upper(), example=args.example)
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


def source_excerpt(source: str, *, lines: int = 8) -> list[str]:
    """The PROTOCOL.md text a rule's ``source`` cites (``PROTOCOL.md §5 Policy``): the section
    heading and the first lines of the sub-heading (or of the section)."""
    if not PROTOCOL.is_file():
        return []
    cited = source.removeprefix("PROTOCOL.md ").strip()
    number, _, sub = cited.removeprefix("§").partition(" ")
    text = PROTOCOL.read_text(encoding="utf-8").splitlines()
    start = next((i for i, line in enumerate(text) if line.startswith(f"## {number}.")), None)
    if start is None:
        return []
    end = next((i for i in range(start + 1, len(text)) if text[i].startswith("## ")), len(text))
    body = text[start + 1:end]
    if sub:
        at = next((i for i, line in enumerate(body)
                   if line.lstrip("#* ").startswith(sub)), None)
        body = body[at:] if at is not None else body
    return [text[start]] + [line for line in body if line.strip()][:lines]


def _mutants_breaking(rule_id: str) -> list[dict[str, Any]]:
    from conformance.commands.mutants_cmd import MUTANT_COMPONENTS, mutants_of

    return [dict(m, component=c) for c in MUTANT_COMPONENTS for m in mutants_of(c)
            if rule_id in m.get("breaks", ())]


def _one_rule(rule_id: str, *, example: bool) -> int:
    rule = load_catalogue().by_id(rule_id)  # UsageError with the closest id
    checks = checks_by_rule().get(rule.id, [])
    mutants = _mutants_breaking(rule.id)
    print(f"{rule.id}  {rule.level}  ({rule.component}; profiles {', '.join(rule.generations)})")
    print(f"  {rule.statement}")
    print(f"source: {rule.source}")
    for line in source_excerpt(rule.source):
        print(f"  | {line}")
    print(f"checks ({len(checks)}):")
    print("\n".join(f"  {c}" for c in checks) or "  none")
    print(f"bundled mutants it catches ({len(mutants)}):")
    print("\n".join(f"  {m['component']}/{m['name']}: {m.get('description', '')}"
                    for m in mutants) or "  none")
    if not mutants:
        print("example failure: no bundled mutant breaks this rule")
    elif not example:
        first = mutants[0]
        print(f"example failure: amc rules {rule.id} --example (runs {first['component']} "
              f"mutant {first['name']})")
    else:
        _print_example(rule.id, mutants[0])
    return 0


def _print_example(rule_id: str, mutant: dict[str, Any]) -> None:
    from conformance.engine.config import RunConfig, TargetSpec
    from conformance.engine.run import run_component

    component = str(mutant["component"])
    profile = str(mutant.get("profile") or ("pimlico" if component == "webhook" else "base"))
    with tempfile.TemporaryDirectory(prefix="amc-rules-") as tmp:
        config = RunConfig(component=component, profile=profile,
                           target=TargetSpec(kind="reference", mutant=str(mutant["name"])),
                           seed=1, include=(rule_id,), max_examples=10, report_dir=tmp)
        outcome = run_component(config)
    result = next((r for r in outcome.results.results if r.rule_id == rule_id), None)
    if result is None or not result.failures:
        verdict = result.verdict.value if result else "not judged"
        print(f"example failure: mutant {mutant['name']} gave {verdict} (no failure recorded)")
        return
    from conformance.report.junit import format_input

    failure = result.failures[0]
    print(f"example failure (mutant {mutant['name']}, {result.verdict.value}):")
    print(f"  {failure.message}")
    if failure.minimal_input is not None:
        lines = format_input(failure.minimal_input).splitlines()
        print("  minimal input:")
        print("\n".join(f"    {line[:160]}" for line in lines[:12]))
        if len(lines) > 12:
            print(f"    ... ({len(lines) - 12} more lines: run the mutant to see it all)")
