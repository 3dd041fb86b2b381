"""The exact ``amc replay`` command that re-runs one failure of a report (issue 10 item 1;
ARCHITECTURE.md "Reproducers"): the run's folder, the rule, the failure's index among the
rule's failures, and the target the run judged (bundled reference and mutant, launch command
or URL). Components ``amc replay`` does not replay (sidecar, e2e) get no command.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from conformance.report.model import RunResults

REPLAYABLE = ("webhook", "account")


def replay_command(run: RunResults, directory: Path | None, rule_id: str,
                   index: int) -> str | None:
    """``amc replay DIR --rule ID --index I <target>``, or None when it cannot replay."""
    if run.component not in REPLAYABLE:
        return None
    where = shlex.quote(str(directory)) if directory is not None else "REPORT_DIR"
    parts = ["amc", "replay", where, "--rule", rule_id, "--index", str(index)]
    target = run.target
    kind = target.get("kind")
    if kind == "reference":
        parts.append("--reference")
        if target.get("mutant"):
            parts += ["--mutant", shlex.quote(str(target["mutant"]))]
    elif kind == "launch" and target.get("launch"):
        parts += ["--launch", shlex.quote(str(target["launch"]))]
    elif kind == "url" and target.get("url"):
        parts += ["--url", shlex.quote(str(target["url"]))]
    return " ".join(parts)
