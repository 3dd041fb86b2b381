"""The protocol layer's benchmarks: signing pipeline, hypothesis-drawn signed ops, strict decode.

Each names its bare loop exactly; the ratio is measured / bare in one run (``core.measure``).

- ``signing-pipeline`` (goal 0.5): build a UserOperation from random fields (seeded
  ``random.Random``), then ``sign_user_op``: pack, userOpHash, EIP-191 wrap, sign.
  Bare loop: keccak256 of a fixed 32-byte message, EIP-191 wrap (keccak256 of the prefix and
  that hash), ``coincurve.PrivateKey.sign_recoverable(digest, hasher=None)`` with a key object
  made once outside the loop.
- ``hypothesis-signed-ops`` (goal 0.1): signed UserOperations drawn by
  ``conformance.strategies.user_operations(signed=True)``. Timed by running a
  ``@given``-wrapped function under ``settings(max_examples=N, database=None,
  phases=[Phase.generate], deadline=None)`` and counting the examples it really ran (the
  body returns that count, so each operation is one example, setup and teardown of the run
  amortised over N). ``.example()`` is not used: it is slow and discouraged by hypothesis.
  Same bare loop as ``signing-pipeline``.
- ``hypothesis-floor`` (a reference, goal 0): the same ``@given`` runs over one
  ``st.integers`` draw per example and an empty body — hypothesis' own per-example cost,
  which bounds ``hypothesis-signed-ops`` from above. Same bare loop.
- ``strict-decode`` (goal 0.5): ``decode_execute_strict`` (with its canonicality checks) on
  canonical ``execute`` calldata carrying a real ``dstack_register`` call. Bare loop:
  ``eth_abi.decode(("address", "uint256", "bytes"), args)`` on the same calldata's argument
  bytes (the selector sliced off once, outside the loop).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import eth_abi
from coincurve import PrivateKey

from conformance.bench.core import Benchmark, register
from conformance.protocol.attestation import build_dstack_proof, encode_dstack_register
from conformance.protocol.calldata import EXECUTE_TYPES, decode_execute_strict, encode_execute
from conformance.protocol.hexutil import keccak
from conformance.protocol.signatures import EIP191_PREFIX
from conformance.protocol.userop import ENTRY_POINT_V07, UserOperation, sign_user_op

SIGNING_KEY = 0xB17D
"""PROTOCOL.md §4's public binding key: the key both sides sign with."""

CHAIN_ID = 8453
FIXED_MESSAGE = bytes(range(32))
HYPOTHESIS_BATCH = 50
"""Examples per ``@given`` run in ``hypothesis-signed-ops`` and ``hypothesis-floor``."""

FLOOR_MAX = (1 << 64) - 1
"""``hypothesis-floor`` draws one integer in [0, FLOOR_MAX] per example."""

SIGNING_LIMIT = ("keccak256 of a fixed 32-byte message, EIP-191 wrap, coincurve "
                 "sign_recoverable (key object made once)")


def bare_sign() -> Callable[[], None]:
    """The bare signing loop body (see the module docstring)."""
    key = PrivateKey.from_int(SIGNING_KEY)

    def body() -> None:
        key.sign_recoverable(keccak(EIP191_PREFIX + keccak(FIXED_MESSAGE)), hasher=None)

    return body


def measured_signing_pipeline(seed: int = 0x4337) -> Callable[[], None]:
    """Build a UserOperation from random fields, then pack, hash, wrap and sign it."""
    rng = random.Random(seed)

    def body() -> None:
        op = UserOperation(
            sender=rng.randbytes(20),
            nonce=rng.getrandbits(64),
            call_data=rng.randbytes(rng.randrange(4, 400)),
            call_gas_limit=rng.getrandbits(24),
            verification_gas_limit=rng.getrandbits(24),
            pre_verification_gas=rng.getrandbits(20),
            max_fee_per_gas=rng.getrandbits(40),
            max_priority_fee_per_gas=rng.getrandbits(32),
        )
        sign_user_op(op, SIGNING_KEY, ENTRY_POINT_V07, CHAIN_ID)

    return body


