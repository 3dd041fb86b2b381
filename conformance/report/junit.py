"""``junit.xml``: one testsuite per component, one testcase per rule (ARCHITECTURE.md "Verdicts").

classname is the rule family (``WH``), name is ``"<rule id> <statement>"``. FAIL becomes
``<failure>`` carrying each failure's message, minimal input and reproducer; ERROR
``<error>``; SKIP ``<skipped>`` with the reason; an aborted run adds the testcase
``amc / run aborted`` with an ``<error>`` naming the cause. The result model has no per-rule
duration, so testcases report ``time="0.000"`` and the run's duration sits on ``<testsuites>``
(and on the testsuite when there is only one).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from conformance.report.external import describe
from conformance.report.json_writer import prepare
from conformance.report.model import Failure, RuleResult, RunResults, Verdict
from conformance.report.redact import Redactor

JUNIT_FILE = "junit.xml"
MESSAGE_LIMIT = 500

# Characters XML 1.0 cannot carry at all (target output may contain them).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """``text`` with characters XML 1.0 forbids written as ``\\xNN`` escapes."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


def family(rule_id: str) -> str:
    """The family prefix of a rule id (``WH-012`` → ``WH``)."""
    return rule_id.split("-", 1)[0]


def format_input(value: Any) -> str:
    """A minimal input as text: strings as they are (hex stays hex), the rest pretty JSON; a
    value kept in a file of the report directory as where it is (``report.external``)."""
    pointer = describe(value)
    if pointer is not None:
        return pointer
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def format_failures(failures: Iterable[Failure]) -> str:
    """The body of a ``<failure>``/``<error>``: every failure, input and reproducer."""
    blocks = []
    for i, f in enumerate(failures, 1):
        lines = [f"[{i}] {f.message}"]
        if f.check:
            lines.append(f"check: {f.check}")
        if f.minimal_input is not None:
            lines += ["minimal input:", format_input(f.minimal_input)]
        if f.reproducer:
            lines += ["reproducer:", format_input(f.reproducer)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _short(text: str) -> str:
    line = " ".join(text.split())
    return xml_safe(line if len(line) <= MESSAGE_LIMIT else line[: MESSAGE_LIMIT - 3] + "...")


def _testcase(parent: ET.Element, rule: RuleResult) -> None:
    case = ET.SubElement(
        parent,
        "testcase",
        classname=family(rule.rule_id),
        name=_short(f"{rule.rule_id} {rule.statement}".strip()),
        time="0.000",
    )
    reasons = "; ".join(rule.reasons)
    if rule.verdict in (Verdict.FAIL, Verdict.ERROR):
        tag = "failure" if rule.verdict is Verdict.FAIL else "error"
        first = rule.failures[0].message if rule.failures else reasons
        node = ET.SubElement(case, tag, message=_short(first or rule.verdict.value))
        node.set("type", f"{rule.level} {rule.verdict.value}")
        node.text = xml_safe(format_failures(rule.failures) or reasons)
    elif rule.verdict is Verdict.SKIP:
        ET.SubElement(case, "skipped", message=_short(reasons or "not applicable"))


def _aborted_case(parent: ET.Element, run: RunResults) -> None:
    """The testcase saying the run ended early: a CI gate reading JUnit sees an error."""
    assert run.aborted is not None
    case = ET.SubElement(parent, "testcase", classname="amc", name="run aborted", time="0.000")
    node = ET.SubElement(case, "error", message=_short(run.aborted.cause))
    node.set("type", f"aborted (exit {run.aborted.exit_code})")
    node.text = xml_safe(
        f"{run.aborted.cause}\nThe run ended early (exit {run.aborted.exit_code}): the rules it "
        "did not judge are errors, not skips."
    )


def _properties(parent: ET.Element, run: RunResults) -> None:
    props = ET.SubElement(parent, "properties")
    pairs = [
        ("suite_version", run.suite_version),
        ("catalogue_digest", run.catalogue_digest),
        ("profile", run.profile),
        ("seed", str(run.seed)),
        ("strict", str(run.strict).lower()),
    ]
    pairs += [(f"target.{k}", format_input(v)) for k, v in sorted(run.target.items())]
    for name, value in pairs:
        ET.SubElement(props, "property", name=name, value=xml_safe(value))


def _logs(parent: ET.Element, logs: dict[str, str]) -> None:
    out = [logs.get("stdout", "")]
    out += [f"--- {name} ---\n{text}" for name, text in sorted(logs.items())
            if name not in ("stdout", "stderr")]
    if any(out):
        ET.SubElement(parent, "system-out").text = xml_safe("\n".join(o for o in out if o))
    if logs.get("stderr"):
        ET.SubElement(parent, "system-err").text = xml_safe(logs["stderr"])


def _counts(element: ET.Element, rules: list[RuleResult]) -> None:
    def count(v: Verdict) -> str:
        return str(sum(r.verdict is v for r in rules))

    element.set("tests", str(len(rules)))
    element.set("failures", count(Verdict.FAIL))
    element.set("errors", count(Verdict.ERROR))
    element.set("skipped", count(Verdict.SKIP))


def _bump(*elements: ET.Element) -> None:
    """One more test and one more error on each element (the aborted testcase)."""
    for element in elements:
        for key in ("tests", "errors"):
            element.set(key, str(int(element.get(key, "0")) + 1))


def build_junit(run: RunResults) -> ET.Element:
    """The ``<testsuites>`` tree of an already prepared (redacted, sorted) run."""
    root = ET.Element("testsuites", name=f"attestmesh-conformance {run.profile}")
    _counts(root, run.results)
    root.set("time", f"{run.duration_seconds:.3f}")
    components: dict[str, list[RuleResult]] = {}
    for rule in run.results:
        components.setdefault(rule.component or run.component, []).append(rule)
    if not components:
        components[run.component] = []
    home = run.component if run.component in components else next(iter(components), None)
    for component in sorted(components):
        rules = components[component]
        suite = ET.SubElement(root, "testsuite", name=component)
        _counts(suite, rules)
        only = len(components) == 1
        suite.set("time", f"{run.duration_seconds:.3f}" if only else "0.000")
        suite.set("timestamp", run.started_at)
        _properties(suite, run)
        for rule in rules:
            _testcase(suite, rule)
        if component == home:
            if run.aborted is not None:
                _aborted_case(suite, run)
                _bump(suite, root)
            _logs(suite, run.logs)
    return root


def write_junit(run: RunResults, directory: Path, *, redactor: Redactor | None = None) -> Path:
    """Write ``directory/junit.xml`` (created if needed) and return its path."""
    root = build_junit(prepare(run, redactor))
    ET.indent(root)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / JUNIT_FILE
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path
