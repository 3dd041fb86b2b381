"""``amc report``: re-render reports, compare releases, baselines, the matrix, attestations."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

from conformance.errors import UsageError
from conformance.report.baseline import Baseline
from conformance.report.model import RunResults

_DIFF_EXAMPLES = """examples:
  amc report diff reports/v2.3/ reports/v2.4/
  amc report diff old/results.json new/results.json --baseline known.toml --format markdown
"""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("report", help="render, compare, gate, tabulate or attest runs")
    verbs = p.add_subparsers(dest="report_verb", required=True, parser_class=type(p))
    render = verbs.add_parser("render", help="write junit.xml and report.html from results.json")
    render.add_argument("results", type=Path, help="a results.json or the run's folder")
    render.add_argument("--out", type=Path, default=None, help="output folder (default: beside)")
    render.set_defaults(handler=render_command)
    _register_diff(verbs)
    _register_baseline(verbs)
    _register_matrix(verbs)
    _register_attest(verbs)


def _register_diff(verbs: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    diff = verbs.add_parser(
        "diff", help="compare a release's results with the previous one (exit 1: regression)",
        epilog=_DIFF_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    diff.add_argument("old", type=Path, help="the previous release: results.json or its folder")
    diff.add_argument("new", type=Path, help="this release: results.json or its folder")
    diff.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                      help="markdown: for a pull-request comment (default: text)")
    diff.add_argument("--baseline", type=Path, default=None,
                      help="known-deviation baseline (TOML) the new run is judged against")
    diff.add_argument("--allow-coverage-loss", action="store_true",
                      help="rules no longer judged do not fail the gate")
    diff.add_argument("--allow-different-component", action="store_true",
                      help="compare runs of different components")
    diff.add_argument("--allow-catalogue-change", action="store_true",
                      help="compare runs whose common rules read differently")
    diff.set_defaults(handler=diff_command)


def _register_baseline(verbs: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    base = verbs.add_parser(
        "baseline", help="write a starting known-deviation baseline from a run",
        epilog="example:\n  amc report baseline reports/webhook-x/ --output known.toml "
               "--expires-version 2.5.0",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    base.add_argument("results", type=Path, help="a results.json or the run's folder")
    base.add_argument("--output", type=Path, default=None, help="file to write (default: stdout)")
    base.add_argument("--expires", type=_date, default=None,
                      help="expiry date of every entry, YYYY-MM-DD (default: in 90 days)")
    base.add_argument("--expires-version", default=None,
                      help="target version at which every entry expires")
    base.set_defaults(handler=baseline_command)


def _register_matrix(verbs: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    matrix = verbs.add_parser(
        "matrix", help="implementations x rules matrix over many runs (HTML and JSON)",
        epilog="example:\n  amc report matrix reports/ref/ reports/vendor-2.4/ reports/all/ "
               "--report-dir reports/matrix",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    matrix.add_argument("results", type=Path, nargs="+",
                        help="results.json files, run folders, or folders of run folders")
    matrix.add_argument("--report-dir", type=Path, required=True,
                        help="where matrix.html and matrix.json go")
    matrix.add_argument("--no-sensitivity", action="store_true",
                        help="leave out the per-rule count of bundled mutants caught")
    matrix.set_defaults(handler=matrix_command)


def _register_attest(verbs: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    raw = argparse.RawDescriptionHelpFormatter
    attest = verbs.add_parser(
        "attest", help="sign an in-toto test-result attestation of a run (DSSE)",
        epilog="example:\n  amc report attest reports/webhook-x/ --key keys/amc-attest.key "
               "--baseline known.toml --output webhook-2.4.0.intoto.json", formatter_class=raw)
    attest.add_argument("results", type=Path, help="a results.json or the run's folder")
    attest.add_argument("--key", type=Path, default=None, help="PEM private key (amc report "
                        "keygen); required unless --statement-only")
    attest.add_argument("--statement-only", action="store_true",
                        help="write the unsigned in-toto Statement (for keyless signing by "
                             "cosign or actions/attest in a pipeline)")
    attest.add_argument("--output", type=Path, required=True, help="the envelope to write")
    attest.add_argument("--baseline", type=Path, default=None,
                        help="the known-deviation baseline the release was gated with")
    attest.add_argument("--binary", type=Path, action="append", default=[],
                        help="a file that is the implementation (repeatable; the --launch "
                             "program and script and an --artifact are found by themselves)")
    attest.add_argument("--url", default="", help="where the run can be seen (a CI run)")
    attest.set_defaults(handler=attest_command)
    verify = verbs.add_parser(
        "verify", help="check an attestation's signature, digests and verdicts (exit 1: no)",
        epilog="example:\n  amc report verify webhook-2.4.0.intoto.json reports/webhook-x/ "
               "--public-key keys/amc-attest.pub", formatter_class=raw)
    verify.add_argument("attestation", type=Path, help="the DSSE envelope (JSON)")
    verify.add_argument("results", type=Path, help="the results.json it claims, or its folder")
    verify.add_argument("--public-key", type=Path, required=True, help="PEM public key")
    verify.add_argument("--baseline", type=Path, default=None,
                        help="also check that the attestation names this baseline")
    verify.set_defaults(handler=verify_command)
    keygen = verbs.add_parser("keygen", help="write an ed25519 key pair for attestations")
    keygen.add_argument("directory", type=Path, help="where amc-attest.key/.pub go")
    keygen.set_defaults(handler=keygen_command)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a YYYY-MM-DD date") from None


def results_path(path: Path) -> Path:
    """``path`` itself, or the ``results.json`` inside a run folder; UsageError when absent."""
    candidate = path / "results.json" if path.is_dir() else path
    if not candidate.is_file():
        raise UsageError(f"{path}: no such results file (nor a run folder with results.json)")
    return candidate


def read_run(path: Path) -> RunResults:
    """The run in ``path`` (a results.json or its folder); a bad file is a UsageError."""
    from conformance.report import ResultsSchemaError, read_results

    try:
        return read_results(results_path(path))
    except ResultsSchemaError as exc:
        raise UsageError(str(exc).splitlines()[0]) from None


def catalogue_ids() -> tuple[str, ...]:
    """The rule ids of the shipped catalogue (a baseline naming another id is refused)."""
    from conformance.rules import load_catalogue

    return load_catalogue().ids


def run_sources(paths: list[Path]) -> list[Path]:
    """The results.json of each path: the file, the folder's, or those of its sub-folders
    (``amc run all`` writes one folder per component run)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir() and not (path / "results.json").is_file():
            inner = sorted(path.glob("*/results.json"))
            if not inner:
                raise UsageError(f"{path}: no results.json in it or its sub-folders")
            found += inner
        else:
            found.append(results_path(path))
    return found


