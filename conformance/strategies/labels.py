"""The label model: every malformed strategy draws a ``Malformed`` case saying what is wrong.

A case carries the generated ``value``, its ``kind`` (a StrEnum member naming the
malformation), the ``rule_ids`` of rules.toml it breaks, and ``expected``: what the suite's
reference reader must say about it (the strict calldata decoder and Solidity's decoder, the
signature classifier, the proof verifier, the webhook's wire parsers). The tables below give
both per kind, so a kind always means the same thing wherever it is drawn.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Generic, TypeVar

from conformance.protocol.attestation import ProofFailure
from conformance.protocol.calldata import DecodeErrorKind
from conformance.protocol.signatures import SignatureClass

T = TypeVar("T")
E = TypeVar("E")

RuleIds = tuple[str, ...]


@dataclass(frozen=True)
class Malformed(Generic[T, E]):
    """A generated input broken in one named way (or, for text, spelled non-canonically)."""

    value: T
    """The input itself, as delivered (bytes, text, a proof case …)."""
    kind: StrEnum
    """What is wrong with it: a member of one of the ``…Flaw`` enums or ``ChainIdShape``."""
    rule_ids: RuleIds
    """The rules.toml ids this case exercises."""
    expected: E
    """What the reference reader must say (see each ``…_LABELS`` table)."""


# ------------------------------------------------------------------------------ callData


OUTER_SELECTOR_NOT_EXECUTE = "outer-selector-not-execute"
VALUE_NONZERO = "value-nonzero"
INNER_SELECTOR_NOT_ALLOWED = "inner-selector-not-allowed"


class CalldataFlaw(StrEnum):
    """Ways an outer ``execute`` callData departs from the canonical one (PROTOCOL.md §1, §3)."""

    WRONG_OUTER_SELECTOR = "wrong-outer-selector"
    EXECUTE_BATCH = "look-alike-execute-batch"
    EXECUTE_FOUR_ARGS = "look-alike-execute-4-arg"
    NO_SELECTOR = "shorter-than-selector"
    NONZERO_VALUE = "nonzero-value"
    NEVER_SPONSORABLE_INNER = "never-sponsorable-inner"
    HISTORIC_INNER = "historic-inner-selector"
    EXECUTE_AS_INNER = "execute-as-inner"
    OPERATOR_NOT_ENABLED = "operator-inner-not-enabled"
    PIMLICO_ONLY_INNER = "pimlico-only-inner"
    UNKNOWN_INNER = "unknown-inner-selector"
    EMPTY_INNER = "empty-inner-selector"
    DIRTY_ADDRESS = "dirty-address-bits"
    OFFSET_FORWARD = "offset-forward"
    OFFSET_INTO_HEAD = "offset-into-head"
    OFFSET_BACKWARD = "offset-backward"
    OFFSET_PAST_END = "offset-past-end"
    TRUNCATED_HEAD = "truncated-head"
    TRUNCATED_LENGTH_WORD = "truncated-length-word"
    TRUNCATED_DATA = "truncated-data"
    LENGTH_EXCEEDS_CALLDATA = "length-exceeds-calldata"
    OVERSIZED_LENGTH = "oversized-length-word"
    MISSING_PADDING = "missing-padding"
    DIRTY_PADDING = "dirty-padding"
    TRAILING_BYTES = "trailing-bytes"


@dataclass(frozen=True)
class CalldataExpectation:
    """How the reference readers take a malformed callData (PROTOCOL.md §3, §5 policy)."""

    strict: DecodeErrorKind | None
    """The kind ``decode_execute_strict`` raises; None: it decodes (a policy matter)."""
    solidity: DecodeErrorKind | None
    """The kind ``decode_execute_solidity`` raises; None: the EVM accepts the encoding."""
    reason: str | None
    """The policy denial it must draw; None: decoder agreement decides (WH-066)."""


def _cd(
    strict: DecodeErrorKind | None, solidity: DecodeErrorKind | None, reason: str | None, *ids: str
) -> tuple[CalldataExpectation, RuleIds]:
    return CalldataExpectation(strict, solidity, reason), ids


_K = DecodeErrorKind
_F = CalldataFlaw
_OUT, _SOL_REJECTS = OUTER_SELECTOR_NOT_EXECUTE, ("WH-023", "WH-067")
_NON_CANONICAL = ("UO-017", "WH-066", "AC-035")

CALLDATA_LABELS: Mapping[CalldataFlaw, tuple[CalldataExpectation, RuleIds]] = MappingProxyType({
    _F.WRONG_OUTER_SELECTOR: _cd(_K.WRONG_SELECTOR, _K.WRONG_SELECTOR, _OUT, "UO-015", "WH-023"),
    _F.EXECUTE_BATCH: _cd(_K.WRONG_SELECTOR, _K.WRONG_SELECTOR, _OUT, "UO-015", "WH-023"),
    _F.EXECUTE_FOUR_ARGS: _cd(_K.WRONG_SELECTOR, _K.WRONG_SELECTOR, _OUT, "UO-015", "WH-023"),
    _F.NO_SELECTOR: _cd(_K.TOO_SHORT, _K.TOO_SHORT, _OUT, "UO-015", "WH-023"),
    _F.NONZERO_VALUE: _cd(None, None, VALUE_NONZERO, "WH-024"),
    _F.NEVER_SPONSORABLE_INNER: _cd(None, None, INNER_SELECTOR_NOT_ALLOWED, "WH-028"),
    _F.HISTORIC_INNER: _cd(None, None, INNER_SELECTOR_NOT_ALLOWED, "UO-016", "WH-028"),
    _F.EXECUTE_AS_INNER: _cd(None, None, INNER_SELECTOR_NOT_ALLOWED, "WH-028"),
    _F.OPERATOR_NOT_ENABLED: _cd(None, None, INNER_SELECTOR_NOT_ALLOWED, "WH-027", "WH-028"),
    _F.PIMLICO_ONLY_INNER: _cd(None, None, INNER_SELECTOR_NOT_ALLOWED, "WH-028"),
    _F.UNKNOWN_INNER: _cd(None, None, INNER_SELECTOR_NOT_ALLOWED, "WH-028"),
    _F.EMPTY_INNER: _cd(None, None, INNER_SELECTOR_NOT_ALLOWED, "WH-030"),
    _F.DIRTY_ADDRESS: _cd(_K.DIRTY_ADDRESS, _K.DIRTY_ADDRESS, _OUT, "UO-017", *_SOL_REJECTS),
    _F.OFFSET_FORWARD: _cd(_K.OFFSET_NOT_CANONICAL, None, None, *_NON_CANONICAL),
    _F.OFFSET_INTO_HEAD: _cd(_K.OFFSET_NOT_CANONICAL, None, None, *_NON_CANONICAL),
    _F.OFFSET_BACKWARD: _cd(
        _K.OFFSET_NOT_CANONICAL, _K.LENGTH_OUT_OF_RANGE, _OUT, "UO-017", *_SOL_REJECTS
    ),
    _F.OFFSET_PAST_END: _cd(
        _K.OFFSET_OUT_OF_RANGE, _K.OFFSET_OUT_OF_RANGE, _OUT, "UO-017", *_SOL_REJECTS
    ),
    _F.TRUNCATED_HEAD: _cd(_K.TOO_SHORT, _K.TOO_SHORT, _OUT, *_SOL_REJECTS),
    _F.TRUNCATED_LENGTH_WORD: _cd(_K.TOO_SHORT, _K.OFFSET_OUT_OF_RANGE, _OUT, *_SOL_REJECTS),
    _F.TRUNCATED_DATA: _cd(
        _K.LENGTH_OUT_OF_RANGE, _K.LENGTH_OUT_OF_RANGE, _OUT, "UO-017", *_SOL_REJECTS
    ),
    _F.LENGTH_EXCEEDS_CALLDATA: _cd(
        _K.LENGTH_OUT_OF_RANGE, _K.LENGTH_OUT_OF_RANGE, _OUT, "UO-017", *_SOL_REJECTS
    ),
    _F.OVERSIZED_LENGTH: _cd(
        _K.LENGTH_OUT_OF_RANGE, _K.LENGTH_OUT_OF_RANGE, _OUT, "UO-017", *_SOL_REJECTS
    ),
    _F.MISSING_PADDING: _cd(_K.MISSING_PADDING, None, None, *_NON_CANONICAL),
    _F.DIRTY_PADDING: _cd(_K.DIRTY_PADDING, None, None, *_NON_CANONICAL),
    _F.TRAILING_BYTES: _cd(_K.TRAILING_BYTES, None, None, *_NON_CANONICAL),
})  # fmt: skip
"""Each callData flaw: what the strict and Solidity readers do, the denial, the rules."""


class HexTextFlaw(StrEnum):
    """Ways the callData *text* of a JSON body departs from ``0x`` + even lower-case hex (§2)."""

    ODD_LENGTH = "odd-length-hex"
    NON_HEX_DIGIT = "non-hex-digit"
    MISSING_PREFIX = "missing-0x-prefix"
    UPPER_CASE = "upper-case-hex"
    MIXED_CASE = "mixed-case-hex"


class HexTextVerdict(StrEnum):
    """What ``parse_calldata_hex`` makes of the text."""

    MALFORMED_HEX = "malformed-hex"
    """Not hex bytes at all: DecodeError(HEX_FORMAT)."""
    NON_CANONICAL_TEXT = "non-canonical-text"
    """Valid bytes, the same as the canonical text's: only the spelling differs (WH-029)."""


