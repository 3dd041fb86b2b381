"""WH-069: ``webhook-timestamp`` is decimal digits only (PROTOCOL.md §5 "Signature").

Equivalence classes (``reproduce.TIMESTAMP_FORMS``), each naming the same second to a lenient
reader, each signed with a MAC over that very text so only the form is wrong: ``0x``/``0X`` hex,
``0o`` octal, ``0b`` binary (``int(ts, 0)``); ``.0`` and ``.5`` fractions, ``e0`` and ``E+00``
exponents (``float``); a leading ``+``; ``_`` digit groups (Python's ``int``/``float``);
no-break-space padding before and after (``int``/``float``/JavaScript's ``Number`` trim it;
HTTP itself strips spaces and tabs, so those never reach a webhook). Each class is crossed with
the window's centre and both edges (0, ±299 s): a lenient reader is inside the window for all.
The control — the same event with the decimal form — must not be 401 (else the check judges
nothing: ERROR, WH-048's business).
"""

from __future__ import annotations

import pytest

from conformance.engine.checks import Observer, rules
from conformance.suites.webhook import cases
from conformance.suites.webhook.harness import Harness, NotJudged
from conformance.suites.webhook.reproduce import TIMESTAMP_FORMS, Signing

OFFSETS = (0, -299, 299)
"""Seconds from now: inside the ±300 s window for any reader that accepts the form."""


def _event(wh: Harness) -> bytes:
    sender, call = wh.approvable()
    return cases.pimlico(sender, call, wh.profile.chain_id)


@rules("WH-069")
def test_timestamp_in_any_other_form_is_401(wh: Harness, observe: Observer) -> None:
    """Every form of ``TIMESTAMP_FORMS`` at every offset of ``OFFSETS`` → 401."""
    if not wh.profile.has_pimlico_route:
        pytest.skip("POST /pimlico exists only under the pimlico generation")
    wh.need_secret()
    control, answer = wh.pimlico(_event(wh) if wh.peer else b'{"type":"other"}')
    if answer.status == 401:
        raise NotJudged(f"not judged: the decimal control was {answer.describe(60)} → see "
                        "WH-048")
    for form in TIMESTAMP_FORMS:
        for offset in OFFSETS:
            observe.case()
            body = _event(wh) if wh.peer else b'{"type":"other"}'
            record, answer = wh.pimlico(body, Signing(offset=offset, timestamp_form=form,
                                                      msg_id=f"msg_amc_form_{form}"))
            if answer.status != 401:
                raise wh.failure("WH-069", f"webhook-timestamp in the {form} form "
                                 f"({TIMESTAMP_FORMS[form](0)!r} for 0), {offset:+d} s, MAC "
                                 "over that text, was not refused: expected 401", record, answer,
                                 expected_answers=[{"status": 401, "body": None}])
