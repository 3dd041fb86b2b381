"""The paymaster a sidecar asks for sponsorship, in both dialects (PROTOCOL.md §7 step 2;
SC-005 … SC-009).

Alchemy: ``alchemy_requestGasAndPaymasterAndData``. Pimlico (served under a path containing
``pimlico.io``): ``pimlico_getUserOperationGasPrice`` and ``pm_sponsorUserOperation``.
Sponsorship is real on chain: the answer carries the ``VerifyingPaymaster`` (account-abstraction
0.7.0 samples) and its signer's signature over the op's gas fields, fees and a validity window,
so an op signed before sponsorship or with fees changed after it fails in the real EntryPoint.
Given a ``WebhookLink`` the paymaster first asks the sponsorship webhook, in the webhook's own
dialect, as a production paymaster does; a denial declines the sponsorship.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from eth_abi import encode

from conformance.peers.bundler import ESTIMATE
from conformance.peers.proxy_faults import CallContext, FaultKind, RpcError, Transcript
from conformance.protocol.hexutil import checksum, parse_address, to_data, to_quantity
from conformance.protocol.signatures import DUMMY_SIGNATURE, sign_eip191
from conformance.protocol.userop import UserOperation, from_json, to_json
from conformance.protocol.webhook_wire import alchemy_body, pimlico_event, webhook_headers

GAS_PRICES = {
    "slow": (1_000, 1_000),
    "standard": (2_000, 1_500),
    "fast": (3_000, 2_000),
}
"""pimlico_getUserOperationGasPrice tiers (maxFeePerGas, maxPriorityFeePerGas); distinct so a
sidecar that takes another tier than ``standard`` is seen (SC-007)."""
ALCHEMY_FEES = (2_500, 1_200)
"""The fees an Alchemy sponsorship answer carries."""
VALIDITY = 600
"""Seconds a sponsorship stays valid (validUntil = chain time + VALIDITY)."""
DECLINED = -32500
"""Error code of a declined sponsorship."""


class PaymasterChain(Protocol):
    """What the paymaster needs from the chain: its contract, signer and the hash to sign."""

    @property
    def chain_id(self) -> int:
        """The chain id."""
        ...

    @property
    def entry_point(self) -> bytes:
        """The EntryPoint address."""
        ...

    @property
    def timestamp(self) -> int:
        """The chain's current block timestamp."""
        ...

    def paymaster_hash(self, op: UserOperation, valid_until: int, valid_after: int) -> bytes:
        """VerifyingPaymaster.getHash(pack(op), validUntil, validAfter) from the contract."""
        ...


@dataclass(frozen=True)
class WebhookLink:
    """A sponsorship webhook the paymaster asks first: URL, dialect and its credential (the
    token or secret stays inside the peers: never recorded)."""

    url: str
    dialect: str
    credential: str
    derivation: str = "live"
    timeout: float = 5.0


