"""The per-sender daily cap (PROTOCOL.md §5 step 8, pimlico): WH-040…WH-046.

Each check uses fresh senders (the count is keyed by chain, sender and UTC date), so the cap
state of one check never leaks into another. Cache outages come from the KV peer (the webhook
must take ``CACHE_URL``, else those checks SKIP).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from typing import Any

import pytest

from conformance.engine.checks import CheckFailure, Observer, rules
from conformance.protocol.selectors import selector
from conformance.suites.webhook import cases
from conformance.suites.webhook.clocked import clocked_variant, non_default_settings
from conformance.suites.webhook.harness import Harness, NotJudged
from conformance.suites.webhook.reproduce import RecordedRequest, Signing
from conformance.targets.webhook_http import Answer

pytestmark = pytest.mark.xdist_group("webhook-state")

DENY_CAP = {"approved": False, "reason": "sender-daily-cap"}


def _approve_n(wh: Harness, observe: Observer, rule: str, sender: bytes, n: int, *,
               target: Any = None, route: str = "/") -> None:
    """``n`` requests that must all be approved (sent four at a time: none depends on another
    while the count stays below the cap)."""
    call = cases.execute(wh.actors.cluster)

    def one(i: int) -> tuple[RecordedRequest, Answer, bool]:
        if route == "/pimlico":
            body = cases.pimlico(sender, call, wh.profile.chain_id)
            record, answer = wh.pimlico(body, Signing(msg_id=f"msg_cap_{i}"), target=target)
            return record, answer, answer.status == 200 and answer.json == {"sponsor": True}
        record, answer = wh.alchemy(cases.alchemy(sender, call, wh.chain_hex()), target=target)
        return record, answer, answer.status == 200 and answer.json == {"approved": True}

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one, range(n)))
    observe.case(n)
    refused = [(i, r) for i, r in enumerate(results) if not r[2]]
    if refused:
        i, (record, answer, _ok) = refused[0]
        approval = {"sponsor": True} if route == "/pimlico" else {"approved": True}
        raise wh.failure(rule, f"{len(refused)} of {n} approvals ({route}) were refused, "
                         f"the first at request {i + 1}", record, answer,
                         expected_answers=[{"status": 200, "body": approval}])


def _capped(wh: Harness, observe: Observer, rule: str, sender: bytes, *, target: Any = None,
            expect_cap: bool = True) -> None:
    observe.case()
    record, answer = wh.alchemy(cases.alchemy(sender, cases.execute(wh.actors.cluster),
                                              wh.chain_hex()), target=target)
    if expect_cap and answer.json != DENY_CAP:
        raise wh.failure(rule, "the request past the cap was not sender-daily-cap", record,
                         answer, expected_answers=[{"status": 200, "body": DENY_CAP}])
    if not expect_cap and answer.json != {"approved": True}:
        raise wh.failure(rule, "a request past the default cap was refused", record, answer,
                         expected_answers=[{"status": 200, "body": {"approved": True}}])


def _cap(wh: Harness) -> int:
    wh.need_chain()
    wh.need_token()
    if wh.settings.daily_cap == 0:
        pytest.skip(f"profile {wh.profile.name} disables the daily cap (daily_cap = 0)")
    wh.confirm_baseline("WH-040")
    return wh.settings.daily_cap


@rules("WH-040")
def test_cap_denies_the_next_approval(wh: Harness, observe: Observer) -> None:
    """After ``cap`` approvals today, the sender's next request is sender-daily-cap."""
    cap = _cap(wh)
    sender = wh.add_sender("member")
    _approve_n(wh, observe, "WH-040", sender, cap)
    _capped(wh, observe, "WH-040", sender)


@rules("WH-041")
def test_denials_never_count(wh: Harness, observe: Observer) -> None:
    """``cap`` denials (inner selector not allowed) first; then ``cap`` approvals still pass."""
    cap = _cap(wh)
    sender = wh.add_sender("member")
    forbidden = cases.execute(wh.actors.cluster, selector("transferOwnership(address)") + bytes(32))
    for _ in range(cap):
        observe.case()
        wh.alchemy(cases.alchemy(sender, forbidden, wh.chain_hex()))
    _approve_n(wh, observe, "WH-041", sender, cap)


