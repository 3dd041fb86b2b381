"""Hypothesis strategies for valid and malformed protocol inputs, per input kind.

Valid strategies draw plain values (bytes, UserOperations, proof cases); every malformed
strategy draws a ``Malformed`` case: the value, the ``kind`` of malformation, the rule ids it
exercises and what the reference reader must say about it (``conformance.strategies.labels``).
Options are keyword-only and validated when the strategy is built (``InvalidArgument``).

Layering (ARCHITECTURE.md): imports only ``conformance.protocol``, ``profiles`` and ``rules``.
"""

from __future__ import annotations

from conformance.strategies.calldata import execute_calldata, execute_calls, inner_calls
from conformance.strategies.calldata_texts import HexText, malformed_calldata_texts
from conformance.strategies.chain_ids import ChainIdCase, chain_id_forms
from conformance.strategies.keys import (
    KEY_POOL,
    POOL_ADDRESSES,
    addresses,
    distinct_private_keys,
    key_pairs,
    private_keys,
)
from conformance.strategies.labels import (
    BodyFlaw,
    CalldataExpectation,
    CalldataFlaw,
    ChainIdShape,
    HexTextFlaw,
    HexTextVerdict,
    Malformed,
    OperatorProofFlaw,
    ProofFlaw,
    SignatureFlaw,
    WireVerdict,
)
from conformance.strategies.malformed_calldata import malformed_execute_calldata
from conformance.strategies.operator_proofs import (
    OperatorProofCase,
    broken_operator_proofs,
    operator_proofs,
)
from conformance.strategies.proofs import DstackProofCase, broken_dstack_proofs, dstack_proofs
from conformance.strategies.signatures import (
    SignedDigest,
    malformed_signatures,
    signatures,
    signed_digests,
)
from conformance.strategies.userops import nonces, user_operations
from conformance.strategies.webhook_bodies import (
    alchemy_bodies,
    malformed_alchemy_bodies,
    malformed_pimlico_events,
    pimlico_events,
)

__all__ = [
    "BodyFlaw",
    "CalldataExpectation",
    "CalldataFlaw",
    "ChainIdCase",
    "ChainIdShape",
    "DstackProofCase",
    "HexText",
    "HexTextFlaw",
    "HexTextVerdict",
    "KEY_POOL",
    "Malformed",
    "OperatorProofCase",
    "OperatorProofFlaw",
    "POOL_ADDRESSES",
    "ProofFlaw",
    "SignatureFlaw",
    "SignedDigest",
    "WireVerdict",
    "addresses",
    "alchemy_bodies",
    "broken_dstack_proofs",
    "broken_operator_proofs",
    "chain_id_forms",
    "distinct_private_keys",
    "dstack_proofs",
    "execute_calldata",
    "execute_calls",
    "inner_calls",
    "key_pairs",
    "malformed_alchemy_bodies",
    "malformed_calldata_texts",
    "malformed_execute_calldata",
    "malformed_pimlico_events",
    "malformed_signatures",
    "nonces",
    "operator_proofs",
    "pimlico_events",
    "private_keys",
    "signatures",
    "signed_digests",
    "user_operations",
]
