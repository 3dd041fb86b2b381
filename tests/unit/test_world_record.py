"""A case's world survives JSON (``conformance.peers.world``; README "Replaying failures"):
the chain delta, fault plans with the counts they have left, outages, and the journal keeps
only what decides the failing request."""

from __future__ import annotations

import secrets
from dataclasses import replace

from conformance.peers import ACTORS, ChainScenario, Fault, FaultPlan, Malformation, revert_reason
from conformance.peers.faults import CallKey, FaultBook
from conformance.peers.world import (
    PeerState,
    apply_delta,
    needs_suite_chain,
    plan_from_json,
    plan_to_json,
    relevant_addresses,
    scenario_delta,
)
from conformance.profiles import load_profile
from conformance.suites.webhook.reproduce import RecordedRequest
from conformance.suites.webhook.world_record import WorldJournal, variant_overrides
from conformance.targets.webhook import WebhookSecrets

BASE = ChainScenario.standard()


def _case_world() -> tuple[ChainScenario, dict[str, bytes]]:
    """Every kind of change a check makes, each on fresh addresses."""
    a = {name: secrets.token_bytes(20) for name in
         ("member", "path_a", "home", "hostile", "reverting", "v2", "code_only")}
    s = BASE.with_member(a["member"])
    s = replace(s, clusters=s.clusters | {a["home"]}, clusters_v2=s.clusters_v2 | {a["v2"]},
                member_clusters={**s.member_clusters, a["path_a"]: a["home"],
                                 a["hostile"]: ACTORS.hostile_cluster},
                reverting_cluster={**s.reverting_cluster, a["reverting"]: revert_reason("x")},
                contracts_with_code=None)
    s = s.with_allowed(a["home"], a["path_a"])
    s = replace(s, contracts_with_code=(s.contracts_with_code or frozenset()) | {a["code_only"]})
    s = s.without_code(ACTORS.cluster_v2)
    return s, a


def test_a_scenario_delta_round_trips() -> None:
    scenario, _ = _case_world()
    delta = scenario_delta(BASE, scenario, frozenset(scenario.contracts_with_code or ()))
    assert apply_delta(BASE, delta) == scenario
    assert scenario_delta(BASE, BASE, frozenset()) == {}


def test_a_delta_keeps_only_the_cases_addresses() -> None:
    """Another case's sender is left out; the kept one keeps its home cluster and allowlist."""
    scenario, a = _case_world()
    keep = relevant_addresses(scenario, BASE, {a["path_a"]})
    rebuilt = apply_delta(BASE, scenario_delta(BASE, scenario, keep))
    assert rebuilt.member_clusters[a["path_a"]] == a["home"]
    assert a["path_a"] in rebuilt.allowed_app_ids[a["home"]] and a["home"] in rebuilt.clusters
    assert a["member"] not in rebuilt.members and a["hostile"] not in rebuilt.member_clusters
    assert not rebuilt.has_code(ACTORS.cluster_v2)  # a base contract removed stays removed


def test_fault_plans_keep_their_remaining_counts() -> None:
    book = FaultBook()
    book.add(FaultPlan(Fault.malformed(Malformation.WRONG_ID), method="eth_call",
                       selector="isDeployedCluster", argument=b"\x01" * 20, count=3, skip=1))
    key = CallKey("eth_call", "isDeployedCluster", None, b"\x01" * 20)
    book.pick(key)
    book.pick(key)
    (left,) = book.remaining()
    assert (left.count, left.skip) == (2, 0)
    assert plan_from_json(plan_to_json(left)) == left


def test_peer_state_round_trips_with_outages() -> None:
    scenario, _ = _case_world()
    state = PeerState(scenario, (FaultPlan.always(Fault.timeout(4.0)),), Fault.http_5xx(502),
                      True, 630.0)
    data = state.to_json(BASE, frozenset(scenario.contracts_with_code or ()))
    assert needs_suite_chain(data)
    again = PeerState.from_json(BASE, data)
    assert again == state
    assert not needs_suite_chain(PeerState(BASE).to_json(BASE, frozenset()))


def test_variant_overrides_never_hold_secrets() -> None:
    own = WebhookSecrets("t" * 32, "pim_whsec_" + "s" * 40)
    names = ("ALCHEMY_WEBHOOK_TOKEN", "PIMLICO_WEBHOOK_SECRET")
    out = variant_overrides({"PIMLICO_WEBHOOK_SECRET": "whsec_" + "q" * 44,
                             "ALCHEMY_WEBHOOK_TOKEN": own.token, "MAX_DAILY_OPS_PER_SENDER": "0",
                             "LOG_LEVEL": None}, own, names)
    assert out == {"PIMLICO_WEBHOOK_SECRET": {"secret_prefix": "whsec_"},
                   "ALCHEMY_WEBHOOK_TOKEN": "$SAME", "MAX_DAILY_OPS_PER_SENDER": "0",
                   "LOG_LEVEL": None}


