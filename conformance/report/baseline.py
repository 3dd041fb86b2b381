"""Known-deviation baselines: the verdicts a release is allowed to keep, each with a reason, a
link and an expiry (ARCHITECTURE.md "Reports and release gates").

A baseline is a TOML file of ``[[deviation]]`` entries::

    [[deviation]]
    rule = "WH-012"                  # a catalogue id
    verdict = "FAIL"                 # the exact verdict accepted (FAIL, ERROR or SKIP)
    reason = "value check lands in 2.5"
    link = "https://tracker.example/issues/41"
    expires = 2026-06-30             # a date, and/or
    expires_version = "2.5.0"        # the target version (amc run --target-version) it ends at
    flaky = true                     # optional: accept the FAIL only while it is flaky

``evaluate`` judges a run against it: a deviation the baseline accepts is *baselined*; an
*expired* entry and a *new deviation* (a gating FAIL/ERROR not accepted) fail the gate; an
*unexpected pass* of a baselined rule and a *stale* entry (rule absent or not judged) are
reported only.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import tomllib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from conformance.errors import UsageError, did_you_mean
from conformance.report.model import RuleResult, RunResults, Verdict

_KEYS = ("rule", "verdict", "reason", "link", "expires", "expires_version", "flaky")
_ACCEPTABLE = ("FAIL", "ERROR", "SKIP")


@dataclass(frozen=True)
class Entry:
    """One known deviation."""

    rule_id: str
    verdict: Verdict
    reason: str
    link: str = ""
    expires: dt.date | None = None
    expires_version: str | None = None
    flaky: bool = False

    def expiry(self, today: dt.date, target_version: str | None) -> str | None:
        """Why the entry no longer holds (a date passed, the version reached), else None."""
        if self.expires is not None and today > self.expires:
            return f"expired on {self.expires.isoformat()}"
        if self.expires_version is None:
            return None
        if not target_version:
            return (f"expires at version {self.expires_version} but the run names no version "
                    "(amc run --target-version)")
        try:
            reached = Version(target_version) >= Version(self.expires_version)
        except InvalidVersion:
            return f"target version {target_version!r} cannot be compared with " \
                   f"{self.expires_version}"
        return f"expired at version {self.expires_version} (run: {target_version})" \
            if reached else None


@dataclass(frozen=True)
class Baseline:
    """A parsed baseline file and the digest of its bytes."""

    entries: tuple[Entry, ...]
    origin: str
    digest: str

    def by_rule(self) -> dict[str, Entry]:
        """The entries by rule id."""
        return {e.rule_id: e for e in self.entries}

    def identity(self) -> dict[str, Any]:
        """What an attestation records of the baseline used."""
        return {"path": self.origin, "digest": self.digest, "entries": len(self.entries)}


def load_baseline(path: Path, *, known_ids: Collection[str] | None = None) -> Baseline:
    """Read and validate a baseline TOML file; UsageError names the entry and key at fault
    (``known_ids``: the catalogue's rule ids, so a mistyped id is refused)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"--baseline={path}: cannot read ({exc.strerror or exc})") from None
    return parse_baseline(data, origin=str(path), known_ids=known_ids)


def parse_baseline(data: bytes, *, origin: str = "baseline.toml",
                   known_ids: Collection[str] | None = None) -> Baseline:
    """Validate TOML bytes into a Baseline."""
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{origin}: not valid TOML ({exc})") from None
    unknown = set(doc) - {"deviation"}
    if unknown:
        raise UsageError(f"{origin}: unknown table {sorted(unknown)[0]!r} (expected [[deviation]])")
    raw = doc.get("deviation", [])
    if not isinstance(raw, list):
        raise UsageError(f"{origin}: 'deviation' must be an array of tables ([[deviation]])")
    entries = [_parse_entry(item, i, origin) for i, item in enumerate(raw, 1)]
    for entry in entries:
        if known_ids is not None and entry.rule_id not in known_ids:
            raise UsageError(f"{origin}: deviation {entry.rule_id}: no such rule in the "
                             f"catalogue{did_you_mean(entry.rule_id, known_ids)}")
    seen: set[str] = set()
    for entry in entries:
        if entry.rule_id in seen:
            raise UsageError(f"{origin}: rule {entry.rule_id} appears twice")
        seen.add(entry.rule_id)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    return Baseline(tuple(entries), origin, digest)


def _parse_entry(item: Any, position: int, origin: str) -> Entry:
    where = f"{origin}: deviation #{position}"
    if not isinstance(item, dict):
        raise UsageError(f"{where}: must be a table")
    for key in item:
        if key not in _KEYS:
            raise UsageError(f"{where}: unknown key {key!r}{did_you_mean(key, _KEYS)}")
    rule_id = _text(item, "rule", where, required=True)
    where = f"{origin}: deviation {rule_id}"
    verdict = _text(item, "verdict", where, required=True).upper()
    if verdict not in _ACCEPTABLE:
        raise UsageError(f"{where}: verdict={verdict!r}: expected one of {', '.join(_ACCEPTABLE)}"
                         + did_you_mean(verdict, _ACCEPTABLE))
    expires = item.get("expires")
    if isinstance(expires, str):
        try:
            expires = dt.date.fromisoformat(expires)
        except ValueError:
            raise UsageError(f"{where}: expires={expires!r} is not a YYYY-MM-DD date") from None
    if expires is not None and not isinstance(expires, dt.date):
        raise UsageError(f"{where}: expires must be a date (2026-06-30)")
    version = _text(item, "expires_version", where) or None
    if version is not None:
        try:
            Version(version)
        except InvalidVersion:
            raise UsageError(f"{where}: expires_version={version!r} is not a version") from None
    if expires is None and version is None:
        raise UsageError(f"{where}: needs an expiry (expires = DATE and/or expires_version)")
    flaky = item.get("flaky", False)
    if not isinstance(flaky, bool):
        raise UsageError(f"{where}: flaky must be true or false")
    return Entry(rule_id, Verdict(verdict), _text(item, "reason", where, required=True),
                 _text(item, "link", where), expires, version, flaky)


def _text(item: dict[str, Any], key: str, where: str, *, required: bool = False) -> str:
    value = item.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise UsageError(f"{where}: {key} must be a non-empty string" if required
                         else f"{where}: {key} must be a string")
    return value


class Status(enum.StrEnum):
    """How one rule stands against the baseline."""

    BASELINED = "baselined"
    EXPIRED = "expired"
    NEW_DEVIATION = "new-deviation"
    UNEXPECTED_PASS = "unexpected-pass"
    STALE = "stale"


GATING = (Status.EXPIRED, Status.NEW_DEVIATION)


@dataclass(frozen=True)
class Finding:
    """One rule (or entry) and how it stands."""

    rule_id: str
    status: Status
    detail: str

    def to_json(self) -> dict[str, str]:
        """A plain JSON object."""
        return {"rule_id": self.rule_id, "status": self.status.value, "detail": self.detail}


@dataclass(frozen=True)
class BaselineReport:
    """A run judged against a baseline."""

    baseline: Baseline
    findings: tuple[Finding, ...]

    def of_status(self, status: Status) -> list[Finding]:
        """The findings of one status."""
        return [f for f in self.findings if f.status is status]

    def exit_code(self) -> int:
        """1 when an entry expired or a deviation is not in the baseline, else 0."""
        return 1 if any(f.status in GATING for f in self.findings) else 0

    def lines(self) -> list[str]:
        """One line per finding, gating ones first, and a closing count."""
        order = sorted(self.findings, key=lambda f: (f.status not in GATING, f.status.value))
        counts = ", ".join(f"{len(self.of_status(s))} {s.value}" for s in Status)
        return [f"{f.status.value:<16} {f.rule_id:<7} {f.detail}" for f in order] + [
            f"baseline {self.baseline.origin} ({self.baseline.digest[:19]}): {counts}; "
            f"gate exit {self.exit_code()}"]

    def to_json(self) -> dict[str, Any]:
        """A plain JSON document."""
        return {**self.baseline.identity(), "findings": [f.to_json() for f in self.findings],
                "exit_code": self.exit_code()}


def _gates(result: RuleResult, strict: bool) -> bool:
    return result.verdict in (Verdict.FAIL, Verdict.ERROR) and (result.level == "MUST" or strict)


def _judge(result: RuleResult, entry: Entry, strict: bool) -> Finding:
    rid, got = result.rule_id, result.verdict
    if got is entry.verdict and (result.flaky or not entry.flaky):
        return Finding(rid, Status.BASELINED, f"{got.value} as expected: {entry.reason}")
    if got is Verdict.PASS:
        return Finding(rid, Status.UNEXPECTED_PASS,
                       f"baseline expects {entry.verdict.value}, the rule passed: remove the entry")
    expected = entry.verdict.value + (" (flaky)" if entry.flaky else "")
    detail = f"baseline expects {expected}, got {got.value}"
    return Finding(rid, Status.NEW_DEVIATION if _gates(result, strict) else Status.STALE, detail)


def evaluate(run: RunResults, baseline: Baseline, *,
             today: dt.date | None = None) -> BaselineReport:
    """Judge every rule of ``run`` and every entry of ``baseline`` (``today``: for expiry)."""
    today = today or dt.datetime.now(dt.UTC).date()
    version = run.target.get("version")
    entries = baseline.by_rule()
    findings: list[Finding] = []
    for result in run.results:
        entry = entries.pop(result.rule_id, None)
        if entry is None:
            if _gates(result, run.strict):
                findings.append(Finding(result.rule_id, Status.NEW_DEVIATION,
                                        f"{result.verdict.value}, not in the baseline"))
            continue
        expired = entry.expiry(today, str(version) if version else None)
        if expired:
            findings.append(Finding(result.rule_id, Status.EXPIRED,
                                    f"{expired} (now {result.verdict.value}): {entry.reason}"))
        else:
            findings.append(_judge(result, entry, run.strict))
    findings += [Finding(rid, Status.STALE, "the run did not judge this rule")
                 for rid in entries]
    return BaselineReport(baseline, tuple(findings))


def starting_baseline(run: RunResults, *, expires: dt.date | None = None,
                      expires_version: str | None = None) -> str:
    """A baseline accepting every FAIL/ERROR of ``run`` as it stands (TOML text to edit)."""
    import tomli_w

    if expires is None and expires_version is None:
        expires = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=90)
    entries = []
    for result in run.results:
        if result.verdict not in (Verdict.FAIL, Verdict.ERROR):
            continue
        why = result.failures[0].message if result.failures else "; ".join(result.reasons)
        entry: dict[str, Any] = {"rule": result.rule_id, "verdict": result.verdict.value,
                                 "reason": f"TODO explain; the run said: {why}"[:300], "link": ""}
        if expires is not None:
            entry["expires"] = expires
        if expires_version is not None:
            entry["expires_version"] = expires_version
        if result.flaky:
            entry["flaky"] = True
        entries.append(entry)
    target = ", ".join(f"{k}={v}" for k, v in sorted(run.target.items()))
    header = (f"# Known deviations of {run.component} target {{{target}}}\n"
              f"# from the AttestMesh conformance rules (amc report baseline, suite "
              f"{run.suite_version}).\n# Give each entry a reason and a link before "
              "committing it.\n\n")
    return header + tomli_w.dumps({"deviation": entries})


BASELINE_GATE_FILE = "baseline-gate.json"


def gate_run(run: RunResults, baseline: Baseline, report_dir: Path, exit_code: int,
             echo: Callable[[str], None]) -> int:
    """``amc run --baseline``: judge the finished run, write ``baseline-gate.json`` beside its
    results, echo the findings and return the gate (a run that could not be judged keeps its
    own code: 2, 130, 143)."""
    if exit_code not in (0, 1):
        return exit_code
    report = evaluate(run, baseline)
    path = Path(report_dir) / BASELINE_GATE_FILE
    path.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    for line in report.lines():
        echo(line)
    return report.exit_code()
