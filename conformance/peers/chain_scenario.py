"""The chain a sponsorship webhook asks, as plain data (PROTOCOL.md §5 "Chain calls").

A ``ChainScenario`` says which contracts exist and what their views answer; it has no
behaviour, so the same scenario can be served by the fake JSON-RPC peer
(``conformance.peers.chain``) or deployed on a real EVM. Every address is 20 raw bytes.

Deploying on an EVM means: the two factories (and the optional v2 one) with their member /
cluster sets; one contract per ``member_clusters`` / ``reverting_cluster`` key answering
``cluster()``; one cluster per ``clusters``/``clusters_v2``/``allowed_app_ids`` key answering
``allowedAppIds``; one permissive contract per ``hostile_clusters`` entry; and nothing at all
at an address outside ``contracts_with_code`` (a call there returns ``0x``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from eth_abi import encode

from conformance.protocol.hexutil import parse_address

LIVE_MEMBER_FACTORY = parse_address("0xFf9f438EFdAa197f4ae59D1d711C4f09640b8417")
"""The live Base member factory (PROTOCOL.md §1)."""

LIVE_CLUSTER_FACTORY = parse_address("0xf6E85fD138E3208d3AAE63ce4E2A33f20e82b9fb")
"""The live Base cluster factory (PROTOCOL.md §1)."""

BASE_MAINNET_CHAIN_ID = 8453
"""Base mainnet (PROTOCOL.md §1)."""

ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")
"""Solidity's ``Error(string)`` revert id, used for the default ``cluster()`` revert data."""


def revert_reason(message: str) -> bytes:
    """Revert data of ``require(false, message)``: ``Error(string)`` ABI-encoded (eth-abi)."""
    return ERROR_STRING_SELECTOR + encode(["string"], [message])


@dataclass(frozen=True)
class Actors:
    """Well-known named addresses of the standard scenario, so checks can refer to them.

    The factories default to the live Base ones (PROTOCOL.md §1); the others are made up with a
    readable prefix: ``aa…`` senders that are members, ``c1``/``c2`` clusters, ``ba…`` hostile,
    ``de…`` reverting, ``e0…`` an address without code.
    """

    member_factory: bytes = LIVE_MEMBER_FACTORY
    cluster_factory: bytes = LIVE_CLUSTER_FACTORY
    cluster_factory_v2: bytes = parse_address("0xfc20000000000000000000000000000000000002")
    cluster: bytes = parse_address("0xc100000000000000000000000000000000000001")
    cluster_v2: bytes = parse_address("0xc200000000000000000000000000000000000002")
    factory_member: bytes = parse_address("0xaa00000000000000000000000000000000000001")
    """``isOurMember`` true; its ``cluster()`` is ``cluster``."""
    path_a_member: bytes = parse_address("0xaa00000000000000000000000000000000000002")
    """Not a factory member; ``cluster()`` is ``cluster``, which allows it as an app id."""
    path_a_member_v2: bytes = parse_address("0xaa00000000000000000000000000000000000003")
    """Not a factory member; ``cluster()`` is ``cluster_v2``, which allows it."""
    stranger: bytes = parse_address("0xaa00000000000000000000000000000000000004")
    """``cluster()`` is ``cluster``, but neither the factory nor the cluster knows it."""
    hostile_sender: bytes = parse_address("0xba00000000000000000000000000000000000001")
    """``cluster()`` names ``hostile_cluster``, a contract no factory deployed."""
    hostile_cluster: bytes = parse_address("0xba00000000000000000000000000000000000c01")
    """Answers ``allowedAppIds`` true for everything: asking it already is the failure."""
    reverting_sender: bytes = parse_address("0xde00000000000000000000000000000000000001")
    """Its ``cluster()`` reverts (``Error("no cluster")``)."""
    no_code_sender: bytes = parse_address("0xe000000000000000000000000000000000000001")
    """No code: every call to it returns ``0x``."""


ACTORS = Actors()
"""The default actors."""


def _addresses(values: Iterable[bytes], name: str) -> frozenset[bytes]:
    out = frozenset(values)
    for value in out:
        _check_address(value, name)
    return out


def _check_address(value: object, name: str) -> None:
    if not isinstance(value, bytes) or len(value) != 20:
        raise ValueError(f"{name}: {value!r} is not a 20-byte address")


