"""Tests of the execute calldata encoder, the strict decoder and the reader models (PROTOCOL.md §3).

Pinned against PROTOCOL.md literals, eth-abi and real solc 0.8.24 bytecode in pyrevm (compiled
from tests/fixtures/SolidityDecoderProbe.sol and cached in solidity_decoder_probe.json;
regenerate with ``.venv/bin/python tests/unit/test_calldata.py --regenerate``).
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import eth_abi
import pytest
from eth_abi.exceptions import DecodingError
from eth_hash.auto import keccak
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from conformance.protocol.calldata import (
    DecodeError,
    DecodeErrorKind,
    ExecuteCall,
    argument_types,
    decode_execute_strict,
    encode_call,
    encode_execute,
    is_canonical_hex,
    parse_calldata_hex,
)
from conformance.protocol.solidity_abi import (
    PANIC_ALLOCATION,
    READERS,
    Reader,
    SolidityRevert,
    compare_readers,
    decode_execute_dirty_address_ignoring,
    decode_execute_eth_abi,
    decode_execute_fixed_offset,
    decode_execute_offset_trusting,
    decode_execute_solidity,
    decode_execute_solidity_memory,
)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
PROBE_SOURCE = FIXTURES / "SolidityDecoderProbe.sol"
PROBE_JSON = FIXTURES / "solidity_decoder_probe.json"

SEL = bytes.fromhex("b61d27f6")  # PROTOCOL.md §1
MEMORY_SEL = keccak(b"executeMemory(address,uint256,bytes)")[:4]
TYPES = ["address", "uint256", "bytes"]
TARGET = bytes.fromhex("f6E85fD138E3208d3AAE63ce4E2A33f20e82b9fb")  # live cluster factory (§1)
INNER = bytes.fromhex("4979ff72") + b"\x11" * 32  # publishWgKey(bytes32), §1
K = DecodeErrorKind


def w(value: int) -> bytes:
    return value.to_bytes(32, "big")


def canonical(target: bytes = TARGET, value: int = 0, data: bytes = INNER) -> bytes:
    """Independent canonical encoding: the selector literal plus eth-abi."""
    return SEL + eth_abi.encode(TYPES, [target, value, data])


def kind_of(outcome: ExecuteCall | DecodeError) -> DecodeErrorKind:
    assert isinstance(outcome, DecodeError), outcome
    return outcome.kind


def head(
    offset: int, target_word: bytes = w(int.from_bytes(TARGET, "big")), value: int = 0
) -> bytes:
    return SEL + target_word + w(value) + w(offset)


# --- encoder ----------------------------------------------------------------------------------


def test_encode_execute_matches_protocol_layout() -> None:
    got = encode_execute(b"\x11" * 20, 0, bytes.fromhex("deadbeef"))
    want = (
        "b61d27f6"
        + "00" * 12
        + "11" * 20
        + "00" * 32
        + "00" * 31
        + "60"
        + "00" * 31
        + "04"
        + "deadbeef"
        + "00" * 28
    )
    assert got.hex() == want


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=20, max_size=20), st.integers(0, 2**256 - 1), st.binary(max_size=300))
def test_round_trip_against_eth_abi(target: bytes, value: int, data: bytes) -> None:
    encoded = canonical(target, value, data)
    assert encode_execute(target, value, data) == encoded
    call = decode_execute_strict(encoded)
    assert call == ExecuteCall(target, value, data)
    assert call.encode() == encoded
    decoded = eth_abi.decode(TYPES, encoded[4:])
    assert (bytes.fromhex(decoded[0][2:]), decoded[1], decoded[2]) == (target, value, data)
    # every reader agrees on canonical calldata (PROTOCOL.md §3 decoder agreement)
    assert all(out == call for out in compare_readers(encoded).values())


def test_inner_selector_and_reading() -> None:
    assert ExecuteCall(TARGET, 0, INNER).inner_selector == bytes.fromhex("4979ff72")
    assert ExecuteCall(TARGET, 0, b"\x49\x79\xff").inner_selector == b""
    assert ExecuteCall(TARGET, 0, b"").inner_selector == b""
    assert ExecuteCall(TARGET, 7, INNER).reading == (TARGET, 7, bytes.fromhex("4979ff72"))
    with pytest.raises(ValueError, match="20 bytes"):
        ExecuteCall(b"\x01" * 19, 0, b"")
    with pytest.raises(ValueError, match="uint256"):
        ExecuteCall(TARGET, 2**256, b"")


def test_encode_call_selectors_and_args() -> None:
    assert encode_call("publishWgKey(bytes32)", [b"\x11" * 32]) == INNER
    assert encode_call("acceptOwnership()", []).hex() == "79ba5097"
    proof = (b"\x01" * 32, b"\x02" * 32, b"a", b"b", b"c", b"d", b"e", "ethereum")
    tuple_type = "(bytes32,bytes32,bytes,bytes,bytes,bytes,bytes,string)"
    sig = f"dstack_register({tuple_type},address,bytes32,bytes32)"
    got = encode_call(sig, [proof, TARGET, b"\x11" * 32, b"\x22" * 32])
    args = [proof, TARGET, b"\x11" * 32, b"\x22" * 32]
    assert got == bytes.fromhex("537d491c") + eth_abi.encode(
        [tuple_type, "address", "bytes32", "bytes32"], args
    )
    assert argument_types(sig) == (tuple_type, "address", "bytes32", "bytes32")


@pytest.mark.parametrize(
    "signature",
    [
        "publishWgKey(uint)",
        "dstack_register(DstackProof,address,bytes32,bytes32)",
        "noparens",
        "f(bytes32, address)",
        "(bytes32)",
    ],
)
def test_encode_call_refuses_non_canonical_signatures(signature: str) -> None:
    with pytest.raises(ValueError, match="signature="):
        encode_call(signature, [b"\x00" * 32])


def test_encode_call_refuses_wrong_arity() -> None:
    with pytest.raises(ValueError, match="takes 1 arguments, got 2"):
        encode_call("publishWgKey(bytes32)", [b"\x00" * 32, b"\x00" * 32])


# --- strict decoder ---------------------------------------------------------------------------

GOOD = canonical(data=b"hello")  # 132 + 32 bytes
TW = w(int.from_bytes(TARGET, "big"))
STRICT_CASES: list[tuple[str, bytes, DecodeErrorKind]] = [
    ("empty", b"", K.TOO_SHORT),
    ("selector only partly", SEL[:3], K.TOO_SHORT),
    (
        "executeBatch",
        keccak(b"executeBatch((address,uint256,bytes)[])")[:4] + GOOD[4:],
        K.WRONG_SELECTOR,
    ),
    ("head cut", GOOD[:99], K.TOO_SHORT),
    ("dirty address", SEL + b"\x01" + TW[1:] + GOOD[36:], K.DIRTY_ADDRESS),
    ("offset into head", head(0x20) + GOOD[100:], K.OFFSET_NOT_CANONICAL),
    ("offset forward", head(0x80) + w(0) + GOOD[100:], K.OFFSET_NOT_CANONICAL),
    ("offset past end", head(0x1000) + GOOD[100:], K.OFFSET_OUT_OF_RANGE),
    ("offset huge", head(2**255) + GOOD[100:], K.OFFSET_OUT_OF_RANGE),
    ("no length word", GOOD[:131], K.TOO_SHORT),
    ("length beyond end", GOOD[:100] + w(33) + GOOD[132:], K.LENGTH_OUT_OF_RANGE),
    ("length huge", GOOD[:100] + w(2**256 - 1) + GOOD[132:], K.LENGTH_OUT_OF_RANGE),
    ("no padding", GOOD[:137], K.MISSING_PADDING),
    ("part padding", GOOD[:150], K.MISSING_PADDING),
    ("dirty padding", GOOD[:-1] + b"\x01", K.DIRTY_PADDING),
    ("trailing byte", GOOD + b"\x00", K.TRAILING_BYTES),
    ("trailing word", GOOD + w(0), K.TRAILING_BYTES),
]


@pytest.mark.parametrize(
    ("name", "calldata", "kind"), STRICT_CASES, ids=[c[0] for c in STRICT_CASES]
)
def test_strict_decoder_names_first_fault(
    name: str, calldata: bytes, kind: DecodeErrorKind
) -> None:
    with pytest.raises(DecodeError) as info:
        decode_execute_strict(calldata)
    assert info.value.kind is kind
    assert info.value.detail and str(info.value).startswith(kind.value)


def test_every_kind_is_exercised() -> None:
    # HEX_FORMAT comes from parse_calldata_hex; LIBRARY_REJECTED only from library readers
    seen = {kind for _, _, kind in STRICT_CASES} | {K.HEX_FORMAT}
    assert seen == set(DecodeErrorKind) - {K.LIBRARY_REJECTED}


def test_strict_accepts_canonical_edge_cases() -> None:
    assert decode_execute_strict(GOOD) == ExecuteCall(TARGET, 0, b"hello")
    mutable: Any = bytearray(GOOD)
    assert decode_execute_strict(mutable) == ExecuteCall(TARGET, 0, b"hello")
    assert type(decode_execute_strict(mutable).data) is bytes
    empty = decode_execute_strict(canonical(data=b""))
    assert empty.data == b"" and len(canonical(data=b"")) == 132
    assert decode_execute_strict(canonical(value=2**256 - 1, data=b"\x00" * 64)).value == 2**256 - 1


def _set_word(args: bytes, at: int, value: int) -> bytes:
    """``args`` with the 32-byte word at ``at`` replaced (unchanged when the word is cut off)."""
    return args if len(args) < at + 32 else args[:at] + w(value) + args[at + 32 :]


@st.composite
def _mutated_args(draw: st.DrawFn) -> bytes:
    """A canonical ``execute`` argument encoding (eth-abi) with 0-3 mutations applied."""
    args = eth_abi.encode(
        TYPES,
        [
            draw(st.binary(min_size=20, max_size=20)),
            draw(st.sampled_from([0, 1, 2**256 - 1]) | st.integers(0, 2**256 - 1)),
            draw(st.binary(max_size=80)),
        ],
    )
    for _ in range(draw(st.integers(0, 3))):
        mutation = draw(st.sampled_from(
            ["flip", "flip-tail", "truncate", "cut-tail", "extend", "offset", "length",
             "dirty-address"]
        ))
        if mutation in ("flip", "flip-tail") and args:
            low = 0 if mutation == "flip" else max(0, len(args) - 32)  # tail: data or padding
            at = draw(st.integers(low, len(args) - 1))
            args = args[:at] + bytes([args[at] ^ draw(st.integers(1, 255))]) + args[at + 1 :]
        elif mutation == "truncate":
            args = args[: draw(st.integers(0, len(args)))]
        elif mutation == "cut-tail":
            args = args[: max(0, len(args) - draw(st.integers(1, 32)))]
        elif mutation == "extend":
            args += draw(st.sampled_from([bytes(32), b"\x00"]) | st.binary(min_size=1, max_size=64))
        elif mutation in ("offset", "length"):
            near = [0, 0x20, 0x40, 0x60, 0x80, 0xA0, len(args), len(args) - 32, 2**64, 2**256 - 1]
            value = draw(st.sampled_from(near) | st.integers(0, 2**256 - 1))
            args = _set_word(args, 64 if mutation == "offset" else 96, max(value, 0))
        elif mutation == "dirty-address":
            bits = draw(st.integers(1, 2**96 - 1)) << 160
            args = _set_word(args, 0, int.from_bytes(args[:32].ljust(32, b"\0"), "big") | bits)
    return args


def _eth_abi_canonical(args: bytes) -> tuple[bytes, int, bytes] | None:
    """eth-abi's reading of ``args`` when it decodes and re-encodes to the same bytes, else None."""
    try:
        target, value, data = eth_abi.decode(TYPES, args)
    except (DecodingError, OverflowError):
        return None
    if eth_abi.encode(TYPES, [target, value, data]) != args:
        return None
    return bytes.fromhex(target[2:]), value, data


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=260) | _mutated_args())
@example(GOOD[4:])
@example(GOOD[4:] + b"\x00")
@example(head(0x80)[4:] + w(0) + GOOD[100:])
@example(GOOD[4:-1] + b"\x01")
def test_strict_accepts_exactly_eth_abi_canonical_round_trips(args: bytes) -> None:
    """PROTOCOL.md §3: the hand-sliced strict decoder accepts exactly the argument bytes that
    eth-abi decodes and re-encodes unchanged, and then reads the same fields."""
    want = _eth_abi_canonical(args)
    try:
        got = decode_execute_strict(SEL + args)
    except DecodeError as exc:
        event(f"strict refuses: {exc.kind}")  # --hypothesis-show-statistics shows the spread
        assert want is None, f"strict refused ({exc}) what eth-abi round-trips: {want}"
    else:
        event("strict accepts")
        assert want is not None, f"strict accepted {got}; eth-abi does not round-trip it"
        assert (got.target, got.value, got.data) == want


