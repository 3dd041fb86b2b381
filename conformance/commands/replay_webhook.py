"""Replaying one recorded webhook FAIL on a ``ReplayBench`` (``amc replay``; ARCHITECTURE.md
"Reproducers", README "Replaying failures").

The failure's ``world`` (``conformance.suites.webhook.world_record``) is recreated step by
step: each earlier request of the case is sent on the chain, faults and cache state it met, to
the webhook (or variant) it went to; then the failing request, judged against the recorded
expected answers (or the answers it must not give: ``forbidden_answers``, an approval of
callData Solidity rejects) — or, for a FAIL about the chain requests the webhook made
(``chain_reads``), against the chain requests it makes now. Reports written before worlds were
recorded replay on the standard chain plus the record's ``chain.members`` and ``variant``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.errors import TargetError
from conformance.peers import RecordedCall
from conformance.peers.faults import CallKey
from conformance.peers.world import plan_from_json
from conformance.suites.webhook.reproduce import RecordedRequest
from conformance.targets.webhook_http import Answer
from conformance.targets.webhook_replay import (
    NEEDS_SUITE_CHAIN,
    ReplayBench,
    legacy_variant,
    needs_suite_chain,
    variant_derivation,
)

REPRODUCED, NOT_REPRODUCED, NOT_JUDGED = "reproduced", "not reproduced", "not judged"
"""The three outcomes of replaying one failure."""


@dataclass(frozen=True)
class Outcome:
    """What replaying one failure showed: ``verdict`` (one of the three) and why."""

    verdict: str
    detail: str


def conforms(answer_status: int, answer_json: Any, expected: list[dict[str, Any]]) -> bool | None:
    """True/False: the answer is one of the recorded answers (``status`` and ``body``, None:
    any body; or ``status_at_least``: a class, a 5xx); None when none were recorded."""
    if not expected:
        return None
    return any((answer_status >= e["status_at_least"]) if "status_at_least" in e else (
               answer_status == e["status"] and (e.get("body") is None
                                                 or e["body"] == answer_json))
               for e in expected)


def recorded_steps(minimal: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The failure's world steps, the failing one last (its request is ``request``); a record
    without a world gets one step with its ``chain.members`` on the standard chain."""
    world = minimal.get("world")
    if isinstance(world, Mapping) and world.get("steps"):
        return [dict(s) for s in world["steps"]]
    members = ((minimal.get("request") or {}).get("chain") or {}).get("members", [])
    return [{"chain": {"members": {"add": list(members), "remove": []}}} if members else {}]


def needs_chain(minimal: Mapping[str, Any]) -> bool:
    """True when only a replay owning the chain can recreate the failure's world."""
    steps = recorded_steps(minimal)
    request = minimal.get("request") or {}
    return (len(steps) > 1 or any(needs_suite_chain(s) or "target" in s for s in steps)
            or bool(request.get("variant")))


def replay_failure(bench: ReplayBench, minimal: Mapping[str, Any]) -> Outcome:
    """Recreate the failure's world on ``bench`` and judge the failing request again."""
    expected = minimal.get("expected_answers") or []
    forbidden = minimal.get("forbidden_answers") or []
    reads: Mapping[str, Any] = minimal.get("chain_reads") or {}
    by_reads = minimal.get("answer_departs") is False or not (expected or forbidden)
    if by_reads and not reads:
        return Outcome(NOT_JUDGED, "no structured expectation recorded for what this FAIL is "
                                   "about (see its message and reproducer; rerun amc run --rule)")
    if not bench.owns_chain and (needs_chain(minimal) or by_reads):
        return Outcome(NOT_JUDGED, NEEDS_SUITE_CHAIN)
    steps = recorded_steps(minimal)
    record = RecordedRequest.from_json(minimal["request"])
    try:
        for step in steps[:-1]:
            for _ in range(int(step.get("times", 1))):
                _send(bench, step, RecordedRequest.from_json(step["request"]))
        answer, calls = _send(bench, steps[-1], record)
    except TargetError as exc:
        return Outcome(NOT_JUDGED, f"the target did not answer: {exc}")
    seen = answer.describe(160)
    if by_reads:
        departs, detail = judge_reads(reads, calls)
        return Outcome(REPRODUCED if departs else NOT_REPRODUCED, f"{detail}; answer {seen}")
    if forbidden:
        if conforms(answer.status, answer.json, forbidden):
            return Outcome(REPRODUCED, f"answer {seen}, one the protocol forbids here")
        return Outcome(NOT_REPRODUCED, f"answer {seen}, not one the protocol forbids here")
    if conforms(answer.status, answer.json, expected):
        return Outcome(NOT_REPRODUCED, f"answer {seen} conforms")
    return Outcome(REPRODUCED, f"answer {seen}; expected {minimal.get('expected', expected)}")


