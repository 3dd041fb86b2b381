"""Judging and recording findings: what an input does to a target (in this process), its
signature for de-duplication, and the file pair under ``crashes/`` (input + ``.txt`` note with a
one-line replay command).
"""

from __future__ import annotations

import hashlib
import shlex
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from conformance.fuzz.base import Finding
from conformance.fuzz.corpus import CRASHES


@dataclass(frozen=True)
class Outcome:
    """An input that broke the target: ``rule`` (a rule id, or the exception type), the
    message and where it was raised (for exceptions other than ``Finding``)."""

    rule: str
    message: str
    where: str

    @property
    def signature(self) -> str:
        """Same bug, same signature: the rule and, for exceptions, the raising line."""
        return f"{self.rule}@{self.where}"


def judge(module: ModuleType, data: bytes) -> Outcome | None:
    """Run ``module.TestOneInput(data)``; the outcome when it raises, else None."""
    try:
        module.TestOneInput(data)
    except Finding as exc:
        return Outcome(exc.rule, exc.detail, "")
    except Exception as exc:  # noqa: BLE001 (any escape is the finding)
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        rule = getattr(exc, "rule", None) or type(exc).__name__
        return Outcome(str(rule), str(exc)[:300], where)
    return None


def replay_command(target: str, path: Path, *, plant: str | None = None,
                   candidate: str | None = None, artifact: str | None = None) -> str:
    """The one-line command that replays ``path`` on ``target``."""
    words = ["amc", "fuzz", "replay", target, "--input", str(path)]
    if plant:
        words += ["--plant", plant]
    if candidate:
        words += ["--callable", candidate]
    if artifact:
        words += ["--artifact", artifact]
    return shlex.join(words)


def record(corpus: Path, target: str, data: bytes, outcome: Outcome, *, plant: str | None = None,
           candidate: str | None = None, minimised: bool = False,
           artifact: str | None = None) -> Path:
    """Write the finding to ``corpus/crashes/<rule>-<sha1>`` with its note; the input's path."""
    folder = corpus / CRASHES
    folder.mkdir(parents=True, exist_ok=True)
    safe_rule = "".join(c if c.isalnum() or c in "-_." else "_" for c in outcome.rule)
    path = folder / f"{safe_rule}-{hashlib.sha1(data).hexdigest()}"
    path.write_bytes(data)
    note = [f"target: {target}", f"rule: {outcome.rule}", f"what: {outcome.message}",
            f"where: {outcome.where or '-'}", f"size: {len(data)} bytes",
            f"minimised: {'yes' if minimised else 'not yet'}",
            "replay: " + replay_command(target, path, plant=plant, candidate=candidate,
                                        artifact=artifact)]
    if plant:
        note.insert(1, f"plant: {plant}")
    path.with_name(path.name + ".txt").write_text("\n".join(note) + "\n")
    return path


def forget(path: Path) -> None:
    """Remove a finding and its note (replaced by its minimised form)."""
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".txt").unlink(missing_ok=True)
