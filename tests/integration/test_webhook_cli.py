"""The webhook commands end to end, as a user runs them (issue #3; README "Webhook launch
contract"; ARCHITECTURE.md "Reproducers").

- ``amc replay`` on real FAILs of mutants (a re-signed Pimlico request, an Alchemy request and a
  request recorded under a key-derivation variant): with the mutant it is reproduced (exit 1),
  against the unmutated reference not reproduced (exit 0).
- ``amc run webhook --launch CMD`` with the reference as the launched command.
- ``amc probe URL`` against a launched reference: exit codes and output.
- WH-012 counts every chain request before the token, ``eth_chainId`` included: a webhook that
  asks the chain id first (this module, run as a script, is that webhook) FAILs it.

Every command runs as a subprocess with a hard limit; assertions are on exit codes, output and
report contents, never on durations.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
HARD_LIMIT = 240.0
"""Seconds before a command counts as hung (a bound, not a measurement)."""


def _amc(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m conformance.cli ARGS`` from the repository root."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run([sys.executable, "-m", "conformance.cli", *args], cwd=REPO,
                          env={**base, **(env or {})}, capture_output=True, text=True,
                          timeout=HARD_LIMIT, check=False)


def _run_mutant(tmp_path: Path, mutant: str, rules: tuple[str, ...]) -> dict[str, Any]:
    """A real ``amc run`` of ``mutant`` (pimlico) over ``rules``; its results.json."""
    from conformance.engine.config import RunConfig, TargetSpec
    from conformance.engine.run import run_component

    config = RunConfig(component="webhook", profile="pimlico",
                       target=TargetSpec(kind="reference", mutant=mutant), include=rules,
                       max_examples=3, report_dir=str(tmp_path), seed=4337)
    run_component(config, hard_timeout=HARD_LIMIT)
    return dict(json.loads((tmp_path / "results.json").read_text()))


def _failures(doc: dict[str, Any], rule: str, report_dir: Path) -> list[dict[str, Any]]:
    """``rule``'s failures, each ``minimal_input`` read through its pointer when external."""
    from conformance.report.external import resolve

    return [{**f, "minimal_input": resolve(f["minimal_input"], report_dir)}
            for r in doc["results"] if r["rule_id"] == rule for f in r["failures"]]


@pytest.mark.parametrize(("mutant", "rule", "resigned"), [
    ("malformed-pimlico-event-4xx", "WH-054", True),
    ("non-address-sender-500", "WH-007", False),
])
def test_replay_of_a_real_fail(tmp_path: Path, mutant: str, rule: str, resigned: bool) -> None:
    """The mutant's recorded FAIL still departs under the mutant and conforms without it."""
    doc = _run_mutant(tmp_path, mutant, (rule,))
    failures = _failures(doc, rule, tmp_path)
    assert failures, doc
    assert failures[0]["minimal_input"]["expected_answers"], "no structured expectation"
    still = _amc("replay", str(tmp_path), "--rule", rule, "--reference", "--mutant", mutant)
    assert still.returncode == 1, still.stdout + still.stderr
    assert f"reproduced      {rule}" in still.stdout
    assert not [line for line in still.stdout.splitlines() if line.startswith("not ")]
    fixed = _amc("replay", str(tmp_path), "--rule", rule, "--reference")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert f"not reproduced  {rule}" in fixed.stdout and " 0 reproduced" in fixed.stdout
    assert resigned is (failures[0]["minimal_input"]["request"].get("signing") is not None)


def test_replay_of_a_key_derivation_variant(tmp_path: Path) -> None:
    """A WH-057 FAIL recorded under PIMLICO_KEY_DERIVATION=base58 replays on a reference
    launched the same way: the plain-base64 mutant still refuses it, the reference accepts."""
    doc = _run_mutant(tmp_path, "plain-base64-pimlico-key", ("WH-057",))
    failures = _failures(doc, "WH-057", tmp_path)
    variants = [i for i, f in enumerate(failures)
                if f["minimal_input"]["request"].get("variant", {}).get("key_derivation")
                == "base58"]
    assert variants, [f["message"] for f in failures]
    index = str(variants[0])
    still = _amc("replay", str(tmp_path), "--rule", "WH-057", "--index", index, "--reference",
                 "--mutant", "plain-base64-pimlico-key")
    assert still.returncode == 1, still.stdout + still.stderr
    assert "reproduced      WH-057" in still.stdout
    fixed = _amc("replay", str(tmp_path), "--rule", "WH-057", "--index", index, "--reference")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "not reproduced  WH-057" in fixed.stdout and '"sponsor":true' in fixed.stdout


