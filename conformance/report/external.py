"""Large failure values kept beside ``results.json``, not in it (issue 7 §8; schema 2.0).

A failure's ``minimal_input`` or ``reproducer`` whose JSON form is over ``LIMIT`` bytes goes to
a file of the report directory and ``results.json`` holds a pointer of exactly this shape::

    {"external": "<path relative to the report dir>", "sha256": "<hex of the file bytes>",
     "bytes": N}

A string is written as its UTF-8 text (``.txt``: a reproducer stays a runnable script), any
other value as JSON (``.json``). Files are named by their sha256, so writing twice is harmless
and equal values share one file. ``resolve`` is the reader: it gives back the original value
of either form and refuses a file whose bytes do not match the pointer.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conformance.errors import UsageError
from conformance.report.model import Failure, RunResults

LIMIT = 4096
"""Bytes of serialised JSON above which a value is written to its own file."""
EXTERNAL_DIR = "external"
"""Folder of the report directory holding the files."""
_KEYS = frozenset({"external", "sha256", "bytes"})


class ExternalValueError(UsageError, ValueError):
    """A pointer whose file is missing, outside the report directory or not what it claims
    (bad input to a reader such as ``amc replay``: one line, exit 2)."""


def is_pointer(value: Any) -> bool:
    """Whether ``value`` has the pointer shape (exactly the three keys)."""
    return isinstance(value, Mapping) and set(value) == _KEYS


def externalize(value: Any, report_dir: Path, *, limit: int = LIMIT) -> Any:
    """``value`` itself when small, else the pointer to the file now holding it.

    A small value that happens to look like a pointer is written out too, so a pointer in
    ``results.json`` is never ambiguous.
    """
    if value is None:
        return None
    serialised = json.dumps(value, ensure_ascii=False, sort_keys=True, allow_nan=False)
    if len(serialised.encode("utf-8")) <= limit and not _looks_like_pointer(value):
        return value
    if isinstance(value, str):
        data, suffix = value.encode("utf-8"), ".txt"
    else:
        data, suffix = (serialised + "\n").encode("utf-8"), ".json"
    digest = hashlib.sha256(data).hexdigest()
    relative = f"{EXTERNAL_DIR}/{digest}{suffix}"
    path = Path(report_dir) / relative
    if not (path.is_file() and path.stat().st_size == len(data)):
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + f".{os.getpid()}.part")
        partial.write_bytes(data)
        partial.replace(path)
    return {"external": relative, "sha256": digest, "bytes": len(data)}


def resolve(value: Any, report_dir: Path) -> Any:
    """The original value of ``value``: itself, or the content of the file it points to.

    ``ExternalValueError`` (one line) when the file is missing, lies outside ``report_dir`` or
    its bytes do not match the pointer's size and sha256.
    """
    if not is_pointer(value):
        return value
    base = Path(report_dir).resolve()
    relative = str(value["external"])
    path = (base / relative).resolve()
    if not path.is_relative_to(base):
        raise ExternalValueError(f"external value {relative!r} lies outside {base}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ExternalValueError(
            f"external value {relative}: cannot read it under {base} ({exc.strerror})"
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != value["sha256"] or len(data) != value["bytes"]:
        raise ExternalValueError(
            f"external value {relative}: sha256 {digest} ({len(data)} bytes) does not match the "
            f"pointer's {value['sha256']} ({value['bytes']} bytes): the file was changed"
        )
    text = data.decode("utf-8")
    return text if path.suffix == ".txt" else json.loads(text)


def externalize_run(run: RunResults, report_dir: Path, *, limit: int = LIMIT) -> RunResults:
    """A copy of ``run`` whose large failure values are pointers to files now written."""

    def slim(failure: Failure) -> Failure:
        return dataclasses.replace(
            failure,
            minimal_input=externalize(failure.minimal_input, report_dir, limit=limit),
            reproducer=externalize(failure.reproducer, report_dir, limit=limit),
        )

    results = [dataclasses.replace(r, failures=[slim(f) for f in r.failures])
               for r in run.results]
    return dataclasses.replace(run, results=results)


def describe(value: Any) -> str | None:
    """``"<bytes> bytes in <path>"`` for a pointer (what a terminal or JUnit shows), else None."""
    if not is_pointer(value):
        return None
    return f"{value['bytes']} bytes in {value['external']} (sha256 {value['sha256'][:12]}…)"


def _looks_like_pointer(value: Any) -> bool:
    return isinstance(value, Mapping) and "external" in value
