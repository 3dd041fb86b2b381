"""The scenarios a sidecar run plays (PROTOCOL.md §7): chain state, the work due, the peers'
faults and the dialect. Production drives a sidecar through chain state and time; the work
beyond registration is also offered through the control hook ``AMC_SCENARIO`` (JSON) for
implementations that read it (the launch contract in the README).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.peers.proxy_faults import FaultKind, FaultSchedule, SidecarFault

WG_KEY = "0x" + "44" * 32
CSK = "0x" + "33" * 32


def _recipients(count: int) -> list[str]:
    return ["0x" + f"{0x50 + i:02x}" * 32 for i in range(count)]


@dataclass(frozen=True)
class Scenario:
    """One sidecar run: its chain state, work, faults; ``landed`` operations end it early."""

    name: str
    description: str
    dialect: str = "pimlico"
    registered: bool = False
    work: dict[str, Any] = field(default_factory=dict)
    faults: tuple[tuple[str, FaultKind, tuple[int, ...], str | None], ...] = ()
    """(method, fault kind, 1-based calls, eth_call selector hex or None)."""
    landed: int = 1
    """Operations that must land for the run to be complete (registration counts)."""
    backoff_waits: int = 0
    """Backoff waits the scenario forces (its budget grows by their nominal length)."""
    dstack_socket: bool = False
    """Serve the dstack agent on a per-run Unix socket (its path in DSTACK_SIMULATOR_ENDPOINT)
    instead of HTTP on 127.0.0.1."""
    time_scale: float = 1.0
    """Multiplies the profile's time factor for this scenario (the rate check needs a window
    long against the time one operation takes, whatever the machine's load)."""

    def schedule(self, hold: float) -> FaultSchedule:
        """A fresh fault schedule for one run (``hold`` bounds timeouts and latencies)."""
        schedule = FaultSchedule()
        for method, kind, calls, selector in self.faults:
            schedule.add(method, SidecarFault(kind, seconds=hold), *calls, selector=selector)
        return schedule

    def control(self) -> dict[str, Any]:
        """The ``AMC_SCENARIO`` value: the work beyond registration."""
        return dict(self.work)


SPONSOR = {"pimlico": "pm_sponsorUserOperation", "alchemy": "alchemy_requestGasAndPaymasterAndData"}
GET_NONCE_SELECTOR = "0x35567e1a"

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("fresh", "a fresh member registers (Pimlico dialect)"),
    Scenario("fresh-alchemy", "a fresh member registers (Alchemy dialect; the dstack agent on a "
             "per-run Unix socket)", dialect="alchemy", dstack_socket=True),
    Scenario("registered", "an already registered member publishes a new WireGuard key",
             registered=True, work={"publish_wg": WG_KEY}, landed=1),
    Scenario("lifecycle", "registration, then a key publication, the CSK commitment while the "
             "cluster has none (first member) and envelopes to three new members",
             work={"publish_wg": WG_KEY, "csk": CSK, "envelopes": _recipients(3)}, landed=6),
    Scenario("envelopes-alchemy", "registration and two envelopes (Alchemy dialect)",
             dialect="alchemy", work={"envelopes": _recipients(2)}, landed=3),
    Scenario("nonce-read-fails", "the node fails the first two getNonce reads (JSON-RPC error, "
             "then a reset)",
             faults=(("eth_call", FaultKind.RPC_ERROR, (1,), GET_NONCE_SELECTOR),
                     ("eth_call", FaultKind.RESET, (2,), GET_NONCE_SELECTOR)),
             backoff_waits=2),
    Scenario("gas-price-fails", "pimlico_getUserOperationGasPrice answers a JSON-RPC error once",
             faults=(("pimlico_getUserOperationGasPrice", FaultKind.RPC_ERROR, (1,), None),),
             backoff_waits=1),
    Scenario("no-paymaster", "the first sponsorship answer carries no paymaster fields",
             faults=(("pm_sponsorUserOperation", FaultKind.NO_PAYMASTER, (1,), None),),
             backoff_waits=1),
    Scenario("declined", "sponsorship is declined seven times before it is granted",
             faults=(("pm_sponsorUserOperation", FaultKind.DECLINE, tuple(range(1, 8)), None),),
             backoff_waits=7),
    Scenario("receipt-failed", "the first submission lands with success false (its inner call "
             "really reverts)",
             faults=(("eth_sendUserOperation", FaultKind.RECEIPT_FAILED, (1,), None),),
             backoff_waits=1),
    Scenario("receipt-never", "the bundler drops the first submission: no receipt ever comes",
             faults=(("eth_sendUserOperation", FaultKind.RECEIPT_NEVER, (1,), None),),
             backoff_waits=2),
    Scenario("bundler-rejects", "the bundler answers the first submission with a JSON-RPC error",
             faults=(("eth_sendUserOperation", FaultKind.RPC_ERROR, (1,), None),),
             backoff_waits=1),
    Scenario("expired", "the first sponsorship has already expired (AA32 at the EntryPoint)",
             faults=(("pm_sponsorUserOperation", FaultKind.EXPIRED, (1,), None),),
             backoff_waits=1),
    Scenario("bare", "nothing to do: an already registered member with no work, told to exit "
             "(the benchmark's bare figure)", registered=True, work={"linger": False},
             landed=0),
    Scenario("many-envelopes", "registration and twelve envelopes due at once (thirteen "
             "sponsorship requests: the 13th must wait for the window)",
             work={"envelopes": _recipients(12)}, landed=13, time_scale=10.0),
)}
"""Every scenario by name."""