HEX_TEXT_LABELS: Mapping[HexTextFlaw, tuple[HexTextVerdict, RuleIds]] = MappingProxyType({
    HexTextFlaw.ODD_LENGTH: (HexTextVerdict.MALFORMED_HEX, ("UO-002", "WH-023")),
    HexTextFlaw.NON_HEX_DIGIT: (HexTextVerdict.MALFORMED_HEX, ("UO-002", "WH-006")),
    HexTextFlaw.MISSING_PREFIX: (HexTextVerdict.MALFORMED_HEX, ("UO-002", "WH-006")),
    HexTextFlaw.UPPER_CASE: (HexTextVerdict.NON_CANONICAL_TEXT, ("WH-029",)),
    HexTextFlaw.MIXED_CASE: (HexTextVerdict.NON_CANONICAL_TEXT, ("WH-029",)),
})  # fmt: skip


# ------------------------------------------------------------------------------ signatures


class SignatureFlaw(StrEnum):
    """Ways a 65-byte r ‖ s ‖ v signature is invalid (PROTOCOL.md §2)."""

    WRONG_LENGTH = "wrong-length"
    COMPACT_EIP2098 = "compact-eip2098"
    COMPACT_PLAIN = "compact-r-s"
    V_RAW = "v-0-or-1"
    V_OTHER = "v-other"
    HIGH_S = "high-s-twin"
    R_ZERO = "r-zero"
    S_ZERO = "s-zero"
    R_NOT_BELOW_N = "r-at-least-n"
    R_OFF_CURVE = "r-off-curve"