def judge_reads(reads: Mapping[str, Any], calls: tuple[RecordedCall, ...]) -> tuple[bool, str]:
    """(departs, what was seen) of the failing request's chain requests against the record's
    ``chain_reads``: ``none`` (no chain request at all, WH-012), ``first`` (the first read
    ``among`` those views, WH-020/021), ``asked`` (each filter matched
    by a read: a faulted read asked again, WH-038), ``asked_any`` (one of them: an expired
    entry read again, WH-036) or ``not_asked`` (no read matches: a cached answer, WH-035/036)."""
    keys = [CallKey(c.method, c.selector_name, c.to, c.argument) for c in calls]
    if reads.get("none"):
        return bool(calls), f"{len(calls)} chain request(s)"
    if reads.get("first"):
        among = set(reads.get("among", ()))
        seen = next((c.selector_name for c in calls if c.selector_name in among), None)
        return seen != reads["first"], f"first provenance read {seen}"
    missing = [p for p in map(plan_from_json, reads.get("asked", ()))
               if not any(p.matches(k) for k in keys)]
    present = [p for p in map(plan_from_json, reads.get("not_asked", ()))
               if any(p.matches(k) for k in keys)]
    anyof = [plan_from_json(p) for p in reads.get("asked_any", ())]
    if anyof and not any(p.matches(k) for p in anyof for k in keys):
        missing.append(anyof[0])
    if missing or present:
        what = missing[0] if missing else present[0]
        return True, (f"{what.selector or what.method} {'not ' if missing else ''}asked "
                      f"({len(calls)} chain requests)")
    return False, f"the chain reads conform ({len(calls)} chain requests)"


def _send(bench: ReplayBench, step: Mapping[str, Any],
          record: RecordedRequest) -> tuple[Answer, tuple[RecordedCall, ...]]:
    """One step: the peers as recorded, the request to the webhook it went to; the answer and
    the chain requests it made (none without a chain of the replay's own)."""
    profile = bench.profile
    assert bench.main is not None
    target, secrets = bench.main, bench.secrets
    derivation = variant_derivation(profile, record.variant).value
    if "target" in step and bench.owns_chain:  # sent by the harness: signed with its secrets
        target, _ = bench.variant(step["target"])
        derivation = str(step["target"].get("PIMLICO_KEY_DERIVATION") or derivation)
    elif record.variant and bench.owns_chain:  # sent to a variant with the variant's secret
        target, secrets = bench.variant(legacy_variant(profile, record.variant))
    request = record.build(token=secrets.token if secrets else None,
                           secret=secrets.hmac_secret if secrets else None,
                           derivation=derivation)
    bench.arrange(step)
    try:
        answer = target.send(request)
        return answer, bench.peer.requests if bench.peer is not None else ()
    finally:
        bench.settle()


__all__ = ["NOT_JUDGED", "NOT_REPRODUCED", "REPRODUCED", "Outcome", "conforms", "judge_reads",
           "needs_chain", "recorded_steps", "replay_failure"]
