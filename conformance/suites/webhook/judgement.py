"""How the webhook harness judges its own verdicts (issue 7 §4, WH-071): a mixin of ``Harness``.

- ``confirm_baseline``: a check's precondition. One approvable request (a fresh sender and
  cluster) must be approved before the check judges its rule; otherwise the check is ERROR
  "not judged: baseline denied with R → see <rule>" (``NotJudged``), naming the rule whose FAIL
  explains it, never a FAIL of a rule it did not test. It also learns ``uses_kv``.
- ``cause``: the root-cause key of a FAIL ("denied with R on a <role> sender", "answered S on
  <route>"), so the report groups one defect's FAILs (``conformance.report.roots``).
- ``scan``/``found_leaks``: the WH-071 oracle run over every answer any check receives.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from conformance.errors import TargetError
from conformance.oracle.webhook import Expectation
from conformance.oracle.webhook_body import BodyReading, read_alchemy_body, read_pimlico_body
from conformance.suites.webhook import cases
from conformance.suites.webhook.reproduce import RecordedRequest
from conformance.targets.webhook_http import Answer

if TYPE_CHECKING:
    from pathlib import Path

    from conformance.oracle.webhook_secrets import SecretScanner
    from conformance.peers import ChainPeer
    from conformance.peers.kv import KvPeer
    from conformance.profiles.loader import Profile
    from conformance.suites.webhook.reproduce import Signing
    from conformance.targets.webhook import WebhookSecrets

STAND_IN_SENDER = bytes.fromhex("5e" * 20)
"""A made-up sender for requests judged before the chain is asked (token, chain id, body)."""

BASELINE_RULES = {
    "bad-token": "WH-010", "chain-mismatch": "WH-013", "outer-selector-not-execute": "WH-023",
    "value-nonzero": "WH-024", "inner-selector-not-allowed": "WH-025",
    "target-not-our-cluster": "WH-031", "sender-daily-cap": "WH-041", "rpc-failure": "WH-022",
}
"""The rule whose FAIL explains a baseline denied with this reason (on a fault-free chain an
rpc-failure is a revert or an empty answer read as a fault: WH-022). ``not-cluster-member``
depends on the sender's branch (``PROVENANCE_RULES``)."""

PROVENANCE_RULES = {"member": "WH-016", "path-a": "WH-017", "both": "WH-016"}
"""The provenance rule a denied ``not-cluster-member`` baseline of each role belongs to."""


class NotJudged(TargetError):
    """ERROR: a check's precondition failed (its approvable baseline was not approved); the
    finding belongs to the rule named in the message, not to the check's own rule."""


class _Parts(Protocol):
    """What the mixin reads of ``Harness`` (its self-type)."""

    peer: ChainPeer | None
    kv: KvPeer | None
    secrets: WebhookSecrets | None
    scanner: SecretScanner
    leaks: list[dict[str, Any]]
    log_dir: Path
    worker: str
    profile: Profile
    roles: dict[bytes, str]
    uses_kv: bool | None
    _baselines: dict[tuple[str, str], NotJudged | None]

    def approvable(self, role: str = ..., *, fresh_cluster: bool = ...) -> tuple[bytes, bytes]:
        ...

    def chain_hex(self) -> str: ...

    def alchemy(self, body: bytes, *, query: str = ...,
                target: Any = ...) -> tuple[RecordedRequest, Answer]: ...

    def pimlico(self, body: bytes, signing: Signing | None = ..., *, now: int | None = ...,
                target: Any = ...) -> tuple[RecordedRequest, Answer]: ...

    def input_class(self, record: RecordedRequest) -> str: ...

    def _baseline(self, rule: str, role: str, route: str) -> NotJudged | None: ...

    def _baseline_owner(self, role: str, route: str, answer: Answer) -> str: ...


