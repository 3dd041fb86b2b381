"""Running a fuzz target under libFuzzer (atheris) in fork mode: ``run_fuzz``.

The run works on a copy of the corpus in a scratch directory (libFuzzer reads corpus folders
recursively, and ``crashes/`` must not be fuzzed as seeds); new corpus entries are copied back
to the corpus every few seconds and when the run ends. Every crash libFuzzer writes is judged in
this process: a new signature is recorded under ``crashes/`` at once, then minimised by
libFuzzer (``-minimize_crash``) in the background and replaced when the minimised input still
shows the same signature. SIGINT/SIGTERM stop libFuzzer's whole process group (its fork-mode
children included) and keep the corpus and every finding. Progress is reported through a
callback (the engine never prints).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from conformance.fuzz.corpus import corpus_entries, write_dictionary, write_entries
from conformance.fuzz.findings import Outcome, forget, judge, record
from conformance.fuzz.run_config import FuzzConfig, Progress

_STATUS = re.compile(r"#(\d+):?\s.*?cov: (\d+) ft: (\d+) corp: (\d+)")
_FINAL_UNITS = re.compile(r"stat::number_of_executed_units: (\d+)")
_SYNC_EVERY = 5.0
_STOP_GRACE = 10.0


@dataclass
class FuzzSummary:
    """What a run did: executions, coverage, corpus size, findings (paths), how it ended."""

    target: str
    executions: int = 0
    coverage: int = 0
    features: int = 0
    corpus_size: int = 0
    findings: list[Path] = field(default_factory=list)
    first_finding_after: float | None = None
    seconds: float = 0.0
    interrupted: bool = False
    exit_code: int | None = None


class _Scratch:
    """The scratch directory: corpus copy, artifacts, the executable fork mode re-runs."""

    def __init__(self, config: FuzzConfig, dictionary: tuple[bytes, ...]) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=f"amc-fuzz-{config.target}-"))
        self.corpus = self.root / "corpus"
        self.artifacts = self.root / "artifacts"
        self.artifacts.mkdir()
        write_entries(self.corpus, [p.read_bytes() for p in corpus_entries(config.corpus_dir)])
        self.dictionary = write_dictionary(self.root, dictionary)
        self.wrapper = self.root / "fuzz-worker"
        self.wrapper.write_text(f"#!/bin/sh\nexec {shlex_quote(sys.executable)} -m "
                                "conformance.fuzz.worker \"$@\"\n")
        self.wrapper.chmod(0o755)
        self.log = self.root / "libfuzzer.log"

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def shlex_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _environment(config: FuzzConfig, wrapper: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(AMC_FUZZ_TARGET=config.target, AMC_FUZZ_PLANT=config.plant or "",
               AMC_FUZZ_CANDIDATE=config.candidate or "", AMC_FUZZ_ARGV0=str(wrapper),
               AMC_FUZZ_EVM_FEEDBACK="1" if config.evm_feedback else "0")
    env.update(config.extra_env)
    return env


def _command(config: FuzzConfig, scratch: _Scratch, seconds: int) -> list[str]:
    """libFuzzer's command line: fork mode for several workers; one worker runs in process
    (no job start-up) and is restarted by the loop after each crash."""
    fork = [f"-fork={config.workers}", "-ignore_crashes=1", "-ignore_timeouts=1",
            "-ignore_ooms=1"] if config.workers > 1 else []
    flags = [*fork, "-use_value_profile=1", f"-max_total_time={seconds}", "-timeout=20",
             f"-artifact_prefix={scratch.artifacts}/", f"-dict={scratch.dictionary}",
             f"-max_len={config.max_len}", "-rss_limit_mb=3072", "-print_final_stats=1"]
    if config.seed is not None:
        flags.append(f"-seed={config.seed + seconds}")
    return [str(scratch.wrapper), *flags, str(scratch.corpus)]


class _Minimiser:
    """One background ``-minimize_crash`` at a time; the queue of findings waiting for it."""

    def __init__(self, scratch: _Scratch, env: dict[str, str], budget: int) -> None:
        self.scratch, self.env, self.budget = scratch, env, budget
        self.queue: list[tuple[Path, Outcome]] = []
        self.current: tuple[subprocess.Popen[bytes], Path, Outcome, Path] | None = None
        self.since = 0.0

    def poll(self, done: Callable[[Path, Outcome, bytes], None]) -> None:
        """Collect a finished minimisation (one over its budget is stopped: the raw input
        stays), start the next."""
        if self.current is not None:
            process, path, outcome, out = self.current
            if process.poll() is None and time.monotonic() - self.since < self.budget + 5:
                return
            _stop_group(process, 1.0)
            if out.exists():
                done(path, outcome, out.read_bytes())
            self.current = None
        if self.queue:
            path, outcome = self.queue.pop(0)
            out = self.scratch.root / f"min-{path.name}"
            command = [str(self.scratch.wrapper), "-minimize_crash=1",
                       f"-max_total_time={self.budget}", f"-exact_artifact_path={out}", str(path)]
            process = subprocess.Popen(command, env=self.env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, start_new_session=True)
            self.current = (process, path, outcome, out)
            self.since = time.monotonic()

    def stop(self) -> None:
        if self.current is not None:
            _stop_group(self.current[0], 2.0)
            self.current = None
        self.queue.clear()


def _stop_group(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGINT to the process group, then SIGKILL when it has not ended after ``grace``; the
    group is killed in the end either way (fork-mode children outliving their parent)."""
    try:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass
    with contextlib.suppress(ProcessLookupError):  # fork-mode children left in the group
        os.killpg(process.pid, signal.SIGKILL)


