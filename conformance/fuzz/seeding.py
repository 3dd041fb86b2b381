"""Regenerating a target's committed seeds and dictionary (``amc fuzz seeds``): deterministic,
from the hypothesis generators (derandomized) and the portable vectors."""

from __future__ import annotations

from pathlib import Path

from conformance.fuzz.corpus import CORPORA, corpus_entries, target_dir, write_dictionary
from conformance.fuzz.corpus import write_entries as _write
from conformance.fuzz.worker import prepare


def write_seeds(target: str, corpus: Path | None = None) -> tuple[int, int, Path]:
    """Write ``target``'s seeds into its corpus and its dictionary beside it
    (``corpora/<target>.dict``); (new seeds, corpus size, dictionary path)."""
    module = prepare(target)
    directory = target_dir(target, corpus)
    new = _write(directory, module.seeds())
    dictionary = write_dictionary(directory.parent if corpus is None else directory,
                                  tuple(module.DICTIONARY))
    final = dictionary.with_name(f"{target}.dict") if corpus is None else dictionary
    if final != dictionary:
        dictionary.replace(final)
    return new, len(corpus_entries(directory)), final


__all__ = ["CORPORA", "write_seeds"]
