"""Re-verifying an export directory (``amc vectors check``): recompute every vector.

For each file ``index.json`` lists: the file exists, its sha256 and vector count match the
index, and every vector is well-formed, names only rules of the catalogue and has the
``expected`` the suite's code computes from its ``input``. A directory that cannot be read as
an export at all (no index, another format or version) is a UsageError (exit 2); everything
else is reported as a mismatch (exit 1).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.errors import UsageError
from conformance.rules import Catalogue, load_catalogue
from conformance.vectors.build import FORMAT_NAME, FORMAT_VERSION, KINDS
from conformance.vectors.export import INDEX_FILE
from conformance.vectors.model import Kind, VectorInputError

VECTOR_KEYS = ("name", "description", "rule_ids", "input", "expected")
_MAX_DIFFS = 3


@dataclass(frozen=True)
class Mismatch:
    """One problem found: the file, the vector (empty for file-level problems), what differs."""

    file: str
    vector: str
    detail: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.vector}" if self.vector else self.file
        return f"{where}: {self.detail}"


@dataclass(frozen=True)
class CheckReport:
    """The outcome of ``check_vectors``."""

    files: int
    vectors: int
    mismatches: tuple[Mismatch, ...]
    notes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when nothing differs."""
        return not self.mismatches


def _load(path: Path) -> Any:
    return json.loads(path.read_bytes().decode("utf-8"))


def _read_index(directory: Path) -> Mapping[str, Any]:
    path = directory / INDEX_FILE
    if not directory.is_dir():
        raise UsageError(f"DIR={directory}: no such directory")
    try:
        index = _load(path)
    except FileNotFoundError:
        raise UsageError(f"DIR={directory}: no {INDEX_FILE} (not a vector export)") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{path}: not JSON ({exc})") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT_NAME:
        raise UsageError(f"{path}: format is not {FORMAT_NAME!r}")
    if index.get("format_version") != FORMAT_VERSION:
        raise UsageError(f"{path}: format_version={index.get('format_version')!r}, this suite "
                         f"reads {FORMAT_VERSION}")
    if not isinstance(index.get("files"), list):
        raise UsageError(f"{path}: 'files' is not a list")
    return index


def diff(expected: Any, actual: Any, path: str = "expected") -> Iterator[str]:
    """Paths where ``actual`` (the file) differs from ``expected`` (recomputed)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in list(expected) + [k for k in actual if k not in expected]:
            if key not in actual:
                yield f"{path}.{key}: missing (suite computes {expected[key]!r})"
            elif key not in expected:
                yield f"{path}.{key}: unexpected key"
            else:
                yield from diff(expected[key], actual[key], f"{path}.{key}")
    elif expected != actual or type(expected) is not type(actual):
        yield f"{path}: file has {actual!r}, suite computes {expected!r}"


def _check_vector(kind: Kind, vector: Any, catalogue: Catalogue) -> Iterator[str]:
    if not isinstance(vector, dict) or set(vector) != set(VECTOR_KEYS):
        yield f"not an object with exactly the keys {', '.join(VECTOR_KEYS)}"
        return
    rule_ids = vector["rule_ids"]
    if not isinstance(rule_ids, list) or not rule_ids:
        yield "rule_ids: must be a non-empty list"
    else:
        unknown = [r for r in rule_ids if r not in catalogue]
        if unknown:
            yield f"rule_ids: {unknown} not in the catalogue"
    try:
        recomputed = kind.evaluate(vector["input"])
    except (VectorInputError, ValueError, TypeError, KeyError) as exc:
        yield f"input: cannot be evaluated ({exc})"
        return
    yield from list(diff(recomputed, vector["expected"]))[:_MAX_DIFFS]


def _check_file(directory: Path, entry: Any, catalogue: Catalogue) -> tuple[int, list[Mismatch]]:
    if not isinstance(entry, dict) or entry.get("kind") not in KINDS:
        return 0, [Mismatch(INDEX_FILE, "", f"unknown file entry {entry!r}")]
    kind = KINDS[entry["kind"]]
    path = directory / kind.file
    if not path.is_file():
        return 0, [Mismatch(kind.file, "", "listed in index.json but missing")]
    data = path.read_bytes()
    found: list[Mismatch] = []
    if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
        found.append(Mismatch(kind.file, "", "sha256 differs from index.json (edited?)"))
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return 0, [*found, Mismatch(kind.file, "", f"not JSON ({exc})")]
    vectors = document.get("vectors") if isinstance(document, dict) else None
    if not isinstance(vectors, list) or document.get("kind") != kind.name:
        return 0, [*found, Mismatch(kind.file, "", f"not a {kind.name} vector file")]
    if len(vectors) != entry.get("count"):
        found.append(Mismatch(kind.file, "", f"{len(vectors)} vectors, index.json says "
                              f"{entry.get('count')}"))
    for position, vector in enumerate(vectors):
        name = vector.get("name") if isinstance(vector, dict) else None
        label = str(name) if name else f"vector #{position}"
        found += [Mismatch(kind.file, label, d) for d in _check_vector(kind, vector, catalogue)]
    return len(vectors), found


def check_vectors(directory: Path | str) -> CheckReport:
    """Re-verify an export directory with the suite's code (see the module docstring)."""
    directory = Path(directory)
    index = _read_index(directory)
    catalogue = load_catalogue()
    notes = []
    if index.get("catalogue_digest") != catalogue.digest:
        notes.append(f"exported with rule catalogue {index.get('catalogue_digest')}, "
                     f"this suite has {catalogue.digest}")
    total, mismatches = 0, []
    for entry in index["files"]:
        count, found = _check_file(directory, entry, catalogue)
        total += count
        mismatches += found
    return CheckReport(len(index["files"]), total, tuple(mismatches), tuple(notes))
