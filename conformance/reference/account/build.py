"""Offline build of the reference contracts and their mutants (solc-js through compile.mjs).

    python -m conformance.reference.account.build            compile, write artifacts/
    python -m conformance.reference.account.build --check    recompile, exit 1 on drift

Exit codes: 0 done / no drift, 1 drift or compile failure, 2 Node or solc-js absent.
The artifacts are committed: running the suite needs only Python.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.reference.account.artifacts import (
    ARTIFACTS_DIR,
    MUTANTS_DIR,
    REFERENCE_CONTRACTS,
    read_sources,
    sha256_text,
    sources_digest,
)
from conformance.reference.account.mutants import (
    Mutant,
    MutantError,
    load_mutants,
    mutate_sources,
)

HERE = Path(__file__).resolve().parent
COMPILE_SCRIPT = HERE / "compile.mjs"
SOLC_VERSION = "0.8.24"

SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    "viaIR": False,
    "metadata": {"bytecodeHash": "none", "appendCBOR": False},
}
"""solc settings. No CBOR metadata: bytecode depends on code only, so --check is exact."""

_OUTPUTS = ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]
_IMPORT = re.compile(r'import\s+(?:\{[^}]*\}\s+from\s+)?"\./([^"]+)"')


class BuildError(RuntimeError):
    """The compiler reported errors, or a mutant is malformed or equivalent."""


class NodeMissing(RuntimeError):
    """Node or solc-js is not installed."""


@dataclass(frozen=True)
class Job:
    """One solc standard-JSON compilation: an id and the contracts it must produce."""

    id: str
    sources: dict[str, str]
    selected: tuple[str, ...]

    def standard_json(self) -> dict[str, Any]:
        settings = dict(SETTINGS)
        settings["outputSelection"] = {unit: {"*": _OUTPUTS} for unit in self.selected}
        sources = {unit: {"content": text} for unit, text in self.sources.items()}
        return {"language": "Solidity", "sources": sources, "settings": settings}


def find_node_modules(start: Path = HERE) -> Path | None:
    """The nearest ``node_modules`` above ``start`` that holds solc-js, if any."""
    for directory in (start, *start.parents):
        candidate = directory / "node_modules"
        if (candidate / "solc" / "package.json").is_file():
            return candidate
    return None


def require_node() -> str:
    """The node executable; NodeMissing when node or node_modules/solc is absent."""
    node = shutil.which("node")
    if node is None:
        raise NodeMissing("node not found: contract rebuilds need Node 20 and `npm ci`")
    if find_node_modules() is None:
        raise NodeMissing("node_modules/solc not found: run `npm ci` (or `make node`) first")
    return node


def importers_of(unit: str, sources: dict[str, str]) -> tuple[str, ...]:
    """Source units under src/ that import ``unit`` directly or transitively."""
    direct = {name: {f"src/{m}" for m in _IMPORT.findall(text)} for name, text in sources.items()}
    found: set[str] = set()
    frontier = {unit}
    while frontier:
        frontier = {n for n, deps in direct.items() if deps & frontier and n not in found}
        found |= frontier
    return tuple(sorted(found))


def reference_job(sources: dict[str, str]) -> Job:
    """The compilation of every reference contract."""
    return Job("reference", sources, tuple(sorted(set(REFERENCE_CONTRACTS.values()))))


def mutant_job(sources: dict[str, str], mutant: Mutant) -> Job:
    """The compilation of one mutant: its file and every src file that imports it."""
    patched = mutate_sources(sources, mutant)
    selected = (mutant.file, *importers_of(mutant.file, sources))
    return Job(f"mutant:{mutant.name}", patched, selected)


def _run_compiler(node: str, jobs: list[Job]) -> dict[str, Any]:
    payload = {"jobs": [{"id": j.id, "input": j.standard_json()} for j in jobs]}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        proc = subprocess.run(
            [node, str(COMPILE_SCRIPT), "--out", str(out)],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if proc.returncode != 0:
            raise BuildError(
                f"compile.mjs failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}"
            )
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def compile_jobs(jobs: list[Job], *, workers: int | None = None) -> dict[str, dict[str, Any]]:
    """Compile ``jobs`` in parallel Node processes; result per job id (solc output + imports)."""
    node = require_node()
    count = max(1, min(workers or os.cpu_count() or 1, 4, len(jobs)))
    chunks = [jobs[i::count] for i in range(count)]
    with ThreadPoolExecutor(max_workers=count) as pool:
        answers = list(pool.map(lambda chunk: _run_compiler(node, chunk), chunks))
    results: dict[str, dict[str, Any]] = {}
    for answer in answers:
        version = answer["solcVersion"]
        if not version.startswith(SOLC_VERSION + "+"):
            raise BuildError(f"solc-js version={version}: expected {SOLC_VERSION}")
        for item in answer["results"]:
            errors = [e for e in item["output"].get("errors", []) if e["severity"] == "error"]
            if errors:
                text = "\n".join(e["formattedMessage"] for e in errors)
                raise BuildError(f"{item['id']}: solc errors:\n{text}")
            results[item["id"]] = {**item, "solcVersion": version}
    return results


def _artifact(result: dict[str, Any], job: Job, unit: str, name: str) -> dict[str, Any]:
    compiled = result["output"]["contracts"][unit][name]
    shas = {u: sha256_text(t) for u, t in job.sources.items()} | result["imports"]
    return {
        "contractName": name,
        "sourceName": unit,
        "abi": compiled["abi"],
        "bytecode": "0x" + compiled["evm"]["bytecode"]["object"],
        "deployedBytecode": "0x" + compiled["evm"]["deployedBytecode"]["object"],
        "compiler": {"version": result["solcVersion"], "settings": SETTINGS},
        "sources": dict(sorted(shas.items())),
        "sourcesSha256": sources_digest(shas),
    }


def _mutant_artifact(
    result: dict[str, Any], job: Job, mutant: Mutant, reference: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    primary = Path(mutant.file).stem
    data = _artifact(result, job, mutant.file, primary)
    if data["bytecode"] == reference[primary]["bytecode"]:
        raise BuildError(f"mutant={mutant.name!r} compiles to the reference bytecode (equivalent)")
    dependents = {}
    for unit, contracts in result["output"]["contracts"].items():
        for name in contracts:
            if name == primary or name not in reference:
                continue
            candidate = _artifact(result, job, unit, name)
            if candidate["bytecode"] != reference[name]["bytecode"]:
                dependents[name] = {
                    k: candidate[k]
                    for k in ("contractName", "sourceName", "abi", "bytecode", "deployedBytecode")
                }
    return {"mutant": mutant.as_dict(), **data, "dependents": dependents}


def build_all(
    *, workers: int | None = None, only: frozenset[str] | None = None
) -> dict[Path, dict[str, Any]]:
    """Every artifact the build writes, by path (reference first, then each mutant).

    ``only`` restricts the mutants to those names (the reference is always compiled: mutant
    artifacts are compared with it); ``{"reference"}`` alone builds no mutant.
    """
    sources = read_sources()
    mutants = load_mutants()
    if only is not None:
        unknown = only - {"reference"} - {m.name for m in mutants}
        if unknown:
            raise MutantError(f"--only {sorted(unknown)}: no such mutant")
        mutants = tuple(m for m in mutants if m.name in only)
    ref_job = reference_job(sources)
    jobs = [ref_job, *(mutant_job(sources, m) for m in mutants)]
    results = compile_jobs(jobs, workers=workers)
    reference = {
        name: _artifact(results[ref_job.id], ref_job, unit, name)
        for name, unit in REFERENCE_CONTRACTS.items()
    }
    files = {ARTIFACTS_DIR / f"{name}.json": data for name, data in reference.items()}
    for job, mutant in zip(jobs[1:], mutants, strict=True):
        files[MUTANTS_DIR / f"{mutant.name}.json"] = _mutant_artifact(
            results[job.id], job, mutant, reference
        )
    return files


def render(data: dict[str, Any]) -> str:
    """The committed text of an artifact (stable key order, trailing newline)."""
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def committed_files() -> set[Path]:
    """Artifact files currently on disk."""
    return set(ARTIFACTS_DIR.glob("*.json")) | set(MUTANTS_DIR.glob("*.json"))


def drift(files: dict[Path, dict[str, Any]], *, complete: bool = True) -> list[str]:
    """How the committed artifacts differ from freshly built ``files`` (empty = none).

    ``complete``: ``files`` is the whole build, so a committed file it lacks is stale."""
    problems = []
    for path, data in sorted(files.items()):
        if not path.is_file():
            problems.append(f"missing: {path.relative_to(HERE)}")
        elif path.read_text(encoding="utf-8") != render(data):
            problems.append(f"differs: {path.relative_to(HERE)}")
    for extra in sorted(committed_files() - set(files) if complete else ()):
        problems.append(f"stale (no longer built): {extra.relative_to(HERE)}")
    return problems


def write(files: dict[Path, dict[str, Any]]) -> None:
    """Write ``files`` and remove artifacts the build no longer produces."""
    MUTANTS_DIR.mkdir(parents=True, exist_ok=True)
    for extra in committed_files() - set(files):
        extra.unlink()
    for path, data in files.items():
        path.write_text(render(data), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """CLI entry: build (or --check) the reference and mutant artifacts."""
    parser = argparse.ArgumentParser(prog="python -m conformance.reference.account.build")
    parser.add_argument("--check", action="store_true", help="recompile; exit 1 on drift")
    parser.add_argument("--workers", type=int, default=None, help="parallel node processes")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="only the reference and these mutants ('reference' for none); repeatable",
    )
    args = parser.parse_args(argv)
    only = frozenset(args.only) if args.only else None
    if only is not None and not args.check:
        parser.error("--only builds a subset of the artifacts: use it with --check")
    try:
        files = build_all(workers=args.workers, only=only)
    except NodeMissing as exc:
        print(f"cannot build contracts: {exc}", file=sys.stderr)
        return 2
    except (BuildError, MutantError) as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 1
    if args.check:
        problems = drift(files, complete=only is None)
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"{len(files)} artifacts checked, {len(problems)} drifted")
        return 1 if problems else 0
    write(files)
    print(f"{len(files)} artifacts written to {ARTIFACTS_DIR.relative_to(HERE.parents[2])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
