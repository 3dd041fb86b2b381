"""The webhook checks' harness: the target, the chain and cache peers, the oracle, the ledger.

One ``Harness`` per pytest session (per xdist worker): it launches the implementation (or
reaches ``--url``), plays its chain (``ChainPeer``) and cache (``KvPeer``), keeps the approvals
per sender (the daily cap's state) and turns a wrong answer into a ``CheckFailure`` with the
minimal input and a curl reproducer. Every case uses fresh addresses for anything the webhook
may cache, so cached answers never go stale between cases (PROTOCOL.md §5 "Caching").
"""

from __future__ import annotations

import contextlib
import os
import secrets as _secrets
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, quote

import pytest

from conformance.engine.checks import CheckFailure
from conformance.engine.config import TargetSpec
from conformance.errors import TargetError
from conformance.oracle.webhook import (
    CapState,
    ChainView,
    Expectation,
    PolicyConfig,
    expect_alchemy,
)
from conformance.oracle.webhook_body import BodyReading, read_alchemy_body, read_pimlico_body
from conformance.oracle.webhook_secrets import SecretScanner
from conformance.peers import ChainPeer, ChainScenario, revert_reason
from conformance.peers.kv import KvPeer
from conformance.profiles.loader import Profile
from conformance.protocol.hexutil import parse_address
from conformance.suites.webhook import cases
from conformance.suites.webhook.judgement import STAND_IN_SENDER, Judgement, NotJudged
from conformance.suites.webhook.reproduce import (
    RecordedRequest,
    Signing,
    render_query,
    reproducer,
)
from conformance.suites.webhook.world_record import WorldJournal
from conformance.targets.webhook import (
    LaunchedWebhook,
    WebhookSecrets,
    generate_secrets,
    launch_command,
    reference_command,
    webhook_environment,
)
from conformance.targets.webhook_http import Answer, HttpWebhook, WebhookRequest
from conformance.targets.webhook_replay import scenario_for

NEEDS_CHAIN = "needs --launch or --reference: the suite must own the chain the webhook asks"
NEEDS_RESTART = ("needs --launch or --reference: the suite must start the webhook with other "
                 "settings")
ROLES = ("member", "path-a", "both", "stranger", "hostile", "reverting", "no-code")
"""Sender roles a case can install (PROTOCOL.md §5 step 3)."""



def token_reading(query: str, token: str) -> bool | None:
    """Policy step 1 as the oracle reads a query: True, False, or None (encoded differently)."""
    raw = [p.split("=", 1)[1] if "=" in p else "" for p in query.split("&")
           if p.split("=", 1)[0] == "token"]
    decoded = [v for k, v in parse_qsl(query, keep_blank_values=True) if k == "token"]
    if len(raw) != 1:
        return None if token in decoded else False
    if decoded[0] != token:
        return False
    return True if raw[0] == quote(token, safe="") or raw[0] == token else None