# --- hex text ---------------------------------------------------------------------------------


def test_parse_calldata_hex() -> None:
    assert parse_calldata_hex("0x" + GOOD.hex()) == GOOD
    assert parse_calldata_hex("0x" + GOOD.hex().upper()) == GOOD  # upper-case is valid hex
    assert parse_calldata_hex("0x") == b""
    assert is_canonical_hex("0x" + GOOD.hex())
    assert not is_canonical_hex("0x" + GOOD.hex().upper())
    assert not is_canonical_hex("0xabc")


@pytest.mark.parametrize("text", ["0xabc", "b61d27f6", "0xzz", "0x b6", "", "0x\n00"])
def test_parse_calldata_hex_refuses(text: str) -> None:
    with pytest.raises(DecodeError) as info:
        parse_calldata_hex(text)
    assert info.value.kind is K.HEX_FORMAT


def test_parse_calldata_hex_refuses_non_strings() -> None:
    with pytest.raises(DecodeError) as info:
        parse_calldata_hex(b"0x00")  # type: ignore[arg-type]
    assert info.value.kind is K.HEX_FORMAT


# --- lenient readers disagree with Solidity where they are meant to ---------------------------


def test_dirty_address_reader() -> None:
    dirty = SEL + b"\xff" * 12 + TARGET + GOOD[36:]
    with pytest.raises(SolidityRevert) as info:
        decode_execute_solidity(dirty)
    assert info.value.kind is K.DIRTY_ADDRESS
    assert decode_execute_dirty_address_ignoring(dirty) == ExecuteCall(TARGET, 0, b"hello")
    assert decode_execute_offset_trusting(dirty).target == TARGET
    assert kind_of(compare_readers(dirty)["eth_abi"]) is K.DIRTY_ADDRESS


