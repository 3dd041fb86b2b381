"""Replaying recorded account FAILs (``amc replay``; ARCHITECTURE.md "Reproducers").

Each failure's world is rebuilt around the recorded target (``--reference [--mutant]``
instead: the bundled one) and its steps replayed; the last step is judged against the record's
``expect`` — a validateUserOp answer (``returns``/``error``, ``may_revert``, ``any_error``,
AC-0xx of PROTOCOL.md §6), a prefund (``paid``, §6 step 5), or that the step goes through
(``succeeds``) or reverts (``reverts``, with one of ``errors`` when named: gates, §4
registration). A rebuilt target whose
``creation_code_keccak`` differs from the record's is warned about: the steps then run on
other code than the one that failed.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from conformance.commands.replay_cmd import print_outcome, print_summary
from conformance.errors import UsageError


def judge_last(expect: Mapping[str, Any], last: Any, paid: int) -> tuple[str, str]:
    """(verdict, detail) of the replayed last step against the recorded expectation."""
    if last is None or not expect:
        return "not judged", "no structured expectation recorded (compare the steps by eye)"
    seen = last.describe()[:160]
    if "succeeds" in expect or "reverts" in expect:
        errors = list(expect.get("errors") or ())
        if expect.get("succeeds"):
            ok, want = last.success, "success"
        else:
            ok = not last.success and (not errors or last.error in errors)
            want = "revert " + (" or ".join(errors) if errors else "(any error)")
            if expect.get("output") is not None:  # the very revert data (AC-019)
                ok = ok and "0x" + last.output.hex() == expect["output"]
                want += f" with data {str(expect['output'])[:42]}"
        return ("not reproduced" if ok else "reproduced"), f"last step {seen}; requires {want}"
    if "paid" in expect:
        ok = last.success and paid == int(expect["paid"])
        detail = f"validateUserOp {seen}, paid {paid} wei; §6 step 5 requires {expect['paid']}"
    else:
        returned = last.word if last.success else None
        if returned is None and last.success:
            ok = False
        elif returned is None:
            ok = bool(expect.get("may_revert")) if expect.get("returns") is not None else (
                bool(expect.get("any_error")) or expect.get("error") in (None, last.error))
        else:
            ok = returned == expect.get("returns")
        want = (f"return {expect['returns']}" if expect.get("returns") is not None
                else f"revert {expect.get('error') or '(any error)'}")
        detail = f"validateUserOp {seen}; §6 requires {want}"
    return ("not reproduced", detail) if ok else ("reproduced", detail)


def replay_account(failures: list[tuple[str, dict[str, Any]]], args: argparse.Namespace,
                   doc: dict[str, Any]) -> int:
    """Replay each account failure; the exit code (1 when any reproduced)."""
    from conformance.targets.account import replay_account_record

    if args.url or args.launch:
        raise UsageError("an account failure replays on a rebuilt world: use --reference "
                         "[--mutant M], or nothing for the recorded target")
    recorded = dict(doc.get("target") or {})
    target = None
    if args.reference:
        target = {k: v for k, v in recorded.items() if k in ("profile", "evm", "proxy")}
        target.update(kind="reference", profile=args.profile or doc.get("profile", "base"))
        if args.mutant:
            target["mutant"] = args.mutant
    label = ("recorded target " + _label(recorded)) if target is None else _label(target)
    print(f"amc replay · account · target {label} · {len(failures)} failure"
          f"{'s' if len(failures) != 1 else ''}")
    counts = {"reproduced": 0, "not reproduced": 0, "not judged": 0}
    for rule_id, failure in failures:
        record = failure["minimal_input"]
        if "steps" not in record:
            verdict, detail = "not judged", "the record holds no steps to replay"
        else:
            replay = replay_account_record(record, target)
            _warn_code(record, replay.target_info)
            verdict, detail = judge_last(record.get("expect") or {}, replay.last, replay.paid)
            detail += f" ({len(record['steps'])} steps)"
            if replay.moved:
                name, (was, now) = next(iter(sorted(replay.moved.items())))
                verdict, detail = "not judged", (
                    f"this target's world deploys {name} at {now}, not {was} as recorded: "
                    "the recorded steps would address other contracts")
        counts[verdict] += 1
        print_outcome(verdict, rule_id, failure, detail)
    return print_summary(counts, label)


def _label(target: Mapping[str, Any]) -> str:
    kind = str(target.get("kind", "?"))
    return f"{kind} (mutant {target['mutant']})" if target.get("mutant") else kind


def _warn_code(record: Mapping[str, Any], rebuilt: Mapping[str, Any]) -> None:
    """Warn when the rebuilt target's creation code is not the recorded one."""
    was = (record.get("target") or {}).get("creation_code_keccak")
    now = rebuilt.get("creation_code_keccak")
    if was and now and was != now:
        print(f"warning: the target's creation_code_keccak {now} differs from the recorded "
              f"{was}: the steps run on other code than the one that failed")


__all__ = ["judge_last", "replay_account"]
