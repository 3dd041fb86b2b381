"""The dstack signature chain as the cluster verifies it at registration: strict signatures,
the app message raw over purpose:hex, the KMS message over the app id and key bytes, the derived
key over the EIP-191 binding, public-key encodings (PROTOCOL.md §4; AT-003…AT-010)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.protocol.attestation import (
    KMS_ISSUED_PREFIX,
    app_message_digest,
    kms_message_digest,
)
from conformance.protocol.hexutil import keccak
from conformance.protocol.signatures import key_pair, sign_digest, sign_eip191
from conformance.strategies.keys import KEY_POOL
from conformance.strategies.labels import ProofFlaw
from conformance.strategies.proofs import broken_dstack_proofs, encode_public_key
from conformance.suites.account._registration import (
    broken,
    expect_registered,
    expect_rejected,
    use_kms_roots,
)
from conformance.suites.account._support import examples
from conformance.targets.account_world import APP_KEY, KMS_KEY, OTHER_KEY, OWNER_KEY, AccountWorld

_KEYS = st.sampled_from(KEY_POOL)


def _flawed(world: AccountWorld, observe: Observer, rule: str, kinds: list[ProofFlaw],
            data: st.DataObject, exact: bool = False) -> None:
    case = data.draw(broken_dstack_proofs(clusters=st.just(world.cluster),
                                          members=st.just(world.fresh), kinds=kinds))
    with world.isolated():
        use_kms_roots(world, case.value.allowed_kms_roots)
        observe.case()
        seen = world.call(world.cluster, case.value.register_calldata())
        expect_rejected(world, rule, seen, case.kind.value, (case.expected.value,) if exact else ())


def _register(world: AccountWorld, proof):
    return world.register(world.fresh, proof, persist=False)


@rules("AT-003")
@given(data=st.data())
@examples(0.5)
def test_chain_signatures_must_be_strict(world: AccountWorld, observe: Observer,
                                         data: st.DataObject) -> None:
    """v 0/1 or high s in any of the three signatures, or a 64-byte one: rejected."""
    kinds = [ProofFlaw.MESSAGE_SIG_V_RAW, ProofFlaw.APP_SIG_V_RAW, ProofFlaw.KMS_SIG_V_RAW,
             ProofFlaw.MESSAGE_SIG_HIGH_S, ProofFlaw.APP_SIG_HIGH_S, ProofFlaw.KMS_SIG_HIGH_S]
    _flawed(world, observe, "AT-003", kinds, data)
    proof = world.proof_for(world.fresh, OWNER_KEY)
    for field in ("message_signature", "app_signature", "kms_signature"):
        observe.case()
        shortened = broken(proof, **{field: getattr(proof, field)[:64]})
        expect_rejected(world, "AT-003", _register(world, shortened), f"a 64-byte {field}")


@rules("AT-004")
@given(purpose=st.sampled_from(["ethereum", "other"]))
@examples(0.3)
def test_app_signature_is_raw_over_purpose_and_lower_hex(world: AccountWorld, observe: Observer,
                                                         purpose: str) -> None:
    """The app signature over the EIP-191 digest, over upper-case or 0x-prefixed hex, or over
    another purpose: rejected; raw over purpose ':' lower-case hex: accepted."""
    proof = world.proof_for(world.fresh, OWNER_KEY, purpose=purpose)
    derived = proof.derived_compressed_pubkey
    variants = {
        "EIP-191 digest": sign_eip191(APP_KEY, app_message_digest(purpose, derived)),
        "upper-case hex": sign_digest(APP_KEY,
                                      keccak(f"{purpose}:{derived.hex().upper()}".encode())),
        "0x-prefixed hex": sign_digest(APP_KEY, keccak(f"{purpose}:0x{derived.hex()}".encode())),
        "another purpose": sign_digest(APP_KEY, app_message_digest(purpose + "!", derived)),
    }
    for what, signature in variants.items():
        observe.case()
        expect_rejected(world, "AT-004", _register(world, broken(proof, app_signature=signature)),
                        f"an app signature over the {what}")
    observe.case()
    expect_registered(world, "AT-004", _register(world, proof), "the raw app signature")


@rules("AT-005")
@given(data=st.data())
@examples(0.3)
def test_app_signer_must_be_the_app_key(world: AccountWorld, observe: Observer,
                                        data: st.DataObject) -> None:
    """An app signature by a key other than appCompressedPubkey: rejected."""
    _flawed(world, observe, "AT-005", [ProofFlaw.APP_SIGNED_BY_OTHER_KEY], data)


@rules("AT-006")
def test_kms_signature_covers_app_id_and_key_bytes(world: AccountWorld, observe: Observer) -> None:
    """KMS signatures over a 32-byte app id, another key encoding than the one carried, or
    without the prefix: rejected; over the exact bytes: accepted."""
    proof = world.proof_for(world.fresh, OWNER_KEY)
    app = proof.app_compressed_pubkey
    variants = {
        "a 32-byte app id": keccak(KMS_ISSUED_PREFIX + proof.code_id + app),
        "the uncompressed app key": kms_message_digest(world.fresh,
                                                       key_pair(APP_KEY).public_uncompressed),
        "no prefix": keccak(world.fresh + app),
        "another app id": kms_message_digest(world.owned, app),
    }
    for what, digest in variants.items():
        observe.case()
        signature = sign_digest(KMS_KEY, digest)
        expect_rejected(world, "AT-006", _register(world, broken(proof, kms_signature=signature)),
                        f"a KMS signature over {what}")
    observe.case()
    expect_registered(world, "AT-006", _register(world, proof), "the exact KMS message")


@rules("AT-007")
@given(data=st.data())
@examples(0.5)
def test_kms_signer_must_be_an_allowed_root(world: AccountWorld, observe: Observer,
                                            data: st.DataObject) -> None:
    """A KMS signature by a key that is not an allowed root: rejected."""
    _flawed(world, observe, "AT-007", [ProofFlaw.KMS_NOT_ALLOWED], data)
    observe.case()
    proof = world.proof_for(world.fresh, OWNER_KEY, kms_private=OTHER_KEY)
    expect_rejected(world, "AT-007", _register(world, proof), "a KMS key that is no root")


@rules("AT-008")
@given(data=st.data())
@examples(0.3)
def test_message_signature_by_the_derived_key(world: AccountWorld, observe: Observer,
                                              data: st.DataObject) -> None:
    """messageSignature by another key, or raw over messageHash: rejected."""
    _flawed(world, observe, "AT-008", [ProofFlaw.MESSAGE_SIGNED_BY_OTHER_KEY], data)
    proof = world.proof_for(world.fresh, OWNER_KEY)
    observe.case()
    raw = sign_digest(OWNER_KEY, proof.message_hash)
    expect_rejected(world, "AT-008", _register(world, broken(proof, message_signature=raw)),
                    "a messageSignature over the raw hash")


@rules("AT-009")
@given(derived=st.sampled_from([33, 64, 65]), app=st.sampled_from([33, 64, 65]),
       data=st.data())
@examples(0.5)
def test_public_key_encodings(world: AccountWorld, observe: Observer, derived: int, app: int,
                              data: st.DataObject) -> None:
    """33-, 64- and 65-byte keys are accepted; any other length: InvalidPubKeyLength."""
    proof = world.proof_for(world.fresh, OWNER_KEY,
                            derived_pubkey=encode_public_key(OWNER_KEY, derived),
                            app_pubkey=encode_public_key(APP_KEY, app))
    observe.case()
    expect_registered(world, "AT-009", _register(world, proof), f"{derived}/{app}-byte keys")
    _flawed(world, observe, "AT-009", [ProofFlaw.DERIVED_KEY_BAD_LENGTH,
                                       ProofFlaw.APP_KEY_BAD_LENGTH], data, exact=True)


@rules("AT-010")
@given(data=st.data())
@examples(0.3)
def test_off_curve_keys(world: AccountWorld, observe: Observer, data: st.DataObject) -> None:
    """A 33-byte key whose x is not on secp256k1: PointNotOnCurve."""
    _flawed(world, observe, "AT-010", [ProofFlaw.DERIVED_KEY_OFF_CURVE,
                                       ProofFlaw.APP_KEY_OFF_CURVE], data, exact=True)
