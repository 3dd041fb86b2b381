"""What the chain tells a webhook, as the oracle reads PROTOCOL.md §5 (pure, no I/O).

Each of the four views (``isOurMember``, ``isDeployedCluster``, ``cluster()``,
``allowedAppIds``) answers yes, no, or a transport fault. A revert or an address without code
is a definitive *no* (§5); only a fault is a chain failure. Because §5 lets "a branch that
answers yes without a fault approve without asking the other", a decision is a *set* of
possible outcomes: when the first branch faults and the second says yes, a webhook may stop at
the fault (``rpc-failure``) or go on (yes). Rules WH-016…WH-022, WH-031…WH-034.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol


class Read(enum.Enum):
    """One branch's answer."""

    YES = "yes"
    NO = "no"
    FAULT = "fault"


Outcomes = frozenset[Read]
"""The answers a conforming webhook may reach for one decision."""

VIEWS = ("isOurMember", "isDeployedCluster", "cluster", "allowedAppIds")
"""The chain views of §5 "Chain calls", by the names fault plans use."""


class ScenarioLike(Protocol):
    """The fields of a chain scenario the oracle reads (``peers.ChainScenario`` has them)."""

    @property
    def member_factory(self) -> bytes: ...

    @property
    def cluster_factory(self) -> bytes: ...

    @property
    def cluster_factory_v2(self) -> bytes | None: ...

    @property
    def members(self) -> frozenset[bytes]: ...

    @property
    def clusters(self) -> frozenset[bytes]: ...

    @property
    def clusters_v2(self) -> frozenset[bytes]: ...

    @property
    def member_clusters(self) -> Mapping[bytes, bytes]: ...

    @property
    def allowed_app_ids(self) -> Mapping[bytes, frozenset[bytes]]: ...

    @property
    def reverting_cluster(self) -> Mapping[bytes, bytes]: ...

    @property
    def hostile_clusters(self) -> frozenset[bytes]: ...

    def has_code(self, address: bytes) -> bool: ...


@dataclass(frozen=True)
class ChainView:
    """The chain as the webhook meets it: a scenario plus the views that fault.

    ``faulty`` names views whose every call gets a transport fault; ``down`` faults them all.
    ``v2_configured`` says whether the webhook was given ``CANONICAL_CLUSTER_FACTORY_V2``.
    ``member_factory``/``cluster_factory``/``cluster_factory_v2`` are the factories the
    *webhook* is configured with (they may differ from the scenario's).
    """

    scenario: ScenarioLike
    member_factory: bytes
    cluster_factory: bytes
    cluster_factory_v2: bytes | None = None
    faulty: frozenset[str] = field(default_factory=frozenset)
    down: bool = False

    def _fault(self, view: str) -> bool:
        return self.down or view in self.faulty

    def is_our_member(self, sender: bytes) -> Read:
        """``isOurMember(sender)`` on the configured member factory."""
        if self._fault("isOurMember"):
            return Read.FAULT
        s, factory = self.scenario, self.member_factory
        return _yes(s.has_code(factory) and factory == s.member_factory and sender in s.members)

    def is_deployed_on(self, factory: bytes, address: bytes) -> Read:
        """``isDeployedCluster(address)`` on ``factory``."""
        if self._fault("isDeployedCluster"):
            return Read.FAULT
        s = self.scenario
        if not s.has_code(factory):
            return Read.NO
        if factory == s.cluster_factory:
            return _yes(address in s.clusters)
        if factory == s.cluster_factory_v2:
            return _yes(address in s.clusters_v2)
        return Read.NO

    def cluster_of(self, sender: bytes) -> bytes | Read:
        """``sender.cluster()``: the address it names, or NO (revert, no code), or FAULT."""
        if self._fault("cluster"):
            return Read.FAULT
        s = self.scenario
        if not s.has_code(sender) or sender in s.reverting_cluster:
            return Read.NO
        named = s.member_clusters.get(sender)
        return Read.NO if named is None else named

    def allowed_app_id(self, cluster: bytes, app_id: bytes) -> Read:
        """``cluster.allowedAppIds(app_id)``."""
        if self._fault("allowedAppIds"):
            return Read.FAULT
        s = self.scenario
        if not s.has_code(cluster):
            return Read.NO
        if cluster in s.hostile_clusters:
            return Read.YES
        return _yes(app_id in s.allowed_app_ids.get(cluster, frozenset()))


def _yes(flag: bool) -> Read:
    return Read.YES if flag else Read.NO


def first_of(*branches: Outcomes) -> Outcomes:
    """``a or b …`` asked in order (§5).

    YES ends the decision; NO asks the next branch (the last NO is the answer); a FAULT may
    end the decision as a fault, or the webhook may go on, and then only a later YES changes
    the outcome (a later NO leaves the decision prevented: still a fault).
    """
    if not branches:
        return frozenset({Read.NO})
    head, rest = branches[0], branches[1:]
    result: set[Read] = set()
    for outcome in head:
        if outcome is Read.YES:
            result.add(Read.YES)
        elif outcome is Read.NO:
            result |= first_of(*rest) if rest else {Read.NO}
        else:
            result.add(Read.FAULT)
            if rest and Read.YES in first_of(*rest):
                result.add(Read.YES)
    return frozenset(result)


def both(first: Outcomes, then: Iterable[Outcomes]) -> Outcomes:
    """``a and b``: ``b`` is only asked when ``a`` says yes."""
    result: set[Read] = set(first - {Read.YES})
    if Read.YES in first:
        for outcomes in then:
            result |= outcomes
    return frozenset(result)


def deployed(view: ChainView, address: bytes) -> Outcomes:
    """Is ``address`` a deployed cluster: the cluster factory, then the v2 one when configured."""
    branches = [frozenset({view.is_deployed_on(view.cluster_factory, address)})]
    if view.cluster_factory_v2 is not None:
        branches.append(frozenset({view.is_deployed_on(view.cluster_factory_v2, address)}))
    return first_of(*branches)


def path_a(view: ChainView, sender: bytes) -> Outcomes:
    """§5 Path A: ``sender.cluster()`` is a deployed cluster allowing ``sender`` (WH-017/019)."""
    named = view.cluster_of(sender)
    if isinstance(named, Read):
        return frozenset({named})
    return both(deployed(view, named), [frozenset({view.allowed_app_id(named, sender)})])


def provenance(view: ChainView, sender: bytes, *, path_a_first: bool) -> Outcomes:
    """Policy step 3 in the profile's order (WH-016…WH-021)."""
    member = frozenset({view.is_our_member(sender)})
    path = path_a(view, sender)
    return first_of(path, member) if path_a_first else first_of(member, path)
