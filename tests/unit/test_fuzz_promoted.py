"""Fuzzer findings promoted with ``amc fuzz promote`` (corpora/promoted.json), each an explicit
example of its rule's check, forever: the reference passes it on its target, and the plant it
was found with (if any) still fails it. Calldata findings are also portable vectors
(conformance/vectors/_calldata.py) checked by tests/unit/test_vectors.py.
"""

from __future__ import annotations

import pytest

from conformance.fuzz.findings import judge
from conformance.fuzz.promote import load_promoted
from conformance.fuzz.worker import prepare
from conformance.protocol.webhook_wire import KeyDerivation, SecretFormatError, derive_hmac_key

PROMOTED = load_promoted()


@pytest.mark.parametrize("entry", PROMOTED, ids=[e["name"] for e in PROMOTED])
def test_promoted_finding_passes_the_reference(entry: dict[str, object]) -> None:
    data = bytes.fromhex(str(entry["input"]))
    assert judge(prepare(str(entry["target"])), data) is None
    if entry.get("planted"):
        assert judge(prepare(str(entry["target"]), plant=str(entry["planted"])), data) is not None


def test_the_promoted_list_names_targets_and_rules() -> None:
    assert PROMOTED, "corpora/promoted.json holds the webhook_signature finding at least"
    for entry in PROMOTED:
        assert entry["rules"] and entry["target"] and bytes.fromhex(str(entry["input"]))


@pytest.mark.parametrize("derivation", list(KeyDerivation))
def test_a_non_ascii_secret_is_a_secret_format_error_wh057(derivation: KeyDerivation) -> None:
    """Found by the webhook_signature target: ``whsec_`` + non-ASCII text raised ValueError
    from base64 instead of SecretFormatError (a 500 instead of a configuration error)."""
    with pytest.raises(SecretFormatError):
        derive_hmac_key("whsec_fKQ9r8\u06e6YqrTwjUPD8ILPZIo2LaLaSw", derivation)
