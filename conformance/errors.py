"""The suite's usage errors: bad input to the suite itself (exit code 2, one line, no traceback).

Conformance failures are data (see ``conformance.report.model``), never these.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UsageError(Exception):
    """A bad profile, option or target: the run cannot start. Rendered as one line, exit 2."""


class TargetError(Exception):
    """The suite could not judge a case (timeout, crash, garbage transport): ERROR, not FAIL."""


def closest(value: str, choices: Iterable[str]) -> str | None:
    """The closest valid spelling of ``value`` among ``choices``, or None when nothing is close."""
    matches = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """A ``" (did you mean 'x'?)"`` suffix for an error message, or an empty string."""
    match = closest(value, choices)
    return f" (did you mean {match!r}?)" if match else ""
