"""Transport faults a fake chain RPC can inject, and plans that say which calls get them.

PROTOCOL.md §5: only a transport fault (no answer, timeout, HTTP error, malformed JSON-RPC) is a
chain failure — the webhook must then deny with ``rpc-failure`` and never cache the answer. A
revert or an address without code is *not* a fault: those are scenario data
(``conformance.peers.chain_scenario``). Everything here is plain data except ``FaultBook``, the
small counter that consumes ``count``/``skip`` as calls arrive.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from conformance.errors import did_you_mean
from conformance.protocol import selectors


class FaultKind(enum.Enum):
    """What goes wrong on the wire."""

    LATENCY = "latency"
    """Answer correctly, but only after ``seconds``."""
    TIMEOUT = "timeout"
    """Hold the connection unanswered (at most ``seconds``, released on stop), then drop it."""
    HTTP_5XX = "http-5xx"
    """Answer with HTTP ``status`` (5xx) and a non-JSON-RPC body."""
    CONNECTION_RESET = "connection-reset"
    """Abort the TCP connection (RST) without any response."""
    MALFORMED = "malformed"
    """Answer 200 with a broken JSON-RPC answer (see ``Malformation``)."""


class Malformation(enum.Enum):
    """How a MALFORMED answer is broken."""

    NOT_JSON = "not-json"
    """The whole HTTP body is not JSON (applies to the whole request, batch included)."""
    NO_RESULT = "no-result"
    """A JSON-RPC object with neither ``result`` nor ``error``."""
    WRONG_ID = "wrong-id"
    """The right answer under another ``id``."""
    BAD_RESULT = "bad-result"
    """``result`` is not ``0x`` hex at all."""
    NULL_RESULT = "null-result"
    """``result`` is JSON null."""
    NUMBER_RESULT = "number-result"
    """``result`` is a JSON number, not a string."""
    ODD_HEX = "odd-hex"
    """``result`` is ``0x`` with an odd number of hex digits (no byte string)."""
    UNPREFIXED = "unprefixed"
    """``result`` is the right hex without its ``0x`` prefix."""
    NULL_ID = "null-id"
    """The right answer under ``id`` null (the id of an unparsable request)."""
    ERROR_NOT_OBJECT = "error-not-object"
    """``error`` is a string, not a JSON-RPC error object, and there is no ``result``."""


TRANSPORT_KINDS = frozenset({FaultKind.TIMEOUT, FaultKind.HTTP_5XX, FaultKind.CONNECTION_RESET})
"""Kinds that replace the whole HTTP exchange (a batch fails as one)."""


@dataclass(frozen=True)
class Fault:
    """One fault. Build with the class methods; ``seconds`` is a delay or a hold bound."""

    kind: FaultKind
    seconds: float = 0.0
    status: int = 503
    malformation: Malformation = Malformation.NOT_JSON

    def __post_init__(self) -> None:
        if self.seconds < 0:
            raise ValueError(f"seconds={self.seconds}: must be >= 0")
        if not 500 <= self.status <= 599:
            raise ValueError(f"status={self.status}: must be a 5xx status")

    @classmethod
    def latency(cls, seconds: float) -> Fault:
        """A correct answer, ``seconds`` late."""
        return cls(FaultKind.LATENCY, seconds=seconds)

    @classmethod
    def timeout(cls, hold: float = 0.0) -> Fault:
        """No answer: hold for ``hold`` seconds (0: the peer's ``max_hold``), then drop."""
        return cls(FaultKind.TIMEOUT, seconds=hold)

    @classmethod
    def http_5xx(cls, status: int = 503) -> Fault:
        """An HTTP error status from the node or a gateway in front of it."""
        return cls(FaultKind.HTTP_5XX, status=status)

    @classmethod
    def connection_reset(cls) -> Fault:
        """A TCP reset instead of an answer."""
        return cls(FaultKind.CONNECTION_RESET)

    @classmethod
    def malformed(cls, malformation: Malformation = Malformation.NOT_JSON) -> Fault:
        """A 200 answer that is not valid JSON-RPC for the request."""
        return cls(FaultKind.MALFORMED, malformation=malformation)

    @property
    def is_transport(self) -> bool:
        """True when the fault replaces the whole HTTP exchange rather than one answer."""
        return self.kind in TRANSPORT_KINDS or (
            self.kind is FaultKind.MALFORMED and self.malformation is Malformation.NOT_JSON
        )

    def describe(self) -> str:
        """A short label for logs and reports, e.g. ``http-5xx(502)``."""
        if self.kind is FaultKind.HTTP_5XX:
            return f"{self.kind.value}({self.status})"
        if self.kind is FaultKind.MALFORMED:
            return f"{self.kind.value}({self.malformation.value})"
        if self.kind in (FaultKind.LATENCY, FaultKind.TIMEOUT):
            return f"{self.kind.value}({self.seconds:g}s)"
        return self.kind.value


def _selector_names() -> frozenset[str]:
    views = (
        selectors.IS_OUR_MEMBER,
        selectors.IS_DEPLOYED_CLUSTER,
        selectors.CLUSTER,
        selectors.ALLOWED_APP_IDS,
        selectors.GET_NONCE,
        selectors.MEMBER_OF,
        selectors.CLUSTER_OWNER,
    )
    return frozenset(m.name for m in views)


@dataclass(frozen=True)
class CallKey:
    """What a plan can match a JSON-RPC call on.

    ``selector_name`` is the chain-view name, or lower-case ``0x`` hex for other selectors;
    ``to``/``argument`` are 20-byte addresses.
    """

    method: str | None
    selector_name: str | None = None
    to: bytes | None = None
    argument: bytes | None = None


@dataclass(frozen=True)
class FaultPlan:
    """Which calls get ``fault``: every filter given must match (no filter: every call).

    ``selector`` is a chain-view name (``isOurMember``, ``cluster``…) or ``0x`` + 8 hex digits;
    ``count`` limits the plan to the next N matching calls (None: all), after ``skip`` matching
    calls passed untouched.
    """

    fault: Fault
    method: str | None = None
    selector: str | None = None
    to: bytes | None = None
    argument: bytes | None = None
    count: int | None = None
    skip: int = 0

    def __post_init__(self) -> None:
        names = _selector_names()
        sel = self.selector
        if sel is not None and sel not in names and not _is_selector_hex(sel):
            hint = did_you_mean(sel, names)
            raise ValueError(f"selector={sel!r}: not a chain view name or 0x+8 hex{hint}")
        if sel is not None and _is_selector_hex(sel):
            object.__setattr__(self, "selector", sel.lower())
        for name in ("to", "argument"):
            value = getattr(self, name)
            if value is not None and len(value) != 20:
                raise ValueError(f"{name}={value!r}: must be a 20-byte address")
        if self.count is not None and self.count < 1:
            raise ValueError(f"count={self.count}: must be >= 1 or None")
        if self.skip < 0:
            raise ValueError(f"skip={self.skip}: must be >= 0")

    @classmethod
    def always(cls, fault: Fault) -> FaultPlan:
        """Every call."""
        return cls(fault)

    @classmethod
    def next_calls(cls, n: int, fault: Fault) -> FaultPlan:
        """The next ``n`` calls, whatever they are."""
        return cls(fault, count=n)

    @classmethod
    def for_selector(cls, name: str, fault: Fault, *, count: int | None = None) -> FaultPlan:
        """``eth_call`` with this selector (a chain-view name)."""
        return cls(fault, method="eth_call", selector=name, count=count)

    @classmethod
    def for_address(cls, to: bytes, fault: Fault, *, count: int | None = None) -> FaultPlan:
        """Calls addressed to ``to``."""
        return cls(fault, to=to, count=count)

    def matches(self, key: CallKey) -> bool:
        """True when every filter of the plan accepts ``key`` (counts aside)."""
        if self.method is not None and key.method != self.method:
            return False
        if self.selector is not None and key.selector_name != self.selector:
            return False
        if self.to is not None and key.to != self.to:
            return False
        return self.argument is None or key.argument == self.argument


def _is_selector_hex(text: str) -> bool:
    digits = text[2:]
    return (
        text.startswith("0x")
        and len(digits) == 8
        and all(c in "0123456789abcdefABCDEF" for c in digits)
    )


@dataclass
class _Armed:
    plan: FaultPlan
    seen: int = 0
    used: int = 0


@dataclass
class FaultBook:
    """The injected plans in order; the first live matching plan decides a call's fault.

    Not thread-safe by itself: the peer calls it under its lock.
    """

    _armed: list[_Armed] = field(default_factory=list)

    def add(self, plan: FaultPlan) -> None:
        """Arm ``plan`` after those already armed."""
        self._armed.append(_Armed(plan))

    def clear(self) -> None:
        """Disarm every plan."""
        self._armed.clear()

    @property
    def plans(self) -> tuple[FaultPlan, ...]:
        """The plans still able to fire."""
        return tuple(a.plan for a in self._armed if not _spent(a))

    def remaining(self) -> tuple[FaultPlan, ...]:
        """The plans still able to fire, each with the ``count``/``skip`` it has left (what a
        replay arms to put a peer in the same state, ``conformance.peers.world``)."""
        out = []
        for armed in self._armed:
            if _spent(armed):
                continue
            count = None if armed.plan.count is None else armed.plan.count - armed.used
            skip = max(0, armed.plan.skip - armed.seen)
            out.append(FaultPlan(armed.plan.fault, armed.plan.method, armed.plan.selector,
                                 armed.plan.to, armed.plan.argument, count, skip))
        return tuple(out)

    def pick(self, key: CallKey) -> Fault | None:
        """The fault for this call, consuming ``skip``/``count`` of the plan that fires."""
        for armed in self._armed:
            if _spent(armed) or not armed.plan.matches(key):
                continue
            armed.seen += 1
            if armed.seen <= armed.plan.skip:
                continue
            armed.used += 1
            return armed.plan.fault
        return None


def _spent(armed: _Armed) -> bool:
    return armed.plan.count is not None and armed.used >= armed.plan.count


def malform(response: dict[str, Any], malformation: Malformation) -> dict[str, Any]:
    """A JSON-RPC answer broken the way ``malformation`` says (not NOT_JSON: whole body)."""
    id_ = response.get("id")
    result = response.get("result")
    digits = result[2:] if isinstance(result, str) else ""
    replaced: dict[Malformation, Any] = {
        Malformation.BAD_RESULT: "not hex", Malformation.NULL_RESULT: None,
        Malformation.NUMBER_RESULT: 1, Malformation.ODD_HEX: "0x" + digits + "1",
        Malformation.UNPREFIXED: digits or "00",
    }
    if malformation is Malformation.NO_RESULT:
        return {"jsonrpc": "2.0", "id": id_}
    if malformation in replaced:
        return {"jsonrpc": "2.0", "id": id_, "result": replaced[malformation]}
    if malformation is Malformation.NULL_ID:
        return {**response, "id": None}
    if malformation is Malformation.ERROR_NOT_OBJECT:
        return {"jsonrpc": "2.0", "id": id_, "error": "execution failed"}
    wrong = id_ + 1 if isinstance(id_, int) and not isinstance(id_, bool) else f"{id_}-other"
    return {**response, "id": wrong}
