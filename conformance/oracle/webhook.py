"""What a conforming sponsorship webhook must answer (PROTOCOL.md §5; pure, no I/O).

The oracle is the suite's own reading of §5, independent of the reference implementation. For
a request (route, token, raw body, signature headers), the chain (``ChainView``), the profile's
policy (``PolicyConfig``) and the sender's approvals today (``CapState``) it returns an
``Expectation``: every answer the protocol allows, the step that decides, and every step that
fails (so a check can say which rule a wrong answer breaks).

Decoder agreement (§3, WH-066/WH-067): canonical callData is read exactly; non-canonical callData
Solidity accepts may be denied with any reason or answered exactly as Solidity's fields say;
callData Solidity rejects may only be denied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.oracle.webhook_body import (
    BodyReading,
    Chain,
    Malformed,
    read_alchemy_body,
    read_pimlico_body,
)
from conformance.oracle.webhook_chain import ChainView, Outcomes, Read, deployed, provenance
from conformance.protocol.calldata import (
    EXECUTE_SELECTOR,
    DecodeError,
    ExecuteCall,
    decode_execute_strict,
)
from conformance.protocol.selectors import allowlist
from conformance.protocol.solidity_abi import decode_execute_solidity
from conformance.protocol.webhook_wire import KeyDerivation, SignatureError, verify_webhook

STEPS = ("token", "chain", "provenance", "outer", "value", "inner", "target", "cap")
"""Policy steps in order (§5 "Policy", WH-015)."""

REASONS: Mapping[str, str] = {
    "token": "bad-token",
    "chain": "chain-mismatch",
    "provenance": "not-cluster-member",
    "outer": "outer-selector-not-execute",
    "value": "value-nonzero",
    "inner": "inner-selector-not-allowed",
    "target": "target-not-our-cluster",
    "cap": "sender-daily-cap",
}
"""The exact reason string of each step (§5)."""

RPC_FAILURE = "rpc-failure"
ALL_REASONS = frozenset([*REASONS.values(), RPC_FAILURE])
"""Every reason a denial may carry (WH-004)."""

LATE_DENIALS = frozenset({REASONS[s] for s in ("outer", "value", "inner", "target", "cap")}
                         | {RPC_FAILURE})
"""Denials a webhook may give for callData it cannot read canonically (§3)."""

APPROVE = "approve"
MISCONFIGURED = {"error": "server-misconfigured"}


@dataclass(frozen=True)
class PolicyConfig:
    """The policy knobs of one webhook (§0, §5)."""

    generation: str
    chain_id: int
    allowlist: frozenset[bytes]
    daily_cap: int = 100

    @property
    def path_a_first(self) -> bool:
        """Provenance order: Path A first under ``pimlico`` (WH-020), else the factory (WH-021)."""
        return self.generation == "pimlico"

    @property
    def has_cap(self) -> bool:
        """The daily cap applies under ``pimlico`` unless it is 0 (WH-040, WH-043)."""
        return self.generation == "pimlico" and self.daily_cap > 0

    @classmethod
    def for_generation(
        cls, generation: str, chain_id: int, *, operator_enabled: bool = False, daily_cap: int = 100
    ) -> PolicyConfig:
        """The config of a ``generation`` webhook on ``chain_id``."""
        selectors = allowlist(generation, operator_enabled=operator_enabled)
        return cls(generation, chain_id, selectors, daily_cap)


@dataclass(frozen=True)
class CapState:
    """The sender's approvals today, and whether the cache that counts them is up (WH-045)."""

    approvals_today: int = 0
    cache_available: bool = True


@dataclass(frozen=True)
class Expected:
    """One acceptable answer: a status and an exact JSON body (None: any JSON body)."""

    status: int
    body: Any = None
    label: str = ""

    def matches(self, status: int, body: Any) -> bool:
        """True when ``status`` and ``body`` are this answer."""
        return status == self.status and (self.body is None or body == self.body)


@dataclass(frozen=True)
class Expectation:
    """Every answer the protocol allows for one request, and why."""

    answers: tuple[Expected, ...]
    decided_by: str
    failing: tuple[str, ...] = ()
    decisions: frozenset[str] = field(default_factory=frozenset)
    note: str = ""

    def accepts(self, status: int, body: Any) -> bool:
        """True when the answer is one the protocol allows."""
        return any(e.matches(status, body) for e in self.answers)

    @property
    def approves(self) -> bool:
        """True when an approval is among the allowed answers."""
        return APPROVE in self.decisions

    @property
    def must_approve(self) -> bool:
        """True when the approval is the only allowed answer."""
        return self.decisions == frozenset({APPROVE})

    def describe(self) -> str:
        """The allowed answers in one line."""
        labels = sorted({e.label or f"{e.status}" for e in self.answers})
        text = " or ".join(labels)
        return f"{text} ({self.note})" if self.note else text


# ---------------------------------------------------------------------------------- policy


