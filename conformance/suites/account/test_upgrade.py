"""Upgrade authority: only the cluster's live clusterOwner() may upgrade the account, also after
an ownership transfer (PROTOCOL.md §6; AC-023, AC-024)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.protocol.hexutil import keccak
from conformance.suites.account._support import examples, fail
from conformance.targets.account_abi import (
    EIP1967_IMPLEMENTATION_SLOT,
    UPGRADE_TO_AND_CALL,
    encode_function,
)
from conformance.targets.account_world import OWNER_KEY, AccountWorld, address_of

UPGRADED = keccak(b"Upgraded(address)")
"""ERC-1967 ``Upgraded(address indexed implementation)``."""
NEW_CLUSTER_OWNER = bytes.fromhex("00000000000000000000000000000000000c1a52")


def _upgrade(world: AccountWorld, member: bytes, caller: bytes):
    assert world.upgrade_target is not None
    data = encode_function(UPGRADE_TO_AND_CALL, world.upgrade_target, b"")
    with world.isolated():
        before = world.backend.get_storage(member, EIP1967_IMPLEMENTATION_SLOT)
        seen = world.send(member, data, sender=caller)
        after = world.backend.get_storage(member, EIP1967_IMPLEMENTATION_SLOT)
    upgraded = any(log.address == member and log.topics[:1] == (UPGRADED,) for log in seen.logs)
    return seen, after != before or upgraded


def _need_proxy(world: AccountWorld) -> None:
    if world.upgrade_target is None:
        pytest.skip("the account under test is not behind an ERC1967 proxy (--no-proxy or a "
                    "non-proxy deployment): upgrades do not apply")


def _refused(world: AccountWorld, rule: str, member: bytes, caller: bytes) -> None:
    seen, moved = _upgrade(world, member, caller)
    if seen.success or moved:
        fail(world, rule, f"upgradeToAndCall from 0x{caller.hex()} {seen.describe()} "
             f"(implementation {'changed' if moved else 'kept'}); only clusterOwner() may upgrade")


def _accepted(world: AccountWorld, rule: str, member: bytes, caller: bytes) -> None:
    seen, moved = _upgrade(world, member, caller)
    if not seen.success or not moved:
        fail(world, rule, f"upgradeToAndCall from the cluster owner {seen.describe()}")


@rules("AC-023")
def test_only_the_cluster_owner_upgrades(world: AccountWorld, observe: Observer) -> None:
    """The member's owner, the cluster, the EntryPoint, the member itself: refused; the cluster
    owner: the upgrade goes through (Upgraded emitted, the implementation slot set)."""
    _need_proxy(world)
    for member in (world.owned, world.fresh):
        for caller in (address_of(OWNER_KEY), world.cluster, world.entry_point, member,
                       world.cluster_b, world.stranger):
            observe.case()
            _refused(world, "AC-023", member, caller)
        observe.case()
        _accepted(world, "AC-023", member, world.cluster_owner)


@rules("AC-023")
@given(caller=st.binary(min_size=20, max_size=20))
@examples(0.3)
def test_random_callers_cannot_upgrade(world: AccountWorld, observe: Observer,
                                       caller: bytes) -> None:
    """Random callers are refused."""
    _need_proxy(world)
    if caller == world.cluster_owner:
        return
    observe.case()
    _refused(world, "AC-023", world.owned, caller)


@rules("AC-024")
def test_upgrade_authority_follows_the_live_cluster_owner(world: AccountWorld,
                                                          observe: Observer) -> None:
    """After transferClusterOwnership + acceptClusterOwnership, the former owner is refused and
    the new owner may upgrade."""
    _need_proxy(world)
    former = world.cluster_owner
    for data, sender in ((encode_function("transferClusterOwnership(address)", NEW_CLUSTER_OWNER),
                          former),
                         (encode_function("acceptClusterOwnership()"), NEW_CLUSTER_OWNER)):
        seen = world.send(world.cluster, data, sender=sender)
        if not seen.success:
            pytest.skip(f"the cluster's ownership transfer {seen.describe()}")
    for member in (world.owned, world.fresh):
        observe.case()
        _refused(world, "AC-024", member, former)
        observe.case()
        _accepted(world, "AC-024", member, NEW_CLUSTER_OWNER)