def test_fixed_offset_reader_reads_the_decoy() -> None:
    # The canonical slot (0x64) holds a decoy publishWgKey call; the offset word points past it
    # to the data the EVM really executes: transferOwnership (never sponsorable, §1).
    real = keccak(b"transferOwnership(address)")[:4] + w(0xBAD)
    decoy = w(len(INNER)) + INNER + bytes(28)  # 32 + 64 bytes
    calldata = head(0x60 + len(decoy)) + decoy + w(len(real)) + real + bytes(28)
    evm_reading = decode_execute_solidity(calldata)
    assert evm_reading.data == real
    assert decode_execute_fixed_offset(calldata).inner_selector == INNER[:4]
    assert decode_execute_offset_trusting(calldata) == evm_reading
    assert decode_execute_eth_abi(calldata) == evm_reading  # eth-abi follows forward offsets


def test_offset_trusting_reader_truncates() -> None:
    too_long = GOOD[:100] + w(0x40) + GOOD[132:]
    with pytest.raises(SolidityRevert) as info:
        decode_execute_solidity(too_long)
    assert info.value.kind is K.LENGTH_OUT_OF_RANGE
    assert decode_execute_offset_trusting(too_long).data == GOOD[132:]
    past_end = head(2**255) + GOOD[100:]
    assert decode_execute_offset_trusting(past_end) == ExecuteCall(TARGET, 0, b"")
    with pytest.raises(SolidityRevert):
        decode_execute_solidity(past_end)
    assert decode_execute_offset_trusting(SEL) == ExecuteCall(bytes(20), 0, b"")


