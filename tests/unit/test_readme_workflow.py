"""The README's GitHub Actions example (a pull request gated with a baseline, the diff posted)
passes actionlint, and its amc commands are ones this suite accepts."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
ACTIONLINT = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or \
    shutil.which("actionlint")


def workflow() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"### A GitHub Actions workflow that gates a pull request\n\n```yaml\n"
                      r"(.*?)```", text, re.S)
    assert match, "README lacks the workflow example"
    return match.group(1)


@pytest.mark.skipif(ACTIONLINT is None, reason="actionlint is not installed (requirements.lock)")
def test_readme_workflow_passes_actionlint(tmp_path: Path) -> None:
    path = tmp_path / ".github" / "workflows" / "conformance.yml"
    path.parent.mkdir(parents=True)
    path.write_text(workflow())
    done = subprocess.run([str(ACTIONLINT), str(path)], capture_output=True, text=True,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_readme_workflow_amc_commands_parse() -> None:
    text = workflow().replace("\\\n", " ")
    commands = [line.strip() for line in text.splitlines() if line.strip().startswith("amc ")]
    assert len(commands) == 2  # amc run ... --baseline, amc report diff ... --format markdown
    parser = build_parser()
    for command in commands:
        args = parser.parse_args(shlex.split(command.split(">")[0])[1:])
        assert args.baseline is not None
