"""The webhook harness' own parts against real servers on 127.0.0.1: the HTTP adapter's error
mapping, the launcher, secrets, reproducers, the deployment probe and replay's selection.

Expected values are independent: HMAC keys come from ``webhook_wire.derive_hmac_key`` (pinned
to the golden vector by the protocol tests), stale deployments are a starlette app answering 401.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from conformance.commands.replay_cmd import pick_failure
from conformance.commands.replay_webhook import conforms
from conformance.errors import TargetError, UsageError
from conformance.peers import ChainPeer
from conformance.peers.kv import KvPeer
from conformance.profiles import load_profile
from conformance.protocol.webhook_wire import KeyDerivation, derive_hmac_key
from conformance.suites.webhook.harness import token_reading
from conformance.suites.webhook.reproduce import (
    RecordedRequest,
    Signing,
    body_file_name,
    curl_command,
    reproducer,
)
from conformance.targets.launcher import free_port
from conformance.targets.webhook import (
    LaunchedWebhook,
    generate_hmac_secret,
    generate_secrets,
    reference_command,
    webhook_environment,
)
from conformance.targets.webhook_http import HttpWebhook, WebhookRequest
from conformance.targets.webhook_probe import STALE, probe_webhook
from conformance.targets.webhook_replay import scenario_for

PROFILE = load_profile("pimlico")


@pytest.mark.parametrize("derivation", list(KeyDerivation))
def test_generated_secrets_decode_under_their_derivation(derivation: KeyDerivation) -> None:
    secret = generate_hmac_secret(derivation)
    assert len(derive_hmac_key(secret, derivation)) >= 24
    assert generate_hmac_secret(derivation) != secret


def test_connection_refused_is_a_target_error() -> None:
    with HttpWebhook(f"http://127.0.0.1:{free_port()}", timeout=1.0) as http, \
            pytest.raises(TargetError, match="failed"):
        http.send(WebhookRequest("GET", "/healthz", "", (), b""))


def _silent_server() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    return sock, sock.getsockname()[1]


def test_a_hung_target_costs_a_timeout_not_a_hang() -> None:
    sock, port = _silent_server()
    try:
        started = time.monotonic()
        with HttpWebhook(f"http://127.0.0.1:{port}", timeout=0.5) as http, \
                pytest.raises(TargetError, match="timed out"):
            http.send(WebhookRequest("GET", "/healthz", "", (), b""))
        assert time.monotonic() - started < 3
    finally:
        sock.close()


def test_a_process_that_never_answers_is_a_target_error(tmp_path: Path) -> None:
    never = LaunchedWebhook([sys.executable, "-c", "import time; time.sleep(30)"], {},
                            log_path=tmp_path / "never.log", ready_timeout=1.0)
    with pytest.raises(TargetError, match="did not answer"):
        never.start()
    crash = LaunchedWebhook([sys.executable, "-c", "print('boom'); raise SystemExit(3)"], {},
                            log_path=tmp_path / "crash.log", ready_timeout=5.0)
    with pytest.raises(TargetError, match="exited with code 3.*boom"):
        crash.start()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LaunchedWebhook, str]]:
    """The reference webhook launched the way the suite launches it."""
    secrets = generate_secrets(PROFILE.webhook.key_derivation)
    scenario, _ = scenario_for(PROFILE)
    with ChainPeer(scenario) as peer, KvPeer() as kv:
        env = webhook_environment(PROFILE, rpc_url=peer.url, secrets=secrets, cache_url=kv.url)
        log = tmp_path_factory.mktemp("ref") / "webhook.log"
        with LaunchedWebhook(reference_command("pimlico"), env, log_path=log) as webhook:
            yield webhook, secrets.token


def test_launched_reference_answers_and_restarts(reference: tuple[LaunchedWebhook, str]) -> None:
    webhook, _token = reference
    answer = webhook.send(WebhookRequest("GET", "/healthz", "", (), b""))
    assert (answer.status, answer.json) == (200, {"ok": True})
    first_url = webhook.url
    webhook.restart({"EXPECTED_CHAIN_ID": None})
    misconfigured = webhook.send(WebhookRequest("GET", "/healthz", "", (), b""))
    assert (misconfigured.status, misconfigured.json) == (500, {"error": "server-misconfigured"})
    webhook.restart({"EXPECTED_CHAIN_ID": str(PROFILE.chain_id)})
    assert webhook.url != first_url or webhook.alive
    assert webhook.send(WebhookRequest("GET", "/healthz", "", (), b"")).status == 200


def test_probe_passes_against_the_reference(reference: tuple[LaunchedWebhook, str]) -> None:
    webhook, token = reference
    secret = webhook.env[PROFILE.webhook.hmac_secret_env]
    report = probe_webhook(webhook.url, PROFILE, token=token, secret=secret)
    assert report.ok, report.steps
    wrong = probe_webhook(webhook.url, PROFILE, token=token + "x", secret=secret)
    assert not wrong.ok and wrong.cause.startswith("token accepted")


def _stale_app() -> Starlette:
    async def refuse(request: object) -> JSONResponse:
        return JSONResponse({"error": "unauthorized"}, status_code=401)

    async def healthy(request: object) -> JSONResponse:
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/healthz", healthy),
                             Route("/{p:path}", refuse, methods=["GET", "POST"])])


def test_probe_names_a_stale_route() -> None:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(_stale_app(), host="127.0.0.1", port=port,
                                           log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.01)
        report = probe_webhook(f"http://127.0.0.1:{port}", PROFILE, token="t",
                               secret=generate_hmac_secret("live-base57"))
        assert not report.ok and report.cause == STALE
    finally:
        server.should_exit = True
        thread.join(timeout=5)


def test_curl_reproducer_names_secrets_never_values() -> None:
    record = RecordedRequest("POST", "/", "token={token}%00", b'{"a":1}')
    text = curl_command(record, token_env="ALCHEMY_WEBHOOK_TOKEN",
                        secret_env="PIMLICO_WEBHOOK_SECRET")
    assert "${ALCHEMY_WEBHOOK_TOKEN}%00" in text and "base64 -d" in text
    built = record.build(token="s3cret", secret=None, derivation="standard")
    assert built.query == "token=s3cret%00"
    signed = RecordedRequest("POST", "/pimlico", "", b"{}", signing=Signing(offset=-10))
    assert "re-sign" in curl_command(signed, token_env="T", secret_env="S")
    again = RecordedRequest.from_json(json.loads(json.dumps(signed.to_json())))
    assert again.signing == signed.signing and again.body == b"{}"


def _run_shell(text: str, env: dict[str, str], cwd: Path) -> tuple[int, object]:
    """Run a reproducer with bash; (HTTP status, JSON body or None) of curl's -i output."""
    done = subprocess.run(["bash", "-euc", text], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    head, _, body = done.stdout.replace("\r\n", "\n").partition("\n\n")
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    return int(head.split()[1]), parsed


def test_curl_reproducers_run_against_the_reference(reference: tuple[LaunchedWebhook, str],
                                                    tmp_path: Path) -> None:
    """The shell reproducers work as printed: a signed Pimlico request is signed when it runs
    (from the secret's variable, fresh timestamp), a body over 8 KB is read from the file
    written next to results.json, or extracted from results.json by its digest."""
    webhook, token = reference
    settings = PROFILE.webhook
    secret = webhook.env[settings.hmac_secret_env]
    env = {"PATH": os.environ["PATH"], settings.token_env: token,
           settings.hmac_secret_env: secret, "WEBHOOK_URL": webhook.url}
    big = b'{"userOperation":{"sender":"0x12","callData":"0x"},"pad":"' + b"a" * 20_000 + b'"}'
    cases = [
        (RecordedRequest("POST", "/pimlico", "", b"not json", signing=Signing(offset=-10)),
         (200, {"sponsor": False})),
        (RecordedRequest("POST", "/pimlico", "", b"[]", signing=Signing(signed_body=b"{}")),
         (401, {"error": "unauthorized"})),
        (RecordedRequest("POST", "/pimlico", "", b"[]", signing=Signing(derivation="base58")),
         (401, {"error": "unauthorized"})),
        (RecordedRequest("POST", "/pimlico", "", b"[" + b" " * 9000 + b"]", signing=Signing()),
         (200, {"sponsor": False})),
        (RecordedRequest("POST", "/", "token={token}", big), (400, None)),
    ]
    for record, (status, body) in cases:
        text = reproducer(record, token_env=settings.token_env,
                          secret_env=settings.hmac_secret_env, rule="WH-054",
                          report_dir=tmp_path)
        assert secret not in text and token not in text
        got_status, got_body = _run_shell(text, env, tmp_path)
        assert got_status == status, text
        assert body is None or got_body == body
    written = tmp_path / body_file_name(cases[-1][0], "WH-054")
    assert written.read_bytes() == big
    written.unlink()
    failure = {"message": "m", "minimal_input": {"request": cases[-1][0].to_json()}}
    (tmp_path / "results.json").write_text(json.dumps(
        {"results": [{"rule_id": "WH-009", "failures": [failure]}]}))
    text = curl_command(cases[-1][0], token_env=settings.token_env,
                        secret_env=settings.hmac_secret_env)
    assert "results.json" in text and not written.exists()
    assert _run_shell(text, env, tmp_path)[0] == 400


@pytest.mark.parametrize(("query", "expected"), [
    ("token=abc", True), ("token=%61bc", None), ("", False), ("token=", False),
    ("token=abcd", False), ("Token=abc", False), ("token=abc&token=x", None)])
def test_token_reading(query: str, expected: bool | None) -> None:
    assert token_reading(query, "abc") is expected


def test_replay_picks_a_recorded_failure() -> None:
    request = RecordedRequest("POST", "/", "token={token}", b"{}").to_json()
    doc = {"results": [{"rule_id": "WH-013", "failures": [
        {"message": "m", "minimal_input": {"request": request}}]}]}
    assert pick_failure(doc, "WH-013", 0)[0] == "WH-013"
    with pytest.raises(UsageError):
        pick_failure(doc, "WH-014", 0)
    assert conforms(200, {"a": 1}, [{"status": 200, "body": None}]) is True
    assert conforms(400, {}, [{"status": 200, "body": {"a": 1}}]) is False