def test_eth_abi_reader_departures() -> None:
    backward = head(0x20, value=5) + GOOD[100:]  # data = first 5 bytes of the offset word
    assert decode_execute_solidity(backward) == ExecuteCall(TARGET, 5, bytes(5))
    assert kind_of(compare_readers(backward)["eth_abi"]) is K.OFFSET_OUT_OF_RANGE
    dirty_padding = GOOD[:-1] + b"\x01"
    assert decode_execute_solidity(dirty_padding) == ExecuteCall(TARGET, 0, b"hello")
    assert kind_of(compare_readers(dirty_padding)["eth_abi"]) is K.DIRTY_PADDING
    huge = GOOD[:100] + w(2**64) + GOOD[132:]  # eth-abi raises OverflowError, mapped
    assert kind_of(compare_readers(huge)["eth_abi"]) is K.LENGTH_OUT_OF_RANGE


def test_compare_readers_names_every_reader() -> None:
    outcomes = compare_readers(GOOD + b"\x00")
    assert set(outcomes) == set(READERS)
    assert kind_of(outcomes["strict"]) is K.TRAILING_BYTES
    assert outcomes["solidity"] == ExecuteCall(TARGET, 0, b"hello")


# --- the Solidity model against real solc bytecode in pyrevm ----------------------------------