class Harness(Judgement):
    """Everything a webhook check needs (see the module docstring)."""

    def __init__(self, *, profile: Profile, profile_arg: str, target: TargetSpec,
                 report_dir: Path, worker: str) -> None:
        self.profile = profile
        self.profile_arg = profile_arg
        self.spec = target
        self.log_dir = report_dir / "logs"
        self.worker = worker
        self.generation = profile.generation.value
        self.settings = profile.webhook
        self.policy = PolicyConfig.for_generation(
            self.generation, profile.chain_id, operator_enabled=self.settings.operator_method,
            daily_cap=self.settings.daily_cap)
        self.base, self.actors = scenario_for(profile)
        self.journal = WorldJournal(profile, self.base, (self.settings.token_env,
                                                         self.settings.hmac_secret_env))
        self.owns_chain = target.kind in ("reference", "launch")
        self.ledger: Counter[bytes] = Counter()
        self._ledger_lock = threading.Lock()
        self.peer: ChainPeer | None = None
        self.kv: KvPeer | None = None
        self.target: Any = None
        self.env: dict[str, str] = {}
        self.secrets = self._secrets()
        self._variants = 0
        self._faults: dict[int, tuple[Any, TargetError, TracebackType | None]] = {}
        self.roles: dict[bytes, str] = {}
        """The role each sender was installed with (a failure's input class)."""
        self._baselines: dict[tuple[str, str], NotJudged | None] = {}
        self.uses_kv: bool | None = None
        """Whether the target talks to the KV peer (``CACHE_URL``), known after a baseline."""
        self._counted_ids: set[str] = set()
        self.scanner = SecretScanner(self.secrets.token if self.secrets else None,
                                     self.secrets.hmac_secret if self.secrets else None)
        self.leaks: list[dict[str, Any]] = []
        """WH-071: every secret the scanner found in an answer of this worker (see ``_scan``)."""

    # -- life cycle -------------------------------------------------------------------------

    def _secrets(self) -> WebhookSecrets | None:
        if self.owns_chain:
            return generate_secrets(self.settings.key_derivation)
        token = os.environ.get(self.settings.token_env)
        if not token:
            return None
        return WebhookSecrets(token, os.environ.get(self.settings.hmac_secret_env) or None)

    def command(self) -> list[str]:
        """The command that starts the implementation."""
        if self.spec.kind == "launch":
            return launch_command(self.spec.launch or "")
        return reference_command(self.profile_arg, self.spec.mutant)

    def start(self) -> Harness:
        """Start the peers and the target (TargetError when it never becomes ready)."""
        if not self.owns_chain:
            self.target = HttpWebhook(self.spec.url or "", self.spec.request_timeout)
            return self
        self.peer = ChainPeer(self.base, max_hold=4.0).start()
        self.kv = KvPeer().start()
        assert self.secrets is not None
        self.env = webhook_environment(self.profile, rpc_url=self.peer.url, secrets=self.secrets,
                                       cache_url=self.kv.url, mutant=self.spec.mutant)
        self.target = LaunchedWebhook(
            self.command(), self.env, log_path=self.log_dir / f"webhook-{self.worker}.log",
            ready_timeout=self.spec.ready_timeout, request_timeout=self.spec.request_timeout,
        ).start()
        return self

    def close(self) -> None:
        """Stop the target and the peers."""
        for part in (self.target, self.kv, self.peer):
            if part is not None:
                with contextlib.suppress(Exception):
                    (part.close if hasattr(part, "close") else part.stop)()

    def begin_test(self) -> None:
        """Fresh per-check state of the peers: the standard chain, no faults, empty logs; a
        launched target that exited during an earlier check is started again."""
        if isinstance(self.target, LaunchedWebhook):
            self.target.revive()
        if self.peer is not None:
            self.peer.clear_faults()
            self.peer.set_scenario(self.base)
            self.peer.clear_log()
        if self.kv is not None:
            self.kv.set_down(False)
        self._faults.clear()
        self._baselines.clear()
        self.journal.reset()

    @property
    def url(self) -> str:
        """The target's base URL."""
        return str(self.target.url)

    # -- what a check may need ----------------------------------------------------------------

    def need_chain(self) -> ChainPeer:
        """The chain peer, or SKIP with the reason when the suite does not own the chain."""
        if self.peer is None:
            pytest.skip(NEEDS_CHAIN)
        return self.peer

    def need_token(self) -> str:
        """The shared token, or SKIP naming the variable to set."""
        if self.secrets is None:
            pytest.skip(f"set {self.settings.token_env} to the target's token")
        return self.secrets.token

    def need_secret(self) -> str:
        """The Pimlico HMAC secret, or SKIP naming the variable to set."""
        if self.secrets is None or self.secrets.hmac_secret is None:
            pytest.skip(f"set {self.settings.hmac_secret_env} to the target's HMAC secret")
        return self.secrets.hmac_secret

    def need_kv(self) -> KvPeer:
        """The KV cache peer the launched webhook was given as ``CACHE_URL``."""
        if self.kv is None:
            pytest.skip(NEEDS_CHAIN)
        return self.kv

    # -- the chain ------------------------------------------------------------------------------

    def scenario(self) -> ChainScenario:
        """The scenario now served."""
        return self.need_chain().scenario

    def _set(self, scenario: ChainScenario) -> None:
        self.need_chain().set_scenario(scenario)

    def add_sender(self, role: str, *, cluster: bytes | None = None) -> bytes:
        """A fresh address installed on the chain with ``role`` (one of ``ROLES``). Every member
        answers ``cluster()`` with its cluster as a real ClusterMember does (PROTOCOL.md §5):
        ``cluster`` (default: the standard cluster, whose answers may be cached); only the
        ``hostile``, ``reverting`` and ``no-code`` roles answer otherwise, on purpose."""
        address = _secrets.token_bytes(20)
        s, a = self.scenario(), self.actors
        home = cluster or a.cluster
        if role in ("member", "both"):
            s = s.with_member(address, cluster=home)
        clusters = dict(s.member_clusters)
        if role in ("path-a", "both", "stranger"):
            clusters[address] = home
        if role == "hostile":
            clusters[address] = a.hostile_cluster
        if clusters != dict(s.member_clusters):
            s = replace(s, member_clusters=clusters, contracts_with_code=None)
        if role in ("path-a", "both"):
            s = s.with_allowed(home, address)
        if role == "reverting":
            reverting = {**s.reverting_cluster, address: revert_reason("no cluster")}
            s = replace(s, reverting_cluster=reverting, contracts_with_code=None)
        if role not in ROLES:
            raise ValueError(f"role={role!r}: expected one of {', '.join(ROLES)}")
        self._set(s)
        self.roles[address] = role
        return address

    def add_cluster(self, *, v2: bool = False) -> bytes:
        """A fresh cluster deployed by the (v2) cluster factory."""
        address = _secrets.token_bytes(20)
        s = self.scenario()
        if v2:
            s = replace(s, clusters_v2=s.clusters_v2 | {address}, contracts_with_code=None)
        else:
            s = replace(s, clusters=s.clusters | {address}, contracts_with_code=None)
        self._set(s)
        return address

    def approvable(self, role: str = "member", *,
                   fresh_cluster: bool = False) -> tuple[bytes, bytes]:
        """(sender, callData) the policy approves: a fresh sender of ``role`` calling
        ``execute(cluster, 0, publishWgKey(…))`` (a fresh cluster when asked)."""
        target = self.add_cluster() if fresh_cluster else self.actors.cluster
        home = self.add_cluster() if fresh_cluster and role in ("path-a", "both") else None
        return self.add_sender(role, cluster=home), cases.execute(target)

    def approvable_or_stand_in(self) -> tuple[bytes, bytes]:
        """``approvable()`` on the suite's chain; without one (``--url``) a made-up sender
        calling the standard cluster, for the checks whose denial comes before any chain read."""
        if self.peer is not None:
            return self.approvable()
        return STAND_IN_SENDER, cases.execute(self.actors.cluster)

    def chain_hex(self) -> str:
        """The profile's chain id as the Alchemy body carries it."""
        return cases.hex_chain(self.profile.chain_id)

    def view(self, *, faulty: frozenset[str] = frozenset(), down: bool = False) -> ChainView:
        """The chain as the webhook meets it, for the oracle."""
        v2 = self.profile.cluster_factory_v2
        return ChainView(self.scenario(), parse_address(self.profile.member_factory),
                         parse_address(self.profile.cluster_factory),
                         parse_address(v2) if v2 else None, faulty, down)

    def cap_state(self, sender: bytes, *, cache_available: bool = True) -> CapState:
        """The sender's approvals so far (this worker's ledger)."""
        return CapState(self.ledger[sender], cache_available)

    # -- requests -----------------------------------------------------------------------------

    def send(self, record: RecordedRequest, *, target: Any = None,
             now: int | None = None) -> Answer:
        """Send a recorded request with this run's secrets; count approvals in the ledger."""
        secrets = self.secrets
        request = record.build(token=secrets.token if secrets else None,
                               secret=secrets.hmac_secret if secrets else None,
                               derivation=self.settings.key_derivation.value, now=now)
        self.journal.sent(record, target, self.peer, self.kv)
        answer = self._deliver(target or self.target, request)
        if target is None:
            self._count(record, answer, request)
        return answer

    def _deliver(self, target: Any, request: WebhookRequest) -> Answer:
        """``target.send(request)``; after a target's first TargetError in this check the same
        error is raised again without sending (ARCHITECTURE.md "Everything bounded": a hung target
        costs one ERROR). Without this, hypothesis shrinks and replays the error, paying one
        request timeout per attempt (minutes with a hung target), and a target failing in two
        ways (a reset read as ReadError, then as RemoteProtocolError) ends as FlakyFailure."""
        known = self._faults.get(id(target))
        if known is not None:
            raise known[1].with_traceback(known[2])
        try:
            answer = target.send(request)
        except TargetError as exc:
            self._faults[id(target)] = (target, exc, exc.__traceback__)
            raise
        self.scan(request.method, request.path, dict(request.headers), request.body,
                  answer.status, answer.headers, answer.body)
        return answer

    deliver = _deliver
    """``_deliver`` for a check that builds its own ``WebhookRequest`` (still scanned)."""

    def _count(self, record: RecordedRequest, answer: Answer, request: WebhookRequest) -> None:
        """The ledger (the daily cap's state): one approval per request, a replayed signed
        request (same webhook-id, timestamp and body: WH-070) counted once."""
        if answer.status != 200 or answer.json not in ({"approved": True}, {"sponsor": True}):
            return
        headers = {k.lower(): v for k, v in request.headers}
        if "webhook-id" in headers:
            capture = "|".join((headers["webhook-id"], headers.get("webhook-timestamp", ""),
                                record.body_sha256))
            if capture in self._counted_ids:
                return
            self._counted_ids.add(capture)
        reader = read_pimlico_body if record.path == "/pimlico" else read_alchemy_body
        reading = reader(record.body, self.profile.chain_id)
        if isinstance(reading, BodyReading):
            with self._ledger_lock:
                self.ledger[reading.sender] += 1

    def alchemy(self, body: bytes, *, query: str = "token={token}",
                target: Any = None) -> tuple[RecordedRequest, Answer]:
        """``POST /?<query>`` with a JSON body."""
        record = RecordedRequest("POST", "/", query, body)
        return record, self.send(record, target=target)

    def pimlico(self, body: bytes, signing: Signing | None = None, *, now: int | None = None,
                target: Any = None) -> tuple[RecordedRequest, Answer]:
        """``POST /pimlico`` signed per ``signing`` (default: a valid signature now)."""
        record = RecordedRequest("POST", "/pimlico", "", body, signing=signing or Signing())
        return record, self.send(record, now=now, target=target)

    def get(self, path: str, query: str = "", *,
            target: Any = None) -> tuple[RecordedRequest, Answer]:
        """``GET path?query``."""
        record = RecordedRequest("GET", path, query, b"", headers=())
        return record, self.send(record, target=target)

    # -- the oracle ---------------------------------------------------------------------------

    def expect_alchemy(self, record: RecordedRequest, *, faulty: frozenset[str] = frozenset(),
                       down: bool = False, cache_available: bool = True,
                       policy: PolicyConfig | None = None) -> Expectation:
        """The oracle's expectation for an Alchemy request against the current chain."""
        token = self.secrets.token if self.secrets else ""
        reading = read_alchemy_body(record.body, self.profile.chain_id)
        sender = reading.sender if isinstance(reading, BodyReading) else b""
        view = self.view(faulty=faulty, down=down) if self.peer else self.view_unknown()
        query = render_query(record.query, token)
        return expect_alchemy(record.body, token_ok=token_reading(query, token),
                              config=policy or self.policy, view=view,
                              cap=self.cap_state(sender, cache_available=cache_available))

    def view_unknown(self) -> ChainView:
        """A view for ``--url`` targets (only used where the chain is never asked)."""
        return ChainView(self.base, self.actors.member_factory, self.actors.cluster_factory)

    # -- failures -----------------------------------------------------------------------------

    def failure(self, rule: str, message: str, record: RecordedRequest, answer: Answer | None,
                expectation: Expectation | None = None, *, cause: str | None = None,
                **extra: Any) -> CheckFailure:
        """A FAIL of ``rule`` carrying the request, the answer, the expectation, a curl and
        the root-cause key (``cause``, default ``self.cause(…)``)."""
        minimal: dict[str, Any] = {"request": record.to_json(), **extra}
        if answer is not None:
            minimal["answer"] = {"status": answer.status, "body": answer.describe(400)}
        if expectation is not None:
            minimal["expected"] = expectation.describe()
            message = f"{message}: expected {expectation.describe()}" + (
                f", got {answer.describe(160)}" if answer is not None else "")
        elif answer is not None:
            message = f"{message}: got {answer.describe(160)}"
        if expectation is not None:
            minimal["expected_answers"] = [{"status": e.status, "body": e.body}
                                           for e in expectation.answers]
            if answer is not None:  # False: the FAIL is about something else (e.g. chain reads)
                minimal["answer_departs"] = not expectation.accepts(answer.status, answer.json)
        minimal["world"] = self.journal.world_for(record, self.env, self.peer, self.kv)
        command = reproducer(record, token_env=self.settings.token_env,
                             secret_env=self.settings.hmac_secret_env, rule=rule,
                             report_dir=self.log_dir.parent,
                             derivation=self.settings.key_derivation.value)
        return CheckFailure(rule, self.scrub(message), minimal_input=minimal,
                            reproducer=self.scrub(command),
                            cause=self.scrub(cause if cause is not None
                                             else self.cause(record, answer, expectation)))

    def scrub(self, text: str) -> str:
        """``text`` with this run's secrets replaced by their variable names."""
        if self.secrets is not None:
            text = text.replace(self.secrets.token, "$" + self.settings.token_env)
            if self.secrets.hmac_secret:
                text = text.replace(self.secrets.hmac_secret, "$" + self.settings.hmac_secret_env)
        return text

    def judge(self, rule: str, record: RecordedRequest, answer: Answer,
              expectation: Expectation, message: str = "wrong answer") -> None:
        """FAIL ``rule`` unless the answer is one the expectation allows."""
        if not expectation.accepts(answer.status, answer.json):
            raise self.failure(rule, message, record, answer, expectation)

    # -- other settings -------------------------------------------------------------------------

    @contextlib.contextmanager
    def variant(self, overrides: Mapping[str, str | None]) -> Iterator[LaunchedWebhook]:
        """A second webhook started with ``overrides`` on the same chain and cache."""
        if not self.owns_chain:
            pytest.skip(NEEDS_RESTART)
        self._variants += 1
        env = dict(self.env)
        for name, value in overrides.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        log = self.log_dir / f"webhook-{self.worker}-variant{self._variants}.log"
        webhook = LaunchedWebhook(self.command(), env, log_path=log,
                                  ready_timeout=self.spec.ready_timeout,
                                  request_timeout=self.spec.request_timeout)
        try:
            webhook.start()
        except TargetError as exc:
            raise TargetError(f"variant {sorted(overrides)} never became ready: {exc}") from None
        self.journal.variant(webhook, overrides, self.secrets)
        try:
            yield webhook
        finally:
            webhook.close()


__all__ = ["NEEDS_CHAIN", "NEEDS_RESTART", "ROLES", "Harness", "NotJudged", "token_reading"]
