"""Where the Node-installed artifacts live (`make install` puts them in the repo's node_modules).

The EntryPoint v0.7 artifact and the anvil binary come from npm packages. They are found in
``$AMC_NODE_MODULES`` when set, else in the first ``node_modules`` directory found walking up
from this package, else walking up from the working directory.
"""

from __future__ import annotations

import os
from pathlib import Path

NODE_MODULES_ENV = "AMC_NODE_MODULES"
"""Environment variable naming the node_modules directory explicitly."""

INSTALL_HINT = "run `make install` with Node/npm (or set AMC_NODE_MODULES)"
"""How a user gets the Node artifacts; part of every SKIP reason that needs them."""


class ArtifactUnavailable(RuntimeError):
    """A Node artifact the check needs is absent or wrong: the check SKIPs with ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _walk_up(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        candidate = directory / "node_modules"
        if candidate.is_dir():
            return candidate
    return None


def find_node_modules() -> Path | None:
    """The node_modules directory holding the artifacts, or None when there is none."""
    explicit = os.environ.get(NODE_MODULES_ENV)
    if explicit:
        path = Path(explicit)
        return path if path.is_dir() else None
    return _walk_up(Path(__file__).resolve().parent) or _walk_up(Path.cwd().resolve())


def find_node_artifact(relative: str) -> Path | None:
    """``node_modules/<relative>`` when that file exists, else None."""
    root = find_node_modules()
    if root is None:
        return None
    path = root / relative
    return path if path.is_file() else None
