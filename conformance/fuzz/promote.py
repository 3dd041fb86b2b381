"""Promoting a finding (``amc fuzz promote CRASH``): the input joins ``corpora/promoted.json``,
from which ``amc vectors`` exports it as a portable vector (calldata targets) and
tests/unit/test_fuzz_promoted.py runs it as an explicit example of the rule's check, forever;
it is also copied into the target's corpus so ``amc fuzz replay`` runs it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from conformance.errors import UsageError
from conformance.fuzz.corpus import CORPORA, target_dir, write_entries
from conformance.fuzz.targets import describe, require_target

PROMOTED = CORPORA / "promoted.json"
"""The promoted findings (read by the calldata vectors and the promoted-examples test)."""

CALLDATA_TARGETS = frozenset({"execute_calldata", "decoder_agreement", "candidate_decoder"})
"""Targets whose input is an ``execute`` callData: their findings are calldata vectors."""


def read_note(crash: Path) -> dict[str, str]:
    """The ``key: value`` lines of a finding's ``.txt`` note."""
    note = crash.with_name(crash.name + ".txt")
    if not crash.is_file() or not note.is_file():
        raise UsageError(f"CRASH={crash}: not a finding (needs the file and its .txt note)")
    pairs = (line.split(": ", 1) for line in note.read_text().splitlines() if ": " in line)
    return {key: value for key, value in pairs}


def load_promoted(path: Path = PROMOTED) -> list[dict[str, Any]]:
    """Every promoted entry."""
    if not path.is_file():
        return []
    return list(json.loads(path.read_text()).get("promoted", []))


def promote(crash: Path, *, path: Path = PROMOTED, corpus: Path | None = None) -> dict[str, Any]:
    """Add ``crash`` to the promoted findings (idempotent); the entry."""
    note = read_note(crash)
    target = require_target(note.get("target", ""))
    data = crash.read_bytes()
    rule = note.get("rule", "")
    rules = [rule] if rule[:2].isalpha() and "-" in rule else list(describe(target)[0][:1])
    entry = {"name": f"{target}-{rule}-{hashlib.sha1(data).hexdigest()[:12]}", "target": target,
             "rule": rule, "rules": rules, "what": note.get("what", ""),
             "planted": note.get("plant"), "input": data.hex(),
             "vector": target in CALLDATA_TARGETS}
    entries = [e for e in load_promoted(path) if e["name"] != entry["name"]] + [entry]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"promoted": sorted(entries, key=lambda e: e["name"])},
                               indent=1) + "\n")
    if target in CALLDATA_TARGETS or corpus is not None:
        write_entries(target_dir(target, corpus), [data])
    return entry