@dataclass
class Paymaster:
    """A VerifyingPaymaster service: contract address, signer key, policy id."""

    chain: PaymasterChain
    address: bytes
    signer_key: int
    policy_id: str
    transcript: Transcript
    webhook: WebhookLink | None = None

    _http: httpx.Client | None = None

    def _client(self) -> httpx.Client:
        """One keep-alive client for the webhook (built on first use)."""
        if self._http is None:
            self._http = httpx.Client()
        return self._http

    def close(self) -> None:
        """Close the webhook client."""
        if self._http is not None:
            self._http.close()
            self._http = None

    # -- the shared steps ---------------------------------------------------------------------

    def _check_dummy(self, op: UserOperation) -> None:
        if not op.signature:
            raise RpcError(-32602, "userOperation.signature (dummy) is required")

    def _ask_webhook(self, op: UserOperation) -> None:
        """Ask the webhook (its own dialect); a denial or no answer declines."""
        link = self.webhook
        if link is None:
            return
        op_json = to_json(op)
        started = self.transcript.now()
        try:
            if link.dialect == "pimlico":
                raw = json.dumps(pimlico_event(op_json, self.chain.chain_id, self.policy_id))
                body = raw.encode()
                headers = webhook_headers(link.credential, link.derivation,
                                          f"msg_{uuid.uuid4().hex}", int(time.time()), body)
                headers["content-type"] = "application/json"
                answer = self._client().post(link.url.rstrip("/") + "/pimlico", content=body,
                                             headers=headers, timeout=link.timeout)
                approved = answer.status_code == 200 and answer.json().get("sponsor") is True
            else:
                body_obj = alchemy_body(op_json, checksum(self.chain.entry_point),
                                        hex(self.chain.chain_id))
                answer = self._client().post(link.url, params={"token": link.credential},
                                             json=body_obj, timeout=link.timeout)
                approved = answer.status_code == 200 and answer.json().get("approved") is True
            detail: Any = {"status": answer.status_code, "body": answer.text[:500]}
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            approved, detail = False, {"transport": type(exc).__name__}
        self.transcript.add(at=started, peer="webhook", path=link.dialect, method="sponsorship",
                            params={"userOperation": op_json}, result=detail,
                            duration=self.transcript.now() - started)
        if not approved:
            raise RpcError(DECLINED, f"sponsorship declined by policy: {detail}")

    def _sponsor(self, op: UserOperation, ctx: CallContext) -> UserOperation:
        """``op`` with gas limits and the paymaster fields; the paymaster's signature covers the
        gas fields, fees, nonce, callData and the validity window (VerifyingPaymaster.getHash)."""
        kind = ctx.fault.kind if ctx.fault else None
        if kind is FaultKind.DECLINE:
            raise RpcError(DECLINED, "sponsorship declined (injected)")
        self._ask_webhook(op)
        now = self.chain.timestamp
        valid_until = max(1, now - 1) if kind is FaultKind.EXPIRED else now + VALIDITY
        sponsored = op.replace(
            paymaster=self.address,
            paymaster_verification_gas_limit=ESTIMATE["paymasterVerificationGasLimit"],
            paymaster_post_op_gas_limit=ESTIMATE["paymasterPostOpGasLimit"],
        )
        digest = self.chain.paymaster_hash(sponsored, valid_until, 0)
        window = encode(["uint48", "uint48"], [valid_until, 0])
        return sponsored.replace(paymaster_data=window + sign_eip191(self.signer_key, digest))

    def _gas(self, op: UserOperation) -> UserOperation:
        return op.replace(call_gas_limit=ESTIMATE["callGasLimit"],
                          verification_gas_limit=ESTIMATE["verificationGasLimit"],
                          pre_verification_gas=ESTIMATE["preVerificationGas"])

    def _answer(self, op: UserOperation, ctx: CallContext, *, fees: bool) -> dict[str, str]:
        if ctx.fault is not None and ctx.fault.kind is FaultKind.NO_PAYMASTER:
            gas = ("callGasLimit", "verificationGasLimit", "preVerificationGas")
            return {k: v for k, v in to_json(op).items() if k in gas}
        keys = ["paymaster", "paymasterData", "paymasterVerificationGasLimit",
                "paymasterPostOpGasLimit", "callGasLimit", "verificationGasLimit",
                "preVerificationGas"]
        if fees:
            keys += ["maxFeePerGas", "maxPriorityFeePerGas"]
        wire = to_json(op)
        return {k: wire[k] for k in keys}

    def _policy(self, given: object) -> None:
        if given != self.policy_id:
            raise RpcError(DECLINED, f"unknown sponsorship policy {given!r}")

    # -- Alchemy ----------------------------------------------------------------------------

    def alchemy(self, params: list[Any], ctx: CallContext) -> dict[str, str]:
        """alchemy_requestGasAndPaymasterAndData [{policyId, entryPoint, dummySignature,
        userOperation}] → gas, fees and paymaster fields."""
        request = params[0]
        if not isinstance(request, dict):
            raise RpcError(-32602, "expected one request object")
        self._policy(request.get("policyId"))
        if parse_address(str(request.get("entryPoint"))) != self.chain.entry_point:
            raise RpcError(-32602, "unsupported entryPoint")
        partial = request.get("userOperation")
        if not isinstance(partial, dict) or not {"sender", "nonce", "callData"} <= set(partial):
            raise RpcError(-32602, "userOperation needs sender, nonce, callData and signature")
        gas_keys = ("callGasLimit", "verificationGasLimit", "preVerificationGas",
                    "maxFeePerGas", "maxPriorityFeePerGas")
        op = from_json({**dict.fromkeys(gas_keys, "0x0"), **partial})
        self._check_dummy(op)
        fee, tip = ALCHEMY_FEES
        priced = self._gas(op).replace(max_fee_per_gas=fee, max_priority_fee_per_gas=tip)
        return self._answer(self._sponsor(priced, ctx), ctx, fees=True)

    # -- Pimlico ----------------------------------------------------------------------------

    def gas_price(self, params: list[Any], ctx: CallContext) -> dict[str, dict[str, str]]:
        """pimlico_getUserOperationGasPrice [] → slow / standard / fast fees."""
        return {tier: {"maxFeePerGas": to_quantity(fee), "maxPriorityFeePerGas": to_quantity(tip)}
                for tier, (fee, tip) in GAS_PRICES.items()}

    def pimlico_sponsor(self, params: list[Any], ctx: CallContext) -> dict[str, str]:
        """pm_sponsorUserOperation [op, entryPoint, {sponsorshipPolicyId}] → gas limits and
        paymaster fields; the op's fees are kept and signed over."""
        if len(params) < 3 or not isinstance(params[2], dict):
            raise RpcError(-32602, "expected [userOperation, entryPoint, {sponsorshipPolicyId}]")
        self._policy(params[2].get("sponsorshipPolicyId"))
        if parse_address(str(params[1])) != self.chain.entry_point:
            raise RpcError(-32602, "unsupported entryPoint")
        op = from_json(params[0])
        self._check_dummy(op)
        return self._answer(self._sponsor(self._gas(op), ctx), ctx, fees=False)

    def alchemy_methods(self) -> dict[str, Any]:
        """Alchemy dialect entries."""
        return {"alchemy_requestGasAndPaymasterAndData": self.alchemy}

    def pimlico_methods(self) -> dict[str, Any]:
        """Pimlico dialect entries."""
        return {"pimlico_getUserOperationGasPrice": self.gas_price,
                "pm_sponsorUserOperation": self.pimlico_sponsor}


DUMMY_SIGNATURE_HEX = to_data(DUMMY_SIGNATURE)
"""The live dummy signature (PROTOCOL.md §2), for peers' tests."""
