"""``amc vectors export DIR`` and ``amc vectors check DIR``: portable JSON test vectors."""

from __future__ import annotations

import argparse
from pathlib import Path

from conformance.vectors import KIND_NAMES


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("vectors", help="write or re-verify portable JSON test vectors")
    verbs = p.add_subparsers(dest="vectors_command", required=True, metavar="{export,check}")
    export = verbs.add_parser("export", help="write one JSON file per kind plus index.json")
    export.add_argument("directory", metavar="DIR", type=Path, help="created when missing")
    export.add_argument("--kind", action="append", default=[], metavar="K",
                        help=f"only this kind (repeatable): {', '.join(KIND_NAMES)}")
    export.add_argument("--force", action="store_true",
                        help="write into a non-empty DIR, overwriting the vector files")
    export.set_defaults(handler=export_command)
    check = verbs.add_parser("check", help="recompute every vector of DIR with the suite's code")
    check.add_argument("directory", metavar="DIR", type=Path)
    check.set_defaults(handler=check_command)


def export_command(args: argparse.Namespace) -> int:
    from conformance.vectors import export_vectors

    summary = export_vectors(args.directory, args.kind, force=args.force)
    for f in summary.files:
        print(f"{f.file:<26} {f.count:>4} vectors  sha256 {f.sha256[:16]}…")
    print(f"wrote {summary.vector_count} vectors in {len(summary.files)} files and index.json "
          f"to {summary.directory}")
    return 0


def check_command(args: argparse.Namespace) -> int:
    from conformance.vectors import check_vectors

    report = check_vectors(args.directory)
    for note in report.notes:
        print(f"note: {note}")
    for mismatch in report.mismatches:
        print(f"MISMATCH {mismatch}")
    verdict = "ok" if report.ok else f"{len(report.mismatches)} mismatch(es)"
    print(f"checked {report.vectors} vectors in {report.files} files: {verdict}")
    return 0 if report.ok else 1
