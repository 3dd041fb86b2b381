"""multi-attestor: registration with an operator voucher — allowlisted signer, expiry (equality
still valid), the signer's EIP-191 signature over the operator binding, owner = ownerKey
(PROTOCOL.md §4 "OperatorProof"; AT-015, AT-016, AT-018, AT-019)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.protocol.attestation import (
    build_operator_proof,
    encode_operator_register,
    operator_binding_hash,
)
from conformance.protocol.signatures import sign_digest, sign_eip191
from conformance.strategies.keys import KEY_POOL
from conformance.suites.account._registration import (
    expect_registered,
    expect_rejected,
    owner_is,
)
from conformance.suites.account._support import examples, fail, need_owner_path
from conformance.targets.account_world import (
    OPERATOR_KEY,
    OTHER_KEY,
    WG_PUB_KEY,
    X_PUB_KEY,
    AccountWorld,
    address_of,
)

_KEYS = st.sampled_from(KEY_POOL)


def _register(world: AccountWorld, signer: int, owner: int, expiry: int, *,
              signature: bytes | None = None, persist: bool = False):
    proof = build_operator_proof(signer_private=signer, cluster=world.cluster, member=world.fresh,
                                 x=X_PUB_KEY, wg=WG_PUB_KEY, owner_key=address_of(owner),
                                 expiry=expiry)
    if signature is not None:
        proof = replace(proof, signature=signature)
    data = encode_operator_register(proof, world.fresh, X_PUB_KEY, WG_PUB_KEY)
    action = world.send if persist else world.call
    return action(world.cluster, data)


def _later(world: AccountWorld) -> int:
    return world.backend.timestamp + 3600


@rules("AT-015")
@given(signer=_KEYS, owner=_KEYS)
@examples(0.3)
def test_signer_must_be_allowlisted(world: AccountWorld, observe: Observer, signer: int,
                                    owner: int) -> None:
    """A voucher by a key off the operator allowlist is refused; by the operator, accepted."""
    observe.case()
    expect_rejected(world, "AT-015", _register(world, signer, owner, _later(world)),
                    "a voucher by a signer off the allowlist")
    observe.case()
    expect_registered(world, "AT-015", _register(world, OPERATOR_KEY, owner, _later(world)),
                      "a voucher by the allowlisted operator")


@rules("AT-016")
@given(delta=st.integers(1, 10**6))
@examples(0.3)
def test_voucher_valid_until_its_expiry(world: AccountWorld, observe: Observer,
                                        delta: int) -> None:
    """block.timestamp == expiry: accepted; expiry + delta: refused."""
    expiry = world.backend.timestamp + delta
    with world.isolated():
        world.backend.set_timestamp(expiry)
        observe.case()
        expect_registered(world, "AT-016", _register(world, OPERATOR_KEY, OTHER_KEY, expiry),
                          "block.timestamp equal to the expiry")
        world.backend.set_timestamp(expiry + delta)
        observe.case()
        expect_rejected(world, "AT-016", _register(world, OPERATOR_KEY, OTHER_KEY, expiry),
                        "an expired voucher")


@rules("AT-018")
@given(other=_KEYS)
@examples(0.3)
def test_operator_signature_over_the_binding(world: AccountWorld, observe: Observer,
                                             other: int) -> None:
    """The operator's signature by another key, over the raw hash, or over another binding:
    refused."""
    expiry = _later(world)
    digest = operator_binding_hash(world.cluster, world.fresh, X_PUB_KEY, WG_PUB_KEY,
                                   address_of(OTHER_KEY), expiry)
    other_binding = operator_binding_hash(world.cluster_b, world.fresh, X_PUB_KEY, WG_PUB_KEY,
                                          address_of(OTHER_KEY), expiry)
    variants = {"the raw hash": sign_digest(OPERATOR_KEY, digest),
                "another binding": sign_eip191(OPERATOR_KEY, other_binding)}
    if other != OPERATOR_KEY:
        variants["another key"] = sign_eip191(other, digest)
    for what, signature in variants.items():
        observe.case()
        expect_rejected(world, "AT-018", _register(world, OPERATOR_KEY, OTHER_KEY, expiry,
                                                   signature=signature), f"a signature over {what}")


@rules("AT-019")
@given(owner=_KEYS)
@examples(0.3)
def test_owner_is_the_owner_key(world: AccountWorld, observe: Observer, owner: int) -> None:
    """After an operator registration the member's owner is proof.ownerKey."""
    need_owner_path(world)
    with world.isolated():
        observe.case()
        seen = _register(world, OPERATOR_KEY, owner, _later(world), persist=True)
        expect_registered(world, "AT-019", seen, "a valid voucher")
        if not owner_is(world, world.fresh, owner):
            fail(world, "AT-019", "after the operator registration ownerKey's operations do not "
                 "validate")
