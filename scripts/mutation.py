"""Mutation testing of the Python reference webhook with cosmic-ray, the conformance rules as the
test (``make mutation``; nightly). Beyond the hand-written mutants, every survivor listed here
is a missing check or an equivalent mutant to mark in ``scripts/mutation-equivalent.toml``.

Scopes (module -> the rules that judge it):

* policy    conformance/reference/webhook/policy.py   the §5 Policy rules (order, chain, member,
            selectors, value, target, RPC failure) and the daily-cap rules;
* signature conformance/reference/webhook/pimlico.py  the /pimlico signature rules;
* decoding  conformance/protocol/calldata.py          WH-066/WH-067 (judged against Solidity's own
            ABI decoder in the EVM, not the oracle) and the calldata unit tests pinned to
            eth-abi. The oracle imports this module too: a mutant here moves the oracle with the
            reference, which is why only the Solidity-judged rules and independent vectors count.

Every mutation runs in a copy of the tracked tree (never the developer's work tree, which other
processes may be using); each scope has a time budget, and ``--sample N`` draws N mutants per
scope with a fixed seed for a quick score. Results: ``reports/mutation/summary.json`` and
``reports/mutation/survivors.md`` (each survivor with its diff).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT = ROOT / "scripts" / "mutation-equivalent.toml"
AMC = "{python} -m conformance.cli run webhook --reference --max-examples 5 --seed 1 " \
      "--report-dir {run_dir} "
UNIT = " && {python} -m pytest -q -x -p no:randomly -p no:cacheprovider "
SCOPES: dict[str, tuple[tuple[str, ...], str, frozenset[str] | None]] = {
    # scope: (modules, test command, functions in scope (None: all))
    "policy": (("conformance/reference/webhook/policy.py",),
               AMC + "--rule 'WH-01?' --rule WH-023 --rule WH-024 --rule WH-028 "
                     "--rule 'WH-03[1-4]' --rule 'WH-04[0-6]'", None),
    "signature": (("conformance/reference/webhook/pimlico.py",
                   "conformance/protocol/webhook_wire.py"),
                  AMC + "--rule 'WH-04[7-9]' --rule 'WH-05[0-7]' --rule WH-069"
                  + UNIT + "tests/unit/test_webhook_wire.py",
                  frozenset({"authentic", "sponsor_request", "verify_webhook", "_header",
                             "derive_hmac_key", "_strip_prefix", "_forgiving_b64decode",
                             "_base_x_hex_key"})),
    "decoding": (("conformance/protocol/calldata.py",),
                 AMC + "--rule WH-066 --rule WH-067" + UNIT + "tests/unit/test_calldata.py",
                 None),
}


def copy_tree(work: Path) -> None:
    """The tracked files of conformance/ and tests/ (as they are in the work tree) into work."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    files = subprocess.run(["git", "ls-files", "-z", "conformance", "tests", "pyproject.toml"],
                           cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, files):
        source = ROOT / name.decode()
        if source.is_file():
            target = work / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def write_config(work: Path, scope: str, timeout: float) -> Path:
    modules, command, _ = SCOPES[scope]
    command = command.format(python=sys.executable, run_dir=work / f"run-{scope}")
    text = (f'[cosmic-ray]\nmodule-path = {json.dumps(list(modules))}\ntimeout = {timeout}\n'
            f'excluded-modules = []\ntest-command = {json.dumps(command)}\n\n'
            '[cosmic-ray.distributor]\nname = "local"\n')
    path = work / f"{scope}.toml"
    path.write_text(text)
    return path


def cosmic_ray(*args: str, cwd: Path, budget: float | None = None) -> int:
    """Run cosmic-ray in its own process group; past ``budget`` seconds stop it (what finished
    stays in the session database)."""
    proc = subprocess.Popen([sys.executable, "-m", "cosmic_ray.cli", *args], cwd=cwd,
                            start_new_session=True)
    try:
        return proc.wait(timeout=budget)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        return -1


