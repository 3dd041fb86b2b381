"""Mutants of the reference sidecar: each breaks one SC rule at one seam of ``node.py``.

Run one with ``AMC_MUTANT=NAME python -m conformance.reference.sidecar`` or
``amc run sidecar --reference --mutant NAME``; the rules in ``breaks`` must FAIL
(tests/quality/test_sidecar_mutants.py: each mutant against its own rules' checks).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SidecarMutant:
    """A named copy of the reference sidecar that breaks ``breaks``."""

    name: str
    breaks: tuple[str, ...]
    description: str


MUTANTS: tuple[SidecarMutant, ...] = (
    SidecarMutant("nonce-from-bundler", ("SC-001",),
                  "sends the getNonce eth_call to the bundler URL instead of the node RPC"),
    SidecarMutant("nonce-at-pending", ("SC-002",),
                  "reads getNonce at the block tag pending instead of latest"),
    SidecarMutant("nonce-cached", ("SC-003",),
                  "reads the nonce once and counts it up locally for later attempts"),
    SidecarMutant("nonce-zero-after-error", ("SC-004",),
                  "falls back to nonce 0 when the getNonce read fails"),
    SidecarMutant("dialect-ignored", ("SC-005",),
                  "always uses the Alchemy methods, whatever BUNDLER_URL says"),
    SidecarMutant("alchemy-no-dummy", ("SC-006",),
                  "leaves dummySignature out of alchemy_requestGasAndPaymasterAndData"),
    SidecarMutant("pimlico-fast-fees", ("SC-007",),
                  "takes the fast tier of pimlico_getUserOperationGasPrice instead of standard"),
    SidecarMutant("pimlico-policy-key", ("SC-008",),
                  "passes {\"policyId\": id} to pm_sponsorUserOperation"),
    SidecarMutant("paymaster-fields-optional", ("SC-009",),
                  "submits an op whose sponsorship answer carried no paymaster fields"),
    SidecarMutant("dummy-v-raw", ("SC-010",),
                  "uses a dummy signature with v 0/1 (not recoverable as 27/28)"),
    SidecarMutant("sign-before-sponsorship", ("SC-011",),
                  "signs the op before the paymaster fields and sponsored gas are in"),
    SidecarMutant("send-without-entrypoint", ("SC-012",),
                  "calls eth_sendUserOperation with [op] only"),
    SidecarMutant("no-receipt-poll", ("SC-013",),
                  "takes an accepted op as landed without polling for its receipt"),
    SidecarMutant("success-ignored", ("SC-014",),
                  "takes a receipt with success false as a landed operation"),
    SidecarMutant("register-not-first", ("SC-015",),
                  "sends its other work before its registration"),
    SidecarMutant("register-always", ("SC-016",),
                  "registers without asking memberOf, also when already registered"),
    SidecarMutant("later-ops-other-key", ("SC-017",),
                  "signs operations after registration with the WireGuard derivation key"),
    SidecarMutant("retry-without-backoff", ("SC-018", "SC-023"),
                  "retries a declined sponsorship at once, in a tight loop"),
    SidecarMutant("execute-self-target", ("SC-019",),
                  "sends execute(member itself, 0, inner) instead of execute(own cluster, …)"),
    SidecarMutant("proof-v-raw", ("SC-020",),
                  "leaves the dstack signature chain's v at 0/1 in the proof"),
    SidecarMutant("wrong-key-path", ("SC-021",),
                  "asks GetKey for path attestmesh-binding instead of attestmesh-binding-v1"),
    SidecarMutant("gas-price-error-swallowed", ("SC-022",),
                  "takes zero fees when pimlico_getUserOperationGasPrice answers an error"),
    SidecarMutant("backoff-not-doubling", ("SC-023",),
                  "waits the first backoff every time instead of doubling it"),
    SidecarMutant("sponsorship-flood", ("SC-024",),
                  "ignores the 12 sponsorship requests per 60 s limit (waits 1/10 of the backoff)"),
    SidecarMutant("failed-submission-abandoned", ("SC-025",),
                  "gives up an operation whose submission the bundler rejected"),
    SidecarMutant("csk-every-round", ("SC-026",),
                  "sets the CSK commitment again after it landed"),
    SidecarMutant("unsponsored-after-decline", ("SC-027",),
                  "after a declined sponsorship submits the op without a paymaster (paying "
                  "with ETH it must not hold)"),
)
"""Every sidecar mutant (the bundled reference copies)."""

BY_NAME = {m.name: m for m in MUTANTS}

WITHOUT_MUTANT: dict[str, str] = {
    "SC-028": "the end-to-end promise of sidecar and account together: a sidecar that breaks "
              "it alone (registering another key, or not registering first) breaks SC-015 or "
              "SC-021 first; in amc run e2e a broken account or webhook hop FAILs that hop's "
              "rule and leaves SC-028 not judged (tests/quality/test_e2e_hops.py)",
}
"""SC rules that no single-seam sidecar mutant breaks on its own, and why."""


def list_mutants() -> list[dict[str, object]]:
    """JSON-ready mutants: name, breaks, description; then the rules without one and why."""
    found: list[dict[str, object]] = [
        {"name": m.name, "breaks": list(m.breaks), "description": m.description}
        for m in MUTANTS]
    found += [{"rule": rule, "no_mutant": why} for rule, why in WITHOUT_MUTANT.items()]
    return found
