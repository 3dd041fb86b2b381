"""The webhook checks' chain world looks like a real chain (PROTOCOL.md §5, issue 7 §4).

Every ClusterMember answers ``cluster()`` with its own cluster, whichever factory made it: a
fresh factory member in the world must not revert there. Only the roles set up on purpose
(reverting, hostile, no code) answer otherwise. Expected answers are written out (eth-abi
encoding of the cluster address), not taken from the code under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_abi import encode

from conformance.engine.config import TargetSpec
from conformance.peers import ChainPeer, ChainScenario
from conformance.peers.chain import evaluate_call
from conformance.profiles import load_profile
from conformance.protocol import selectors
from conformance.suites.webhook.harness import ROLES, Harness

SENDER = bytes.fromhex("ab" * 20)
CLUSTER_CALL = selectors.CLUSTER.selector


def _names(cluster: bytes) -> tuple[str, bytes]:
    return "return", encode(["address"], ["0x" + cluster.hex()])


def test_a_new_factory_member_answers_cluster() -> None:
    s = ChainScenario.standard()
    home = min(s.clusters)
    outcome = evaluate_call(s.with_member(SENDER), SENDER, CLUSTER_CALL)
    assert (outcome.kind, outcome.data) == _names(home)
    other = bytes.fromhex("c9" * 20)
    outcome = evaluate_call(s.with_member(SENDER, cluster=other), SENDER, CLUSTER_CALL)
    assert (outcome.kind, outcome.data) == _names(other)


def test_with_member_keeps_a_deliberate_cluster_answer() -> None:
    s = ChainScenario.standard()
    sender = bytes.fromhex("de" + "00" * 18 + "01")
    assert evaluate_call(s.with_member(sender), sender, CLUSTER_CALL).kind == "revert"
    hostile = bytes.fromhex("ba" + "00" * 18 + "01")
    named = s.member_clusters[hostile]
    assert evaluate_call(s.with_member(hostile), hostile, CLUSTER_CALL).data == _names(named)[1]


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(profile=load_profile("pimlico"), profile_arg="pimlico",
                target=TargetSpec(kind="reference"), report_dir=tmp_path, worker="t")
    h.peer = ChainPeer(h.base).start()
    yield h
    h.peer.stop()


@pytest.mark.parametrize("role", ["member", "path-a", "both", "stranger"])
def test_every_member_role_answers_cluster(harness: Harness, role: str) -> None:
    sender = harness.add_sender(role)
    outcome = evaluate_call(harness.scenario(), sender, CLUSTER_CALL)
    assert (outcome.kind, outcome.data) == _names(harness.actors.cluster)


def test_only_the_deliberate_roles_do_not_name_a_cluster(harness: Harness) -> None:
    kinds = {}
    for role in ROLES:
        sender = harness.add_sender(role)
        outcome = evaluate_call(harness.scenario(), sender, CLUSTER_CALL)
        kinds[role] = (outcome.kind, outcome.data == _names(harness.actors.cluster)[1])
    assert kinds["reverting"][0] == "revert"
    assert kinds["no-code"][0] == "no-code"
    assert kinds["hostile"] == ("return", False)
    assert all(kinds[r] == ("return", True) for r in ("member", "path-a", "both", "stranger"))