def _reading(call_data: bytes | None) -> tuple[str, ExecuteCall | None]:
    """(kind, call): canonical, lenient (Solidity accepts, not canonical), outer, rejected."""
    if call_data is None:
        return "odd-hex", None
    try:
        return "canonical", decode_execute_strict(call_data)
    except DecodeError:
        pass
    if len(call_data) < 4 or call_data[:4] != EXECUTE_SELECTOR:
        return "outer", None
    try:
        return "non-canonical", decode_execute_solidity(call_data)
    except DecodeError:
        return "rejected", None


def _tail(call: ExecuteCall, sender_cap: CapState, config: PolicyConfig,
          view: ChainView) -> frozenset[str]:
    """Steps 5–8 for one reading of the call."""
    if call.value != 0:
        return frozenset({REASONS["value"]})
    if call.inner_selector not in config.allowlist:
        return frozenset({REASONS["inner"]})
    decisions: set[str] = set()
    target = deployed(view, call.target)
    if Read.FAULT in target:
        decisions.add(RPC_FAILURE)
    if Read.NO in target:
        decisions.add(REASONS["target"])
    if Read.YES in target:
        capped = (config.has_cap and sender_cap.cache_available
                  and sender_cap.approvals_today >= config.daily_cap)
        decisions.add(REASONS["cap"] if capped else APPROVE)
    return frozenset(decisions)


def _after_provenance(call_data: bytes | None, cap: CapState, config: PolicyConfig,
                      view: ChainView) -> frozenset[str]:
    kind, call = _reading(call_data)
    if kind == "canonical":
        assert call is not None
        return _tail(call, cap, config, view)
    if kind == "outer":
        return frozenset({REASONS["outer"]})
    if kind == "non-canonical":
        assert call is not None
        return LATE_DENIALS | _tail(call, cap, config, view)
    return LATE_DENIALS


def decide(reading: BodyReading, *, token_ok: bool | None, config: PolicyConfig,
           view: ChainView, cap: CapState) -> frozenset[str]:
    """Every decision (APPROVE or a reason) §5's policy allows for a readable request."""
    decisions: set[str] = set()
    if token_ok is not True:
        decisions.add(REASONS["token"])
        if token_ok is False:
            return frozenset(decisions)
    chains = {reading.chain} | ({Chain.MATCH, Chain.MISMATCH} if reading.chain_lenient else set())
    if Chain.MISMATCH in chains:
        decisions.add(REASONS["chain"])
    if Chain.MATCH not in chains:
        return frozenset(decisions)
    origin: Outcomes = provenance(view, reading.sender, path_a_first=config.path_a_first)
    if Read.FAULT in origin:
        decisions.add(RPC_FAILURE)
    if Read.NO in origin:
        decisions.add(REASONS["provenance"])
    if Read.YES in origin:
        decisions |= _after_provenance(reading.call_data, cap, config, view)
    return frozenset(decisions)


def failing_steps(reading: BodyReading, *, token_ok: bool | None, config: PolicyConfig,
                  view: ChainView, cap: CapState) -> tuple[str, ...]:
    """Every step that fails on its own (for attributing a wrong answer to a rule)."""
    failing: list[str] = []
    if token_ok is False:
        failing.append("token")
    if reading.chain is Chain.MISMATCH and not reading.chain_lenient:
        failing.append("chain")
    origin = provenance(view, reading.sender, path_a_first=config.path_a_first)
    if origin == frozenset({Read.NO}):
        failing.append("provenance")
    elif Read.YES not in origin:
        failing.append("rpc")
    kind, call = _reading(reading.call_data)
    if kind in ("outer", "rejected"):
        failing.append("outer")
    if call is not None:
        failing.extend(_call_failures(call, cap, config, view))
    return tuple(failing)


def _call_failures(call: ExecuteCall, cap: CapState, config: PolicyConfig,
                   view: ChainView) -> list[str]:
    failing = []
    if call.value != 0:
        failing.append("value")
    if call.inner_selector not in config.allowlist:
        failing.append("inner")
    target = deployed(view, call.target)
    if target == frozenset({Read.NO}):
        failing.append("target")
    elif Read.YES not in target:
        failing.append("rpc")
    if config.has_cap and cap.cache_available and cap.approvals_today >= config.daily_cap:
        failing.append("cap")
    return failing


# ---------------------------------------------------------------------------------- routes


def alchemy_answer(decision: str) -> Expected:
    """The ``POST /`` answer of a decision (WH-003, WH-004)."""
    if decision == APPROVE:
        return Expected(200, {"approved": True}, "200 approved")
    return Expected(200, {"approved": False, "reason": decision}, f"200 deny {decision}")


def pimlico_answer(decision: str) -> Expected:
    """The ``POST /pimlico`` answer of a decision (WH-047)."""
    sponsor = decision == APPROVE
    return Expected(200, {"sponsor": sponsor}, f"200 sponsor:{str(sponsor).lower()}")


BAD_REQUEST = Expected(400, None, "400")