class _Triage:
    """Judges libFuzzer's artifacts in this process and records new signatures."""

    def __init__(self, config: FuzzConfig, module_factory: Callable[[], ModuleType],
                 summary: FuzzSummary, started: float) -> None:
        self.config, self.summary, self.started = config, summary, started
        self._factory = module_factory
        self._module: ModuleType | None = None
        self.seen_files: set[str] = set()
        self.signatures: dict[str, Path] = {}
        self.minimiser: _Minimiser | None = None

    def module(self) -> ModuleType:
        if self._module is None:
            self._module = self._factory()
        return self._module

    def scan(self, artifacts: Path) -> None:
        for path in sorted(artifacts.iterdir()):
            if path.name in self.seen_files or not path.is_file():
                continue
            self.seen_files.add(path.name)
            self._triage(path)

    def _triage(self, path: Path) -> None:
        data = path.read_bytes()
        if path.name.startswith(("timeout-", "oom-")):
            kind = path.name.split("-", 1)[0]
            outcome: Outcome | None = Outcome(kind, f"libFuzzer reported a {kind}", "")
        else:
            outcome = judge(self.module(), data)
        if outcome is None or outcome.signature in self.signatures:
            return
        if self.summary.first_finding_after is None:
            self.summary.first_finding_after = time.monotonic() - self.started
        saved = record(self.config.corpus_dir, self.config.target, data, outcome,
                       plant=self.config.plant, candidate=self.config.candidate,
                       artifact=self.config.extra_env.get("AMC_FUZZ_ACCOUNT_ARTIFACT"))
        self.signatures[outcome.signature] = saved
        self.summary.findings.append(saved)
        if self.minimiser is not None and outcome.rule not in ("timeout", "oom"):
            self.minimiser.queue.append((saved, outcome))

    def minimised(self, path: Path, outcome: Outcome, data: bytes) -> None:
        """Replace ``path`` by its minimised input when it still shows the same signature."""
        again = judge(self.module(), data)
        if again is None or again.signature != outcome.signature:
            return
        if len(data) >= path.stat().st_size:
            return
        smaller = record(self.config.corpus_dir, self.config.target, data, again,
                         plant=self.config.plant, candidate=self.config.candidate, minimised=True,
                         artifact=self.config.extra_env.get("AMC_FUZZ_ACCOUNT_ARTIFACT"))
        if smaller != path:
            forget(path)
        self.signatures[outcome.signature] = smaller
        self.summary.findings = [smaller if p == path else p for p in self.summary.findings]


def _sync(scratch_corpus: Path, corpus: Path) -> None:
    """Copy the scratch corpus's entries into ``corpus`` (libFuzzer may delete one meanwhile)."""
    found = []
    for path in corpus_entries(scratch_corpus):
        try:
            found.append(path.read_bytes())
        except FileNotFoundError:
            continue
    write_entries(corpus, found)


def _read_status(log: Path, offset: int, summary: FuzzSummary, base: int = 0) -> int:
    """Parse the status lines libFuzzer appended since ``offset``; the new offset."""
    with log.open("rb") as handle:
        handle.seek(offset)
        chunk = handle.read()
    text = chunk.decode("utf-8", "replace")
    for final in _FINAL_UNITS.finditer(text):
        summary.executions = max(summary.executions, base + int(final[1]))
    for match in _STATUS.finditer(text):
        summary.executions = max(summary.executions, base + int(match[1]))
        summary.coverage, summary.features = int(match[2]), int(match[3])
        summary.corpus_size = max(summary.corpus_size, int(match[4]))
    return offset + len(chunk)