def _equivalent() -> list[dict[str, object]]:
    if not EQUIVALENT.is_file():
        return []
    return list(tomllib.loads(EQUIVALENT.read_text()).get("equivalent", []))


class Source:
    """Where a mutation sits in its module: the enclosing function, inside an annotation."""

    def __init__(self, path: Path) -> None:
        self.lines = path.read_text().splitlines()
        tree = ast.parse(path.read_text())
        self.functions: list[tuple[int, int, str]] = []
        self.annotations: list[tuple[tuple[int, int], tuple[int, int]]] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.functions.append((node.lineno, node.end_lineno or node.lineno, node.name))
                notes = [a.annotation for a in (*node.args.args, *node.args.kwonlyargs,
                                                *node.args.posonlyargs) if a.annotation]
                notes += [node.returns] if node.returns else []
            elif isinstance(node, ast.AnnAssign):
                notes = [node.annotation]
            else:
                continue
            self.annotations += [((n.lineno, n.col_offset), (n.end_lineno or n.lineno,
                                  n.end_col_offset or 0)) for n in notes]

    def function(self, line: int) -> str:
        """The innermost function around ``line`` ("" at module level)."""
        around = [(end - start, name) for start, end, name in self.functions
                  if start <= line <= end]
        return min(around)[1] if around else ""

    def in_annotation(self, pos: tuple[int, int]) -> bool:
        """True inside an annotation: never evaluated (``from __future__ import annotations``)."""
        return any(a <= tuple(pos) < b for a, b in self.annotations)


def classify(module: str, pos: tuple[int, int], operator: str, source: Source,
             functions: frozenset[str] | None) -> str | None:
    """Why a mutant is not run: ``out-of-scope``, ``equivalent: reason``; None: run it."""
    function = source.function(pos[0])
    outer = [name for start, end, name in source.functions if start <= pos[0] <= end]
    if functions is not None and not set(outer) & functions:
        return "out-of-scope"
    if source.in_annotation(pos):
        return "equivalent: inside an annotation, never evaluated"
    text = source.lines[pos[0] - 1] if pos[0] - 1 < len(source.lines) else ""
    for mark in _equivalent():
        if mark.get("module") != module:
            continue
        if mark.get("function") and mark["function"] not in outer and mark["function"] != function:
            continue
        if mark.get("line_contains") and str(mark["line_contains"]) not in text:
            continue
        if mark.get("operator") and not operator.startswith(str(mark["operator"])):
            continue
        return f"equivalent: {mark['reason']}"
    return None


def prune(session: Path, tree: Path, scope: str, sample: int | None,
          seed: int) -> dict[str, int]:
    """Skip mutants out of scope or equivalent and, with ``sample``, all but a seeded sample."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    functions = SCOPES[scope][2]
    sources: dict[str, Source] = {}
    reasons: dict[str, str] = {}
    with use_db(str(session), WorkDB.Mode.open) as db:
        items = list(db.pending_work_items)
        for item in items:
            m = item.mutations[0]
            module = str(m.module_path)
            source = sources.setdefault(module, Source(tree / module))
            why = classify(module, m.start_pos, m.operator_name, source, functions)
            if why:
                reasons[item.job_id] = why
        rest = [i.job_id for i in items if i.job_id not in reasons]
        if sample is not None and sample < len(rest):
            keep = set(random.Random(seed).sample(rest, sample))
            reasons |= {j: "not sampled" for j in rest if j not in keep}
        for why in set(reasons.values()):
            jobs = [j for j, w in reasons.items() if w == why]
            db.set_multiple_results(jobs, WorkResult(worker_outcome=WorkerOutcome.SKIPPED,
                                                     output=why))
    counts = {"mutants": len(items), "run": len(items) - len(reasons)}
    for why in reasons.values():
        key = why.split(":")[0]
        counts[key] = counts.get(key, 0) + 1
    return counts


def collect(session: Path, scope: str) -> dict[str, object]:
    """Killed, survived, incompetent and not-run mutants of one scope, survivors with diffs."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    counts = {"killed": 0, "survived": 0, "incompetent": 0, "equivalent": 0, "out-of-scope": 0,
              "not sampled": 0, "not run (budget)": 0}
    survivors = []
    equivalent: dict[str, int] = {}
    with use_db(str(session), WorkDB.Mode.open) as db:
        counts["not run (budget)"] = sum(1 for _ in db.pending_work_items)
        for item, result in db.completed_work_items:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                why = result.output or "not sampled"
                counts[why.split(":")[0]] = counts.get(why.split(":")[0], 0) + 1
                if why.startswith("equivalent"):
                    equivalent[why] = equivalent.get(why, 0) + 1
            elif result.test_outcome == TestOutcome.SURVIVED:
                counts["survived"] += 1
                m = item.mutations[0]
                survivors.append({"module": str(m.module_path), "operator": m.operator_name,
                                  "occurrence": m.occurrence, "line": m.start_pos[0],
                                  "diff": result.diff or ""})
            elif result.test_outcome == TestOutcome.INCOMPETENT:
                counts["incompetent"] += 1
            else:
                counts["killed"] += 1
    run = counts["killed"] + counts["survived"]
    score = round(100.0 * counts["killed"] / run, 1) if run else None
    return {"scope": scope, "modules": list(SCOPES[scope][0]), **counts, "score": score,
            "equivalent_reasons": equivalent, "survivors": survivors}


