"""``report.html``: one self-contained static page rendered from the results
(ARCHITECTURE.md "Layout").

Inline CSS and a few lines of vanilla JS (verdict filter, text filter, copy buttons), no
external assets. Everything in a report is untrusted (target output, failure messages), so
the template is autoescaped and a Content-Security-Policy admits only the page's own style and
script, by hash.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from conformance.report.external import is_pointer
from conformance.report.json_writer import prepare
from conformance.report.junit import format_input
from conformance.report.model import RuleResult, RunResults
from conformance.report.readable import readable_input
from conformance.report.redact import Redactor
from conformance.report.replay_hint import replay_command
from conformance.report.roots import format_roots_headline

HTML_FILE = "report.html"
TEMPLATE = "report.html.j2"


@dataclass(frozen=True)
class FailureView:
    """A failure as the page shows it: input and reproducer already turned into text."""

    message: str
    minimal_input: str | None
    reproducer: str
    check: str
    input_file: str | None = None
    reproducer_file: str | None = None
    """Paths relative to the page of values kept in files (``report.external``): linked."""
    replay: str | None = None
    """The exact ``amc replay`` command for this failure (``report.replay_hint``)."""


@dataclass(frozen=True)
class RuleView:
    """One table row group: the rule and its failures."""

    rule: RuleResult
    failures: list[FailureView]


def csp_hash(text: str) -> str:
    """The CSP source expression (``sha256-…``) allowing exactly ``text`` inline."""
    digest = hashlib.sha256(str(text).encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


@cache
def template_environment() -> jinja2.Environment:
    """The jinja2 environment of every HTML report (autoescaped, strict, with ``csp_hash``)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("conformance.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["csp_hash"] = csp_hash
    return env


def _view(rule: RuleResult, run: RunResults, directory: Path | None = None) -> RuleView:
    failures = [
        FailureView(
            message=f.message,
            minimal_input=None if f.minimal_input is None
            else format_input(readable_input(f.minimal_input)),
            reproducer=format_input(f.reproducer),
            check=f.check,
            input_file=f.minimal_input["external"] if is_pointer(f.minimal_input) else None,
            reproducer_file=f.reproducer["external"] if is_pointer(f.reproducer) else None,
            replay=replay_command(run, directory, rule.rule_id, i),
        )
        for i, f in enumerate(rule.failures)
    ]
    return RuleView(rule=rule, failures=failures)


_FIRST = {"FAIL": 0, "ERROR": 1, "PASS": 2, "SKIP": 3}


def failures_first(results: list[RuleResult]) -> list[RuleResult]:
    """FAILs, then ERRORs, then PASSes and SKIPs, each in catalogue order (the page opens on
    what a release manager must read first)."""
    return sorted(results, key=lambda r: _FIRST.get(r.verdict.value, 4))


def _context(run: RunResults, directory: Path | None = None) -> dict[str, Any]:
    target = [(str(k), format_input(v)) for k, v in sorted(run.target.items())]
    logs = [(name, text) for name, text in sorted(run.logs.items()) if text]
    return {
        "run": run,
        "target": target,
        "summary": run.summary(),
        "exit_code": run.exit_code(),
        "aborted": run.aborted,
        "rules": [_view(r, run, directory) for r in failures_first(run.results)],
        "roots": run.roots(),
        "roots_headline": format_roots_headline(run.roots()),
        "logs": logs,
    }


def render_html(run: RunResults, directory: Path | None = None) -> str:
    """The page for an already prepared (redacted, sorted) run written into ``directory``."""
    return template_environment().get_template(TEMPLATE).render(_context(run, directory))


def write_html(run: RunResults, directory: Path, *, redactor: Redactor | None = None) -> Path:
    """Write ``directory/report.html`` (created if needed) and return its path."""
    text = render_html(prepare(run, redactor), directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / HTML_FILE
    path.write_text(text, encoding="utf-8")
    return path