def load_run_baseline(path: Path) -> Baseline:
    """``--baseline FILE`` validated against the shipped catalogue (UsageError: exit 2)."""
    from conformance.report.baseline import load_baseline

    return load_baseline(path, known_ids=catalogue_ids())


def render_command(args: argparse.Namespace) -> int:
    from conformance.report import write_reports

    source = results_path(args.results)
    run = read_run(source)
    out = args.out or source.parent
    for kind, path in write_reports(run, out).items():
        print(f"{kind}: {path}")
    return 0


def diff_command(args: argparse.Namespace) -> int:
    from conformance.report.baseline import evaluate, load_baseline
    from conformance.report.compare import check_comparable, compare_runs, format_comparison

    old, new = read_run(args.old), read_run(args.new)
    check_comparable(old, new, allow_different_component=args.allow_different_component,
                     allow_catalogue_change=args.allow_catalogue_change)
    judged = evaluate(new, load_baseline(args.baseline, known_ids=catalogue_ids())) \
        if args.baseline else None
    comparison = compare_runs(old, new, baseline=judged,
                              allow_coverage_loss=args.allow_coverage_loss)
    print(format_comparison(comparison, args.format), end="")
    return comparison.exit_code()


def baseline_command(args: argparse.Namespace) -> int:
    from conformance.report.baseline import parse_baseline, starting_baseline

    text = starting_baseline(read_run(args.results), expires=args.expires,
                             expires_version=args.expires_version)
    parse_baseline(text.encode(), origin="generated", known_ids=catalogue_ids())  # loads back
    if args.output is None:
        print(text, end="")
    else:
        args.output.write_text(text, encoding="utf-8")
        print(f"baseline: {args.output} ({text.count('[[deviation]]')} entries)")
    return 0


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}%"


