"""The account rules' input-class table (issue 7 §9): every account rule has its classes
written down with where they are pinned, every check it cites exists, and each signature class
is the class PROTOCOL.md §2 says (classified independently by ``classify_signature``)."""

from __future__ import annotations

import re
from pathlib import Path

from conformance.protocol.signatures import SignatureClass, classify_signature, sign_digest
from conformance.rules import load_catalogue
from conformance.suites.account._classes import (
    INPUT_CLASSES,
    SIGNATURE_CLASSES,
    signature_classes,
)

SUITE = Path(__file__).parents[2] / "conformance/suites/account"


def test_every_account_rule_has_its_classes_written_down() -> None:
    rules = {r.id for r in load_catalogue().for_component("account")}
    assert set(INPUT_CLASSES) == rules


def test_every_cited_check_exists() -> None:
    checks = set(re.findall(r"^def (test_\w+)", "\n".join(
        p.read_text() for p in SUITE.glob("test_*.py")), re.M))
    for rule, (_classes, pinned) in INPUT_CLASSES.items():
        for name in re.findall(r"test_\w+", pinned):
            assert name in checks, f"{rule}: {name}"


def test_signature_classes_are_what_they_say() -> None:
    digest = bytes(range(32))
    genuine, other = sign_digest(0xA11CE, digest), sign_digest(0xB0B, digest)
    built = signature_classes(genuine, other)
    assert set(built) == set(SIGNATURE_CLASSES)
    for name, signature in built.items():
        verdict = classify_signature(signature, digest)
        assert (verdict is SignatureClass.VALID) == name.startswith("valid"), (name, verdict)
