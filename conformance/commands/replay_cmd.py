"""``amc replay RESULTS``: replay a recorded FAIL (DESIGN.md "Reproducers").

``RESULTS`` is a results.json or the report directory holding it. An account failure is
replayed step by step on a freshly built world (the target the run recorded), printing what
each step did. A webhook failure's request is rebuilt from the failure's
``minimal_input.request`` with this environment's secrets (the variables the profile names);
a Pimlico request is re-signed with a fresh timestamp. ``--url`` sends it to a running
webhook; ``--reference`` (optionally ``--mutant``) starts the bundled one on a fresh standard
chain — the recorded case's chain state (fresh addresses) is then not there, unless the record
names it (``chain``: member senders), so its answer may show the route's behaviour, not the
verdict. A request recorded under a variant (another key
derivation or secret prefix, WH-057) is signed, and the reference launched, the same way.
Webhook: exit 1 when the answer is still outside the recorded expectation, 0 when it conforms.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from conformance.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("replay", help="replay a recorded FAIL (webhook request or account steps)")
    p.add_argument("results", type=Path,
                   help="a results.json written by amc run, or its report directory")
    p.add_argument("--rule", default=None, help="the failure's rule id (default: the first)")
    p.add_argument("--index", type=int, default=0, help="which failure of that rule (0-based)")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--url", default=None, help="a running webhook")
    target.add_argument("--reference", action="store_true", help="the bundled reference")
    p.add_argument("--mutant", default=None, help="with --reference: this mutant")
    p.add_argument("--profile", default=None, help="profile (default: the run's)")
    p.set_defaults(handler=replay_command)


def pick_failure(doc: dict[str, Any], rule: str | None, index: int) -> tuple[str, dict[str, Any]]:
    """(rule id, failure object) chosen by ``--rule``/``--index``; UsageError when absent."""
    failures = [(r["rule_id"], f) for r in doc.get("results", []) for f in r.get("failures", [])
                if rule is None or r["rule_id"] == rule]
    if not failures:
        raise UsageError(f"no recorded failure{' of ' + rule if rule else ''} in the results")
    if not 0 <= index < len(failures):
        raise UsageError(f"--index={index}: there are {len(failures)} matching failures")
    rule_id, failure = failures[index]
    minimal = failure.get("minimal_input") or {}
    if not isinstance(minimal.get("request"), dict) and "steps" not in minimal:
        raise UsageError(f"{rule_id} failure #{index} carries neither an HTTP request nor "
                         "account steps to replay")
    return rule_id, failure


def load_results(path: Path) -> dict[str, Any]:
    """The results document at ``path`` (a file, or a report directory holding results.json);
    UsageError with the cause when it is missing or not a results document."""
    file = path / "results.json" if path.is_dir() else path
    try:
        doc = json.loads(file.read_text())
    except FileNotFoundError:
        raise UsageError(
            f"{file}: no such file (give a results.json or its report directory)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(
            f"{file}: not a readable results.json ({exc.__class__.__name__})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise UsageError(f"{file}: not a results document (no 'results' list)")
    return doc


def conforms(answer_status: int, answer_json: Any, expected: list[dict[str, Any]]) -> bool | None:
    """True/False against the recorded expected answers; None when none were recorded."""
    if not expected:
        return None
    return any(answer_status == e["status"] and (e.get("body") is None
               or e["body"] == answer_json) for e in expected)


def replay_command(args: argparse.Namespace) -> int:
    from conformance.profiles import load_profile
    from conformance.suites.webhook.reproduce import RecordedRequest
    from conformance.targets.webhook_replay import replay_target, variant_derivation

    doc = load_results(Path(args.results))
    rule_id, failure = pick_failure(doc, args.rule, args.index)
    minimal = failure["minimal_input"]
    if "steps" in minimal:
        return _replay_account(rule_id, failure, args)
    profile = load_profile(args.profile or doc.get("profile", "pimlico"))
    record = RecordedRequest.from_json(minimal["request"])
    if not args.url and not args.reference:
        raise UsageError("say where to replay: --url URL or --reference")
    derivation = variant_derivation(profile, record.variant)
    with replay_target(profile, url=args.url, mutant=args.mutant, environ=os.environ,
                       variant=record.variant, chain=record.chain) as (target, secrets):
        request = record.build(token=secrets.token if secrets else None,
                               secret=secrets.hmac_secret if secrets else None,
                               derivation=derivation.value)
        answer = target.send(request)
    print(f"rule:     {rule_id} — {failure.get('message', '')}")
    print(f"request:  {record.method} {record.path}{'?' + record.query if record.query else ''}"
          f" ({len(record.body)} bytes{', re-signed now' if record.signing else ''})")
    if record.variant:
        print(f"variant:  {', '.join(f'{k}={v}' for k, v in sorted(record.variant.items()))}")
    print(f"answer:   {answer.describe(300)}")
    print(f"expected: {minimal.get('expected', '(not recorded)')}")
    verdict = conforms(answer.status, answer.json, minimal.get("expected_answers", []))
    if verdict is None:
        print("verdict:  no structured expectation recorded; compare by eye")
        return 0
    print(f"verdict:  {'conforms now' if verdict else 'still departs from the protocol'}")
    return 0 if verdict else 1


def _replay_account(rule_id: str, failure: dict[str, Any], args: argparse.Namespace) -> int:
    """Rebuild the recorded account world and replay the failure's steps (exit 0: informative,
    the steps' outcomes are printed for the reader to compare with the message)."""
    from conformance.targets.account import replay_account_failure

    if args.url or args.reference or args.mutant:
        raise UsageError("an account failure replays on the target it recorded; "
                         "--url/--reference/--mutant are for webhook failures")
    print(f"rule:     {rule_id} — {failure.get('message', '')}")
    print(replay_account_failure(failure))
    return 0