_S = SignatureClass
_BAD_SIG = ("UO-013", "AC-002")
SIGNATURE_LABELS: Mapping[SignatureFlaw, tuple[SignatureClass, RuleIds]] = MappingProxyType({
    SignatureFlaw.WRONG_LENGTH: (_S.WRONG_LENGTH, ("UO-011", *_BAD_SIG)),
    SignatureFlaw.COMPACT_EIP2098: (_S.COMPACT_64, _BAD_SIG),
    SignatureFlaw.COMPACT_PLAIN: (_S.COMPACT_64, _BAD_SIG),
    SignatureFlaw.V_RAW: (_S.BAD_V, ("UO-012", *_BAD_SIG)),
    SignatureFlaw.V_OTHER: (_S.BAD_V, ("UO-012", "AC-002")),
    SignatureFlaw.HIGH_S: (_S.HIGH_S, ("UO-012", *_BAD_SIG)),
    SignatureFlaw.R_ZERO: (_S.UNRECOVERABLE, ("AC-002",)),
    SignatureFlaw.S_ZERO: (_S.UNRECOVERABLE, ("AC-002",)),
    SignatureFlaw.R_NOT_BELOW_N: (_S.UNRECOVERABLE, ("AC-002",)),
    SignatureFlaw.R_OFF_CURVE: (_S.UNRECOVERABLE, ("AC-002",)),
})  # fmt: skip
"""Each signature flaw: the class ``classify_signature`` must return, and the rules."""


# ------------------------------------------------------------------------------ proofs