class HypothesisExamples:
    """N examples of a strategy drawn through one ``@given`` run; returns how many ran.

    The ``@given`` function is built once (``build``) and run again for every batch, under
    ``settings(max_examples=N, database=None, phases=[Phase.generate], deadline=None)``.
    """

    def __init__(self, strategy: Callable[[], Any], batch: int = HYPOTHESIS_BATCH) -> None:
        self.strategy = strategy
        """Builds the strategy (called once, in ``build``: it imports what it needs)."""
        self.batch = batch
        self._run: Callable[[], None] | None = None
        self.count = 0

    def build(self) -> None:
        """Compile the ``@given`` function (imports hypothesis and the strategy)."""
        if self._run is not None:
            return
        from hypothesis import HealthCheck, Phase, given, settings

        @settings(max_examples=self.batch, database=None, phases=[Phase.generate],
                  deadline=None, suppress_health_check=list(HealthCheck))
        @given(self.strategy())
        def run(value: object) -> None:
            self.count += 1

        self._run = run

    def __call__(self) -> int:
        self.build()
        assert self._run is not None
        self.count = 0
        self._run()
        return self.count


def _signed_user_operations() -> Any:
    from conformance.strategies import user_operations

    return user_operations(signed=True)


def _one_integer() -> Any:
    from hypothesis import strategies as st

    return st.integers(0, FLOOR_MAX)


class HypothesisSignedOps(HypothesisExamples):
    """``user_operations(signed=True)`` drawn through one ``@given`` run of N examples."""

    def __init__(self, batch: int = HYPOTHESIS_BATCH) -> None:
        super().__init__(_signed_user_operations, batch)


class HypothesisFloor(HypothesisExamples):
    """hypothesis' own per-example cost: one ``st.integers`` draw per example, nothing else.

    Not ``st.just(None)``: hypothesis stops a run after its only example (the choice tree is
    exhausted), so that would time one ``@given`` call per example, not one example.
    """

    def __init__(self, batch: int = HYPOTHESIS_BATCH) -> None:
        super().__init__(_one_integer, batch)


def canonical_register_calldata() -> bytes:
    """Canonical ``execute(cluster, 0, dstack_register(...))`` with a valid §4 proof."""
    cluster, member = bytes(19) + b"\x0a", bytes(19) + b"\x0b"
    x, wg = b"\x11" * 32, b"\x22" * 32
    proof = build_dstack_proof(kms_private=1, app_private=2, derived_private=SIGNING_KEY,
                               cluster=cluster, member=member, x_pub_key=x, wg_pub_key=wg)
    return encode_execute(cluster, 0, encode_dstack_register(proof, member, x, wg))


def _strict_decode_bodies() -> tuple[Callable[[], None], Callable[[], None], int]:
    calldata = canonical_register_calldata()
    args = calldata[4:]

    def bare() -> None:
        eth_abi.decode(EXECUTE_TYPES, args)

    def measured() -> None:
        decode_execute_strict(calldata)

    return bare, measured, len(calldata)


def protocol_benchmarks() -> tuple[Benchmark, ...]:
    """The protocol benchmarks, freshly built."""
    hypothesis_ops = HypothesisSignedOps()
    floor = HypothesisFloor()
    bare_decode, measured_decode, size = _strict_decode_bodies()
    return (
        Benchmark("signing-pipeline", "random UserOperation → pack → userOpHash → EIP-191 → "
                  "sign (sign_user_op)", SIGNING_LIMIT, bare_sign(),
                  measured_signing_pipeline(), goal=0.5),
        Benchmark("hypothesis-signed-ops", f"user_operations(signed=True) drawn in @given runs "
                  f"of {hypothesis_ops.batch} examples", SIGNING_LIMIT, bare_sign(),
                  hypothesis_ops, goal=0.1, setup=hypothesis_ops.build),
        Benchmark("hypothesis-floor", f"reference, no goal: @given runs of {floor.batch} "
                  "examples of st.integers (hypothesis' own per-example cost)", SIGNING_LIMIT,
                  bare_sign(), floor, goal=0.0, setup=floor.build),
        Benchmark("strict-decode", f"decode_execute_strict on canonical {size}-byte execute "
                  "calldata (dstack_register inner)", "eth_abi.decode((address,uint256,bytes)) "
                  "of the same argument bytes", bare_decode, measured_decode, goal=0.5),
    )


for _bench in protocol_benchmarks():
    register(_bench)