@rules("WH-042")
def test_cap_is_per_sender(wh: Harness, observe: Observer) -> None:
    """One sender at its cap leaves another sender's count untouched (the UTC-day half of the
    rule is ``test_cap_starts_afresh_at_utc_midnight_on_the_target_clock``)."""
    cap = _cap(wh)
    first, second = wh.add_sender("member"), wh.add_sender("path-a")
    _approve_n(wh, observe, "WH-042", first, cap)
    _approve_n(wh, observe, "WH-042", second, 3)


ROLLOVER_WINDOW_ENV = "AMC_UTC_ROLLOVER_WINDOW"
"""Seconds before 00:00 UTC within which the rollover check runs (default 900); a nightly job
scheduled a few minutes before midnight UTC exercises it."""

ROLLOVER_SETTLE = 5.0
"""Seconds waited past midnight, for a webhook clock slightly behind the suite's."""


def _seconds_to_utc_midnight(now: datetime) -> float:
    midnight = datetime.combine(now.date() + timedelta(days=1), dt_time(0), tzinfo=UTC)
    return (midnight - now).total_seconds()


ROLLOVER_MARGIN = 30.0
"""Seconds before 00:00 UTC the target's clock is set to before the cap is filled."""


@rules("WH-042")
def test_cap_starts_afresh_at_utc_midnight_on_the_target_clock(wh: Harness,
                                                                observe: Observer) -> None:
    """On a clock the suite moves (faketime) and non-default settings (a cap of 3): a sender
    filled to its cap at 23:59:30 UTC is still capped then, and approved again at 00:00:30.
    SKIPs when the target's clock cannot be moved (``clocked_variant``); ``--slow`` keeps the
    real-time variant."""
    wh.need_chain()
    wh.need_token()
    with clocked_variant(wh, {}) as (webhook, clock):
        cap = int(non_default_settings(wh)["MAX_DAILY_OPS_PER_SENDER"] or 0)
        sender = wh.add_sender("member")
        clock.set_offset(_seconds_to_utc_midnight(datetime.now(UTC)) - ROLLOVER_MARGIN)
        try:
            _approve_n(wh, observe, "WH-042", sender, cap, target=webhook)
        except CheckFailure as exc:
            raise NotJudged(f"not judged: {exc.message} → see WH-040") from None
        observe.case()
        body = cases.alchemy(sender, cases.execute(wh.actors.cluster), wh.chain_hex())
        record, answer = wh.alchemy(body, target=webhook)
        if answer.json != DENY_CAP:
            raise NotJudged(f"not judged: the cap of {cap} was not enforced before midnight "
                            f"(got {answer.describe(80)}) → see WH-040")
        clock.advance(2 * ROLLOVER_MARGIN)
        observe.case()
        record, answer = wh.alchemy(body, target=webhook)
        if answer.json != {"approved": True}:
            raise wh.failure("WH-042", f"a sender capped at 23:59:{60 - ROLLOVER_MARGIN:.0f} UTC "
                             "was not approved again at 00:00:30 UTC (target clock moved by "
                             "faketime)", record, answer)


