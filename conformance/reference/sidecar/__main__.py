"""``python -m conformance.reference.sidecar``: the reference sidecar (PROTOCOL.md §7).

Reads the live sidecar's environment (``conformance.reference.sidecar.config``); SIGTERM or
SIGINT stops it cleanly (exit 0). A missing or malformed setting: one line, exit 2.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

from conformance.reference.sidecar.config import ConfigError, read_config
from conformance.reference.sidecar.mutants import BY_NAME
from conformance.reference.sidecar.node import Sidecar


def main() -> int:
    """Run the sidecar until its work is done and it is stopped."""
    try:
        config = read_config(os.environ)
    except ConfigError as exc:
        print(f"sidecar: configuration: {exc}", file=sys.stderr)
        return 2
    if config.mutant is not None and config.mutant not in BY_NAME:
        print(f"sidecar: AMC_MUTANT={config.mutant!r}: no such sidecar mutant", file=sys.stderr)
        return 2
    sidecar = Sidecar(config)

    def stop(signum: int, frame: FrameType | None) -> None:
        sidecar.stop_event.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return sidecar.run()


if __name__ == "__main__":
    raise SystemExit(main())