def expect_alchemy(raw_body: bytes, *, token_ok: bool | None, config: PolicyConfig,
                   view: ChainView, cap: CapState) -> Expectation:
    """What ``POST /?token=…`` must answer (§5). ``token_ok`` None: either reading is fine."""
    reading = read_alchemy_body(raw_body, config.chain_id)
    if isinstance(reading, Malformed):
        answers = [BAD_REQUEST]
        if token_ok is not True:  # §5 does not order parsing and the token check
            answers.append(alchemy_answer(REASONS["token"]))
        return Expectation(tuple(answers), "malformed", ("malformed",), note=reading.why)
    decisions = decide(reading, token_ok=token_ok, config=config, view=view, cap=cap)
    answers = [alchemy_answer(d) for d in sorted(decisions)]
    if reading.lenient:
        answers.append(BAD_REQUEST)
    failing = failing_steps(reading, token_ok=token_ok, config=config, view=view, cap=cap)
    return Expectation(tuple(answers), failing[0] if failing else APPROVE, failing,
                       frozenset(decisions))


def signature_valid(headers: Mapping[str, str], body: bytes, *, secret: str,
                    derivation: KeyDerivation | str, now: int) -> str | None:
    """None when the Standard Webhooks signature holds at ``now``, else why not (WH-048…WH-052)."""
    try:
        verify_webhook(secret, derivation, headers, body, now)
    except SignatureError as exc:
        return str(exc)
    return None


def expect_pimlico(raw_body: bytes, headers: Mapping[str, str], *, route: bool,
                   secret: str | None, derivation: KeyDerivation | str, now: int,
                   config: PolicyConfig, view: ChainView, cap: CapState) -> Expectation:
    """What ``POST /pimlico`` must answer (§5): 404 off-profile, 503 without a secret, 401 for a
    bad signature, else 200 ``{"sponsor":b}`` (unparsable or foreign events: false)."""
    if not route:
        return Expectation((Expected(404, None, "404"),), "route")
    if secret is None:
        return Expectation((Expected(503, None, "503"),), "disabled")
    problem = signature_valid(headers, raw_body, secret=secret, derivation=derivation, now=now)
    if problem is not None:
        return Expectation((Expected(401, None, "401"),), "signature", note=problem)
    reading = read_pimlico_body(raw_body, config.chain_id)
    if isinstance(reading, Malformed):
        return Expectation((pimlico_answer("unparsable"),), "unparsable", note=reading.why)
    decisions = decide(reading, token_ok=True, config=config, view=view, cap=cap)
    if reading.lenient:
        decisions |= {"unparsable"}
    answers = tuple({a.label: a for a in map(pimlico_answer, sorted(decisions))}.values())
    failing = failing_steps(reading, token_ok=True, config=config, view=view, cap=cap)
    return Expectation(answers, failing[0] if failing else APPROVE, failing, decisions)


def is_check_address(text: str | None) -> bool | None:
    """``/check``'s cluster parameter: True valid, False → 400, None (``0X`` prefix) either."""
    if text is None or len(text) != 42 or text[0] != "0" or text[1] not in "xX":
        return False
    if any(c not in "0123456789abcdefABCDEF" for c in text[2:]):
        return False
    return True if text[1] == "x" else None


def expect_check(cluster: str | None, view: ChainView) -> Expectation:
    """``GET /check?cluster=ADDR`` (WH-059…WH-062). A cluster only the v2 factory knows may be
    reported either way (§5 names the cluster factory only)."""
    valid = is_check_address(cluster)
    if valid is False or cluster is None:
        return Expectation((BAD_REQUEST,), "malformed", note=f"cluster={cluster!r}")
    address = bytes.fromhex(cluster[2:])
    v1 = frozenset({view.is_deployed_on(view.cluster_factory, address)})
    outcomes = set(v1)
    if view.cluster_factory_v2 is not None and Read.YES not in v1:
        outcomes |= deployed(view, address)
    answers = [BAD_REQUEST] if valid is None else []
    if Read.FAULT in outcomes:
        answers.append(Expected(503, None, "503"))
    for flag, read in ((True, Read.YES), (False, Read.NO)):
        if read in outcomes:
            answers.append(Expected(200, {"deployed": flag, "sponsored": flag},
                                    f"200 deployed:{str(flag).lower()}"))
    return Expectation(tuple(answers), "check")


def expect_healthz(reachable: bool) -> Expectation:
    """``GET /healthz`` (WH-063, WH-064)."""
    if reachable:
        return Expectation((Expected(200, {"ok": True}, "200 ok:true"),), "healthz")
    return Expectation((Expected(503, {"ok": False}, "503 ok:false"),), "healthz")


def expect_not_found() -> Expectation:
    """Any other method or path (WH-001)."""
    return Expectation((Expected(404, None, "404"),), "route")


def expect_misconfigured() -> Expectation:
    """A webhook missing a required setting answers every request this way (WH-065)."""
    return Expectation((Expected(500, MISCONFIGURED, "500 server-misconfigured"),), "config")
