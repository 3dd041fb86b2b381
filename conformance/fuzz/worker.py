"""The process libFuzzer runs: ``python -m conformance.fuzz.worker [libFuzzer flags] [DIRS]``.

Which target (and plant, candidate, EVM feedback) comes from the environment, because libFuzzer's
fork mode re-runs ``argv[0]`` with flags of its own: ``AMC_FUZZ_TARGET``, ``AMC_FUZZ_PLANT``,
``AMC_FUZZ_CANDIDATE`` (``pkg.module:function``), ``AMC_FUZZ_EVM_FEEDBACK`` (``1``) and
``AMC_FUZZ_ARGV0`` (the executable wrapper fork mode starts). The target's modules under
``conformance`` are instrumented for coverage as they are imported.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType


def prepare(target: str, *, plant: str | None = None, candidate: str | None = None,
            feedback: bool = False) -> ModuleType:
    """Import ``target`` (with the plant or candidate installed) and run its setup."""
    from conformance.fuzz.base import FEEDBACK
    from conformance.fuzz.targets import load_target

    module = load_target(target, fresh=bool(plant or candidate))
    if plant:
        from conformance.fuzz.planted import plant_into

        plant_into(module, plant)
    if candidate:
        from conformance.fuzz.candidates import install_candidate

        install_candidate(module, candidate)
    if feedback:
        FEEDBACK.enable()
    module.setup()
    return module


def main() -> None:
    """Instrument, prepare the target, hand control to libFuzzer (never returns)."""
    import atheris

    env = os.environ
    target = env["AMC_FUZZ_TARGET"]
    with atheris.instrument_imports(include=["conformance.protocol", "conformance.reference",
                                             "conformance.oracle", "conformance.fuzz"]):
        module = prepare(target, plant=env.get("AMC_FUZZ_PLANT") or None,
                         candidate=env.get("AMC_FUZZ_CANDIDATE") or None,
                         feedback=env.get("AMC_FUZZ_EVM_FEEDBACK") == "1")
    argv = [env.get("AMC_FUZZ_ARGV0", sys.argv[0]), *sys.argv[1:]]
    mutator = getattr(module, "MUTATOR", None)
    if mutator is not None and env.get("AMC_FUZZ_PLAIN_MUTATOR") != "1":
        atheris.Setup(argv, module.TestOneInput, custom_mutator=mutator)
    else:
        atheris.Setup(argv, module.TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
