"""The webhook harness' benchmark: cases per second against the reference, and the suite's own
overhead per case (time not spent waiting on the target).

- ``webhook-case`` (goal 0.5): one judged case as the checks run it — build the Alchemy body,
  send it through the harness (recorded request, token template, approval ledger), ask the
  oracle (body reading, chain view, policy) and judge the answer. Bare loop: ``httpx.post`` of
  the same prebuilt body to the same reference webhook (one client, made once). The request is
  a denial whose chain reads the webhook has cached, so both sides wait on the same target
  work and the ratio is the suite's overhead.

``measure_webhook()`` is the standalone figure: cases/s of a generated mix against the
reference, and the mean suite time per case outside ``send``.
"""

from __future__ import annotations

import atexit
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from conformance.bench.core import Benchmark, lazy, register
from conformance.engine.config import TargetSpec
from conformance.profiles import load_profile
from conformance.suites.webhook import cases
from conformance.suites.webhook.harness import Harness

PROFILE = "pimlico"


@dataclass(frozen=True)
class WebhookFigures:
    """Cases per second and the suite's own time per case (seconds)."""

    cases: int
    seconds: float
    cases_per_s: float
    overhead_per_case: float
    target_per_case: float


class _Rig:
    """A started harness on the reference, shared by the benchmark's two sides."""

    harness: Harness | None = None

    @classmethod
    def get(cls) -> Harness:
        if cls.harness is None:
            tmp = Path(tempfile.mkdtemp(prefix="amc-bench-"))
            harness = Harness(profile=load_profile(PROFILE), profile_arg=PROFILE,
                              target=TargetSpec(kind="reference"), report_dir=tmp, worker="bench")
            cls.harness = harness.start()
            atexit.register(harness.close)
        return cls.harness


def _denial_body(harness: Harness) -> bytes:
    sender = harness.actors.stranger
    return cases.alchemy(sender, cases.execute(harness.actors.cluster), harness.chain_hex())


def measured_case() -> Callable[[], None]:
    """One judged case through the harness (see the module docstring)."""
    harness = _Rig.get()
    body = _denial_body(harness)

    def body_fn() -> None:
        record, answer = harness.alchemy(body)
        harness.judge("WH-018", record, answer, harness.expect_alchemy(record))

    return body_fn


def bare_post() -> Callable[[], None]:
    """``httpx.post`` of the same body (one client)."""
    harness = _Rig.get()
    assert harness.secrets is not None
    url = f"{harness.url}/?token={harness.secrets.token}"
    body = _denial_body(harness)
    client = httpx.Client(trust_env=False, timeout=5.0)

    def body_fn() -> None:
        client.post(url, content=body, headers={"content-type": "application/json"})

    return body_fn


register(Benchmark(
    name="webhook-case",
    description="one judged webhook case: body, harness send, oracle, judge (reference target)",
    limit="httpx.post of the same prebuilt body to the same reference webhook (one client)",
    bare=lazy(bare_post),
    measured=lazy(measured_case),
    goal=0.5,
))


def measure_webhook(seconds: float = 10.0) -> WebhookFigures:
    """Run generated cases (fresh senders of every role, allowed and forbidden inner calls)
    against the reference for ``seconds``; time inside ``send`` is the target's."""
    harness = _Rig.get()
    roles = ("member", "path-a", "stranger", "no-code", "reverting")
    inners = (cases.DEFAULT_INNER, bytes.fromhex("f2fde38b") + bytes(32))
    waited = 0.0
    count = 0
    send = harness.target.send

    def timed_send(request: object) -> object:
        nonlocal waited
        started = time.perf_counter()
        try:
            return send(request)
        finally:
            waited += time.perf_counter() - started

    harness.target.send = timed_send
    start = time.perf_counter()
    try:
        while time.perf_counter() - start < seconds:
            sender = harness.add_sender(roles[count % len(roles)])
            call = cases.execute(harness.actors.cluster, inners[count % 2])
            record, answer = harness.alchemy(cases.alchemy(sender, call, harness.chain_hex()))
            harness.judge("WH-015", record, answer, harness.expect_alchemy(record))
            count += 1
    finally:
        harness.target.send = send
    total = time.perf_counter() - start
    return WebhookFigures(count, total, count / total, (total - waited) / count, waited / count)