@rules("WH-042")
@pytest.mark.slow
def test_cap_starts_afresh_on_a_new_utc_day(wh: Harness, observe: Observer) -> None:
    """Fill one sender's cap shortly before 00:00 UTC; after midnight it is approved again.

    Waits on the wall clock, so it only runs when midnight UTC is within the window
    (``AMC_UTC_ROLLOVER_WINDOW`` seconds, default 900) and SKIPs otherwise."""
    cap = _cap(wh)
    window = float(os.environ.get(ROLLOVER_WINDOW_ENV, "900"))
    left = _seconds_to_utc_midnight(datetime.now(UTC))
    if left > window:
        pytest.skip(f"00:00 UTC is {left / 3600:.1f} h away (runs within {window:.0f} s of it: "
                    "schedule the nightly job just before midnight UTC)")
    if left < 60:
        pytest.skip(f"00:00 UTC is only {left:.0f} s away: too close to fill a cap before it")
    sender = wh.add_sender("member")
    _approve_n(wh, observe, "WH-042", sender, cap)
    _capped(wh, observe, "WH-042", sender)
    if _seconds_to_utc_midnight(datetime.now(UTC)) < 1:
        pytest.skip("midnight UTC passed while the cap was being filled; nothing was judged")
    time.sleep(_seconds_to_utc_midnight(datetime.now(UTC)) + ROLLOVER_SETTLE)
    observe.case()
    record, answer = wh.alchemy(cases.alchemy(sender, cases.execute(wh.actors.cluster),
                                              wh.chain_hex()))
    if answer.json != {"approved": True}:
        raise wh.failure("WH-042", "the sender's count did not start afresh after 00:00 UTC",
                         record, answer)


@rules("WH-043")
def test_zero_disables_the_cap(wh: Harness, observe: Observer) -> None:
    """MAX_DAILY_OPS_PER_SENDER=0: more than 100 approvals for one sender all pass."""
    wh.need_chain()
    wh.need_token()
    sender = wh.add_sender("member")
    with wh.variant({"MAX_DAILY_OPS_PER_SENDER": "0"}) as webhook:
        _approve_n(wh, observe, "WH-043", sender, 105, target=webhook)


@rules("WH-044")
def test_unset_cap_is_100(wh: Harness, observe: Observer) -> None:
    """MAX_DAILY_OPS_PER_SENDER unset: 100 approvals pass and the 101st is sender-daily-cap."""
    wh.need_chain()
    wh.need_token()
    sender = wh.add_sender("member")
    with wh.variant({"MAX_DAILY_OPS_PER_SENDER": None}) as webhook:
        _approve_n(wh, observe, "WH-044", sender, 100, target=webhook)
        _capped(wh, observe, "WH-044", sender, target=webhook)


@rules("WH-045")
def test_cache_outage_fails_open(wh: Harness, observe: Observer) -> None:
    """A sender at its cap is never sender-daily-cap while the cache is down (fails open; other
    outage effects are WH-039's business)."""
    cap = _cap(wh)
    kv = wh.need_kv()
    if wh.uses_kv is False:  # a feature skip, decided before anything can fail
        pytest.skip("the webhook does not take CACHE_URL (no request reached the KV peer)")
    sender = wh.add_sender("member")
    _approve_n(wh, observe, "WH-045", sender, cap)
    if not kv.requests:
        pytest.skip("the webhook does not take CACHE_URL (no request reached the KV peer)")
    with kv.down():
        for _ in range(3):
            observe.case()
            record, answer = wh.alchemy(cases.alchemy(sender, cases.execute(wh.actors.cluster),
                                                      wh.chain_hex()))
            if answer.json == DENY_CAP:
                raise wh.failure("WH-045", "the cap was enforced during a cache outage", record,
                                 answer)


@rules("WH-046")
def test_routes_share_one_cap(wh: Harness, observe: Observer) -> None:
    """Approvals on POST / and POST /pimlico add up; once at the cap both routes refuse."""
    cap = _cap(wh)
    wh.need_secret()
    sender = wh.add_sender("member")
    _approve_n(wh, observe, "WH-046", sender, cap // 2)
    _approve_n(wh, observe, "WH-046", sender, cap - cap // 2, route="/pimlico")
    _capped(wh, observe, "WH-046", sender)
    observe.case()
    body = cases.pimlico(sender, cases.execute(wh.actors.cluster), wh.profile.chain_id)
    record, answer = wh.pimlico(body, Signing(msg_id="msg_cap_last"))
    if answer.status != 200 or answer.json != {"sponsor": False}:
        raise wh.failure("WH-046", "POST /pimlico did not enforce the shared cap", record, answer)
