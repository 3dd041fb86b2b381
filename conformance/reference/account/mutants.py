"""Mutants of the reference contracts: named one-patch edits of one source file (ARCHITECTURE.md
"How the suite proves itself"). Each breaks the rules it names in ``breaks``; ``also_fails``
names the rules it breaks as a consequence (a test expectation, not part of the patch)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
MUTANTS_TOML = HERE / "mutants.toml"
_KEYS = frozenset({"name", "breaks", "description", "file", "find", "replace"})
_OPTIONAL_KEYS = frozenset({"also_fails"})


class MutantError(ValueError):
    """mutants.toml is malformed, or a patch does not apply exactly once."""


@dataclass(frozen=True)
class Mutant:
    """One textual patch: replace the only occurrence of ``find`` in ``file`` by ``replace``.

    ``breaks`` are the rules the patch is meant to break; ``also_fails`` the rules it breaks as
    a consequence, which the suite must FAIL too (e.g. a gate's fault seen by the order check).
    """

    name: str
    breaks: tuple[str, ...]
    description: str
    file: str
    find: str
    replace: str
    also_fails: tuple[str, ...] = ()

    def apply(self, source: str) -> str:
        """``source`` with the patch applied; MutantError unless ``find`` occurs exactly once."""
        count = source.count(self.find)
        if count != 1:
            raise MutantError(
                f"mutant={self.name!r}: find string occurs {count} times in {self.file}"
                f" (must be exactly once): {self.find!r}"
            )
        return source.replace(self.find, self.replace)

    def as_dict(self) -> dict[str, object]:
        """The patch as its artifact records it. ``also_fails`` is left out: it is an
        expectation about the suite, so changing it needs no rebuild."""
        return {
            "name": self.name,
            "breaks": list(self.breaks),
            "description": self.description,
            "file": self.file,
            "find": self.find,
            "replace": self.replace,
        }


def _rule_ids(entry: dict[str, object], key: str, index: int, *, empty: bool) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise MutantError(f"mutant #{index}: {key}={value!r} must be a list of rule ids")
    if not value and not empty:
        raise MutantError(f"mutant #{index}: {key} must be a non-empty list of rule ids")
    return tuple(value)


def _mutant_from(entry: dict[str, object], index: int) -> Mutant:
    keys = set(entry)
    if not _KEYS <= keys <= _KEYS | _OPTIONAL_KEYS:
        raise MutantError(
            f"mutant #{index}: keys={sorted(entry)}, expected {sorted(_KEYS)}"
            f" and optionally {sorted(_OPTIONAL_KEYS)}"
        )
    breaks = _rule_ids(entry, "breaks", index, empty=False)
    also_fails = _rule_ids(entry, "also_fails", index, empty=True)
    overlap = sorted(set(breaks) & set(also_fails))
    if overlap:
        raise MutantError(f"mutant #{index}: also_fails repeats breaks {overlap}")
    fields = {k: entry[k] for k in ("name", "description", "file", "find", "replace")}
    if not all(isinstance(v, str) for v in fields.values()):
        raise MutantError(f"mutant #{index}: name, description, file, find, replace are strings")
    return Mutant(breaks=breaks, also_fails=also_fails, **fields)  # type: ignore[arg-type]


def load_mutants(path: Path = MUTANTS_TOML) -> tuple[Mutant, ...]:
    """Every mutant of ``mutants.toml``, in file order; names are unique."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    entries = data.get("mutant", [])
    mutants = tuple(_mutant_from(entry, i) for i, entry in enumerate(entries))
    names = [m.name for m in mutants]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise MutantError(f"duplicate mutant names: {duplicates}")
    return mutants


def mutate_sources(sources: dict[str, str], mutant: Mutant) -> dict[str, str]:
    """A copy of ``sources`` (source unit name → text) with ``mutant`` applied to its file."""
    if mutant.file not in sources:
        raise MutantError(f"mutant={mutant.name!r}: file={mutant.file!r} is not a reference source")
    patched = dict(sources)
    patched[mutant.file] = mutant.apply(sources[mutant.file])
    return patched


def list_mutants() -> list[dict[str, object]]:
    """JSON-ready mutants for ``amc mutants list --component account``: name, breaks,
    also_fails (empty when none), description."""
    return [
        {
            "name": m.name,
            "breaks": list(m.breaks),
            "also_fails": list(m.also_fails),
            "description": m.description,
        }
        for m in load_mutants()
    ]
