"""Shared pieces of the account checks: judging a validateUserOp case against the oracle,
failures with a replayable record, bootstrap callData, hypothesis settings scaled to the run.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

import pytest
from hypothesis import Phase, settings

from conformance.engine.checks import CheckFailure, TargetError
from conformance.oracle.account import (
    AccountView,
    ExpectedValidation,
    ValidationInput,
    expect_validation,
    outcome_matches,
)
from conformance.protocol.attestation import DstackProof, encode_dstack_register
from conformance.protocol.calldata import encode_execute
from conformance.protocol.userop import UserOperation
from conformance.targets.account_world import (
    BINDING_KEY,
    OWNER_KEY,
    STRANGER_KEY,
    WG_PUB_KEY,
    X_PUB_KEY,
    AccountWorld,
    Observation,
    address_of,
)


def examples(factor: float = 1.0) -> settings:
    """Hypothesis settings: the run's ``max_examples`` times ``factor`` (at least 1), without
    the explain phase (its tracing costs seconds per failure and adds nothing to a report)."""
    base = settings()
    phases = tuple(p for p in base.phases if p is not Phase.explain)
    return settings(base, max_examples=max(1, int(base.max_examples * factor)), phases=phases)


def reproducer(record: dict[str, Any]) -> str:
    """A Python snippet that rebuilds the world and replays the failure's steps."""
    text = json.dumps(record, separators=(",", ":"))
    return (
        "import json\n"
        "from conformance.targets.account import replay_account_failure\n"
        f"record = json.loads({text!r})\n"
        "print(replay_account_failure(record))\n"
    )


def fail(world: AccountWorld, rule: str, message: str, *, op: UserOperation | None = None,
         cause: str = "", **extra: Any) -> NoReturn:
    """Raise the FAIL of ``rule`` with the world's record (op JSON, callData, steps);
    ``cause`` is the root-cause key the report groups FAILs by (``report.roots``)."""
    record = world.record(op=op, rule=rule, **extra)
    raise CheckFailure(rule, message, minimal_input=record, reproducer=reproducer(record),
                       cause=cause)


def validation_cause(expected: ExpectedValidation, seen: Observation) -> str:
    """The root-cause key of a wrong validateUserOp answer: what the account did on which kind
    of input (the §6 step that decides it), e.g. ``validateUserOp reverted InvalidBootstrapCall
    where §6 bootstrap-signer returns 0``: one defect, whatever the values."""
    did = f"returned {seen.word}" if seen.success else f"reverted {seen.error}"
    want = f"reverts {expected.error}" if expected.reverts else f"returns {expected.returns}"
    return f"validateUserOp {did} where §6 {expected.step.value} {want}"


def need_entry_point(world: AccountWorld) -> None:
    """SKIP the check when the real EntryPoint could not be deployed."""
    if world.entry_point_missing is not None:
        pytest.skip(world.entry_point_missing)


class NotJudged(TargetError):
    """A check's precondition failed: ERROR "not judged: baseline … (see AC-0xx)", never a FAIL
    of a rule the check did not test (issue 7 §4: one defect, one finding)."""


CLUSTER_RULES = frozenset({
    "AC-025", "AC-026", *(f"AC-{n:03d}" for n in range(27, 34)),
    *(f"AT-{n:03d}" for n in range(3, 11)), "AT-013", "AT-014", "AT-015", "AT-016", "AT-018",
})
"""Rules whose checks exercise the cluster (its registration gates, its proof-chain and
operator verification, its admin and member gates), not the account: judged only against the
bundled reference (a cluster mutant is a reference mutant); for ``--artifact`` and ``--rpc``
targets the cluster is the suite's own stand-in, so they SKIP with that reason."""


def need_target_cluster(world: AccountWorld, rule_ids: tuple[str, ...]) -> None:
    """SKIP a check whose every rule is a cluster rule when the target brings no cluster."""
    kind = world.target_info.get("kind", "reference")
    if kind != "reference" and rule_ids and set(rule_ids) <= CLUSTER_RULES:
        pytest.skip(f"exercises the suite's own reference cluster, not the --{kind} target "
                    "(the account under test is only a member of it)")


