"""One defect, one finding: the FAILs of a run grouped by root cause (issue 7 §4).

A check names the root cause of its FAIL with ``CheckFailure(cause=...)``, a short key such as
``deny:chain-read-failed`` or ``validateUserOp reverted InvalidBootstrapCall on bootstrap-signer``.
FAILs of different rules with the same key are one defect. A failure without a key falls back
to what the target did: the deny reason its answer carried (``"reason":"X"``), the EntryPoint's
``FailedOp`` code, or the error it reverted with on the same kind of input; else the message
with its values (hex, numbers, quoted text) blanked. Roots are ranked by the number of rules
they affect, most first, so the report reads "3 defects, 33 rules affected" instead of 33
unranked FAILs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from conformance.report.model import Failure, RuleResult, Verdict

__all__ = ["Root", "cause_of", "find_roots", "format_roots_headline"]

_DENY_REASON = re.compile(r'"reason"\s*:\s*"([a-z0-9-]+)"')
_REVERT = re.compile(r"\breverted (\w+)")
_INPUT_KIND = re.compile(r"\(([a-z-]+): ")
_HEX = re.compile(r"0x[0-9a-fA-F]*")
_NUMBER = re.compile(r"\b\d+\b")
_QUOTED = re.compile(r"(?<!\w)'[^']*'|\"[^\"]*\"")
_FAILED_OP = re.compile(r"FailedOp\W+(AA\d\d[^'\"]*)")
_RULE_ID = re.compile(r"\b[A-Z]{2}-\d{3}\b")


@dataclass(frozen=True)
class Root:
    """One root cause: its key, the rules whose FAILs it explains, and the first such FAIL."""

    cause: str
    rules: tuple[str, ...]
    first_rule: str
    first_failure: Failure

    def to_json(self) -> dict[str, Any]:
        """The object in ``results.json``'s ``roots`` list."""
        return {
            "cause": self.cause,
            "rules": list(self.rules),
            "first_failure": {
                "rule_id": self.first_rule,
                "check": self.first_failure.check,
                "message": self.first_failure.message,
            },
        }


def cause_of(failure: Failure) -> str:
    """The root-cause key of one failure: the check's ``cause``, else one derived from what
    the target did (deny reason, revert error on a kind of input), else the message's shape."""
    if failure.cause:
        return failure.cause
    message = failure.message
    deny = _DENY_REASON.findall(message)
    if deny:
        return f"deny:{deny[-1]}"
    failed_op = _FAILED_OP.search(message)
    if failed_op:
        return f"handleOps FailedOp {failed_op.group(1).strip()}"
    revert = _REVERT.search(message)
    if revert:
        kind = _INPUT_KIND.search(message)
        return f"revert:{revert.group(1)}" + (f" on {kind.group(1)}" if kind else "")
    shape = _RULE_ID.sub("RULE", _QUOTED.sub("…", message))
    shape = _NUMBER.sub("N", _HEX.sub("0x…", shape))
    return shape[:160]


def find_roots(results: Iterable[RuleResult]) -> list[Root]:
    """The run's FAILs grouped by ``cause_of``, most rules affected first (then by key)."""
    groups: dict[str, list[tuple[str, Failure]]] = {}
    for result in results:
        if result.verdict is not Verdict.FAIL:
            continue
        seen: set[str] = set()
        for failure in result.failures or [Failure("FAIL without a recorded failure")]:
            key = cause_of(failure)
            if key not in seen:
                seen.add(key)
                groups.setdefault(key, []).append((result.rule_id, failure))
    roots = [
        Root(key, tuple(dict.fromkeys(rule for rule, _ in members)), members[0][0], members[0][1])
        for key, members in groups.items()
    ]
    return sorted(roots, key=lambda root: (-len(root.rules), root.cause))


def format_roots_headline(roots: list[Root]) -> str:
    """``3 defects, 33 rules affected`` (rules counted once across roots)."""
    rules = {rule for root in roots for rule in root.rules}
    defects = f"{len(roots)} defect{'s' if len(roots) != 1 else ''}"
    return f"{defects}, {len(rules)} rule{'s' if len(rules) != 1 else ''} affected"