class Judgement:
    """Baselines, root causes and the secret scan (see the module docstring)."""

    uses_kv: bool | None

    def scan(self: _Parts, method: str, path: str, request_headers: Mapping[str, str],
             request_body: bytes, status: int, headers: Mapping[str, str], body: bytes) -> None:
        """WH-071 over every answer any check receives: record each secret (or MAC part) it
        carries in ``leaks`` and in ``logs/leaks-<worker>.jsonl`` (read by the WH-071 check)."""
        found = self.scanner.scan(headers, body, self.scanner.macs(request_headers, request_body))
        if not found:
            return
        entry = {"request": f"{method} {path}", "status": status,
                 "found": [f"{leak.what} in the {leak.where}" for leak in found]}
        self.leaks.append(entry)
        with contextlib.suppress(OSError):
            self.log_dir.mkdir(parents=True, exist_ok=True)
            with (self.log_dir / f"leaks-{self.worker}.jsonl").open("a") as out:
                out.write(json.dumps(entry) + "\n")

    def found_leaks(self: _Parts) -> list[dict[str, Any]]:
        """Every leak any worker of this run recorded so far (WH-071)."""
        entries: list[dict[str, Any]] = []
        for path in sorted(self.log_dir.glob("leaks-*.jsonl")):
            with contextlib.suppress(OSError, ValueError):
                entries += [json.loads(line) for line in path.read_text().splitlines() if line]
        return entries

    def input_class(self: _Parts, record: RecordedRequest) -> str:
        """The kind of input a request is, for a root cause: its sender's role."""
        reader = read_pimlico_body if record.path == "/pimlico" else read_alchemy_body
        reading = reader(record.body, self.profile.chain_id)
        if not isinstance(reading, BodyReading):
            return f"a malformed body on {record.method} {record.path}"
        role = self.roles.get(reading.sender)
        if role is None:
            return "a stand-in sender" if reading.sender == STAND_IN_SENDER else "a known sender"
        return f"a {role} sender"

    def cause(self: _Parts, record: RecordedRequest, answer: Answer | None,
              expectation: Expectation | None = None) -> str:
        """The root-cause key of a wrong answer (FAILs of different rules with the same key
        are one defect in the report): "denied with R on <input class>", "answered S on
        <route>", "approved <input class> where the policy says R"."""
        route = f"{record.method} {record.path}"
        if answer is None or (expectation is not None
                              and expectation.accepts(answer.status, answer.json)):
            return ""  # the answer is right: the defect is elsewhere (reads, caching)
        body = answer.json if isinstance(answer.json, dict) else None
        if answer.status != 200 or body is None:
            return f"answered {answer.status} on {route}"
        if body.get("approved") is False or body.get("sponsor") is False:
            reason = body.get("reason") or "sponsor:false"
            return f"denied with {reason} on {self.input_class(record)}"
        if expectation is not None and (body.get("approved") or body.get("sponsor")):
            return (f"approved {self.input_class(record)} where the policy says "
                    f"{expectation.decided_by}")
        return f"answered {answer.describe(60)} on {route}"

    def confirm_baseline(self: _Parts, rule: str, role: str = "member", *,
                         route: str = "/") -> None:
        """A check's precondition (issue 7 §4): one approvable request of ``role`` (a fresh
        sender and cluster) on ``route`` is approved before the check judges ``rule``'s
        variant. When it is not: ERROR "not judged: baseline denied with R → see <rule>"
        (``NotJudged``), never a FAIL of a rule the check did not test. Once per check and
        role; without the suite's chain (``--url``) there is no world of ours to confirm.
        Also learns whether the target uses ``CACHE_URL`` (``uses_kv``)."""
        if self.peer is None or self.secrets is None:
            return
        key = (role, route)
        if key not in self._baselines:
            kv_before = len(self.kv.requests) if self.kv is not None else 0
            self._baselines[key] = self._baseline(rule, role, route)
            if self.kv is not None and len(self.kv.requests) > kv_before:
                self.uses_kv = True
            elif self.uses_kv is None and self._baselines[key] is None:
                self.uses_kv = False
            self.peer.clear_log()
        problem = self._baselines[key]
        if problem is not None and not str(problem).split("→ see ", 1)[-1].startswith(rule):
            raise problem  # the check of the rule that explains it judges the case itself

    def _baseline(self: _Parts, rule: str, role: str, route: str) -> NotJudged | None:
        sender, call = self.approvable(role, fresh_cluster=True)
        if route == "/pimlico":
            body = cases.pimlico(sender, call, self.profile.chain_id)
            record, answer = self.pimlico(body)
            good = {"sponsor": True}
        else:
            record, answer = self.alchemy(cases.alchemy(sender, call, self.chain_hex()))
            good = {"approved": True}
        if answer.status == 200 and answer.json == good:
            return None
        owner = self._baseline_owner(role, route, answer)
        what = (f"denied with {answer.reason}" if answer.reason
                else f"answered {answer.describe(60)}")
        return NotJudged(f"not judged: baseline {what} → see {owner} (a fresh {role} sender "
                         f"on {route}: the approvable world this check needs)")

    def _baseline_owner(self: _Parts, role: str, route: str, answer: Answer) -> str:
        """The rule whose FAIL explains a baseline that was not approved."""
        reason = answer.reason
        if answer.status == 200 and reason == "not-cluster-member":
            return PROVENANCE_RULES.get(role, "WH-016")
        if answer.status == 200 and reason in BASELINE_RULES:
            return BASELINE_RULES[reason]
        if route == "/pimlico":
            return {401: "WH-048", 503: "WH-053"}.get(answer.status, "WH-047")
        return {500: "WH-065", 400: "WH-006"}.get(answer.status, "WH-003")


__all__ = ["BASELINE_RULES", "PROVENANCE_RULES", "STAND_IN_SENDER", "Judgement", "NotJudged"]