def test_the_journal_keeps_the_cases_earlier_requests_only() -> None:
    """An earlier request about the failing sender is a step; one about another is not."""
    scenario, a = _case_world()

    class Peer:  # the two things the journal reads of a chain peer
        def __init__(self) -> None:
            self.scenario = scenario
            self.plans: tuple[FaultPlan, ...] = ()

        def armed(self) -> tuple[FaultPlan, ...]:
            return self.plans

        down_mode = None

    peer = Peer()
    journal = WorldJournal(load_profile("pimlico"), BASE, ("T", "S"))
    body = '{{"userOperation":{{"sender":"0x{}"}}}}'
    mine, other = (RecordedRequest(body=body.format(a[k].hex()).encode())
                   for k in ("path_a", "member"))
    peer.plans = (FaultPlan.always(Fault.connection_reset()),)
    journal.sent(mine, None, peer, None)  # type: ignore[arg-type]
    journal.sent(other, None, peer, None)  # type: ignore[arg-type]
    peer.plans = ()
    final = RecordedRequest(body=body.format(a["path_a"].hex()).encode())
    journal.sent(final, None, peer, None)  # type: ignore[arg-type]
    world = journal.world_for(final, {"MAX_DAILY_OPS_PER_SENDER": "5", "RPC_URL": "x"},
                              peer, None)  # type: ignore[arg-type]
    first, last = world["steps"]
    assert world["settings"] == {"MAX_DAILY_OPS_PER_SENDER": "5"}
    assert first["faults"] and RecordedRequest.from_json(first["request"]) == mine
    assert "request" not in last and "faults" not in last
    assert last["chain"]["member_clusters"]["set"] == {"0x" + a["path_a"].hex():
                                                       "0x" + a["home"].hex()}


def test_chain_reads_are_judged_on_the_calls_made() -> None:
    from conformance.commands.replay_webhook import judge_reads
    from conformance.peers.chain import RecordedCall

    sender = b"\x07" * 20
    read = RecordedCall(0.0, "eth_call", sender, "cluster", None, b"", None, "return", 1)
    watch = plan_to_json(FaultPlan(Fault.connection_reset(), method="eth_call",
                                   selector="cluster", to=sender))
    assert judge_reads({"none": True}, (read,))[0] is True
    assert judge_reads({"none": True}, ())[0] is False
    assert judge_reads({"asked": [watch]}, ())[0] is True
    assert judge_reads({"asked": [watch]}, (read,))[0] is False
    assert judge_reads({"not_asked": [watch]}, (read,))[0] is True


def test_identical_steps_are_one_with_times() -> None:
    from conformance.suites.webhook.world_record import compress

    a, b = {"request": {"body": "x"}}, {"request": {"body": "y"}}
    assert compress([a, a, a, b, a]) == [{**a, "times": 3}, b, a]


def test_a_sender_without_code_keeps_its_earlier_requests() -> None:
    """A no-code sender is in no scenario; its earlier request (the negative answer cached)
    is still the case's own step (WH-036)."""
    from conformance.suites.webhook import cases

    profile = load_profile("pimlico")
    sender = secrets.token_bytes(20)
    body = cases.alchemy(sender, cases.execute(ACTORS.cluster), cases.hex_chain(profile.chain_id))

    class Peer:
        scenario, down_mode = BASE, None

        def armed(self) -> tuple[FaultPlan, ...]:
            return ()

    journal = WorldJournal(profile, BASE, ("T", "S"))
    first, final = RecordedRequest(body=body), RecordedRequest(body=body)
    for record in (first, final):
        journal.sent(record, None, Peer(), None)  # type: ignore[arg-type]
    steps = journal.world_for(final, {}, Peer(), None)["steps"]  # type: ignore[arg-type]
    assert len(steps) == 2 and RecordedRequest.from_json(steps[0]["request"]) == first


def test_an_address_in_the_query_is_the_cases_own() -> None:
    """``GET /check?address=`` of a fresh cluster: the replay's chain must deploy it (WH-060)."""
    scenario, a = _case_world()

    class Peer:
        down_mode = None

        def __init__(self) -> None:
            self.scenario = scenario

        def armed(self) -> tuple[FaultPlan, ...]:
            return ()

    journal = WorldJournal(load_profile("pimlico"), BASE, ("T", "S"))
    record = RecordedRequest("GET", "/check", f"address=0x{a['home'].hex()}", b"", headers=())
    journal.sent(record, None, Peer(), None)  # type: ignore[arg-type]
    (step,) = journal.world_for(record, {}, Peer(), None)["steps"]  # type: ignore[arg-type]
    assert apply_delta(BASE, step["chain"]).clusters == BASE.clusters | {a["home"]}
