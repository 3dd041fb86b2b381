"""The benchmark harness (``conformance.bench``) and ``amc bench``, on a fake clock.

Nothing here depends on wall time: synthetic bodies advance an injected clock by fixed
amounts, so the arithmetic (rates, ratio, best of interleaved rounds, batches) is exact.
Real speed is measured by ``amc bench`` and never asserted in tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import eth_abi
import pytest

from conformance.bench import Benchmark, Registry, load_benchmarks, measure
from conformance.cli import main
from conformance.commands import bench_cmd
from conformance.errors import UsageError


class FakeClock:
    """A clock that moves only when a body says it worked."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.log: list[str] = []

    def __call__(self) -> float:
        return self.now

    def body(self, label: str, cost: float, ops: int | None = None) -> Callable[[], int | None]:
        def run() -> int | None:
            self.now += cost
            self.log.append(label)
            return ops

        return run


def bench_of(clock: FakeClock, *, bare: float = 1.0, measured: float = 2.0, goal: float = 0.5,
             name: str = "synthetic", ops: int | None = None) -> Benchmark:
    return Benchmark(name, "measured body", "bare body", clock.body("bare", bare),
                     clock.body("measured", measured, ops), goal)


def test_twice_the_work_is_a_ratio_of_one_half() -> None:
    clock = FakeClock()
    result = measure(bench_of(clock), seconds=100, rounds=5, clock=clock)
    assert result.bare_per_s == 1.0
    assert result.measured_per_s == 0.5
    assert result.ratio == 0.5
    assert result.met  # 0.5 >= goal 0.5
    assert result.rounds == 5


def test_goal_missed_and_batch_bodies() -> None:
    clock = FakeClock()
    slow = measure(bench_of(clock, measured=4.0), seconds=100, clock=clock)
    assert slow.ratio == 0.25 and not slow.met
    batched = measure(bench_of(clock, measured=5.0, ops=10), seconds=100, clock=clock)
    assert batched.measured_per_s == 2.0  # 10 operations per 5 s call
    assert batched.ratio == 2.0 and batched.met


def test_rounds_interleave_and_the_best_round_counts() -> None:
    clock = FakeClock()
    costs = iter([3.0] * 7 + [1.0] * 1000)  # warm-up call and the first slice are slow

    def measured() -> None:
        clock.now += next(costs)
        clock.log.append("measured")

    bench = Benchmark("x", "m", "b", clock.body("bare", 1.0), measured, 0.5)
    result = measure(bench, seconds=60, rounds=3, clock=clock)
    assert result.measured_per_s == 1.0 and result.ratio == 1.0
    runs = [label for i, label in enumerate(clock.log) if i == 0 or clock.log[i - 1] != label]
    assert runs == ["bare", "measured"] + ["bare", "measured"] * 3


def test_setup_runs_once_before_any_body_and_bad_budgets_are_refused() -> None:
    clock = FakeClock()
    calls: list[str] = []
    bench = Benchmark("s", "m", "b", clock.body("bare", 1.0), clock.body("measured", 1.0), 0.1,
                      setup=lambda: calls.append(f"setup after {len(clock.log)} bodies"))
    measure(bench, seconds=10, rounds=1, clock=clock)
    assert calls == ["setup after 0 bodies"]
    with pytest.raises(ValueError, match="seconds"):
        measure(bench, seconds=0, clock=clock)
    with pytest.raises(ValueError, match="rounds"):
        measure(bench, seconds=1, rounds=0, clock=clock)


def test_slices_stop_near_their_budget() -> None:
    clock = FakeClock()
    result = measure(bench_of(clock, bare=0.001, measured=0.001), seconds=10, rounds=1,
                     clock=clock)
    assert result.ratio == pytest.approx(1.0)
    assert 9.99 <= clock.now - 1000.0 <= 10.2  # the batches never overran the slices much


def test_registry_register_select_and_unknown_names() -> None:
    clock = FakeClock()
    registry = Registry()
    first = registry.register(bench_of(clock, name="alpha"))
    registry.register(bench_of(clock, name="beta"))
    assert first.name == "alpha" and len(registry) == 2 and "beta" in registry
    with pytest.raises(ValueError, match="already registered"):
        registry.register(bench_of(clock, name="alpha"))
    assert [b.name for b in registry.select()] == ["alpha", "beta"]
    assert [b.name for b in registry.select(["beta"])] == ["beta"]
    with pytest.raises(UsageError, match="did you mean 'alpha'"):
        registry.select(["alpah"])


def test_the_benchmarks_are_registered_with_the_issue_goals() -> None:
    names = [b.name for b in load_benchmarks()]
    assert names[:4] == ["signing-pipeline", "hypothesis-signed-ops", "hypothesis-floor",
                         "strict-decode"]
    goals = {b.name: b.goal for b in load_benchmarks()}
    assert goals["signing-pipeline"] == goals["strict-decode"] == 0.5
    assert goals["hypothesis-signed-ops"] == 0.1
    assert goals["hypothesis-floor"] == 0.0  # a reference figure, not a goal
    assert goals["account-case"] == goals["account-bootstrap-case"] == 0.5  # issue #4


def test_hypothesis_bodies_count_the_examples_they_ran() -> None:
    from conformance.bench.protocol_bench import HypothesisFloor, HypothesisSignedOps

    body = HypothesisSignedOps(batch=3)
    assert body() == 3 and body() == 3
    floor = HypothesisFloor(batch=4)
    assert floor() == 4 and floor() == 4  # one integer per example never exhausts the run


