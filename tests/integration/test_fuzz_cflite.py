"""The ClusterFuzzLite build and the GitHub Actions workflows, run here as far as they can be:
every workflow passes actionlint (and actionlint does reject a broken one); ``build.sh`` runs
with a local stand-in for ``compile_python_fuzzer`` that records what it was given and writes
the same kind of launcher; each packaged fuzzer is then started the way that launcher starts
it (``python <fuzzer>.py <libFuzzer flags> <seed corpus>``) for a few seconds. The images and
Actions themselves cannot run here (README "Fuzzing").
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))
ACTIONLINT = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or \
    shutil.which("actionlint")
FUZZERS = sorted((ROOT / ".clusterfuzzlite/fuzzers").glob("*_fuzzer.py"))

STAND_IN = """#!/bin/sh
# Stand-in for OSS-Fuzz's compile_python_fuzzer: record the arguments, write a launcher.
echo "$*" >> "$RECORD"
name=$(basename "$1" .py)
printf '#!/bin/sh\\nexec %s %s "$@"\\n' "$PYTHON" "$(pwd)/$1" > "$OUT/$name"
chmod +x "$OUT/$name"
"""


@pytest.mark.skipif(ACTIONLINT is None, reason="actionlint is not installed (requirements.lock)")
@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_passes_actionlint(workflow: Path) -> None:
    done = subprocess.run([str(ACTIONLINT), str(workflow)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(ACTIONLINT is None, reason="actionlint is not installed (requirements.lock)")
def test_actionlint_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text((ROOT / ".github/workflows/nightly.yml").read_text()
                      .replace("runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    step: 1", 1)
                      .replace("${{ matrix.target }}", "${{ matrix.tagret }}", 1))
    done = subprocess.run([str(ACTIONLINT), str(broken)], capture_output=True, text=True)
    assert done.returncode != 0 and "tagret" in done.stdout


def test_the_workflows_cover_pr_batch_prune_coverage_and_nightly() -> None:
    text = {p.name: p.read_text() for p in WORKFLOWS}
    assert "mode: code-change" in text["cflite_pr.yml"]
    assert "mode: batch" in text["cflite_batch.yml"]
    assert "mode: prune" in text["cflite_cron.yml"] and "mode: coverage" in text["cflite_cron.yml"]
    nightly = text["nightly.yml"]
    assert "make nightly" in nightly and "upload-artifact" in nightly
    from conformance.fuzz.targets import TARGETS

    for target in TARGETS:
        assert target in nightly
        assert (ROOT / f".clusterfuzzlite/fuzzers/{target}_fuzzer.py").is_file()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    work = tmp_path_factory.mktemp("cflite")
    out, bin_dir, record = work / "out", work / "bin", work / "record.txt"
    out.mkdir()
    bin_dir.mkdir()
    (bin_dir / "compile_python_fuzzer").write_text(STAND_IN)
    (bin_dir / "compile_python_fuzzer").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "OUT": str(out),
           "SRC": str(work), "REPO": str(ROOT), "RECORD": str(record), "PYTHON": sys.executable}
    done = subprocess.run(["bash", str(ROOT / ".clusterfuzzlite/build.sh")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return out, record.read_text().splitlines()


def test_build_sh_compiles_every_target_with_its_data_corpus_and_dictionary(
        built: tuple[Path, list[str]]) -> None:
    out, calls = built
    assert len(calls) == len(FUZZERS) == 7
    for fuzzer, call in zip(FUZZERS, calls, strict=True):
        name = fuzzer.stem
        assert call.startswith(f".clusterfuzzlite/fuzzers/{name}.py ")
        assert "tests/fixtures/solidity_decoder_probe.json:tests/fixtures" in call
        assert "--collect-submodules conformance" in call
        target = name.removesuffix("_fuzzer")
        with zipfile.ZipFile(out / f"{name}_seed_corpus.zip") as seeds:
            names = seeds.namelist()
        committed = [p.name for p in (ROOT / "corpora" / target).iterdir() if p.is_file()]
        assert sorted(names) == sorted(committed) and "crashes" not in " ".join(names)
        assert (out / f"{name}.dict").read_text() == (ROOT / f"corpora/{target}.dict").read_text()


def _start(out: Path, name: str, tmp: Path, seconds: int) -> subprocess.Popen[str]:
    seeds = tmp / f"{name}-seeds"
    with zipfile.ZipFile(out / f"{name}_seed_corpus.zip") as archive:
        archive.extractall(seeds)
    command = [str(out / name), f"-max_total_time={seconds}", f"-dict={out / name}.dict",
               f"-artifact_prefix={tmp}/",
               "-print_final_stats=1", str(seeds)]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def _check(process: subprocess.Popen[str], name: str) -> None:
    output, _ = process.communicate(timeout=240)
    assert process.returncode == 0, f"{name}: {output[-3000:]}"
    assert "stat::number_of_executed_units" in output, output[-2000:]


def test_a_packaged_fuzzer_starts_as_the_launcher_would(built: tuple[Path, list[str]],
                                                         tmp_path: Path) -> None:
    out, _ = built
    _check(_start(out, "execute_calldata_fuzzer", tmp_path, 3), "execute_calldata_fuzzer")


@pytest.mark.slow
def test_every_packaged_fuzzer_starts_as_the_launcher_would(built: tuple[Path, list[str]],
                                                             tmp_path: Path) -> None:
    out, _ = built
    for pair in (FUZZERS[i:i + 2] for i in range(0, len(FUZZERS), 2)):
        started = [(f.stem, _start(out, f.stem, tmp_path, 4)) for f in pair]
        for name, process in started:
            _check(process, name)
