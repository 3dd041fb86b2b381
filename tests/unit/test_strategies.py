"""The strategies draw what their labels say (conformance/strategies).

Valid cases are checked against PROTOCOL.md literals and independent libraries (eth-abi,
eth-hash, coincurve, eth-account); malformed cases against the reference readers with the
label's verdict: ``decode_execute_strict`` and the Solidity model, ``classify_signature``,
``verify_dstack_proof`` / ``verify_operator_proof`` and the webhook wire parsers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import eth_abi
import pytest
from coincurve import PublicKey
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_hash.auto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import conformance.strategies as S
from conformance.protocol.attestation import ProofError
from conformance.protocol.calldata import (
    DecodeError,
    DecodeErrorKind,
    ExecuteCall,
    decode_execute_strict,
    is_canonical_hex,
    parse_calldata_hex,
)
from conformance.protocol.signatures import SignatureClass, classify_signature
from conformance.protocol.solidity_abi import decode_execute_solidity
from conformance.protocol.userop import from_json, pack, to_json, user_op_hash
from conformance.protocol.webhook_wire import (
    BodyFormatError,
    parse_alchemy_body,
    parse_pimlico_event,
)
from conformance.rules import load_catalogue
from conformance.strategies import labels
from conformance.strategies.calldata_texts import HexText
from conformance.strategies.chain_ids import available_shapes
from conformance.strategies.malformed_calldata import available_calldata_flaws
from conformance.strategies.webhook_bodies import body_kinds

FAST = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FEW = settings(FAST, max_examples=6)

CHAIN = 84532  # Base Sepolia, PROTOCOL.md §1
ENTRY_POINT = bytes.fromhex("0000000071727De22E5E9d8BAf0edAc6f37da032")  # §1
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141  # secp256k1 order
DUMMY = bytes.fromhex(  # PROTOCOL.md §2, the live dummy signature
    "6f79009346b958973a8481f680a44b5075d56562b39aff2104395323b6bc666a"
    "2302f4e19a7da13bef02c866971d5b35ce8c0ad27542a1c476e103b99a7b6cd61b"
)
EXECUTE = "b61d27f6"

# PROTOCOL.md §1 inner selectors, with the argument types of their signatures.
DSTACK_PROOF = "(bytes32,bytes32,bytes,bytes,bytes,bytes,bytes,string)"
OPERATOR_PROOF = "(address,address,uint64,bytes)"
CORE = {
    "4979ff72": ["bytes32"],
    "84076765": ["bytes32", "bytes32", "bytes"],
    "3eeb8ee8": ["bytes32"],
    "8af487aa": ["address"],
    "319b215c": [],
    "d9c8dbfe": ["address"],
    "29ca97eb": [],
    "79ba5097": [],
}
DSTACK = {
    "537d491c": [DSTACK_PROOF, "address", "bytes32", "bytes32"],
    "dfc77223": ["bytes32"],
    "67b3f22c": ["bytes32"],
    "2a819728": ["bytes32"],
    "1d266200": ["bytes32"],
    "7c4beeb8": ["bool"],
    "6e4c7422": ["bool"],
    "2514ce2d": ["address"],
    "7e02756a": ["address"],
}
OPERATOR = {
    "57977c40": [OPERATOR_PROOF, "address", "bytes32", "bytes32"],
    "01249ef0": ["address"],
    "a3b6909f": ["address"],
}
PIMLICO = {"cedc29c2": ["bytes32"]}
ALLOWLISTS: dict[tuple[str, bool], dict[str, list[str]]] = {
    ("base", False): CORE | DSTACK,
    ("pimlico", False): CORE | DSTACK | PIMLICO,
    ("multi-attestor", False): CORE | DSTACK,
    ("multi-attestor", True): CORE | DSTACK | OPERATOR,
}


def _address(public_uncompressed: bytes) -> bytes:
    return keccak(public_uncompressed[1:])[12:]


# ------------------------------------------------------------------------------ the surface


def test_all_is_sorted_and_every_name_is_documented() -> None:
    assert S.__all__ == sorted(S.__all__)
    for name in S.__all__:
        assert getattr(S, name).__doc__, name


def test_every_label_table_covers_its_enum_with_catalogue_rule_ids() -> None:
    catalogue = load_catalogue()
    tables: list[tuple[Any, Any]] = [
        (labels.CALLDATA_LABELS, S.CalldataFlaw),
        (labels.HEX_TEXT_LABELS, S.HexTextFlaw),
        (labels.SIGNATURE_LABELS, S.SignatureFlaw),
        (labels.PROOF_LABELS, S.ProofFlaw),
        (labels.OPERATOR_PROOF_LABELS, S.OperatorProofFlaw),
        (labels.PIMLICO_BODY_LABELS, S.BodyFlaw),
        (labels.ALCHEMY_CHAIN_ID_LABELS, S.ChainIdShape),
        (labels.PIMLICO_CHAIN_ID_LABELS, S.ChainIdShape),
    ]
    for table, enum in tables:
        assert set(table) == set(enum)
        for _, rule_ids in table.values():
            assert rule_ids and set(rule_ids) <= set(catalogue.ids), rule_ids
    envelope = {S.BodyFlaw.FOREIGN_EVENT, S.BodyFlaw.DATA_NOT_OBJECT, S.BodyFlaw.OBJECT_NOT_OBJECT}
    assert set(labels.ALCHEMY_BODY_LABELS) == set(S.BodyFlaw) - envelope


def test_the_key_pool_holds_16_keys_with_addresses_from_eth_account() -> None:
    assert len(set(S.KEY_POOL)) == 16 and S.KEY_POOL[:3] == (1, 2, 0xB17D)
    expected = {
        bytes.fromhex(Account.from_key(k.to_bytes(32, "big")).address[2:]) for k in S.KEY_POOL
    }
    assert expected == S.POOL_ADDRESSES
    assert bytes.fromhex("7E5F4552091A69125d5DfCb7b8C2659029395Bdf") in S.POOL_ADDRESSES  # §4


@FAST
@given(S.key_pairs(), S.addresses(), S.distinct_private_keys(count=3))
def test_keys_and_addresses(pair: Any, address: bytes, keys: tuple[int, ...]) -> None:
    assert pair.private in S.KEY_POOL and _address(pair.public_uncompressed) == pair.address
    assert len(address) == 20
    assert len(set(keys)) == 3 and set(keys) <= set(S.KEY_POOL)


# ------------------------------------------------------------------------------ UserOperations


@FAST
@given(st.data())
def test_user_operations_round_trip_and_pack_within_128_bits(data: st.DataObject) -> None:
    paymaster = data.draw(st.sampled_from((None, True, False)))
    signed = data.draw(st.sampled_from((None, True, False)))
    op = data.draw(S.user_operations(paymaster=paymaster, signed=signed, chain_id=CHAIN))
    assert from_json(to_json(op), canonical=True) == op
    assert op.factory is None and 0 <= op.nonce < 1 << 256
    if paymaster is not None:
        assert (op.paymaster is not None) == paymaster
    packed = pack(op)
    assert packed.account_gas_limits == op.verification_gas_limit.to_bytes(
        16, "big"
    ) + op.call_gas_limit.to_bytes(16, "big")
    assert packed.gas_fees == op.max_priority_fee_per_gas.to_bytes(
        16, "big"
    ) + op.max_fee_per_gas.to_bytes(16, "big")
    if op.paymaster is not None:
        assert packed.paymaster_and_data[:20] == op.paymaster
        assert len(packed.paymaster_and_data) == 52 + len(op.paymaster_data)
    if op.signature == DUMMY:
        assert signed is not True
    else:
        assert signed is not False
        digest = user_op_hash(op, ENTRY_POINT, CHAIN)
        signer = Account.recover_message(encode_defunct(primitive=digest), signature=op.signature)
        assert bytes.fromhex(signer[2:]) in S.POOL_ADDRESSES


@FAST
@given(S.nonces())
def test_nonces_put_a_192_bit_key_above_a_64_bit_sequence(nonce: int) -> None:
    assert 0 <= nonce >> 64 < 1 << 192 and 0 <= nonce < 1 << 256


# ------------------------------------------------------------------------------ valid callData


def _check_inner(inner: bytes, allowed: dict[str, list[str]]) -> None:
    selector = inner[:4].hex()
    assert selector in allowed
    types = allowed[selector]
    body = inner[4:]
    assert eth_abi.encode(types, eth_abi.decode(types, body)) == body


@pytest.mark.parametrize(("generation", "operator"), sorted(ALLOWLISTS))
@FEW
@given(data=st.data())
def test_inner_calls_are_on_the_generation_allowlist(
    generation: str, operator: bool, data: st.DataObject
) -> None:
    allowed = ALLOWLISTS[(generation, operator)]
    inner = data.draw(S.inner_calls(generation=generation, operator_enabled=operator))
    _check_inner(inner, allowed)
    calldata = data.draw(S.execute_calldata(generation=generation, operator_enabled=operator))
    assert calldata[:4].hex() == EXECUTE
    target, value, payload = eth_abi.decode(["address", "uint256", "bytes"], calldata[4:])
    assert (
        value == 0
        and eth_abi.encode(["address", "uint256", "bytes"], [target, 0, payload]) == (calldata[4:])
    )
    _check_inner(payload, allowed)
    assert decode_execute_strict(calldata) == ExecuteCall(bytes.fromhex(target[2:]), 0, payload)


@FAST
@given(S.execute_calls(targets=st.just(b"\xc1" * 20)))
def test_execute_calls_take_their_targets(call: ExecuteCall) -> None:
    assert call.target == b"\xc1" * 20 and call.value == 0
    assert decode_execute_strict(call.encode()) == call


# ------------------------------------------------------------------------------ malformed callData


def _outcome(
    reader: Callable[[bytes], ExecuteCall], calldata: bytes
) -> ExecuteCall | DecodeErrorKind:
    try:
        return reader(calldata)
    except DecodeError as exc:
        return exc.kind


def _settings_for(generation: str, operator: bool, kind: S.CalldataFlaw) -> bool:
    return kind in available_calldata_flaws(generation, operator)


@pytest.mark.parametrize("kind", list(S.CalldataFlaw))
@FEW
@given(data=st.data())
def test_malformed_calldata_is_read_as_labelled(kind: S.CalldataFlaw, data: st.DataObject) -> None:
    options = [key for key in sorted(ALLOWLISTS) if _settings_for(*key, kind)]
    generation, operator = data.draw(st.sampled_from(options))
    strategy = S.malformed_execute_calldata(
        generation=generation, operator_enabled=operator, kinds=[kind]
    )
    case = data.draw(strategy)
    assert case.kind is kind and case.expected == labels.CALLDATA_LABELS[kind][0]
    strict = _outcome(decode_execute_strict, case.value)
    solidity = _outcome(decode_execute_solidity, case.value)
    expected = case.expected
    assert (strict if isinstance(strict, DecodeErrorKind) else None) == expected.strict
    assert (solidity if isinstance(solidity, DecodeErrorKind) else None) == expected.solidity
    if expected.reason == labels.VALUE_NONZERO:
        assert isinstance(solidity, ExecuteCall) and solidity.value != 0
    if expected.reason == labels.INNER_SELECTOR_NOT_ALLOWED:
        assert isinstance(solidity, ExecuteCall) and solidity.value == 0
        assert solidity.inner_selector.hex() not in ALLOWLISTS[(generation, operator)]
    if expected.reason == labels.OUTER_SELECTOR_NOT_EXECUTE:
        assert isinstance(strict, DecodeErrorKind)


@pytest.mark.parametrize("kind", list(S.HexTextFlaw))
@FEW
@given(data=st.data())
def test_calldata_texts_are_labelled_by_what_the_hex_parser_sees(
    kind: S.HexTextFlaw, data: st.DataObject
) -> None:
    case = data.draw(S.malformed_calldata_texts(kinds=[kind]))
    text: HexText = case.value
    assert text.calldata[:4].hex() == EXECUTE
    if case.expected is S.HexTextVerdict.MALFORMED_HEX:
        with pytest.raises(DecodeError) as info:
            parse_calldata_hex(text.text)
        assert info.value.kind is DecodeErrorKind.HEX_FORMAT
    else:
        assert parse_calldata_hex(text.text) == text.calldata == bytes.fromhex(text.text[2:])
        assert not is_canonical_hex(text.text) and text.text.lower() == "0x" + text.calldata.hex()


# ------------------------------------------------------------------------------ signatures


def _recover(digest: bytes, sig: bytes) -> bytes:
    public = PublicKey.from_signature_and_message(sig[:64] + bytes([sig[64] - 27]), digest, None)
    return _address(public.format(compressed=False))


@FAST
@given(S.signed_digests(), S.signatures())
def test_signatures_are_valid_low_s_and_recover_to_a_pool_key(signed: Any, sig: bytes) -> None:
    for signature in (signed.signature, sig):
        assert len(signature) == 65 and signature[64] in (27, 28)
        assert int.from_bytes(signature[32:64], "big") <= N // 2
        assert classify_signature(signature) is SignatureClass.VALID
    assert _recover(signed.digest, signed.signature) == signed.signer in S.POOL_ADDRESSES


@pytest.mark.parametrize("kind", list(S.SignatureFlaw))
@FEW
@given(digest=st.binary(min_size=32, max_size=32), data=st.data())
def test_malformed_signatures_have_the_labelled_class(
    kind: S.SignatureFlaw, digest: bytes, data: st.DataObject
) -> None:
    case = data.draw(S.malformed_signatures(digests=st.just(digest), kinds=[kind]))
    assert case.expected is not SignatureClass.VALID
    assert classify_signature(case.value) is case.expected
    assert classify_signature(case.value, digest) is case.expected


# ------------------------------------------------------------------------------ proofs


@FAST
@given(S.dstack_proofs())
def test_dstack_proofs_verify_to_the_derived_key(case: S.DstackProofCase) -> None:
    assert case.verify() == case.owner
    assert case.proof.code_id == case.member + bytes(12)  # AT-002
    key = case.proof.derived_compressed_pubkey
    uncompressed = PublicKey(key).format(compressed=False) if len(key) == 33 else key[-64:]
    assert keccak(uncompressed[-64:])[12:] == case.owner


@pytest.mark.parametrize("kind", list(S.ProofFlaw))
@FEW
@given(data=st.data())
def test_broken_dstack_proofs_fail_with_the_labelled_kind(
    kind: S.ProofFlaw, data: st.DataObject
) -> None:
    case = data.draw(S.broken_dstack_proofs(kinds=[kind]))
    with pytest.raises(ProofError) as info:
        case.value.verify()
    assert info.value.kind is case.expected


@FAST
@given(S.operator_proofs())
def test_operator_proofs_verify_until_their_expiry(case: S.OperatorProofCase) -> None:
    assert case.now <= case.proof.expiry < 1 << 64
    assert case.verify() == case.proof.owner_key


@pytest.mark.parametrize("kind", list(S.OperatorProofFlaw))
@FEW
@given(data=st.data())
def test_broken_operator_proofs_fail_with_the_labelled_kind(
    kind: S.OperatorProofFlaw, data: st.DataObject
) -> None:
    case = data.draw(S.broken_operator_proofs(kinds=[kind]))
    with pytest.raises(ProofError) as info:
        case.value.verify()
    assert info.value.kind is case.expected


# ------------------------------------------------------------------------------ webhook bodies

KNOWN_DISAGREEMENT: set[tuple[str, S.ChainIdShape]] = set()
"""(route, shape) pairs whose label and wire reading disagree; none today."""

SENDER = "0x" + "01" * 20
OP = {
    "sender": SENDER,
    "nonce": "0x0",
    "callData": "0x" + EXECUTE,
    "callGasLimit": "0x0",
    "verificationGasLimit": "0x0",
    "preVerificationGas": "0x0",
    "maxFeePerGas": "0x0",
    "maxPriorityFeePerGas": "0x0",
    "signature": "0x" + DUMMY.hex(),
}


def _alchemy_verdict(raw: bytes, chain_id: int = CHAIN) -> S.WireVerdict:
    try:
        request = parse_alchemy_body(raw)
    except BodyFormatError:
        return S.WireVerdict.BAD_REQUEST
    matches = request.chain_matches(chain_id)
    return S.WireVerdict.CHAIN_MATCH if matches else S.WireVerdict.CHAIN_MISMATCH


def _pimlico_verdict(raw: bytes, chain_id: int = CHAIN) -> S.WireVerdict:
    request = parse_pimlico_event(raw)
    if request is None:
        return S.WireVerdict.IGNORED
    matches = request.chain_id == chain_id
    return S.WireVerdict.CHAIN_MATCH if matches else S.WireVerdict.CHAIN_MISMATCH


VERDICTS = {"alchemy": _alchemy_verdict, "pimlico": _pimlico_verdict}


def _check_verdict(route: str, raw: bytes, expected: S.WireVerdict, chain_id: int = CHAIN) -> None:
    if expected is S.WireVerdict.NO_SERVER_ERROR:
        assert isinstance(json.loads(raw), dict)  # well-formed JSON: the flaw is in a field
        VERDICTS[route](raw, chain_id)  # raises nothing but the parser's own refusal
    else:
        assert VERDICTS[route](raw, chain_id) is expected


def _body_with(route: str, case: S.ChainIdCase) -> bytes:
    payload: dict[str, Any] = {"userOperation": dict(OP)}
    case.put(payload)
    if route == "alchemy":
        return json.dumps(payload).encode()
    event = {"type": "user_operation.sponsorship.requested", "data": {"object": payload}}
    return json.dumps(event).encode()


@pytest.mark.parametrize("route", ["alchemy", "pimlico"])
@pytest.mark.parametrize("chain_id", [CHAIN, 8453, 1])
@FAST
@given(data=st.data())
def test_chain_id_forms_get_their_labelled_verdict(
    route: str, chain_id: int, data: st.DataObject
) -> None:
    shapes = [s for s in available_shapes(route, chain_id) if (route, s) not in KNOWN_DISAGREEMENT]
    case = data.draw(S.chain_id_forms(chain_id=chain_id, route=route, shapes=shapes))
    _check_verdict(route, _body_with(route, case), case.expected, chain_id)


@FAST
@given(S.alchemy_bodies(chain_id=CHAIN), S.pimlico_events(chain_id=CHAIN))
def test_valid_bodies_parse_with_a_matching_chain(alchemy: bytes, pimlico: bytes) -> None:
    request = parse_alchemy_body(alchemy)
    assert request.chain_matches(CHAIN)
    assert request.entry_point is not None and bytes.fromhex(request.entry_point[2:]) == ENTRY_POINT
    assert to_json(from_json(request.user_operation, canonical=True)) == request.user_operation
    event = parse_pimlico_event(pimlico)
    assert event is not None and event.chain_id == CHAIN
    assert event.policy_id is not None and event.policy_id.startswith("sp_")
    from_json(event.user_operation, canonical=True)


MAX_SIZE = 20_000


@pytest.mark.parametrize(
    ("route", "kind"),
    [
        (route, kind)
        for route in ("alchemy", "pimlico")
        for kind in body_kinds(route, CHAIN)
        if (route, kind) not in KNOWN_DISAGREEMENT
    ],
    ids=str,
)
@FEW
@given(data=st.data())
def test_malformed_bodies_get_their_labelled_verdict(
    route: str, kind: Any, data: st.DataObject
) -> None:
    strategy = S.malformed_alchemy_bodies if route == "alchemy" else S.malformed_pimlico_events
    case = data.draw(strategy(chain_id=CHAIN, max_size=MAX_SIZE, kinds=[kind]))
    assert case.kind is kind and len(case.value) <= MAX_SIZE
    _check_verdict(route, case.value, case.expected)


# ------------------------------------------------------------------------------ options, reprs

BAD_OPTIONS: list[tuple[Callable[..., Any], dict[str, Any], str]] = [
    (S.inner_calls, {"generation": "basee"}, "generation='basee'.*did you mean 'base'"),
    (S.inner_calls, {"operator_enabled": "true"}, "operator_enabled='true'"),
    (S.execute_calldata, {"targets": b"\x01" * 20}, "targets=b'"),
    (S.malformed_execute_calldata, {"kinds": ["nope"]}, "kinds='nope'"),
    (S.malformed_execute_calldata, {"kinds": []}, r"kinds=\[\]"),
    (
        S.malformed_execute_calldata,
        {
            "generation": "multi-attestor",
            "operator_enabled": True,
            "kinds": ["operator-inner-not-enabled"],
        },
        "kinds='operator-inner-not-enabled': not available",
    ),
    (
        S.malformed_execute_calldata,
        {"generation": "pimlico", "kinds": [S.CalldataFlaw.PIMLICO_ONLY_INNER]},
        "not available",
    ),
    (S.user_operations, {"paymaster": "yes"}, "paymaster='yes'"),
    (S.user_operations, {"signed": 1}, "signed=1"),
    (S.user_operations, {"chain_id": 0}, "chain_id=0"),
    (S.user_operations, {"chain_id": True}, "chain_id=True"),
    (S.user_operations, {"entry_point": b"\x00" * 19}, "entry_point="),
    (S.dstack_proofs, {"key_lengths": [32]}, r"key_lengths=\[32\]"),
    (S.broken_dstack_proofs, {"kinds": ["wrong-kms"]}, "kinds='wrong-kms'"),
    (S.malformed_signatures, {"kinds": "high-s-twin"}, "kinds='high-s-twin'"),
    (S.chain_id_forms, {"route": "alchmey"}, "route='alchmey'.*did you mean 'alchemy'"),
    (S.chain_id_forms, {"chain_id": 1 << 53}, f"chain_id={1 << 53}"),
    (S.malformed_alchemy_bodies, {"max_size": 100}, "max_size=100"),
    (S.malformed_alchemy_bodies, {"kinds": ["foreign-event-type"]}, "'foreign-event-type'"),
    (S.malformed_pimlico_events, {"kinds": [S.ChainIdShape.HEX]}, "chain-id-hex"),
    (S.distinct_private_keys, {"count": 17}, "count=17"),
    (S.operator_proofs, {"clusters": [b"\x01" * 20]}, "clusters="),
]


@pytest.mark.parametrize(
    ("factory", "options", "message"),
    BAD_OPTIONS,
    ids=[
        f"{factory.__name__}-{'-'.join(options)}-{i}"
        for i, (factory, options, _) in enumerate(BAD_OPTIONS)
    ],
)
def test_bad_options_are_refused_when_the_strategy_is_built(
    factory: Callable[..., Any], options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgument, match=message):
        factory(**options)


@pytest.mark.parametrize(
    ("strategy", "text"),
    [
        (S.user_operations(paymaster=True), "user_operations(paymaster=True)"),
        (S.inner_calls(generation="pimlico"), "inner_calls(generation='pimlico')"),
        (
            S.malformed_execute_calldata(generation="pimlico"),
            "malformed_execute_calldata(generation='pimlico')",
        ),
        (S.key_pairs(), "key_pairs()"),
        (S.broken_dstack_proofs(), "broken_dstack_proofs()"),
        (S.malformed_pimlico_events(), "malformed_pimlico_events()"),
        (S.user_operations(senders=S.addresses()), "user_operations(senders=addresses())"),
        (S.chain_id_forms(route="pimlico"), "chain_id_forms(route='pimlico')"),
        (
            S.malformed_signatures(kinds=["r-zero"]),
            "malformed_signatures(kinds=(<SignatureFlaw.R_ZERO: 'r-zero'>,))",
        ),
        (S.dstack_proofs(key_lengths=[33]), "dstack_proofs(key_lengths=(33,))"),
        (
            S.malformed_alchemy_bodies(max_size=1 << 20),
            "malformed_alchemy_bodies(max_size=1048576)",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_reprs_show_how_the_strategy_was_built(strategy: Any, text: str) -> None:
    assert repr(strategy) == text