def mutant_kills() -> dict[str, int]:
    """Per rule, the bundled mutants it catches (``amc mutants list``; report.sensitivity)."""
    from conformance.commands.mutants_cmd import MUTANT_COMPONENTS, mutants_of
    from conformance.report.sensitivity import kills_by_rule

    return kills_by_rule({c: mutants_of(c) for c in MUTANT_COMPONENTS})


def matrix_command(args: argparse.Namespace) -> int:
    from conformance.report.matrix import RuleInfo, SourceRun, build_matrix, write_matrix
    from conformance.rules import load_catalogue

    runs = [SourceRun(read_run(path), path) for path in run_sources(args.results)]
    info = {rule.id: RuleInfo(rule.component, rule.source.removeprefix("PROTOCOL.md ").strip())
            for rule in load_catalogue().rules}
    kills = None
    if not args.no_sensitivity:
        kills = mutant_kills()
    matrix = build_matrix(runs, args.report_dir, rule_info=info, kills=kills)
    for kind, path in write_matrix(matrix, args.report_dir).items():
        print(f"{kind}: {path}")
    for name, t in matrix.implementations.items():
        print(f"{name}: {t['PASS']} PASS {t['FAIL']} FAIL {t['ERROR']} ERROR {t['SKIP']} SKIP"
              f" · MUST {_percent(t['must_percent'])} · SHOULD {_percent(t['should_percent'])}")
    return 0


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{what}={path}: cannot read ({exc.strerror or exc})") from None


def attest_command(args: argparse.Namespace) -> int:
    from conformance.report.attest import build_statement, sign_statement, target_files
    from conformance.report.baseline import evaluate

    source = results_path(args.results)
    run, data = read_run(source), _read_bytes(source, "results")
    judged = evaluate(run, load_run_baseline(args.baseline)) if args.baseline else None
    statement = build_statement(run, data, baseline=judged, url=args.url,
                                files=target_files(run, args.binary))
    if args.statement_only:
        document = statement
    elif args.key is None:
        raise UsageError("--key: required to sign (or --statement-only for an unsigned statement)")
    else:
        document = sign_statement(statement, _read_bytes(args.key, "--key"))
    args.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    subjects = ", ".join(s["name"] for s in statement["subject"])
    print(f"attestation: {args.output} (result {statement['predicate']['result']}; "
          f"subjects: {subjects})")
    return 0


def verify_command(args: argparse.Namespace) -> int:
    from conformance.report.attest import verify_attestation

    try:
        envelope = json.loads(_read_bytes(args.attestation, "attestation"))
    except ValueError:
        raise UsageError(f"attestation={args.attestation}: not JSON") from None
    source = results_path(args.results)
    problems = verify_attestation(
        envelope, read_run(source), _read_bytes(source, "results"),
        _read_bytes(args.public_key, "--public-key"),
        baseline_bytes=_read_bytes(args.baseline, "--baseline") if args.baseline else None)
    for problem in problems:
        print(f"MISMATCH {problem}")
    print("verified: signature, digests and verdicts match" if not problems
          else f"NOT verified: {len(problems)} problem(s)")
    return 1 if problems else 0


def keygen_command(args: argparse.Namespace) -> int:
    from conformance.report.attest import generate_keypair

    private, public = generate_keypair(args.directory)
    print(f"private key: {private} (keep it secret: a CI secret, never in the repository)")
    print(f"public key:  {public} (publish it beside your releases)")
    return 0


def write_combined(report_dirs: list[str], out: Path | None) -> dict[str, Path]:
    """``amc run all``'s one combined report over its component runs: the matrix (one column
    per run, every rule, failures linked to each run's report) in ``out`` (default: a fresh
    ``reports/all-<UTC time>/``)."""
    from conformance.report.matrix import RuleInfo, SourceRun, build_matrix, write_matrix
    from conformance.rules import load_catalogue

    if out is None:
        out = Path("reports") / f"all-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%S')}"
    sources = [Path(d) / "results.json" for d in report_dirs]
    runs = [SourceRun(read_run(path), path) for path in sources if path.is_file()]
    info = {rule.id: RuleInfo(rule.component, rule.source.removeprefix("PROTOCOL.md ").strip())
            for rule in load_catalogue().rules}
    return write_matrix(build_matrix(runs, out, rule_info=info, kills=mutant_kills()), out)