def confirm_baseline(world: AccountWorld, rule: str) -> None:
    """A check's precondition: the account validates a well-formed operation — the owned
    member's operation signed by its owner (AC-012) and the fresh member's canonical bootstrap
    signed by the binding key (AC-009) both return 0 from the EntryPoint. When one does not,
    ``NotJudged`` names the rule whose FAIL explains it, unless that is ``rule`` itself."""
    baselines = (
        ("AC-012", "the owner's well-formed operation", world.owned, b"\x01", OWNER_KEY),
        ("AC-009", "the fresh member's canonical bootstrap", world.fresh,
         bootstrap_call(world, world.fresh, BINDING_KEY), BINDING_KEY),
    )
    for owner_rule, what, member, call_data, key in baselines:
        if owner_rule == rule:
            continue
        seen = world.validate(world.sign(world.user_op(member, call_data), key))
        if seen.word != 0:
            raise NotJudged(f"not judged: baseline {what} {seen.describe()[:120]} "
                            f"(see {owner_rule})")


def need_owner_path(world: AccountWorld) -> None:
    """ERROR (not judged) when the owner path itself fails: the owned member's own operation
    does not validate, so owner installation cannot be observed (that is AC-012's FAIL)."""
    seen = world.validate(world.sign(world.user_op(world.owned, b"\x01"), OWNER_KEY))
    if seen.word != 0:
        raise NotJudged(f"not judged: baseline the owner's operation {seen.describe()[:120]} "
                        "(see AC-012)")


def view_of(world: AccountWorld, member: bytes) -> AccountView:
    """The oracle's view of one of the world's members in its snapshot state."""
    owners = {world.fresh: None, world.owned: address_of(OWNER_KEY),
              world.stranger: address_of(STRANGER_KEY)}
    cluster = world.cluster_b if member == world.stranger else world.cluster
    return AccountView(member, cluster, owners.get(member), world.multi_attestor)


def bootstrap_inner(world: AccountWorld, member: bytes, derived_key: int, *,
                    x: bytes = X_PUB_KEY, wg: bytes = WG_PUB_KEY,
                    proof: DstackProof | None = None, member_arg: bytes | None = None) -> bytes:
    """dstack_register(proof, member, x, wg) for ``member`` bound to ``derived_key``."""
    proof = proof or world.proof_for(member, derived_key, x=x, wg=wg)
    return encode_dstack_register(proof, member_arg or member, x, wg)


def bootstrap_call(world: AccountWorld, member: bytes, derived_key: int, **kw: Any) -> bytes:
    """execute(cluster, 0, dstack_register(...)): the accepted bootstrap shape (§6 step 3)."""
    return encode_execute(world.cluster, 0, bootstrap_inner(world, member, derived_key, **kw))


def judge(world: AccountWorld, op: UserOperation, rules: tuple[str, ...], *,
          view: AccountView | None = None, missing: int = 0, op_hash: bytes | None = None,
          caller: bytes | None = None, exact_error: bool = True,
          blame: str | None = None) -> tuple[ExpectedValidation, Observation]:
    """Run validateUserOp on ``op`` and compare with the oracle; FAIL the right rule.

    The failure names ``blame``, else the oracle's deciding rule when the check names it,
    else the check's first rule. ``exact_error=False`` accepts any revert where one is due.
    """
    digest = op_hash or world.op_hash(op)
    sender = caller or world.entry_point
    case = ValidationInput(digest, op.signature, op.call_data, missing,
                           from_entry_point=sender == world.entry_point)
    expected = expect_validation(view or view_of(world, op.sender), case)
    seen = world.validate(op, op_hash=digest, missing=missing, caller=sender)
    returned = seen.word
    malformed = seen.success and returned not in (0, 1)
    returned_or_none = returned if seen.success else None
    if malformed or not outcome_matches(expected, returned_or_none, seen.error,
                                        any_error=not exact_error):
        rule = blame or (expected.rule if expected.rule in rules else rules[0])
        want = (f"revert {expected.error}" if expected.reverts else f"return {expected.returns}")
        if expected.may_revert:
            want += " (or revert: non-canonical callData Solidity accepts)"
        fail(world, rule, f"validateUserOp {seen.describe()}; §6 requires {want} "
             f"({expected.step.value}: {expected.detail})", op=op,
             cause=validation_cause(expected, seen),
             call={"to": "0x" + op.sender.hex(), "from": "0x" + sender.hex(),
                   "missingAccountFunds": missing},
             expect={"returns": expected.returns, "error": expected.error,
                     "may_revert": expected.may_revert, "any_error": not exact_error})
    return expected, seen