class ProofFlaw(StrEnum):
    """A DstackProof broken at one link of PROTOCOL.md §4 (all other links intact)."""

    CODE_ID_LOW_BITS = "code-id-low-bits-set"
    CODE_ID_OTHER_MEMBER = "code-id-other-member"
    BINDING_OTHER_CLUSTER = "message-hash-other-cluster"
    BINDING_OTHER_KEYS = "message-hash-other-keys"
    KMS_NOT_ALLOWED = "kms-root-not-allowed"
    PURPOSE_MISMATCH = "purpose-signed-differs"
    APP_SIGNED_BY_OTHER_KEY = "app-signature-other-key"
    MESSAGE_SIGNED_BY_OTHER_KEY = "message-signature-other-key"
    MESSAGE_SIG_V_RAW = "message-signature-v-0-1"
    APP_SIG_V_RAW = "app-signature-v-0-1"
    KMS_SIG_V_RAW = "kms-signature-v-0-1"
    MESSAGE_SIG_HIGH_S = "message-signature-high-s"
    APP_SIG_HIGH_S = "app-signature-high-s"
    KMS_SIG_HIGH_S = "kms-signature-high-s"
    DERIVED_KEY_BAD_LENGTH = "derived-pubkey-bad-length"
    APP_KEY_BAD_LENGTH = "app-pubkey-bad-length"
    DERIVED_KEY_OFF_CURVE = "derived-pubkey-off-curve"
    APP_KEY_OFF_CURVE = "app-pubkey-off-curve"


_P, _PF = ProofFlaw, ProofFailure
_CHAIN = (_PF.INVALID_SIG_CHAIN, ("AT-003", "AC-031"))
PROOF_LABELS: Mapping[ProofFlaw, tuple[ProofFailure, RuleIds]] = MappingProxyType({
    _P.CODE_ID_LOW_BITS: (_PF.CODE_ID_MISMATCH, ("AT-002", "AC-029")),
    _P.CODE_ID_OTHER_MEMBER: (_PF.CODE_ID_MISMATCH, ("AT-002", "AC-029")),
    _P.BINDING_OTHER_CLUSTER: (_PF.BINDING_MISMATCH, ("AT-011", "AC-030")),
    _P.BINDING_OTHER_KEYS: (_PF.BINDING_MISMATCH, ("AT-011", "AC-030")),
    _P.KMS_NOT_ALLOWED: (_PF.INVALID_SIG_CHAIN, ("AT-007", "AC-031")),
    _P.PURPOSE_MISMATCH: (_PF.INVALID_SIG_CHAIN, ("AT-004", "AT-005", "AC-031")),
    _P.APP_SIGNED_BY_OTHER_KEY: (_PF.INVALID_SIG_CHAIN, ("AT-005", "AC-031")),
    _P.MESSAGE_SIGNED_BY_OTHER_KEY: (_PF.INVALID_SIG_CHAIN, ("AT-008", "AC-031")),
    _P.MESSAGE_SIG_V_RAW: _CHAIN,
    _P.APP_SIG_V_RAW: _CHAIN,
    _P.KMS_SIG_V_RAW: _CHAIN,
    _P.MESSAGE_SIG_HIGH_S: _CHAIN,
    _P.APP_SIG_HIGH_S: _CHAIN,
    _P.KMS_SIG_HIGH_S: _CHAIN,
    _P.DERIVED_KEY_BAD_LENGTH: (_PF.INVALID_PUBKEY_LENGTH, ("AT-009", "AC-031")),
    _P.APP_KEY_BAD_LENGTH: (_PF.INVALID_PUBKEY_LENGTH, ("AT-009", "AC-031")),
    _P.DERIVED_KEY_OFF_CURVE: (_PF.POINT_NOT_ON_CURVE, ("AT-010", "AC-031")),
    _P.APP_KEY_OFF_CURVE: (_PF.POINT_NOT_ON_CURVE, ("AT-010", "AC-031")),
})  # fmt: skip
"""Each proof flaw: the ProofFailure ``verify_dstack_proof`` must raise, and the rules."""


class OperatorProofFlaw(StrEnum):
    """An OperatorProof that registration must refuse (PROTOCOL.md §4, multi-attestor)."""

    EXPIRED = "expired"
    SIGNER_NOT_ALLOWED = "signer-not-allowed"
    SIGNED_BY_OTHER_KEY = "signed-by-other-key"
    OTHER_BINDING = "signed-other-binding"