def test_the_signing_pipeline_hashes_as_eth_abi_encode_does() -> None:
    """The userOpHash path the pipeline times (eth-abi component encoders, memoised address
    words) gives exactly ``eth_abi.encode``'s bytes, and refuses what eth-abi refuses."""
    import random

    from eth_abi.exceptions import EncodingError
    from eth_hash.auto import keccak

    from conformance.protocol.userop import UserOperation, pack, user_op_hash

    rng = random.Random(7)
    entry_points = [rng.randbytes(20) for _ in range(2)]
    for i in range(200):
        op = UserOperation(
            sender=rng.randbytes(20), nonce=rng.getrandbits(rng.choice((8, 64, 256))),
            factory=rng.randbytes(20) if i % 3 == 0 else None,
            factory_data=rng.randbytes(rng.randrange(8)) if i % 3 == 0 else b"",
            call_data=rng.randbytes(rng.randrange(0, 300)), call_gas_limit=rng.getrandbits(128),
            verification_gas_limit=rng.getrandbits(24), pre_verification_gas=rng.getrandbits(256),
            max_fee_per_gas=rng.getrandbits(40), max_priority_fee_per_gas=rng.getrandbits(32),
            paymaster=rng.randbytes(20) if i % 2 else None,
            paymaster_data=rng.randbytes(rng.randrange(40)) if i % 2 else b"",
        )
        entry_point, chain_id = rng.choice(entry_points), rng.choice((1, 8453, 2**256 - 1))
        p = pack(op)
        inner = keccak(eth_abi.encode(
            ["address", "uint256", "bytes32", "bytes32", "bytes32", "uint256", "bytes32",
             "bytes32"],
            [p.sender, p.nonce, keccak(p.init_code), keccak(p.call_data), p.account_gas_limits,
             p.pre_verification_gas, p.gas_fees, keccak(p.paymaster_and_data)]))
        expected = keccak(eth_abi.encode(["bytes32", "address", "uint256"],
                                         [inner, entry_point, chain_id]))
        assert user_op_hash(op, entry_point, chain_id) == expected
    op = UserOperation(sender=bytes(20), nonce=0)
    for bad in (op.replace(nonce=-1), op.replace(nonce=1 << 256), op.replace(sender=bytes(19)),
                op.replace(pre_verification_gas=True)):
        with pytest.raises(EncodingError):
            user_op_hash(bad, bytes(20), 1)
    for chain_id in (1 << 256, True):  # the memoised chain-id word keeps eth-abi's checks
        with pytest.raises(EncodingError):
            user_op_hash(op, bytes(20), chain_id)
    unhashable = op.replace(sender=bytearray(b"\x01" * 20))  # encoded without the memo
    assert user_op_hash(unhashable, bytes(20), 1) == user_op_hash(
        op.replace(sender=b"\x01" * 20), bytes(20), 1)
    with pytest.raises(TypeError, match="no field 'nonse'"):
        op.replace(nonse=1)


def test_strict_decode_sides_read_the_same_canonical_calldata() -> None:
    from conformance.bench.protocol_bench import canonical_register_calldata

    calldata = canonical_register_calldata()
    assert calldata[:4].hex() == "b61d27f6"
    target, value, data = eth_abi.decode(["address", "uint256", "bytes"], calldata[4:])
    assert eth_abi.encode(["address", "uint256", "bytes"], [target, value, data]) == calldata[4:]
    assert value == 0 and data[:4].hex() == "537d491c"  # dstack_register (PROTOCOL.md §1)


# --- amc bench ---------------------------------------------------------------------------------


@pytest.fixture
def fake_bench(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    clock = FakeClock()
    registry = Registry()
    registry.register(bench_of(clock, name="half", measured=2.0, goal=0.5))
    registry.register(bench_of(clock, name="quarter", measured=4.0, goal=0.5))
    monkeypatch.setattr(bench_cmd, "load_benchmarks", lambda: registry)
    monkeypatch.setattr(bench_cmd, "CLOCK", clock)
    return clock


def test_cli_prints_the_table(fake_bench: FakeClock, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--seconds", "100"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["BENCHMARK", "MEASURED/S", "LIMIT/S", "RATIO", "GOAL", "MET"]
    assert out[1].split() == ["half", "0", "1", "0.50", "0.50", "yes"]
    assert out[2].split() == ["quarter", "0", "1", "0.25", "0.50", "NO"]
    assert out[3] == ""
    assert out[4] == "half: measured = measured body; limit = bare body"


def test_cli_json_only_and_require_goals(
    fake_bench: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "--seconds", "100", "--format", "json", "--only", "quarter"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row == {"name": "quarter", "measured_per_s": 0.25, "limit_per_s": 1.0, "ratio": 0.25,
                   "goal": 0.5, "met": False, "rounds": 5}
    assert main(["bench", "--seconds", "100", "--require-goals"]) == 1
    assert main(["bench", "--seconds", "100", "--require-goals", "--only", "half"]) == 0


def test_cli_usage_errors(fake_bench: FakeClock, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--only", "halve"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("amc: error: --only=halve") and "did you mean 'half'" in err
    assert "\n" not in err
    assert main(["bench", "--seconds", "0"]) == 2
    assert main(["bench", "--format", "csv"]) == 2
    assert fake_bench.log == []  # nothing was measured
