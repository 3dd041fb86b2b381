"""Corpora on disk: ``corpora/<target>/`` (committed seeds and what fuzzing adds),
``corpora/<target>/crashes/`` (findings), the target's dictionary, and the portable vectors
seeds come from.

File names are the SHA-1 of the content (libFuzzer's convention), so regenerating seeds is
idempotent and a seed is never duplicated; a finding is ``<rule>-<sha1>`` with a sibling
``.txt`` saying what broke and how to replay it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from conformance.fuzz.dictionaries import dictionary_text

CORPORA = Path(__file__).resolve().parents[2] / "corpora"
"""The committed corpora, at the top of the repository."""

CRASHES = "crashes"
DICTIONARY_NAME = "dictionary.txt"


def target_dir(target: str, root: Path | None = None) -> Path:
    """Where ``target``'s corpus lives (``root`` replaces ``corpora/<target>``)."""
    return root if root is not None else CORPORA / target


def entry_name(data: bytes) -> str:
    """A corpus file name: the SHA-1 of its content."""
    return hashlib.sha1(data).hexdigest()


def write_entries(directory: Path, entries: list[bytes]) -> int:
    """Write each entry as ``<sha1>`` under ``directory``; how many were new."""
    directory.mkdir(parents=True, exist_ok=True)
    new = 0
    for data in entries:
        path = directory / entry_name(data)
        if not path.exists():
            path.write_bytes(data)
            new += 1
    return new


def corpus_entries(directory: Path) -> list[Path]:
    """The corpus inputs directly under ``directory`` (not the dictionary, notes or crashes)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir()
                  if p.is_file() and p.name != DICTIONARY_NAME and not p.name.startswith("."))


_FINDING = re.compile(r"[A-Za-z0-9_.-]+-[0-9a-f]{40}")


def crash_entries(directory: Path) -> list[Path]:
    """Findings under ``directory/crashes`` (inputs only, not their ``.txt`` notes)."""
    folder = directory / CRASHES
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and _FINDING.fullmatch(p.name))


def write_dictionary(directory: Path, tokens: tuple[bytes, ...]) -> Path:
    """``directory/dictionary.txt`` in libFuzzer's syntax."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / DICTIONARY_NAME
    path.write_text(dictionary_text(tokens))
    return path


def calldata_vectors() -> list[bytes]:
    """callData of every ``calldata`` vector that is hex (the portable vectors, §3)."""
    from conformance.vectors import _calldata

    found = []
    for case in _calldata.cases():
        text = case.input["callData"]
        if re.fullmatch(r"0x(?:[0-9a-fA-F]{2})*", text):
            found.append(bytes.fromhex(text[2:]))
    return found