def write_reports(out: Path, scopes: list[dict[str, object]], seconds: float) -> None:
    out.mkdir(parents=True, exist_ok=True)
    killed = sum(int(s["killed"]) for s in scopes)  # type: ignore[call-overload]
    judged = killed + sum(int(s["survived"]) for s in scopes)  # type: ignore[call-overload]
    summary = {"tool": "cosmic-ray", "seconds": round(seconds), "killed": killed,
               "judged": judged, "score": round(100.0 * killed / judged, 1) if judged else None,
               "scopes": [{k: v for k, v in s.items() if k != "survivors"} for s in scopes]}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = ["# Surviving mutants", "",
             f"Score {summary['score']}% ({killed} killed of {judged} judged) in "
             f"{summary['seconds']} s. Each survivor is a missing check or an equivalent "
             "mutant (mark it in scripts/mutation-equivalent.toml with a reason).", ""]
    for scope in scopes:
        for s in scope["survivors"]:  # type: ignore[attr-defined]
            lines += [f"## {s['module']}:{s['line']} {s['operator']} #{s['occurrence']}", "",
                      "```diff", str(s["diff"]).rstrip(), "```", ""]
    (out / "survivors.md").write_text("\n".join(lines))
    print(json.dumps(summary, indent=2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--scope", action="append", choices=sorted(SCOPES), default=None,
                        help="module scope (repeatable; default: all)")
    parser.add_argument("--budget-minutes", type=float, default=100.0,
                        help="time budget per scope (3 scopes x 100 min fit a night on 2 cores)")
    parser.add_argument("--sample", type=int, default=None,
                        help="run only N mutants per scope, drawn with --seed")
    parser.add_argument("--seed", type=int, default=1, help="seed of the sample")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per mutant")
    parser.add_argument("--work", type=Path, default=Path("/tmp/amc-mutation"),
                        help="scratch folder (a copy of the tree is mutated there)")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "mutation")
    args = parser.parse_args(argv)
    started = time.monotonic()
    copy_tree(args.work / "tree")
    results = []
    for scope in args.scope or list(SCOPES):
        tree = args.work / "tree"
        config = write_config(tree, scope, args.timeout)
        session = tree / f"{scope}.sqlite"
        session.unlink(missing_ok=True)
        if cosmic_ray("init", config.name, session.name, cwd=tree) != 0:
            print(f"mutation: cosmic-ray init failed for {scope}", file=sys.stderr)
            return 2
        counts = prune(session, tree, scope, args.sample, args.seed)
        print(f"mutation: {scope}: {counts}, budget {args.budget_minutes:g} min", flush=True)
        cosmic_ray("exec", config.name, session.name, cwd=tree, budget=args.budget_minutes * 60)
        results.append(collect(session, scope))
    write_reports(args.out, results, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
