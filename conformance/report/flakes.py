"""Flakes measured, not guessed: K runs of one configuration under K seeds merged into one
(ARCHITECTURE.md "Reports and release gates"; ``amc run --repeat K``).

Per rule the merged verdict follows the usual precedence (FAIL > ERROR > PASS > SKIP), so a
rule that both passed and failed stays FAIL; it gains ``flaky = true`` (an annotation, not a
fifth verdict), its ``pass_rate`` over the runs that judged it and the ``failing_seeds`` that
replay each failure (``amc run --seed S``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from conformance.report.json_writer import sorted_results
from conformance.report.model import RuleResult, RunResults, Verdict, combine


def merge_rule(results: Sequence[RuleResult], seeds: Sequence[int]) -> RuleResult:
    """One rule over the repeated runs (``results[i]`` judged under ``seeds[i]``)."""
    verdicts = [r.verdict for r in results]
    judged = [v for v in verdicts if v is not Verdict.SKIP]
    failing = [s for r, s in zip(results, seeds, strict=True)
               if r.verdict in (Verdict.FAIL, Verdict.ERROR)]
    failures = [f for r in results for f in r.failures]
    reasons = list(dict.fromkeys(reason for r in results for reason in r.reasons))
    first = results[0]
    return dataclasses.replace(
        first,
        verdict=combine(verdicts),
        cases=sum(r.cases for r in results),
        failures=failures[:5],
        reasons=reasons,
        flaky=Verdict.PASS in verdicts and Verdict.FAIL in verdicts,
        pass_rate=round(judged.count(Verdict.PASS) / len(judged), 4) if judged else 0.0,
        failing_seeds=failing,
    )


def merge_repeats(runs: Sequence[RunResults]) -> RunResults:
    """The K runs of one configuration (seeds in run order) as one run: rules merged by
    ``merge_rule``, ``repeat = {"runs": K, "seeds": [...]}``, durations added."""
    if not runs:
        raise ValueError("merge_repeats needs at least one run")
    seeds = [run.seed for run in runs]
    by_rule: dict[str, list[tuple[RuleResult, int]]] = {}
    for run in runs:
        for result in run.results:
            by_rule.setdefault(result.rule_id, []).append((result, run.seed))
    merged = [merge_rule([r for r, _ in pairs], [s for _, s in pairs])
              for pairs in by_rule.values()]
    first = runs[0]
    changes: dict[str, object] = {
        "results": sorted_results(merged),
        "duration_seconds": sum(run.duration_seconds for run in runs),
        "repeat": {"runs": len(runs), "seeds": seeds},
    }
    aborted = [getattr(run, "aborted", None) for run in runs]
    if any(aborted):
        changes["aborted"] = next(a for a in aborted if a)
    return dataclasses.replace(first, **changes)  # type: ignore[arg-type]


def flaky_rules(run: RunResults) -> list[RuleResult]:
    """The rules of a merged run that both passed and failed."""
    return [r for r in run.results if r.flaky]
