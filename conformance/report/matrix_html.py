"""``matrix.html``: the compliance matrix as one offline page (``report.matrix``).

Autoescaped like ``report.html`` (every name and message came from a target) and under the same
kind of Content-Security-Policy: only the page's own style and script run, admitted by hash.
"""

from __future__ import annotations

from typing import Any

from conformance.report.html import template_environment
from conformance.report.matrix import Matrix

TEMPLATE = "matrix.html.j2"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}%"


def render_matrix_html(matrix: Matrix, *, failures: list[dict[str, Any]]) -> str:
    """The page: totals, the matrix grouped by component and section, then each failure."""
    return template_environment().get_template(TEMPLATE).render(
        matrix=matrix, groups=matrix.groups(), failures=failures, percent=_percent,
        flaky=matrix.flaky(), with_kills=any(r.kills is not None for r in matrix.rows))