def run_fuzz(config: FuzzConfig, module_factory: Callable[[], ModuleType],
             on_progress: Callable[[Progress], None] | None = None) -> FuzzSummary:
    """Fuzz ``config.target`` for ``config.seconds``; findings go to ``corpus/crashes``."""
    from conformance.fuzz.targets import load_target

    summary = FuzzSummary(config.target)
    scratch = _Scratch(config, tuple(load_target(config.target).DICTIONARY))
    env = _environment(config, scratch.wrapper)
    started = time.monotonic()
    triage = _Triage(config, module_factory, summary, started)
    triage.minimiser = _Minimiser(scratch, env, config.minimise_seconds) \
        if config.minimise_seconds > 0 else None
    stop = _install_stop_handlers()
    fuzzer = _LibFuzzer(config, scratch, env, started)
    try:
        _loop(config, fuzzer, scratch, triage, summary, started, stop, on_progress)
    finally:
        fuzzer.stop()
        if triage.minimiser is not None:
            triage.minimiser.stop()
        _restore_handlers(stop)
        triage.scan(scratch.artifacts)
        _sync(scratch.corpus, config.corpus_dir)
        summary.corpus_size = len(corpus_entries(config.corpus_dir))
        summary.seconds = time.monotonic() - started
        summary.exit_code = fuzzer.process.returncode if fuzzer.process else None
        scratch.remove()
    return summary


class _LibFuzzer:
    """The libFuzzer process (group); with one worker, started again after a crash while
    time remains (executions add up across starts)."""

    def __init__(self, config: FuzzConfig, scratch: _Scratch, env: dict[str, str],
                 started: float) -> None:
        self.config, self.scratch, self.env, self.started = config, scratch, env, started
        self.process: subprocess.Popen[bytes] | None = None
        self.base_executions = 0
        self.start()

    def remaining(self) -> float:
        return self.config.seconds - (time.monotonic() - self.started)

    def start(self) -> None:
        seconds = max(1, int(self.remaining()))
        with self.scratch.log.open("ab") as log:
            self.process = subprocess.Popen(_command(self.config, self.scratch, seconds),
                                            env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def running(self, summary: FuzzSummary) -> bool:
        """True while fuzzing goes on (restarting a crashed single worker)."""
        assert self.process is not None
        if self.process.poll() is None:
            return True
        if self.config.workers == 1 and self.remaining() > 2 and self.process.returncode != 0:
            self.base_executions = summary.executions
            self.start()
            return True
        return False

    def stop(self) -> None:
        if self.process is not None:
            _stop_group(self.process, _STOP_GRACE)


def _loop(config: FuzzConfig, fuzzer: _LibFuzzer, scratch: _Scratch,
          triage: _Triage, summary: FuzzSummary, started: float, stop: dict[str, object],
          on_progress: Callable[[Progress], None] | None) -> None:
    offset, last_sync = 0, started
    deadline = started + config.seconds + 60
    while fuzzer.running(summary) and not stop["requested"] and time.monotonic() < deadline:
        time.sleep(0.25)
        offset = _read_status(scratch.log, offset, summary, fuzzer.base_executions)
        triage.scan(scratch.artifacts)
        if triage.minimiser is not None:
            triage.minimiser.poll(triage.minimised)
        now = time.monotonic()
        if now - last_sync >= _SYNC_EVERY:
            _sync(scratch.corpus, config.corpus_dir)
            last_sync = now
        if on_progress is not None:
            on_progress(Progress(config.target, now - started, summary.executions,
                                 summary.coverage, summary.corpus_size, len(summary.findings)))
        if config.stop_on_finding and summary.findings:
            break
    _read_status(scratch.log, offset, summary, fuzzer.base_executions)
    summary.interrupted = bool(stop["requested"])
    while triage.minimiser is not None and (triage.minimiser.current or triage.minimiser.queue) \
            and not stop["requested"] and not config.stop_on_finding:
        triage.minimiser.poll(triage.minimised)
        time.sleep(0.2)


def _install_stop_handlers() -> dict[str, object]:
    state: dict[str, object] = {"requested": False, "previous": {}}

    def request(signum: int, frame: object) -> None:
        state["requested"] = True

    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError):  # not the main thread: the caller handles them
            previous[signum] = signal.signal(signum, request)
    state["previous"] = previous
    return state


def _restore_handlers(state: dict[str, object]) -> None:
    previous = state["previous"]
    assert isinstance(previous, dict)
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def fuzz(config: FuzzConfig, on_progress: Callable[[Progress], None] | None = None,
         *, canonical_only: bool = False) -> FuzzSummary:
    """Seed an empty corpus from the target's seeds, then ``run_fuzz`` (the Python API of
    ``amc fuzz TARGET``)."""
    from conformance.fuzz.worker import prepare

    os.environ.update(config.extra_env)  # seeds and the judge see what the workers see
    if not corpus_entries(config.corpus_dir):
        module = prepare(config.target, plant=config.plant, candidate=config.candidate)
        write_entries(config.corpus_dir, module.seeds(canonical_only=canonical_only))

    def factory() -> ModuleType:
        return prepare(config.target, plant=config.plant, candidate=config.candidate)

    return run_fuzz(config, factory, on_progress)