def test_run_with_launch_passes_the_reference(tmp_path: Path) -> None:
    """``--launch`` with the reference as the command: every selected rule PASSes (WH-011 is
    never judged over HTTP and SKIPs with its reason)."""
    launch = shlex.join([sys.executable, "-m", "conformance.cli", "serve", "webhook",
                         "--profile", "base"])
    done = _amc("run", "webhook", "--launch", launch, "--profile", "base", "--rule", "WH-01*",
                "--max-examples", "3", "--report-dir", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((tmp_path / "results.json").read_text())["results"]
    verdicts = {r["rule_id"]: r["verdict"] for r in results}
    assert set(verdicts) == {f"WH-01{i}" for i in range(10)}, verdicts
    assert verdicts.pop("WH-011") == "SKIP"
    assert set(verdicts.values()) == {"PASS"}, verdicts


@pytest.fixture(scope="module")
def launched() -> Iterator[tuple[str, dict[str, str]]]:
    """A reference (pimlico) on a fresh chain: its URL and the variables naming its secrets."""
    import tempfile

    from conformance.profiles import load_profile
    from conformance.targets.webhook import reference_command
    from conformance.targets.webhook_replay import ReplayBench

    profile = load_profile("pimlico")
    with tempfile.TemporaryDirectory() as tmp, ReplayBench(
            profile, command=reference_command("pimlico"), environ={},
            log_dir=Path(tmp)) as bench:
        secrets = bench.secrets
        assert secrets is not None and secrets.hmac_secret is not None
        yield bench.main.url, {profile.webhook.token_env: secrets.token,
                               profile.webhook.hmac_secret_env: secrets.hmac_secret}


def test_probe_command(launched: tuple[str, dict[str, str]]) -> None:
    """``amc probe URL``: exit 0 with every step ok; a wrong token exit 1 naming the cause; no
    token in the environment exit 2; ``--format json`` for machines."""
    url, env = launched
    good = _amc("probe", url, "--profile", "pimlico", env=env)
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.splitlines()[-1] == "probe passed"
    assert not [line for line in good.stdout.splitlines() if line.startswith("FAIL")]
    token_env = next(k for k in env if "TOKEN" in k)
    wrong = _amc("probe", url, "--profile", "pimlico", env={**env, token_env: "not-the-token"})
    assert wrong.returncode == 1
    assert wrong.stdout.splitlines()[-1].startswith("probe failed: token accepted")
    assert env[token_env] not in wrong.stdout + wrong.stderr
    missing = _amc("probe", url, "--profile", "pimlico", env={**env, token_env: ""})
    assert missing.returncode == 2 and token_env in missing.stderr
    machine = _amc("probe", url, "--profile", "pimlico", "--format", "json", env=env)
    assert machine.returncode == 0
    report = json.loads(machine.stdout)
    assert report["ok"] is True and report["url"] == url and all(s["ok"] for s in report["steps"])


def test_chain_id_request_before_the_token_fails_wh_012(tmp_path: Path) -> None:
    """WH-012: an ``eth_chainId`` request before the token is checked is a chain request."""
    launch = shlex.join([sys.executable, str(Path(__file__).resolve())])
    done = _amc("run", "webhook", "--launch", launch, "--profile", "pimlico", "--rule",
                "WH-012", "--max-examples", "2", "--report-dir", str(tmp_path))
    assert done.returncode == 1, done.stdout + done.stderr
    doc = json.loads((tmp_path / "results.json").read_text())
    (result,) = [r for r in doc["results"] if r["rule_id"] == "WH-012"]
    assert result["verdict"] == "FAIL"
    assert "eth_chainId" in result["failures"][0]["message"]
    assert result["failures"][0]["minimal_input"]["chain_requests"] == ["eth_chainId"]


# -- the webhook that asks the chain id first (run as a script by the test above) ------------


def _serve_chain_id_first() -> None:
    """``GET /healthz`` → 200 ok; any POST asks ``$RPC_URL`` for ``eth_chainId`` and then
    answers the bad-token denial (PROTOCOL.md §5 step 1), as if the token were checked last."""
    import httpx
    from aiohttp import web

    rpc_url = os.environ["RPC_URL"]

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def sponsor(request: web.Request) -> web.Response:
        async with httpx.AsyncClient(timeout=5.0) as client:
            await client.post(rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId",
                                             "params": []})
        return web.json_response({"approved": False, "reason": "bad-token"})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/", sponsor)
    web.run_app(app, host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ["PORT"]),
                print=None, shutdown_timeout=0.5, access_log=None)


if __name__ == "__main__":
    _serve_chain_id_first()
