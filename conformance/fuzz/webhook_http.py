"""``amc fuzz webhook``: a webhook over HTTP, fuzzed with request bodies (PROTOCOL.md §3, §5;
rules WH-009, WH-071, WH-066, WH-067).

The target ``webhook_http`` posts each input as the body of ``POST /?token=…`` and, signed, of
``POST /pimlico``. Oracles by mode:
- ``--url URL`` (someone else's webhook and chain): no 5xx for any body (WH-009) and no answer
  carrying the token, the Pimlico secret or its key (WH-071). The suite does not know that
  webhook's chain, so its approvals cannot be judged: the decoder-agreement oracle is off.
- ``--reference`` / ``--launch CMD`` (the suite owns the chain: a fake chain peer on
  127.0.0.1 with the standard scenario, whose factory member is an approvable sender): the
  same, plus decoder agreement: an approved body's callData is one Solidity's decoder accepts
  (WH-067) and reads as ``execute(sender's cluster, 0, allowlisted inner call)`` (WH-066).
Seeds are approvable bodies for that sender (all modes).
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

import httpx

from conformance.errors import UsageError
from conformance.fuzz.base import Finding, draw_examples, require, unique
from conformance.fuzz.dictionaries import HEX_TOKENS, JSON_TOKENS
from conformance.fuzz.mutators import json_hex_mutator
from conformance.oracle.webhook_body import BodyReading, read_alchemy_body
from conformance.protocol import selectors
from conformance.protocol.calldata import DecodeError, encode_execute
from conformance.protocol.hexutil import checksum
from conformance.protocol.solidity_abi import decode_execute_solidity
from conformance.protocol.webhook_wire import (
    KeyDerivation,
    derive_hmac_key,
    webhook_headers,
)

NAME = "webhook_http"
RULES = ("WH-009", "WH-071", "WH-066", "WH-067")
DICTIONARY = JSON_TOKENS + HEX_TOKENS
MUTATOR = json_hex_mutator
CHAIN_ID = 84532
GENERATION = "base"
_ENV = "AMC_FUZZ_WEBHOOK"

_state: dict[str, Any] = {}


def setup() -> None:
    """Read the webhook under test from the environment ``fuzz_webhook`` set."""
    url = os.environ.get(f"{_ENV}_URL")
    if not url:
        raise RuntimeError("webhook_http runs under amc fuzz webhook (no URL given)")
    _state.update(url=url.rstrip("/"), token=os.environ.get(f"{_ENV}_TOKEN", ""),
                  secret=os.environ.get(f"{_ENV}_SECRET", ""),
                  sender=bytes.fromhex(os.environ.get(f"{_ENV}_SENDER", "00" * 20)),
                  cluster=bytes.fromhex(os.environ.get(f"{_ENV}_CLUSTER", "00" * 20)),
                  owned=os.environ.get(f"{_ENV}_OWNED") == "1",
                  client=httpx.Client(timeout=10.0))


def _secrets_in(text: str) -> list[str]:
    """Which configured secrets (by name, never by value) appear in ``text``."""
    found = []
    if _state["token"] and _state["token"] in text:
        found.append("the token")
    secret = _state["secret"]
    if secret:
        key = derive_hmac_key(secret, KeyDerivation.STANDARD)
        if secret in text or secret.removeprefix("whsec_") in text or key.hex() in text:
            found.append("the Pimlico secret or its key")
    return found


def _post(path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    try:
        return _state["client"].post(_state["url"] + path, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise Finding("WH-009", f"{path}: no answer ({type(exc).__name__})") from None


def _check_approval(body: bytes) -> None:
    reading = read_alchemy_body(body, CHAIN_ID)
    require(isinstance(reading, BodyReading) and reading.call_data is not None, "WH-067",
            "approved a body the oracle cannot read")
    assert isinstance(reading, BodyReading) and reading.call_data is not None
    try:
        call = decode_execute_solidity(reading.call_data)
    except DecodeError as exc:
        raise Finding("WH-067", f"approved callData Solidity's decoder rejects ({exc.kind})") \
            from None
    allowed = selectors.allowlist(GENERATION)
    require(reading.sender == _state["sender"] and call.target == _state["cluster"]
            and call.value == 0 and call.inner_selector in allowed, "WH-066",
            lambda: f"approved; Solidity reads {call.reading}: not execute(own cluster, 0, "
                    "an allowlisted call)")


def TestOneInput(data: bytes) -> None:  # noqa: N802 (libFuzzer's name)
    """Post ``data`` to both routes and apply the oracles of the mode."""
    if "url" not in _state:
        setup()
    answer = _post(f"/?token={_state['token']}", data, {"content-type": "application/json"})
    require(answer.status_code < 500, "WH-009", f"POST / answered {answer.status_code}")
    leaked = _secrets_in(answer.text)
    require(not leaked, "WH-071", f"POST / answer carries {', '.join(leaked)}")
    if _state["owned"] and answer.status_code == 200 and '"approved":true' in \
            answer.text.replace(" ", ""):
        _check_approval(data)
    if _state["secret"]:
        headers = webhook_headers(_state["secret"], KeyDerivation.STANDARD, "msg_fuzz",
                                  _now(), data)
        answer = _post("/pimlico", data, {**headers, "content-type": "application/json"})
        require(answer.status_code < 500, "WH-009", f"POST /pimlico answered {answer.status_code}")
        leaked = _secrets_in(answer.text)
        require(not leaked, "WH-071", f"POST /pimlico answer carries {', '.join(leaked)}")


def _now() -> int:
    import time

    return int(time.time())


def seeds(*, canonical_only: bool = False) -> list[bytes]:
    """Approvable Alchemy bodies: the sender, its cluster, an allowlisted inner call."""
    from conformance.strategies import inner_calls

    sender = bytes.fromhex(os.environ.get(f"{_ENV}_SENDER", "aa" + "00" * 18 + "01"))
    cluster = bytes.fromhex(os.environ.get(f"{_ENV}_CLUSTER", "c1" + "00" * 18 + "01"))
    bodies = []
    for inner in draw_examples(inner_calls(generation=GENERATION), 24):
        op = {"sender": checksum(sender), "nonce": "0x0",
              "callData": "0x" + encode_execute(cluster, 0, inner).hex()}
        bodies.append(json.dumps({"userOperation": op, "chainId": hex(CHAIN_ID)}).encode())
    return unique(bodies)


@contextmanager
def _owned_chain(stack: ExitStack) -> Iterator[dict[str, str]]:
    from conformance.peers.chain_scenario import ACTORS, ChainScenario
    from conformance.peers.chain_server import ChainPeer

    scenario = ChainScenario.standard(chain_id=CHAIN_ID)
    peer = stack.enter_context(ChainPeer(scenario))
    yield {"RPC_URL": peer.url, "EXPECTED_CHAIN_ID": str(CHAIN_ID),
           "CANONICAL_CLUSTER_FACTORY": checksum(scenario.cluster_factory),
           "CANONICAL_MEMBER_FACTORY": checksum(scenario.member_factory),
           "ALCHEMY_WEBHOOK_TOKEN": secrets.token_urlsafe(24),
           "PIMLICO_WEBHOOK_SECRET": "whsec_" + secrets.token_urlsafe(24).replace("-", "A")
           .replace("_", "B")[:32],
           "PIMLICO_KEY_DERIVATION": "standard", "WEBHOOK_GENERATION": GENERATION,
           "MAX_DAILY_OPS_PER_SENDER": "0", "LOG_LEVEL": "error",
           f"{_ENV}_SENDER": ACTORS.factory_member.hex(),
           f"{_ENV}_CLUSTER": ACTORS.cluster.hex()}


@contextmanager
def webhook_under_test(url: str | None, launch: str | None, reference: bool,
                       log_dir: Path) -> Iterator[dict[str, str]]:
    """The environment of the webhook_http worker for the chosen mode (servers stopped after)."""
    with ExitStack() as stack:
        if url is not None:
            if not url.startswith(("http://", "https://")):
                raise UsageError(f"--url={url!r}: not an http(s) URL")
            yield {f"{_ENV}_URL": url, f"{_ENV}_TOKEN": os.environ.get("ALCHEMY_WEBHOOK_TOKEN", ""),
                   f"{_ENV}_SECRET": os.environ.get("PIMLICO_WEBHOOK_SECRET", "")}
            return
        env = stack.enter_context(_owned_chain(stack))
        if reference:
            from conformance.reference.webhook.app import create_app
            from conformance.reference.webhook.server import start_in_thread

            server = stack.enter_context(start_in_thread(create_app(env)))
            base = server.url
        else:
            from conformance.targets.launcher import LaunchedProcess, free_port

            port = free_port()
            command = shlex.split(str(launch))
            process = LaunchedProcess(command, {**os.environ, **env, "PORT": str(port)},
                                      log_path=log_dir / "webhook.log",
                                      ready_url=f"http://127.0.0.1:{port}/healthz")
            stack.enter_context(process.start())
            base = f"http://127.0.0.1:{port}"
        yield {f"{_ENV}_URL": base, f"{_ENV}_TOKEN": env["ALCHEMY_WEBHOOK_TOKEN"],
               f"{_ENV}_SECRET": env["PIMLICO_WEBHOOK_SECRET"], f"{_ENV}_OWNED": "1",
               f"{_ENV}_SENDER": env[f"{_ENV}_SENDER"], f"{_ENV}_CLUSTER": env[f"{_ENV}_CLUSTER"]}


def fuzz_webhook(*, url: str | None, launch: str | None, reference: bool, seconds: int,
                 corpus: Path | None, seed: int | None, out: IO[str]) -> int:
    """Run the campaign; 1 when something was found (``amc fuzz webhook``)."""
    import tempfile

    from conformance.commands.fuzz_cmd import ProgressPrinter
    from conformance.fuzz.run_config import FuzzConfig
    from conformance.fuzz.runner import fuzz

    with tempfile.TemporaryDirectory(prefix="amc-fuzz-webhook-") as scratch, \
            webhook_under_test(url, launch, reference, Path(scratch)) as env:
        owned = env.get(f"{_ENV}_OWNED") == "1"
        print(f"fuzzing the webhook at {env[f'{_ENV}_URL']} for {seconds}s; oracles: no 5xx "
              "(WH-009), no secret in an answer (WH-071)"
              + ("; decoder agreement of approvals (WH-066, WH-067): the suite owns the chain"
                 if owned else "; decoder agreement OFF: with --url the suite does not own "
                 "the chain, so approvals cannot be judged"), file=out)
        os.environ.update(env)  # the seeds read sender and cluster
        config = FuzzConfig(NAME, seconds=seconds, corpus=corpus or Path(scratch) / "corpus",
                            seed=seed, evm_feedback=False, extra_env=env)
        printer = ProgressPrinter()
        summary = fuzz(config, printer)
        printer.done()
    print(f"done after {summary.seconds:.0f}s: {summary.executions:,} requests, findings "
          f"{len(summary.findings)}", file=out)
    for path in summary.findings:
        print(f"FINDING {path}", file=out)
    return 1 if summary.findings else 0
