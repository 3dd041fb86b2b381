"""The run configuration handed from the run API to the pytest plugin (and its xdist workers).

A conformance run is a pytest session over ``conformance/suites/<component>/``; everything the
checks need to know about the run travels in one JSON file named by ``--amc-config``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

COMPONENTS = ("webhook", "account", "sidecar", "e2e")


@dataclass(frozen=True)
class TargetSpec:
    """How to reach the implementation under test.

    ``kind`` is ``reference`` (the bundled implementation, optionally a named ``mutant``),
    ``url`` (an already running webhook), ``launch`` (a command the suite starts),
    ``artifact`` (a compiled contract the suite deploys) or ``rpc`` (a deployed contract).
    """

    kind: str = "reference"
    mutant: str | None = None
    url: str | None = None
    launch: str | None = None
    artifact: str | None = None
    rpc: str | None = None
    address: str | None = None
    evm: str = "pyrevm"
    proxy: bool = True
    ready_timeout: float = 30.0
    request_timeout: float = 5.0
    version: str | None = None
    """The implementation's release (``--target-version``), named by reports and baselines."""
    parts: str | None = None
    """``amc run e2e``: JSON naming the implementation of each hop (webhook, account, sidecar;
    absent: the reference), see ``conformance.targets.sidecar_e2e.E2EParts``."""

    def identity(self) -> dict[str, Any]:
        """What the report names as the target (no secrets: commands and URLs as given)."""
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs; serialised to JSON for the pytest session."""

    component: str
    profile: str
    target: TargetSpec = field(default_factory=TargetSpec)
    seed: int = 0
    seconds: float | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    strict: bool = False
    report_dir: str = "reports"
    max_examples: int = 50
    workers: int = 1
    slow: bool = False
    hypothesis_db: str | None = None
    suite_path: str | None = None
    """Override of ``conformance/suites/<component>`` (the engine's own tests use it)."""
    mutant_kills: dict[str, int] | None = None
    """Per rule id, the bundled mutants its checks catch (``report.sensitivity``; set by the
    CLI, which may read the mutant registries): each rule's result states it, so a reader knows
    how strong a PASS is. ``None``: not known, not stated."""

    def to_json(self) -> dict[str, Any]:
        """JSON form (round-trips through ``from_json``)."""
        data = asdict(self)
        data["include"] = list(self.include)
        data["exclude"] = list(self.exclude)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunConfig:
        """Rebuild a config written by ``to_json``."""
        data = dict(data)
        data["target"] = TargetSpec(**data.get("target", {}))
        data["include"] = tuple(data.get("include", ()))
        data["exclude"] = tuple(data.get("exclude", ()))
        return cls(**data)

    def write(self, path: Path) -> Path:
        """Write the config to ``path`` and return it."""
        path.write_text(json.dumps(self.to_json(), indent=2))
        return path

    @classmethod
    def read(cls, path: Path) -> RunConfig:
        """Read a config file written by ``write``."""
        return cls.from_json(json.loads(Path(path).read_text()))