CALLER = "0x" + "11" * 20


def _evm_outcome(evm: object, address: str, calldata: bytes) -> tuple[str, object]:
    """("ok", (target, value, keccak, length)) or ("revert", revert data) from the real EVM."""
    try:
        out = evm.message_call(CALLER, address, calldata)  # type: ignore[attr-defined]
    except RuntimeError as exc:
        text = str(exc)
        assert text.startswith("Revert"), text
        return ("revert", bytes.fromhex(text.rsplit("output: 0x", 1)[1].rstrip(" }")))
    (inner,) = eth_abi.decode(["bytes"], bytes(out))
    target, value, digest, length = eth_abi.decode(
        ["address", "uint256", "bytes32", "uint256"], inner
    )
    return ("ok", (bytes.fromhex(target[2:]), value, digest, length))


def _model_outcome(reader: Reader, calldata: bytes) -> tuple[str, object]:
    try:
        call = reader(calldata)
    except SolidityRevert as exc:
        return ("revert", exc.revert_data)
    return ("ok", (call.target, call.value, keccak(call.data), len(call.data)))


def _probe_inputs() -> Iterator[bytes]:
    """Hand-picked and seeded random non-canonical execute calldata (PROTOCOL.md §3)."""
    yield from (c for _, c, _ in STRICT_CASES)
    yield from (
        canonical(data=bytes(range(n % 256)) * (n // 256 + 1))
        for n in (0, 1, 3, 4, 31, 32, 33, 300)
    )
    for size in (0, 3, 4, 5, 99, 100, 131, 132, 133):
        yield (SEL + bytes(200))[:size]
    for byte in range(12):
        yield SEL + bytes(byte) + b"\x01" + bytes(11 - byte) + TARGET + GOOD[36:]
    body = w(5) + b"hello".ljust(32, b"\x00")
    for offset in (
        0,
        0x20,
        0x40,
        0x5F,
        0x61,
        0x80,
        0xA0,
        0xC0,
        0xE0,
        0x100,
        2**64 - 1,
        2**64,
        2**64 - 4,
        2**255,
        2**256 - 1,
        2**256 - 4,
    ):
        yield head(offset, value=7) + body + body + bytes(offset % 64)
    for tail_len in range(0, 70):  # tail bounds: pos + 31 < end, exactly at the edge
        yield head(0x60) + (w(0) + bytes(64))[:tail_len]
    free = 0xFFFFFFFFFFFFFF40  # largest bytes-memory length solc allocates from 0x80
    for length in (0, 4, 5, 6, 27, 28, 2**63, 2**64 - 1, 2**64, 2**255, 2**256 - 1, free, free + 1):
        yield head(0x60) + w(length) + INNER
    for extra in (b"\x00", b"\x01", bytes(31), b"\xff" * 32, bytes(33)):
        yield GOOD + extra
    yield GOOD[:-1] + b"\x01"
    yield GOOD[:137]
    rng = random.Random(0xB61D27F6)
    for _ in range(300):
        yield _mutate(rng)


def _mutate(rng: random.Random) -> bytes:
    data = rng.randbytes(rng.choice([0, 1, 4, 5, 32, 36, 68, 100]))
    target_word = w(
        int.from_bytes(TARGET, "big") | (rng.random() < 0.15) * (rng.getrandbits(96) << 160)
    )
    value = rng.choice([0, 1, 2**256 - 1])
    offset = rng.choice(
        [0x60, 0x60, 0, 0x20, 0x40, 0x80, 0xA0, rng.getrandbits(8), rng.getrandbits(70)]
    )
    length = rng.choice(
        [len(data), len(data), len(data) + 1, rng.getrandbits(7), rng.getrandbits(66)]
    )
    gap = rng.randbytes(max(0, offset - 0x60)) if offset < 0x200 else b""
    padding = bytes(-len(data) % 32) if rng.random() < 0.7 else rng.randbytes(rng.randrange(40))
    calldata = head(offset, target_word, value) + gap + w(length) + data + padding
    cut = rng.random()
    if cut < 0.15:
        calldata = calldata[: rng.randrange(len(calldata) + 1)]
    elif cut < 0.3:
        calldata += rng.randbytes(rng.randrange(1, 70))
    return calldata


@pytest.fixture(scope="module")
def probe() -> dict[str, object]:
    return json.loads(PROBE_JSON.read_text())


@pytest.fixture(scope="module")
def deployed(probe: dict[str, object]) -> list[tuple[str, object, str]]:
    pyrevm = pytest.importorskip("pyrevm")
    out = []
    for pipeline, bytecode in probe["bytecode"].items():  # type: ignore[attr-defined]
        evm = pyrevm.EVM(spec_id="Cancun")  # revm's exact name ("CANCUN" would mean latest)
        evm.set_balance(CALLER, 10**18)
        out.append((pipeline, evm, evm.deploy(CALLER, bytes.fromhex(bytecode[2:]))))
    return out


def test_solidity_model_matches_solc_bytecode(deployed: list[tuple[str, object, str]]) -> None:
    inputs = list(dict.fromkeys(_probe_inputs()))
    assert len(inputs) > 400
    outcomes = {"ok": 0, "revert": 0, "panic": 0}
    for pipeline, evm, address in deployed:
        for calldata in inputs:
            want = _evm_outcome(evm, address, calldata)
            got = _model_outcome(decode_execute_solidity, calldata)
            assert got == want, (pipeline, "calldata", calldata.hex())
            outcomes[want[0]] += 1
            if calldata[:4] != SEL:
                continue
            want = _evm_outcome(evm, address, MEMORY_SEL + calldata[4:])
            got = _model_outcome(decode_execute_solidity_memory, calldata)
            assert got == want, (pipeline, "memory", calldata.hex())
            outcomes["panic"] += want == ("revert", PANIC_ALLOCATION)
    assert min(outcomes.values()) >= 4, outcomes  # accepted, reverted and panicking inputs all seen


def test_solidity_memory_differs_only_in_revert_data() -> None:
    free = 0xFFFFFFFFFFFFFF40
    for length, memory_data in (
        (free, b""),
        (free + 1, PANIC_ALLOCATION),
        (2**64, PANIC_ALLOCATION),
    ):
        calldata = head(0x60) + w(length) + INNER
        with pytest.raises(SolidityRevert) as calldata_info:
            decode_execute_solidity(calldata)
        with pytest.raises(SolidityRevert) as memory_info:
            decode_execute_solidity_memory(calldata)
        assert calldata_info.value.revert_data == b""
        assert memory_info.value.revert_data == memory_data


def _compile_probe() -> dict[str, object]:
    """Compile the probe with solc-js (legacy and via-IR pipelines, optimizer on, cancun)."""
    script = r"""
const solc = require('solc');
const src = require('fs').readFileSync(0, 'utf8');
const out = {
  solc: solc.version(),
  settings: {optimizer: {enabled: true, runs: 200}, evmVersion: 'cancun'},
  bytecode: {},
};
for (const viaIR of [false, true]) {
  const selection = {'*': {'*': ['evm.bytecode.object']}};
  const settings = Object.assign({viaIR, outputSelection: selection}, out.settings);
  const sources = {'SolidityDecoderProbe.sol': {content: src}};
  const res = JSON.parse(solc.compile(JSON.stringify({language: 'Solidity', sources, settings})));
  for (const e of res.errors || []) if (e.severity === 'error') throw new Error(e.formattedMessage);
  const probe = res.contracts['SolidityDecoderProbe.sol'].SolidityDecoderProbe;
  out.bytecode[viaIR ? 'via-ir' : 'legacy'] = '0x' + probe.evm.bytecode.object;
}
console.log(JSON.stringify(out, null, 2));
"""
    done = subprocess.run(
        ["node", "-e", script],
        input=PROBE_SOURCE.read_text(),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.node
@pytest.mark.skipif(
    shutil.which("node") is None, reason="node not found: cannot recompile the probe"
)
@pytest.mark.skipif(
    not (ROOT / "node_modules" / "solc").is_dir(), reason="node_modules/solc absent"
)
def test_probe_fixture_matches_a_fresh_compile(probe: dict[str, object]) -> None:
    assert _compile_probe() == probe, (
        "regenerate: .venv/bin/python tests/unit/test_calldata.py --regenerate"
    )


if __name__ == "__main__" and sys.argv[1:] == ["--regenerate"]:
    PROBE_JSON.write_text(json.dumps(_compile_probe(), indent=2) + "\n")
