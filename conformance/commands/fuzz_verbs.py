"""The verbs of ``amc fuzz`` (see ``fuzz_cmd``): thin printing layers over ``conformance.fuzz``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from conformance.errors import UsageError


def _config(args: argparse.Namespace, target: str, **extra: object):  # type: ignore[no-untyped-def]
    from conformance.fuzz.run_config import FuzzConfig

    return FuzzConfig(target, seconds=args.seconds, workers=args.workers, corpus=args.corpus,
                      seed=args.seed, plant=args.plant, candidate=args.candidate,
                      evm_feedback=not args.no_evm_feedback, **extra)  # type: ignore[arg-type]


def run_verb(args: argparse.Namespace, target: str, *, note: str | None = None,
             **extra: object) -> int:
    """``amc fuzz TARGET``: fuzz, print progress and findings; 1 when something was found."""
    from conformance.commands.fuzz_cmd import ProgressPrinter
    from conformance.fuzz.runner import fuzz

    config = _config(args, target, **extra)
    if args.plant:
        from conformance.fuzz.planted import plant_into
        from conformance.fuzz.targets import load_target

        plant_into(load_target(target), args.plant)  # validates the name before starting
    print(f"fuzzing {target} for {config.seconds}s with {config.workers} worker(s); corpus "
          f"{config.corpus_dir}; EVM feedback {'on' if config.evm_feedback else 'off'}")
    if note:
        print(note)
    printer = ProgressPrinter()
    summary = fuzz(config, printer)
    printer.done()
    state = "interrupted" if summary.interrupted else "done"
    print(f"{state} after {summary.seconds:.0f}s: {summary.executions:,} executions, coverage "
          f"{summary.coverage}, corpus {summary.corpus_size}, findings {len(summary.findings)}")
    for path in summary.findings:
        note_path = path.with_name(path.name + ".txt")
        lines = note_path.read_text().splitlines() if note_path.exists() else []
        what = next((x for x in lines if x.startswith("what: ")), "")
        replay = next((x for x in lines if x.startswith("replay: ")), "")
        print(f"FINDING {path.name}  {what[6:]}\n  {replay}")
    return 1 if summary.findings else 0


def list_verb(args: argparse.Namespace) -> int:
    """``amc fuzz list``: targets with their rules, then the planted bugs."""
    from conformance.fuzz.planted import plants
    from conformance.fuzz.targets import TARGETS, describe

    for name in TARGETS:
        rules, summary = describe(name)
        print(f"{name:<20} {', '.join(rules)}")
        print(f"{'':<20} {summary}")
    print("\nplanted bugs (amc fuzz TARGET --plant NAME; amc bench --only fuzz):")
    for plant in plants().values():
        print(f"  {plant.name:<34} {plant.target:<18} {plant.description}")
    print("\ncandidates: amc fuzz decoder --callable pkg.module:function | "
          "amc fuzz account --artifact FILE | amc fuzz webhook (--url|--launch|--reference)")
    return 0


def replay_verb(args: argparse.Namespace) -> int:
    """``amc fuzz replay [TARGET] [--input FILE]``: 0 when every input passes."""
    import os

    from conformance.fuzz.replay import replay_input, replay_target
    from conformance.fuzz.targets import TARGETS, require_target

    if args.artifact:  # a finding of amc fuzz account: the same candidate account
        if not Path(args.artifact).is_file():
            raise UsageError(f"--artifact={args.artifact}: no such file")
        os.environ["AMC_FUZZ_ACCOUNT_ARTIFACT"] = str(Path(args.artifact).resolve())

    if args.input is not None:
        if args.arg is None:
            raise UsageError("fuzz replay --input: name the TARGET too")
        if not args.input.is_file():
            raise UsageError(f"--input={args.input}: no such file")
        outcome = replay_input(require_target(args.arg), args.input, plant=args.plant,
                               candidate=args.candidate)
        if outcome is None:
            print(f"{args.input}: passes on {args.arg}")
            return 0
        print(f"{args.input}: {outcome.rule}: {outcome.message}"
              + (f" (raised at {outcome.where})" if outcome.where else ""))
        return 1
    names = [require_target(args.arg)] if args.arg else list(TARGETS)
    failed = 0
    for name in names:
        corpus = args.corpus if args.arg else (args.corpus / name if args.corpus else None)
        result = replay_target(name, corpus, plant=args.plant, candidate=args.candidate)
        verdict = "ok" if result.ok else f"{len(result.failures)} FAILED"
        print(f"{name:<20} {result.entries:>5} entries  {result.crashes:>3} past findings  "
              f"{verdict}")
        for path, outcome in result.failures:
            print(f"  FAIL {path}: {outcome.rule}: {outcome.message}")
        failed += len(result.failures)
    return 1 if failed else 0


def seeds_verb(args: argparse.Namespace) -> int:
    """``amc fuzz seeds [TARGET]``: regenerate seeds (deterministic) and dictionaries."""
    from conformance.fuzz.seeding import write_seeds
    from conformance.fuzz.targets import TARGETS, require_target

    for name in [require_target(args.arg)] if args.arg else list(TARGETS):
        corpus = args.corpus if args.arg and args.corpus else None
        new, total, dictionary = write_seeds(name, corpus)
        print(f"{name:<20} {total:>4} seeds ({new} new)  dictionary {dictionary}")
    return 0


def promote_verb(args: argparse.Namespace) -> int:
    """``amc fuzz promote CRASH``: a finding → portable vector + explicit example."""
    from conformance.fuzz.promote import promote

    if args.arg is None:
        raise UsageError("fuzz promote: name the CRASH file (corpora/<target>/crashes/...)")
    entry = promote(Path(args.arg))
    print(f"promoted {entry['name']} ({entry['target']}, {entry['rule']}) to "
          f"corpora/promoted.json: replayed by tests/unit/test_fuzz_promoted.py"
          + ("; exported as a calldata vector by amc vectors" if entry.get("vector") else ""))
    return 0


def decoder_verb(args: argparse.Namespace) -> int:
    """``amc fuzz decoder --callable pkg.module:function``."""
    if not args.candidate:
        raise UsageError("fuzz decoder: --callable pkg.module:function is required")
    from conformance.fuzz.candidates import resolve_callable

    resolve_callable(args.candidate)  # one-line error before anything starts
    return run_verb(args, "candidate_decoder")


def account_verb(args: argparse.Namespace) -> int:
    """``amc fuzz account --artifact FILE``: decoder_agreement against that account."""
    if not args.artifact:
        raise UsageError("fuzz account: --artifact FILE is required")
    artifact = Path(args.artifact)
    if not artifact.is_file():
        raise UsageError(f"--artifact={args.artifact}: no such file")
    from conformance.targets.account_artifact import load_account_artifact

    load_account_artifact(str(artifact))
    return run_verb(args, "decoder_agreement",
                    extra_env={"AMC_FUZZ_ACCOUNT_ARTIFACT": str(artifact.resolve())})


def webhook_verb(args: argparse.Namespace) -> int:
    """``amc fuzz webhook (--url URL | --launch CMD | --reference)``."""
    chosen = [x for x in (args.url, args.launch, args.reference or None) if x]
    if len(chosen) != 1:
        raise UsageError("fuzz webhook: give exactly one of --url, --launch, --reference")
    from conformance.fuzz.webhook_http import fuzz_webhook

    return fuzz_webhook(url=args.url, launch=args.launch, reference=args.reference,
                        seconds=args.seconds, corpus=args.corpus, seed=args.seed,
                        out=sys.stdout)