OPERATOR_PROOF_LABELS: Mapping[OperatorProofFlaw, tuple[ProofFailure, RuleIds]] = (
    MappingProxyType({
        OperatorProofFlaw.EXPIRED: (_PF.VOUCHER_EXPIRED, ("AT-016",)),
        OperatorProofFlaw.SIGNER_NOT_ALLOWED: (_PF.SIGNER_NOT_ALLOWED, ("AT-015",)),
        OperatorProofFlaw.SIGNED_BY_OTHER_KEY: (_PF.BINDING_MISMATCH, ("AT-018",)),
        OperatorProofFlaw.OTHER_BINDING: (_PF.BINDING_MISMATCH, ("AT-017", "AT-018")),
    })
)  # fmt: skip
"""Each operator proof flaw: the ProofFailure ``verify_operator_proof`` must raise."""


# ------------------------------------------------------------------------------ webhook bodies


class WireVerdict(StrEnum):
    """What the webhook's body reading must conclude (PROTOCOL.md §5)."""

    CHAIN_MATCH = "chain-match"
    """Well-formed, chainId read and equal to the expected chain."""
    CHAIN_MISMATCH = "chain-mismatch"
    """Well-formed, but policy step 2 denies: ``chain-mismatch``."""
    BAD_REQUEST = "bad-request"
    """``POST /`` answers 400 (``parse_alchemy_body`` raises BodyFormatError)."""
    IGNORED = "ignored"
    """``POST /pimlico`` answers 200 sponsor:false, unparsable (``parse_pimlico_event`` → None)."""
    NO_SERVER_ERROR = "no-server-error"
    """§5 fixes no verdict beyond "never 5xx": the parser may accept or refuse it."""


class BodyFlaw(StrEnum):
    """A raw webhook body malformed at the byte, JSON or field level (PROTOCOL.md §5)."""

    NOT_UTF8 = "not-utf8"
    NOT_JSON = "not-json"
    DEEP_NESTING = "deep-nesting"
    NOT_AN_OBJECT = "top-level-not-object"
    FOREIGN_EVENT = "foreign-event-type"
    DATA_NOT_OBJECT = "data-not-object"
    OBJECT_NOT_OBJECT = "object-not-object"
    USER_OPERATION_MISSING = "user-operation-missing"
    USER_OPERATION_NOT_OBJECT = "user-operation-not-object"
    SENDER_MISSING = "sender-missing"
    SENDER_WRONG_TYPE = "sender-wrong-type"
    SENDER_NOT_ADDRESS = "sender-not-address"
    CALLDATA_MISSING = "calldata-missing"
    CALLDATA_WRONG_TYPE = "calldata-wrong-type"
    CALLDATA_NOT_HEX = "calldata-not-hex"
    OTHER_FIELD_WRONG_TYPE = "other-field-wrong-type"
    OVERSIZED = "oversized"


_B, _W = BodyFlaw, WireVerdict
ALCHEMY_BODY_LABELS: Mapping[BodyFlaw, tuple[WireVerdict, RuleIds]] = MappingProxyType({
    _B.NOT_UTF8: (_W.BAD_REQUEST, ("WH-005", "WH-009")),
    _B.NOT_JSON: (_W.BAD_REQUEST, ("WH-005", "WH-009")),
    _B.DEEP_NESTING: (_W.BAD_REQUEST, ("WH-005", "WH-006", "WH-009")),
    _B.NOT_AN_OBJECT: (_W.BAD_REQUEST, ("WH-006", "WH-009")),
    _B.USER_OPERATION_MISSING: (_W.BAD_REQUEST, ("WH-006", "WH-009")),
    _B.USER_OPERATION_NOT_OBJECT: (_W.BAD_REQUEST, ("WH-006", "WH-009")),
    _B.SENDER_MISSING: (_W.BAD_REQUEST, ("WH-006", "WH-009")),
    _B.SENDER_WRONG_TYPE: (_W.BAD_REQUEST, ("WH-006", "WH-007", "WH-009")),
    _B.SENDER_NOT_ADDRESS: (_W.BAD_REQUEST, ("WH-007", "WH-009")),
    _B.CALLDATA_MISSING: (_W.BAD_REQUEST, ("WH-006", "WH-009")),
    _B.CALLDATA_WRONG_TYPE: (_W.BAD_REQUEST, ("WH-006", "WH-009")),
    _B.CALLDATA_NOT_HEX: (_W.BAD_REQUEST, ("WH-006", "WH-009")),
    _B.OTHER_FIELD_WRONG_TYPE: (_W.NO_SERVER_ERROR, ("WH-009",)),
    _B.OVERSIZED: (_W.BAD_REQUEST, ("WH-007", "WH-009")),
})  # fmt: skip
"""Body flaws of ``POST /`` (Alchemy style); the event-envelope flaws do not apply there."""

