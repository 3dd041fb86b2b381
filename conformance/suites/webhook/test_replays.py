"""WH-070: a replayed signed request is answered the same and not counted again (PROTOCOL.md §5
"Replays", SHOULD: reported, gates only with ``--strict``).

A capture is one ``POST /pimlico`` request re-sent byte for byte (same ``webhook-id``,
``webhook-timestamp`` and body) inside the ±300 s window. Classes: a replay of an approval
sent while the sender is below its cap (it must not push the sender to the cap: a fresh
request afterwards is still approved, and the one after that meets the cap), and a replay of
an approval sent when the count is one below the cap (it must still be sponsor:true, not a
sender-daily-cap denial). The harness ledger counts a capture once, as the protocol does.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conformance.engine.checks import Observer, rules
from conformance.suites.webhook import cases
from conformance.suites.webhook.harness import Harness, NotJudged
from conformance.suites.webhook.reproduce import Signing

pytestmark = pytest.mark.xdist_group("webhook-state")

CASES = ((2, 1), (1, 2))
"""(approvals short of the cap once the capture is counted + 1, times the capture is re-sent)."""


def _fill(wh: Harness, sender: bytes, n: int) -> None:
    """``n`` approvals of ``sender`` on POST / (four at a time); a refusal: not judged."""
    body = cases.alchemy(sender, cases.execute(wh.actors.cluster), wh.chain_hex())
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _i: wh.alchemy(body)[1], range(n)))
    refused = [a for a in answers if a.json != {"approved": True}]
    if refused:
        raise NotJudged(f"not judged: {len(refused)} of {n} approvals below the cap were "
                        f"refused ({refused[0].describe(60)}) → see WH-040")


@rules("WH-070")
def test_replays_are_answered_the_same_and_not_counted(wh: Harness, observe: Observer) -> None:
    """cap - 2 approvals, a capture (cap - 1) and one replay: a fresh request is still approved
    and the next one meets the cap. cap - 1 approvals, a capture (cap) and two replays: the
    replays answer sponsor:true like the capture, never a cap denial."""
    if not wh.profile.has_pimlico_route:
        pytest.skip("POST /pimlico exists only under the pimlico generation")
    wh.need_chain()
    wh.need_token()
    wh.need_secret()
    cap = wh.settings.daily_cap
    if cap < 3:
        pytest.skip(f"profile {wh.profile.name} sets a daily cap of {cap} (needs at least 3)")
    wh.confirm_baseline("WH-070")
    wh.confirm_baseline("WH-070", route="/pimlico")
    for short, replays in CASES:
        below = cap - short
        sender = wh.add_sender("member")
        _fill(wh, sender, below)
        body = cases.pimlico(sender, cases.execute(wh.actors.cluster), wh.profile.chain_id)
        signing, now = Signing(msg_id=f"msg_amc_capture_{below}"), int(time.time())
        first = wh.pimlico(body, signing, now=now)
        for _ in range(replays):
            observe.case()
            record, again = wh.pimlico(body, signing, now=now)
            if (again.status, again.json) != (first[1].status, first[1].json):
                raise wh.failure("WH-070", f"a replay ({below} approvals before the capture, "
                                 f"cap {cap}) was answered differently from the capture "
                                 f"({first[1].describe(60)})", record, again,
                                 cause="a replayed signed request decided again")
        if short == 2:
            _after_replays(wh, observe, sender, cap, replays)


def _after_replays(wh: Harness, observe: Observer, sender: bytes, cap: int, replays: int) -> None:
    """cap - 1 approvals counted: one more is approved, the one after meets the cap."""
    body = cases.alchemy(sender, cases.execute(wh.actors.cluster), wh.chain_hex())
    for expected, what in (({"approved": True}, "was refused: the replays were counted"),
                           ({"approved": False, "reason": "sender-daily-cap"},
                            "was not sender-daily-cap")):
        observe.case()
        record, answer = wh.alchemy(body)
        if answer.json != expected:
            raise wh.failure("WH-070", f"after {cap - 2} approvals, one capture and "
                             f"{replays} replay(s), the next request {what} (cap {cap})",
                             record, answer, cause="a replayed signed request counted again")