@dataclass(frozen=True)
class ChainScenario:
    """What the chain answers. Immutable: derive a changed copy with the ``with_…`` helpers.

    ``contracts_with_code`` None means every address with a role here has code; give it
    explicitly to leave some undeployed (their calls return ``0x``) or to add code-only ones
    (contracts without these views: every view call to them reverts with empty data).
    """

    chain_id: int
    member_factory: bytes
    cluster_factory: bytes
    cluster_factory_v2: bytes | None = None
    members: frozenset[bytes] = frozenset()
    clusters: frozenset[bytes] = frozenset()
    clusters_v2: frozenset[bytes] = frozenset()
    member_clusters: Mapping[bytes, bytes] = field(default_factory=dict)
    allowed_app_ids: Mapping[bytes, frozenset[bytes]] = field(default_factory=dict)
    reverting_cluster: Mapping[bytes, bytes] = field(default_factory=dict)
    hostile_clusters: frozenset[bytes] = frozenset()
    contracts_with_code: frozenset[bytes] | None = None
    block_number: int = 1

    def __post_init__(self) -> None:
        if self.chain_id <= 0 or self.block_number < 0:
            raise ValueError(f"chain_id={self.chain_id}, block_number={self.block_number}")
        for name in ("member_factory", "cluster_factory"):
            _check_address(getattr(self, name), name)
        if self.cluster_factory_v2 is not None:
            _check_address(self.cluster_factory_v2, "cluster_factory_v2")
        for name in ("members", "clusters", "clusters_v2", "hostile_clusters"):
            object.__setattr__(self, name, _addresses(getattr(self, name), name))
        self._freeze_mappings()
        code = self.contracts_with_code
        derived = self.role_addresses() if code is None else _addresses(code, "code")
        object.__setattr__(self, "contracts_with_code", derived)

    def _freeze_mappings(self) -> None:
        for name in ("member_clusters", "reverting_cluster"):
            raw = dict(getattr(self, name))
            _addresses(raw, name)
            if name == "member_clusters":
                _addresses(raw.values(), name)
            object.__setattr__(self, name, MappingProxyType(raw))
        allowed = {k: _addresses(v, "allowed_app_ids") for k, v in self.allowed_app_ids.items()}
        _addresses(allowed, "allowed_app_ids")
        object.__setattr__(self, "allowed_app_ids", MappingProxyType(allowed))

    def role_addresses(self) -> frozenset[bytes]:
        """Every address this scenario gives a contract role (what gets code by default)."""
        factories = {self.member_factory, self.cluster_factory}
        if self.cluster_factory_v2 is not None:
            factories.add(self.cluster_factory_v2)
        return frozenset(
            factories
            | self.members
            | self.clusters
            | self.clusters_v2
            | self.hostile_clusters
            | set(self.member_clusters)
            | set(self.reverting_cluster)
            | set(self.allowed_app_ids)
        )

    def has_code(self, address: bytes) -> bool:
        """True when a contract is deployed at ``address``."""
        return address in (self.contracts_with_code or frozenset())

    def without_code(self, *addresses: bytes) -> ChainScenario:
        """A copy where ``addresses`` have no code (every call to them returns ``0x``)."""
        code = (self.contracts_with_code or frozenset()) - set(addresses)
        return replace(self, contracts_with_code=code)

    def with_allowed(self, cluster: bytes, app_id: bytes, allowed: bool = True) -> ChainScenario:
        """A copy where ``cluster.allowedAppIds(app_id)`` answers ``allowed``."""
        table = dict(self.allowed_app_ids)
        ids = set(table.get(cluster, frozenset()))
        (ids.add if allowed else ids.discard)(app_id)
        table[cluster] = frozenset(ids)
        return self._replace_keeping_code(allowed_app_ids=table)

    def with_member(self, sender: bytes, member: bool = True, *,
                    cluster: bytes | None = None) -> ChainScenario:
        """A copy where the member factory's ``isOurMember(sender)`` answers ``member``.

        A new member answers ``cluster()`` as a real ClusterMember does (PROTOCOL.md §5: every
        member names its own cluster, whichever factory made it): ``cluster``, else the
        lowest-numbered cluster of the scenario; a sender that already answers (or reverts)
        ``cluster()`` keeps its answer.
        """
        members = self.members | {sender} if member else self.members - {sender}
        home = cluster if cluster is not None else min(self.clusters, default=None)
        answers = sender in self.member_clusters or sender in self.reverting_cluster
        if not member or answers or home is None:
            return self._replace_keeping_code(members=members)
        return self._replace_keeping_code(members=members,
                                          member_clusters={**self.member_clusters,
                                                           sender: home})

    def _replace_keeping_code(self, **changes: object) -> ChainScenario:
        code = self.contracts_with_code
        if code == self.role_addresses():
            code = None  # derived: keep deriving
        return replace(self, contracts_with_code=code, **changes)  # type: ignore[arg-type]

    @classmethod
    def standard(
        cls,
        *,
        chain_id: int = BASE_MAINNET_CHAIN_ID,
        actors: Actors = ACTORS,
        with_v2: bool = True,
    ) -> ChainScenario:
        """One factory member, Path A members on a v1 and a v2 cluster, a stranger, a hostile,
        a reverting and a no-code sender (see ``Actors``).

        ``with_v2`` False: no v2 factory and no v2 cluster (``path_a_member_v2`` then names an
        undeployed cluster).
        """
        a = actors
        senders = (a.factory_member, a.path_a_member, a.stranger)
        member_clusters = {s: a.cluster for s in senders}
        member_clusters[a.path_a_member_v2] = a.cluster_v2
        member_clusters[a.hostile_sender] = a.hostile_cluster
        allowed = {a.cluster: frozenset({a.path_a_member})}
        if with_v2:
            allowed[a.cluster_v2] = frozenset({a.path_a_member_v2})
        return cls(
            chain_id=chain_id,
            member_factory=a.member_factory,
            cluster_factory=a.cluster_factory,
            cluster_factory_v2=a.cluster_factory_v2 if with_v2 else None,
            members=frozenset({a.factory_member}),
            clusters=frozenset({a.cluster}),
            clusters_v2=frozenset({a.cluster_v2}) if with_v2 else frozenset(),
            member_clusters=member_clusters,
            allowed_app_ids=allowed,
            reverting_cluster={a.reverting_sender: revert_reason("no cluster")},
            hostile_clusters=frozenset({a.hostile_cluster}),
        )
