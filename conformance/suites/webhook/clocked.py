"""A webhook variant on a clock the suite moves (issue 7 §9): wall-clock rules in seconds.

``clocked_variant`` starts a second webhook under libfaketime (``conformance.targets.clock``)
with non-default values of every setting the launch contract names (PROTOCOL.md §5: the cap,
the TTL, the operator gate, ``LOG_LEVEL``) and no ``CACHE_URL`` (the webhook's own cache then
follows its own clock). It first asks the target whether its clock follows the shift (its
``Date`` header): when it does not — ``faketime`` not installed, a runtime that ignores it —
the check SKIPs with that reason before anything else can fail; ``--slow`` keeps the
real-time variants for such targets and for ``--url``.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from conformance.suites.webhook.harness import Harness
from conformance.suites.webhook.reproduce import RecordedRequest
from conformance.targets.clock import (
    PROBE_OFFSET,
    TargetClock,
    answer_date,
    find_libfaketime,
    follows,
)
from conformance.targets.webhook import LaunchedWebhook

NO_FAKETIME = ("the faketime package (libfaketime) is not installed, so the suite cannot move "
               "the target's clock: apt-get install faketime, or run with --slow for the "
               "real-time variant")

PROBE_SECONDS = 3.0
"""How long the probe waits for the target's Date header to follow a shift (a server may
refresh its Date header once a second)."""


def non_default_settings(wh: Harness) -> dict[str, str | None]:
    """A value other than both the §5 default and the profile's for each named setting."""
    settings = wh.settings
    return {
        "MAX_DAILY_OPS_PER_SENDER": "3" if settings.daily_cap != 3 else "4",
        "CACHE_TTL_SECONDS": "90" if settings.cache_ttl_seconds != 90 else "120",
        "SPONSOR_OPERATOR_METHOD": "false" if settings.operator_method else "true",
        "LOG_LEVEL": "error",
        "CACHE_URL": None,
    }


def _follows_within(wh: Harness, webhook: LaunchedWebhook, clock: TargetClock) -> bool:
    deadline = time.monotonic() + PROBE_SECONDS
    while True:
        answer = wh.send(RecordedRequest("GET", "/healthz", "", headers=()), target=webhook)
        if follows(clock, answer_date(answer.headers)):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.25)


@contextlib.contextmanager
def clocked_variant(
    wh: Harness, overrides: Mapping[str, str | None]
) -> Iterator[tuple[LaunchedWebhook, TargetClock]]:
    """A variant on a suite-owned clock (offset 0 when yielded); SKIP when it cannot be had."""
    if not wh.owns_chain:
        pytest.skip("needs --launch or --reference: the suite must own the target's clock "
                    "(--slow runs the real-time variant against --url)")
    library = find_libfaketime()
    if library is None:
        pytest.skip(NO_FAKETIME)
    with tempfile.TemporaryDirectory(prefix="amc-clock-") as folder:
        clock = TargetClock(Path(folder) / "offset")
        env = {**non_default_settings(wh), **overrides, **clock.environment(library)}
        with wh.variant(env) as webhook:
            clock.set_offset(PROBE_OFFSET)
            shifted = _follows_within(wh, webhook, clock)
            clock.set_offset(0)
            if not shifted or not _follows_within(wh, webhook, clock):
                pytest.skip("the target's clock does not follow faketime (its Date header "
                            "ignores the shift): run with --slow for the real-time variant")
            yield webhook, clock
