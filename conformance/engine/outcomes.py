"""From raw check outcomes to per-rule verdicts (ARCHITECTURE.md "Verdicts").

Pure: the plugin feeds ``CheckOutcome`` events in, this module folds them into one
``RuleResult`` per rule of the selection. Per rule, FAIL > ERROR > PASS > SKIP; PASS needs at
least one exercised case; a rule no check judged is SKIP (not applicable, or not selected) or
ERROR (its checks were cut short), always with the reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from conformance.report.model import CheckOutcome, RuleResult, Verdict, combine
from conformance.rules import Catalogue, Rule


def fold_outcomes(
    rules: Iterable[Rule],
    outcomes: Iterable[CheckOutcome],
    *,
    generation: str,
    catalogue: Catalogue,
) -> list[RuleResult]:
    """One ``RuleResult`` per rule in ``rules`` from the outcomes of the checks that ran."""
    verdicts: dict[str, list[Verdict]] = defaultdict(list)
    results: dict[str, RuleResult] = {}
    for rule in rules:
        results[rule.id] = RuleResult(
            rule_id=rule.id,
            verdict=Verdict.SKIP,
            level=rule.level,
            component=rule.component,
            statement=rule.statement,
        )
    for outcome in outcomes:
        _apply(outcome, results, verdicts)
    for rule_id, result in results.items():
        rule = catalogue.by_id(rule_id)
        result.verdict = combine(verdicts[rule_id])
        if result.verdict is Verdict.PASS and result.cases == 0:
            result.verdict = Verdict.ERROR
            result.reasons.append("checks passed but exercised no case")
        if not verdicts[rule_id]:
            if not catalogue.applies(rule, generation):
                result.reasons.append(
                    f"not applicable under generation '{generation}' "
                    f"(applies to {', '.join(rule.generations)})"
                )
            elif not result.checks:
                result.reasons.append("no check of this run exercises this rule")
    return [results[k] for k in sorted(results)]


def _apply(
    outcome: CheckOutcome,
    results: dict[str, RuleResult],
    verdicts: dict[str, list[Verdict]],
) -> None:
    for rule_id in outcome.rule_ids:
        result = results.get(rule_id)
        if result is None:
            continue
        result.checks.append(outcome.check)
        if outcome.verdict is Verdict.FAIL and outcome.failed_rule != rule_id:
            result.reasons.append(
                f"{outcome.check}: not judged, the check stopped at a FAIL of {outcome.failed_rule}"
            )
            continue
        verdicts[rule_id].append(outcome.verdict)
        if outcome.verdict is Verdict.PASS:
            result.cases += outcome.cases
            if outcome.reason:  # cases the check left to another rule's finding
                result.reasons.append(f"{outcome.check}: {outcome.reason}")
        elif outcome.verdict is Verdict.FAIL:
            result.cases += max(outcome.cases, 1)
            if outcome.failure is not None:
                result.failures.append(outcome.failure)
        elif outcome.reason:
            result.reasons.append(f"{outcome.check}: {outcome.reason}")
