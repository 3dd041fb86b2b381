"""The entry of a packaged fuzzer (ClusterFuzzLite's ``compile_python_fuzzer`` bundles one
script per target; see ``.clusterfuzzlite/fuzzers``): the same worker ``amc fuzz`` runs, with
EVM feedback on, the target named by the script and libFuzzer's flags from the command line.
"""

from __future__ import annotations

import os
import sys


def main(target: str) -> None:
    """Fuzz ``target`` under the libFuzzer that started this process (never returns)."""
    os.environ.setdefault("AMC_FUZZ_TARGET", target)
    os.environ.setdefault("AMC_FUZZ_EVM_FEEDBACK", "1")
    os.environ.setdefault("AMC_FUZZ_ARGV0", sys.argv[0])
    from conformance.fuzz.worker import main as worker_main

    worker_main()
