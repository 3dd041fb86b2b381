"""Owner installation: only the stored cluster installs the owner, and only once (a second
installation reverts OwnerAlreadySet, or under multi-attestor keeps the first owner and emits
OwnerSetSkipped) (PROTOCOL.md §6; AC-020, AC-021, AC-022)."""

from __future__ import annotations

from conformance.engine.checks import Observer, rules
from conformance.suites.account._support import fail, need_owner_path
from conformance.targets.account_abi import (
    OWNER_SET_SKIPPED,
    SET_OWNER_FROM_CLUSTER,
    encode_function,
)
from conformance.targets.account_world import OTHER_KEY, OWNER_KEY, AccountWorld, address_of

FIRST_KEY = 0xF1257
"""The key the cluster installs first on the fresh member."""


def _owner_validates(world: AccountWorld, member: bytes, key: int) -> bool:
    """Whether an owner-path operation signed by ``key`` validates (returns 0)."""
    seen = world.validate(world.sign(world.user_op(member, b"\x01"), key))
    return seen.word == 0


def _install(world: AccountWorld, member: bytes, key: int):
    return world.send(member, encode_function(SET_OWNER_FROM_CLUSTER, address_of(key)),
                      sender=world.cluster)


@rules("AC-020")
def test_the_cluster_installs_the_owner(world: AccountWorld, observe: Observer) -> None:
    """The stored cluster's first __setOwnerFromCluster succeeds and that key becomes the
    owner (its operations validate on the owner path)."""
    need_owner_path(world)
    observe.case()
    seen = _install(world, world.fresh, FIRST_KEY)
    if not seen.success:
        fail(world, "AC-020", f"__setOwnerFromCluster from the cluster {seen.describe()}")
    if not _owner_validates(world, world.fresh, FIRST_KEY):
        fail(world, "AC-020", "after the cluster installed a key, its operations do not validate")


def _second(world: AccountWorld, observe: Observer, rule: str, first: int, member: bytes):
    observe.case()
    seen = _install(world, member, OTHER_KEY)
    kept = _owner_validates(world, member, first)
    replaced = _owner_validates(world, member, OTHER_KEY)
    if replaced or not kept:
        fail(world, rule, f"a second __setOwnerFromCluster {seen.describe()} and "
             f"{'replaced' if replaced else 'lost'} the first owner")
    return seen


@rules("AC-021")
def test_second_installation_reverts(world: AccountWorld, observe: Observer) -> None:
    """base/pimlico: a second installation (registered member, or one installed by hand)
    reverts OwnerAlreadySet and the first owner stays."""
    need_owner_path(world)
    for member, first in ((world.owned, OWNER_KEY), (world.fresh, FIRST_KEY)):
        if member == world.fresh:
            _install(world, member, FIRST_KEY)
        seen = _second(world, observe, "AC-021", first, member)
        if seen.success or seen.error != "OwnerAlreadySet":
            fail(world, "AC-021", f"a second __setOwnerFromCluster {seen.describe()}; "
                 "§6 requires revert OwnerAlreadySet")


@rules("AC-022")
def test_second_installation_is_skipped(world: AccountWorld, observe: Observer) -> None:
    """multi-attestor: a second installation keeps the first owner and emits OwnerSetSkipped."""
    need_owner_path(world)
    for member, first in ((world.owned, OWNER_KEY), (world.fresh, FIRST_KEY)):
        if member == world.fresh:
            _install(world, member, FIRST_KEY)
        seen = _second(world, observe, "AC-022", first, member)
        skipped = [log for log in seen.logs
                   if log.address == member and log.topics[:1] == (OWNER_SET_SKIPPED,)]
        if not seen.success or not skipped:
            fail(world, "AC-022", f"a second __setOwnerFromCluster {seen.describe()} with "
                 f"{len(skipped)} OwnerSetSkipped events; §6 requires success and the event")
