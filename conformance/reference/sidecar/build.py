"""Offline build of the sidecar world's paymaster: ``VerifyingPaymaster`` of
``@account-abstraction/contracts`` 0.7.0 (``samples/``), compiled by the account build's
solc-js tooling with the same settings, artifact committed (PROTOCOL.md §7, issue 9).

    python -m conformance.reference.sidecar.build            compile, write artifacts/
    python -m conformance.reference.sidecar.build --check    recompile, exit 1 on drift

Exit codes: 0 done / no drift, 1 drift or compile failure, 2 Node or solc-js absent.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from conformance.reference.account.build import (
    BuildError,
    Job,
    NodeMissing,
    _artifact,
    compile_jobs,
    render,
)

HERE = Path(__file__).resolve().parent
ARTIFACTS_DIR = HERE / "artifacts"
UNIT = "@account-abstraction/contracts/samples/VerifyingPaymaster.sol"
"""The npm source unit compiled as is (no copy, no patch)."""
ROOT_UNIT = "src/SidecarWorld.sol"
ROOT_SOURCE = f'// SPDX-License-Identifier: GPL-3.0\npragma solidity 0.8.24;\nimport "{UNIT}";\n'
"""A one-line root unit that pulls the npm sample into the compilation."""
ARTIFACT = ARTIFACTS_DIR / "VerifyingPaymaster.json"


def build() -> dict[str, Any]:
    """The freshly compiled VerifyingPaymaster artifact (same keys as the account artifacts)."""
    job = Job("sidecar", {ROOT_UNIT: ROOT_SOURCE}, (UNIT,))
    results = compile_jobs([job], workers=1)
    return _artifact(results[job.id], job, UNIT, "VerifyingPaymaster")


def main(argv: list[str] | None = None) -> int:
    """CLI entry: build (or --check) the VerifyingPaymaster artifact."""
    parser = argparse.ArgumentParser(prog="python -m conformance.reference.sidecar.build")
    parser.add_argument("--check", action="store_true", help="recompile; exit 1 on drift")
    args = parser.parse_args(argv)
    try:
        data = build()
    except NodeMissing as exc:
        print(f"cannot build contracts: {exc}", file=sys.stderr)
        return 2
    except BuildError as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 1
    if args.check:
        same = ARTIFACT.is_file() and ARTIFACT.read_text(encoding="utf-8") == render(data)
        print("VerifyingPaymaster: " + ("no drift" if same else "drifted"))
        return 0 if same else 1
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(render(data), encoding="utf-8")
    print(f"wrote {ARTIFACT.relative_to(HERE.parents[2])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