PIMLICO_BODY_LABELS: Mapping[BodyFlaw, tuple[WireVerdict, RuleIds]] = MappingProxyType(
    {
        flaw: (_W.NO_SERVER_ERROR if flaw is _B.OTHER_FIELD_WRONG_TYPE else _W.IGNORED, ("WH-054",))
        for flaw in BodyFlaw
    }
)
"""Body flaws of ``POST /pimlico``: every one is 200 sponsor:false (WH-054), never an error."""


class ChainIdShape(StrEnum):
    """The forms a body's ``chainId`` can take (PROTOCOL.md §5), accepted and rejected."""

    HEX = "chain-id-hex"
    HEX_UPPER = "chain-id-hex-upper-digits"
    HEX_LEADING_ZEROS = "chain-id-hex-leading-zeros"
    NUMBER = "chain-id-json-number"
    NUMBER_FLOAT = "chain-id-json-number-float-form"
    DECIMAL_STRING = "chain-id-decimal-string"
    OTHER_CHAIN = "chain-id-other-chain"
    HUGE = "chain-id-huge"
    EMPTY_HEX = "chain-id-0x-only"
    ABSENT = "chain-id-absent"
    NEGATIVE = "chain-id-negative"
    FRACTIONAL = "chain-id-fractional"
    DECIMAL_MALFORMED = "chain-id-decimal-malformed"
    BARE_HEX = "chain-id-hex-without-0x"
    UPPER_PREFIX = "chain-id-0X-prefix"
    BAD_DIGITS = "chain-id-0x-non-hex"
    NULL = "chain-id-null"
    OTHER_JSON_TYPE = "chain-id-bool-array-object"


_C = ChainIdShape
_A400 = (_W.BAD_REQUEST, ("WH-008", "WH-009"))
ALCHEMY_CHAIN_ID_LABELS: Mapping[ChainIdShape, tuple[WireVerdict, RuleIds]] = MappingProxyType({
    _C.HEX: (_W.CHAIN_MATCH, ("WH-013",)),
    _C.HEX_UPPER: (_W.CHAIN_MATCH, ("WH-013",)),
    _C.HEX_LEADING_ZEROS: (_W.CHAIN_MATCH, ("WH-013",)),
    _C.NUMBER: _A400,
    _C.NUMBER_FLOAT: _A400,
    _C.DECIMAL_STRING: _A400,
    _C.OTHER_CHAIN: (_W.CHAIN_MISMATCH, ("WH-013",)),
    _C.HUGE: (_W.CHAIN_MISMATCH, ("WH-013",)),
    _C.EMPTY_HEX: (_W.CHAIN_MISMATCH, ("WH-014",)),
    _C.ABSENT: (_W.CHAIN_MISMATCH, ("WH-014",)),
    _C.NEGATIVE: _A400,
    _C.FRACTIONAL: _A400,
    _C.DECIMAL_MALFORMED: _A400,
    _C.BARE_HEX: _A400,
    _C.UPPER_PREFIX: _A400,
    _C.BAD_DIGITS: (_W.CHAIN_MISMATCH, ("WH-013",)),  # §5 names no 400 for it: it cannot match
    _C.NULL: _A400,
    _C.OTHER_JSON_TYPE: _A400,
})  # fmt: skip
"""chainId on ``POST /``: only a ``0x`` hex string can match; see WH-008, WH-013, WH-014."""

_ACCEPTED_ON_PIMLICO = frozenset(
    {_C.HEX, _C.HEX_UPPER, _C.HEX_LEADING_ZEROS, _C.NUMBER, _C.NUMBER_FLOAT, _C.DECIMAL_STRING}
)
PIMLICO_CHAIN_ID_LABELS: Mapping[ChainIdShape, tuple[WireVerdict, RuleIds]] = MappingProxyType(
    {
        shape: (_W.CHAIN_MATCH, ("WH-055",))
        if shape in _ACCEPTED_ON_PIMLICO
        else (_W.CHAIN_MISMATCH, ("WH-013", "WH-055"))
        for shape in ChainIdShape
    }
)
"""chainId on ``POST /pimlico``: a JSON number, ``0x`` string or decimal string (WH-055)."""
