"""Writing an export directory: one JSON file per kind plus ``index.json``.

The bytes are reproducible: fixed keys and seeds, fixed key order, ``indent=2``, UTF-8, one
trailing newline, and no timestamps. ``index.json`` names the format, the suite version, the
rule catalogue's digest and each file's vector count and sha256.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance import __version__
from conformance.errors import UsageError
from conformance.rules import load_catalogue
from conformance.vectors.build import (
    build_vectors,
    file_document,
    index_document,
    select_kinds,
)
from conformance.vectors.model import Json

INDEX_FILE = "index.json"


@dataclass(frozen=True)
class ExportedFile:
    """One file written: its kind, name, vector count and sha256 (hex)."""

    kind: str
    file: str
    count: int
    sha256: str


@dataclass(frozen=True)
class ExportSummary:
    """What ``export_vectors`` wrote."""

    directory: Path
    files: tuple[ExportedFile, ...]

    @property
    def vector_count(self) -> int:
        """Vectors across every file."""
        return sum(f.count for f in self.files)


def dump_json(document: Json) -> bytes:
    """The canonical bytes of a document (indent 2, UTF-8, trailing newline)."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def render_export(kinds: Sequence[str] = ()) -> dict[str, bytes]:
    """Every file of an export by name, ``index.json`` last (pure: nothing is written)."""
    out: dict[str, bytes] = {}
    entries = []
    for kind in select_kinds(kinds):
        vectors = build_vectors(kind)
        data = dump_json(file_document(kind, vectors))
        out[kind.file] = data
        entries.append((kind, len(vectors), hashlib.sha256(data).hexdigest()))
    index = index_document(entries, suite_version=__version__,
                           catalogue_digest=load_catalogue().digest)
    out[INDEX_FILE] = dump_json(index)
    return out


def _prepare(directory: Path, force: bool) -> None:
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"DIR={directory}: exists and is not a directory")
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise UsageError(f"DIR={directory}: not empty (use --force to overwrite)")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"DIR={directory}: cannot create it ({exc.strerror})") from None


def export_vectors(
    directory: Path | str, kinds: Sequence[str] = (), *, force: bool = False
) -> ExportSummary:
    """Write the vectors of ``kinds`` (all when empty) into ``directory``.

    The directory is created when missing; an existing non-empty one is refused (UsageError)
    unless ``force``, which overwrites the vector files and ``index.json`` and leaves any
    other file alone. Everything is built before anything is written.
    """
    directory = Path(directory)
    rendered = render_export(kinds)
    _prepare(directory, force)
    for name, data in rendered.items():
        (directory / name).write_bytes(data)
    index = json.loads(rendered[INDEX_FILE])
    files = tuple(ExportedFile(e["kind"], e["file"], e["count"], e["sha256"])
                  for e in index["files"])
    return ExportSummary(directory, files)
