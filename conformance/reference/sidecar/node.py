"""The reference sidecar: a node's whole sponsored life, PROTOCOL.md §7 step by step.

Per attempt, nothing cached: getNonce(sender, 0) at ``latest`` on the node RPC → sponsorship in
the dialect BUNDLER_URL names → sign the *final* op (EIP-191 over its userOpHash) →
``eth_sendUserOperation [op, entryPoint]`` → poll ``eth_getUserOperationReceipt``;
``success: false`` is a failure. A failed attempt is retried for the same operation after a
wait of at least ``initial``, doubling up to ``cap``, and never more than ``max_requests``
sponsorship requests in any ``window``. Work: registration first (skipped when memberOf shows
the member registered), then what ``AMC_SCENARIO`` names. Mutant seams: ``self.quirk``.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, TextIO

from coincurve import PublicKey
from eth_abi import decode

from conformance.protocol.attestation import (
    DstackProof,
    app_message_digest,
    binding_hash,
    code_id_of,
    encode_dstack_register,
)
from conformance.protocol.calldata import encode_call, encode_execute
from conformance.protocol.hexutil import keccak, to_data, to_quantity
from conformance.protocol.signatures import (
    DUMMY_SIGNATURE,
    key_pair,
    sign_eip191,
)
from conformance.protocol.userop import UserOperation, from_json, to_json, user_op_hash
from conformance.reference.sidecar.clients import CallFailed, DstackClient, RpcClient
from conformance.reference.sidecar.config import (
    BINDING_PATH,
    PURPOSE,
    WG_PATH,
    X_PATH,
    SidecarConfig,
)

GET_NONCE = "getNonce(address,uint192)"
PAYMASTER_KEYS = ("paymaster", "paymasterVerificationGasLimit", "paymasterPostOpGasLimit",
                  "paymasterData")
GAS_KEYS = ("callGasLimit", "verificationGasLimit", "preVerificationGas")


class AttemptFailed(Exception):
    """One submission attempt ended without a landed operation."""


class Stopped(Exception):
    """The process was asked to stop."""


@dataclass(frozen=True)
class Work:
    """One operation the node must land: a label and the inner call."""

    label: str
    inner: bytes


def _hex32(value: Any) -> bytes:
    return bytes.fromhex(str(value)[2:].rjust(64, "0")[-64:])


class Sidecar:
    """One node's sidecar process."""

    def __init__(self, config: SidecarConfig, *, out: TextIO = sys.stderr) -> None:
        self.config = config
        self.quirk = config.mutant or ""
        self.out = out
        self.node = RpcClient(config.rpc_url)
        self.bundler = RpcClient(config.bundler_url)
        self.dstack = DstackClient(config.dstack_endpoint)
        self.stop_event = threading.Event()
        self._sponsorships: deque[float] = deque()
        self._cached_nonce: int | None = None
        self.member = b""
        self.cluster = b""
        self.owner_key = 0

    # -- plumbing -----------------------------------------------------------------------------

    def log(self, message: str) -> None:
        """One line on stderr."""
        print(f"sidecar: {message}", file=self.out, flush=True)

    def sleep(self, seconds: float) -> None:
        """Wait, unless asked to stop."""
        if self.stop_event.wait(max(0.0, seconds)):
            raise Stopped

    def eth_call(self, to: bytes, data: bytes, *, client: RpcClient | None = None,
                 tag: str = "latest") -> bytes:
        """eth_call on the node RPC (the only place chain state is read)."""
        result = (client or self.node).call("eth_call", [{"to": to_data(to), "data": to_data(data)},
                                                         tag])
        try:
            return bytes.fromhex(str(result)[2:])
        except ValueError:
            raise CallFailed("eth_call: result is not hex") from None

    def retrying(self, what: str, read: Any) -> Any:
        """A chain read retried with the same backoff until it answers."""
        delay = self.config.backoff.initial
        while True:
            try:
                return read()
            except CallFailed as exc:
                self.log(f"{what} failed ({exc}); again in {delay:.3g}s")
                self.sleep(delay)
                delay = min(delay * self.config.backoff.factor, self.config.backoff.cap)

    # -- one attempt (§7 steps 1–5) -------------------------------------------------------------

    def read_nonce(self) -> int:
        """Step 1: EntryPoint.getNonce(sender, 0) at latest on the node RPC (SC-001…004)."""
        if self.quirk == "nonce-cached" and self._cached_nonce is not None:
            return self._cached_nonce
        data = encode_call(GET_NONCE, [self.member, 0])
        client = self.bundler if self.quirk == "nonce-from-bundler" else self.node
        tag = "pending" if self.quirk == "nonce-at-pending" else "latest"
        try:
            output = self.eth_call(self.config.entry_point, data, client=client, tag=tag)
        except CallFailed:
            if self.quirk == "nonce-zero-after-error":
                return 0
            raise
        (nonce,) = decode(["uint256"], output)
        self._cached_nonce = int(nonce)
        return int(nonce)

    def _rate_limit(self) -> None:
        """At most ``max_requests`` sponsorship requests in any ``window`` (§7, SC-024)."""
        backoff = self.config.backoff
        if self.quirk == "sponsorship-flood":
            return
        while True:
            now = time.monotonic()
            while self._sponsorships and now - self._sponsorships[0] >= backoff.window:
                self._sponsorships.popleft()
            if len(self._sponsorships) < backoff.max_requests:
                self._sponsorships.append(now)
                return
            self.sleep((backoff.window - (now - self._sponsorships[0])) * 1.02 + 0.002)

    def dummy(self) -> bytes:
        """The dummy signature (PROTOCOL.md §2, SC-010)."""
        if self.quirk == "dummy-v-raw":
            return DUMMY_SIGNATURE[:64] + bytes([DUMMY_SIGNATURE[64] - 27])
        return DUMMY_SIGNATURE

    def sponsor(self, op: UserOperation) -> UserOperation:
        """Step 2: gas, fees and paymaster fields from the paymaster, in its dialect."""
        self._rate_limit()
        dialect = "alchemy" if self.quirk == "dialect-ignored" else self.config.dialect
        dummy = to_data(self.dummy())
        entry_point = to_data(self.config.entry_point)
        if dialect == "alchemy":
            request: dict[str, Any] = {
                "policyId": self.config.policy_id, "entryPoint": entry_point,
                "dummySignature": dummy,
                "userOperation": {"sender": to_data(op.sender), "nonce": to_quantity(op.nonce),
                                  "callData": to_data(op.call_data), "signature": dummy},
            }
            if self.quirk == "alchemy-no-dummy":
                del request["dummySignature"]
            answer = self.bundler.call("alchemy_requestGasAndPaymasterAndData", [request])
            return self._merge(op, answer, fees=True)
        try:
            prices = self.bundler.call("pimlico_getUserOperationGasPrice", [])
            tier = prices["fast" if self.quirk == "pimlico-fast-fees" else "standard"]
            fee, tip = tier["maxFeePerGas"], tier["maxPriorityFeePerGas"]
        except (CallFailed, KeyError, TypeError):
            if self.quirk != "gas-price-error-swallowed":
                raise CallFailed("pimlico_getUserOperationGasPrice failed") from None
            fee = tip = "0x0"
        priced = {**to_json(op), "maxFeePerGas": fee, "maxPriorityFeePerGas": tip,
                  "signature": dummy}
        context_key = "policyId" if self.quirk == "pimlico-policy-key" else "sponsorshipPolicyId"
        answer = self.bundler.call("pm_sponsorUserOperation",
                                   [priced, entry_point, {context_key: self.config.policy_id}])
        return self._merge(from_json(priced), answer, fees=False)

    def _merge(self, op: UserOperation, answer: Any, *, fees: bool) -> UserOperation:
        """The op with the sponsorship answer's fields; no paymaster fields → failure (SC-009)."""
        if not isinstance(answer, dict):
            raise CallFailed("sponsorship answer is not an object")
        keys = [*GAS_KEYS, *(("maxFeePerGas", "maxPriorityFeePerGas") if fees else ())]
        if any(k not in answer for k in PAYMASTER_KEYS):
            if self.quirk != "paymaster-fields-optional":
                raise CallFailed("sponsorship answer without paymaster fields")
        else:
            keys += PAYMASTER_KEYS
        wire = {**to_json(op), **{k: answer[k] for k in keys if k in answer}}
        try:
            return from_json(wire)
        except ValueError as exc:
            raise CallFailed(f"sponsorship answer malformed: {exc}") from None

    def sign(self, op: UserOperation) -> UserOperation:
        """Step 3: EIP-191 over the final op's userOpHash (configured chain id, EntryPoint)."""
        digest = user_op_hash(op, self.config.entry_point, self.config.chain_id)
        return op.replace(signature=sign_eip191(self.owner_key, digest))

    def submit(self, op: UserOperation) -> str:
        """Step 4: eth_sendUserOperation [op, entryPoint] → userOpHash."""
        params: list[Any] = [to_json(op)]
        if self.quirk != "send-without-entrypoint":
            params.append(to_data(self.config.entry_point))
        return str(self.bundler.call("eth_sendUserOperation", params))

    def await_receipt(self, op_hash: str) -> None:
        """Step 5: poll for the receipt; ``success: false`` or no receipt is a failure."""
        if self.quirk == "no-receipt-poll":
            return
        backoff = self.config.backoff
        for _ in range(backoff.receipt_polls):
            receipt = self.bundler.call("eth_getUserOperationReceipt", [op_hash])
            if receipt is not None:
                if receipt.get("success") is not True and self.quirk != "success-ignored":
                    raise AttemptFailed(f"operation {op_hash} landed with success false")
                return
            self.sleep(backoff.receipt_interval)
        raise AttemptFailed(f"no receipt for {op_hash} after {backoff.receipt_polls} polls")

    def attempt(self, work: Work, signer: int) -> None:
        """One submission attempt of ``work``, §7 steps 1–5 in order."""
        target = self.member if self.quirk == "execute-self-target" else self.cluster
        nonce = self.read_nonce()
        op = UserOperation(sender=self.member, nonce=nonce,
                           call_data=encode_execute(target, 0, work.inner))
        if self.quirk == "sign-before-sponsorship":
            early = self.sign(op)
            op = self.sponsor(op).replace(signature=early.signature)
        else:
            op = self.sign(self.sponsor(op).replace(signature=b""))
        if signer != self.owner_key:
            digest = user_op_hash(op, self.config.entry_point, self.config.chain_id)
            op = op.replace(signature=sign_eip191(signer, digest))
        op_hash = self.submit(op)
        self.await_receipt(op_hash)
        if self._cached_nonce is not None:
            self._cached_nonce += 1

    def _unsponsored(self, work: Work, signer: int) -> None:
        """Mutant seam: the op without a paymaster, paid from the account (which holds no ETH)."""
        op = UserOperation(sender=self.member, nonce=self.read_nonce(), call_data=encode_execute(
            self.cluster, 0, work.inner), call_gas_limit=1_000_000,
            verification_gas_limit=1_500_000, pre_verification_gas=50_000, max_fee_per_gas=2_000,
            max_priority_fee_per_gas=1_500)
        digest = user_op_hash(op, self.config.entry_point, self.config.chain_id)
        with contextlib.suppress(CallFailed):
            self.submit(op.replace(signature=sign_eip191(signer, digest)))

    def complete(self, work: Work, signer: int) -> None:
        """Land ``work``: attempts with backoff until one succeeds (§7, SC-018, SC-023, SC-025)."""
        backoff = self.config.backoff
        delay = backoff.initial
        while True:
            try:
                self.attempt(work, signer)
                self.log(f"{work.label} landed")
                return
            except (CallFailed, AttemptFailed) as exc:
                if self.quirk == "unsponsored-after-decline" and "declined" in str(exc):
                    self._unsponsored(work, signer)
                if self.quirk == "failed-submission-abandoned" and "eth_sendUserOperation" in str(
                        exc):
                    self.log(f"{work.label} abandoned ({exc})")
                    return
                wait = {"retry-without-backoff": 0.0, "backoff-not-doubling": backoff.initial,
                        "sponsorship-flood": delay / 10}.get(self.quirk, delay)
                self.log(f"{work.label} attempt failed ({exc}); next in {wait:.3g}s")
                self.sleep(wait)
                delay = min(delay * backoff.factor, backoff.cap)

    # -- the node's life ------------------------------------------------------------------------

    def registration(self, key: int, chain: list[bytes], x: bytes, wg: bytes) -> Work:
        """dstack_register(proof, member, x, wg) with the proof built from GetKey (§4)."""
        app_sig, kms_sig = chain[0], chain[1]
        if self.quirk != "proof-v-raw":
            app_sig, kms_sig = self.dstack.normalised([app_sig, kms_sig])
        derived = key_pair(key).public_compressed
        recover_sig = app_sig[:64] + bytes([app_sig[64] % 27 if app_sig[64] >= 27
                                            else app_sig[64]])
        app_pub = PublicKey.from_signature_and_message(
            recover_sig, app_message_digest(PURPOSE, derived), hasher=None).format(compressed=True)
        message_hash = binding_hash(self.cluster, self.member, x, wg)
        proof = DstackProof(code_id_of(self.member), message_hash, sign_eip191(key, message_hash),
                            app_sig, kms_sig, derived, app_pub, PURPOSE)
        return Work("registration", encode_dstack_register(proof, self.member, x, wg))

    def plan(self, key: int, chain: list[bytes], x: bytes, wg: bytes) -> list[Work]:
        """What this node must land, registration first (§7 lifecycle, SC-015, SC-016, SC-026)."""
        scenario = self.config.scenario
        work: list[Work] = []
        registered = False
        if self.quirk != "register-always":
            output = self.retrying("memberOf", lambda: self.eth_call(
                self.cluster, encode_call("memberOf(address)", [self.member])))
            registered = bool(decode(["bool", "bytes32"], output)[0])
        if not registered:
            work.append(self.registration(key, chain, x, wg))
        if scenario.publish_wg is not None:
            on_chain = self.retrying("wgKeyOf", lambda: self.eth_call(
                self.cluster, encode_call("wgKeyOf(address)", [self.member])))
            if on_chain != scenario.publish_wg:
                work.append(Work("publishWgKey", encode_call("publishWgKey(bytes32)",
                                                             [scenario.publish_wg])))
        if scenario.csk is not None:
            csk = Work("setCskCommitment", encode_call("setCskCommitment(bytes32)", [scenario.csk]))
            work += [csk, csk] if self.quirk == "csk-every-round" else [csk]
        for recipient in scenario.envelopes:
            envelope_id = keccak(self.member + recipient)
            work.append(Work("send", encode_call("send(bytes32,bytes32,bytes)",
                                                 [recipient, envelope_id, b"envelope"])))
        if self.quirk == "register-not-first" and len(work) > 1 and not registered:
            work = work[1:] + work[:1]
        return work

    def run(self) -> int:
        """The node's life: identity, keys, the plan, then idle until stopped; exit code."""
        try:
            self.member = self.config.member or self.retrying("dstack Info", self.dstack.app_id)
            output = self.retrying("cluster()", lambda: self.eth_call(
                self.member, encode_call("cluster()", [])))
            self.cluster = output[12:32]
            path = "attestmesh-binding" if self.quirk == "wrong-key-path" else BINDING_PATH
            key, chain = self.retrying("dstack GetKey", lambda: self.dstack.get_key(path, PURPOSE))
            self.owner_key = key
            wg_key, _ = self.retrying("dstack GetKey", lambda: self.dstack.get_key(WG_PATH,
                                                                                    PURPOSE))
            x_key, _ = self.retrying("dstack GetKey", lambda: self.dstack.get_key(X_PATH, PURPOSE))
            wg, x = keccak(key_pair(wg_key).public_compressed), keccak(
                key_pair(x_key).public_compressed)
            work = self.plan(key, chain, x, wg)
            for item in work:
                later = self.quirk == "later-ops-other-key" and item.label != "registration"
                self.complete(item, wg_key if later else key)
            self.log(f"all work landed ({len(work)} operations)")
            while self.config.scenario.linger:
                self.sleep(3600)
        except Stopped:
            self.log("stopped")
        finally:
            for client in (self.node, self.bundler, self.dstack):
                client.close()
        return 0
