"""Helpers of the registration checks: members outside the factory, KMS roots, expectations
(PROTOCOL.md §4 "Registration")."""

from __future__ import annotations

import pytest

from conformance.protocol.attestation import DstackProof
from conformance.protocol.hexutil import parse_address
from conformance.reference.account import load_artifact
from conformance.suites.account._support import fail
from conformance.targets.account_abi import INITIALIZE, encode_function
from conformance.targets.account_world import AccountWorld, Observation


def outside_member(world: AccountWorld, *, allowlisted: bool = False) -> bytes:
    """An account under test deployed outside the member factory (not a factory member);
    on the Path A allowlist when ``allowlisted``."""
    implementation = world.target_info.get("implementation")
    if implementation is None:
        pytest.skip("the account under test has no implementation to put behind a new proxy")
    proxy = load_artifact("ERC1967Proxy")
    init = encode_function(INITIALIZE, world.cluster)
    member = world.deploy(proxy.creation_code(["address", "bytes"],
                                              [parse_address(implementation), init]))
    if allowlisted:
        set_allowlisted(world, member, True)
    return member


def set_allowlisted(world: AccountWorld, member: bytes, allowed: bool) -> None:
    """The cluster owner adds ``member`` to (or removes it from) the Path A allowlist."""
    name = "addAllowedAppId(address)" if allowed else "removeAllowedAppId(address)"
    seen = world.send(world.cluster, encode_function(name, member), sender=world.cluster_owner)
    if not seen.success:
        pytest.skip(f"the cluster's {name} {seen.describe()}")


def use_kms_roots(world: AccountWorld, roots: tuple[bytes, ...]) -> None:
    """Make ``roots`` exactly the cluster's allowed KMS roots (the cluster owner's calls)."""
    for root in world.kms_roots:
        world.send(world.cluster, encode_function("removeAllowedKmsRoot(address)", root),
                   sender=world.cluster_owner)
    for root in roots:
        world.send(world.cluster, encode_function("addAllowedKmsRoot(address)", root),
                   sender=world.cluster_owner)


def expect_rejected(world: AccountWorld, rule: str, seen: Observation, what: str,
                    errors: tuple[str, ...] = ()) -> None:
    """FAIL ``rule`` unless the registration reverted (with one of ``errors`` when given)."""
    if seen.success or (errors and seen.error not in errors):
        want = " or ".join(errors) if errors else "a revert"
        fail(world, rule, f"registration with {what} {seen.describe()}; §4 requires {want}",
             expect={"reverts": True, "errors": list(errors)})


def expect_registered(world: AccountWorld, rule: str, seen: Observation, what: str) -> None:
    """FAIL ``rule`` unless the registration went through."""
    if not seen.success:
        fail(world, rule, f"registration with {what} {seen.describe()}; §4 accepts it",
             expect={"succeeds": True})


def owner_is(world: AccountWorld, member: bytes, key: int) -> bool:
    """Whether ``key`` is now ``member``'s owner (an owner-path operation validates)."""
    seen = world.validate(world.sign(world.user_op(member, b"\x01"), key))
    return seen.word == 0


def broken(proof: DstackProof, **changes: object) -> DstackProof:
    """``proof`` with fields replaced."""
    from dataclasses import replace

    return replace(proof, **changes)  # type: ignore[arg-type]
