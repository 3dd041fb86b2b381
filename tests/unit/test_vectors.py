"""Portable test vectors (``amc vectors``): the export is independently recomputable.

Every vector of every file is recomputed here with code written in this test — eth-abi and
eth-hash for hashes and encodings, coincurve for keys, signing and recovery, hashlib/hmac/
base64 and an integer base-x decoder for webhook signatures, and real solc bytecode in pyrevm
for Solidity's reading of calldata — never by calling the vector builders. PROTOCOL.md
literals are pinned by name. The CLI is driven through ``conformance.cli.main``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import eth_abi
import pytest
from coincurve import PrivateKey, PublicKey
from eth_abi.exceptions import DecodingError
from eth_hash.auto import keccak

from conformance.cli import main
from conformance.rules import load_catalogue

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
PREFIX = b"\x19Ethereum Signed Message:\n32"
FILES = ("userop_hashes.json", "signatures.json", "selectors.json", "calldata.json",
         "binding_hashes.json", "proof_chains.json", "webhook_signatures.json")
ROOT = Path(__file__).resolve().parents[2]


# --- the export ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("vectors") / "out"
    assert main(["vectors", "export", str(directory)]) == 0
    return directory


@pytest.fixture(scope="module")
def files(export_dir: Path) -> dict[str, dict[str, Any]]:
    return {name: json.loads((export_dir / name).read_text()) for name in FILES}


def vectors_of(files: dict[str, dict[str, Any]], name: str) -> list[dict[str, Any]]:
    vectors = files[name]["vectors"]
    assert len(vectors) >= 10, name
    return vectors


def by_name(files: dict[str, dict[str, Any]], file: str) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in files[file]["vectors"]}


def b(text: str) -> bytes:
    assert text.startswith("0x")
    return bytes.fromhex(text[2:])


def n(value: int | str) -> int:
    return int(value)


def address_of(private: int) -> bytes:
    return keccak(PrivateKey.from_int(private).public_key.format(compressed=False)[1:])[12:]


def sign(private: int, digest: bytes) -> bytes:
    raw = PrivateKey.from_int(private).sign_recoverable(digest, hasher=None)
    return raw[:64] + bytes([raw[64] + 27])


def recover(digest: bytes, sig: bytes) -> bytes | None:
    """Strict recovery: 65 bytes, v 27/28, 0 < r < n, 0 < s ≤ n/2, else None."""
    if len(sig) != 65 or sig[64] not in (27, 28):
        return None
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big")
    if not (0 < r < N and 0 < s <= N // 2):
        return None
    try:
        pub = PublicKey.from_signature_and_message(sig[:64] + bytes([sig[64] - 27]), digest,
                                                   hasher=None)
    except ValueError:
        return None
    return keccak(pub.format(compressed=False)[1:])[12:]


def hexed(value: bytes | None) -> str | None:
    return None if value is None else "0x" + value.hex()


# --- envelope, rules, determinism ------------------------------------------------------------


def test_index_names_every_file_with_count_and_sha256(export_dir: Path) -> None:
    index = json.loads((export_dir / "index.json").read_text())
    assert index["format"] == "attestmesh-conformance-vectors"
    assert index["format_version"] == 1
    assert index["catalogue_digest"] == load_catalogue().digest
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", index["suite_version"])
    assert [e["file"] for e in index["files"]] == list(FILES)
    for entry in index["files"]:
        data = (export_dir / entry["file"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        document = json.loads(data)
        assert entry["count"] == len(document["vectors"])
        assert document["kind"] == entry["kind"] == entry["file"].removesuffix(".json")
        assert document["format"] == index["format"]
    assert sorted(p.name for p in export_dir.iterdir()) == sorted([*FILES, "index.json"])


def test_every_vector_is_well_formed_and_names_catalogue_rules(
    files: dict[str, dict[str, Any]],
) -> None:
    catalogue = load_catalogue()
    for name, document in files.items():
        names = [v["name"] for v in document["vectors"]]
        assert len(names) == len(set(names)), name
        for vector in document["vectors"]:
            assert list(vector) == ["name", "description", "rule_ids", "input", "expected"]
            assert vector["rule_ids"], (name, vector["name"])
            assert all(r in catalogue for r in vector["rule_ids"]), (name, vector["name"])
            assert vector["description"]


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def test_no_json_number_above_2_53(files: dict[str, dict[str, Any]]) -> None:
    numbers = [v for doc in files.values() for v in _leaves(doc)
               if isinstance(v, int) and not isinstance(v, bool)]
    assert numbers and max(abs(v) for v in numbers) < 2**53
    big = [v for v in _leaves(files["userop_hashes.json"]) if isinstance(v, str) and v.isdigit()]
    assert str(2**256 - 1) in big


def test_export_is_reproducible_byte_for_byte(export_dir: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert main(["vectors", "export", str(again)]) == 0
    for name in [*FILES, "index.json"]:
        assert (again / name).read_bytes() == (export_dir / name).read_bytes(), name


# --- userop_hashes.json ------------------------------------------------------------------------

_U128_KEYS = ("verificationGasLimit", "callGasLimit", "maxPriorityFeePerGas", "maxFeePerGas",
              "paymasterVerificationGasLimit", "paymasterPostOpGasLimit")


def _hash_user_op(op: dict[str, str], entry_point: bytes, chain_id: int) -> dict[str, Any]:
    q = {k: int(v, 16) for k, v in op.items() if k not in
         ("sender", "callData", "signature", "factory", "factoryData", "paymaster",
          "paymasterData")}
    init_code = b(op["factory"]) + b(op["factoryData"]) if "factory" in op else b""
    pad = b""
    if "paymaster" in op:
        pad = (b(op["paymaster"]) + q["paymasterVerificationGasLimit"].to_bytes(16, "big")
               + q["paymasterPostOpGasLimit"].to_bytes(16, "big") + b(op["paymasterData"]))
    gas = q["verificationGasLimit"].to_bytes(16, "big") + q["callGasLimit"].to_bytes(16, "big")
    fees = (q["maxPriorityFeePerGas"].to_bytes(16, "big")
            + q["maxFeePerGas"].to_bytes(16, "big"))
    inner = keccak(eth_abi.encode(
        ["address", "uint256", "bytes32", "bytes32", "bytes32", "uint256", "bytes32", "bytes32"],
        [b(op["sender"]), q["nonce"], keccak(init_code), keccak(b(op["callData"])), gas,
         q["preVerificationGas"], fees, keccak(pad)]))
    digest = keccak(eth_abi.encode(["bytes32", "address", "uint256"],
                                   [inner, entry_point, chain_id]))
    return {"initCode": init_code, "accountGasLimits": gas, "gasFees": fees,
            "paymasterAndData": pad, "userOpHash": digest}


def test_userop_hashes_recomputed(files: dict[str, dict[str, Any]]) -> None:
    for vector in vectors_of(files, "userop_hashes.json"):
        inp, exp = vector["input"], vector["expected"]
        op = inp["userOperation"]
        over = [k for k in _U128_KEYS if k in op and int(op[k], 16) >= 2**128]
        if over:
            assert exp == {"accepted": False, "field": over[0]}, vector["name"]
            assert len(over) == 1
            continue
        mine = _hash_user_op(op, b(inp["entryPoint"]), n(inp["chainId"]))
        assert exp["accepted"] is True
        assert b(exp["userOpHash"]) == mine["userOpHash"], vector["name"]
        assert b(exp["eip191Digest"]) == keccak(PREFIX + mine["userOpHash"])
        packed = exp["packed"]
        for key in ("initCode", "accountGasLimits", "gasFees", "paymasterAndData"):
            assert b(packed[key]) == mine[key], (vector["name"], key)
        assert n(packed["nonce"]) == int(op["nonce"], 16)


def test_userop_hashes_hold_the_protocol_literals(files: dict[str, dict[str, Any]]) -> None:
    table = by_name(files, "userop_hashes.json")
    literals = {
        "protocol-nonce5": "db802e1ba52a3e8726ead72b79990a72513c1bd155128df00332cdedd3570684",
        "protocol-gas-no-paymaster":
            "adac60f3235d9d7b49e19c8d25f3b7ae1ca963140c2447cf47da777f2eb29326",
        "protocol-gas-paymaster":
            "d3811c5320c03108dd2c6a003e1096c23e0fa16201575444d652331c0f47be1e",
        "protocol-canonical-entrypoint":
            "c97f0ed3aa891d90150732096ea7d6f3a046b3e141e98eb772fcf9be03769af2",
    }
    for name, digest in literals.items():
        assert table[name]["expected"]["userOpHash"] == "0x" + digest
    assert table["protocol-canonical-entrypoint"]["expected"]["eip191Digest"] == (
        "0xabc0e0a2d3b67e0ba6442da27c5deb9fcc63096a20793036b003e3fa7ef92fc4")
    base = table["protocol-gas-paymaster"]["expected"]["userOpHash"]
    changed = {v["name"]: v["expected"]["userOpHash"] for v in table.values()
               if v["name"].startswith("changed-")}
    assert changed.pop("changed-signature-ignored") == base  # the hash does not cover it
    assert len(set(changed.values()) | {base}) == len(changed) + 1 == 7  # each change moves it


# --- signatures.json ---------------------------------------------------------------------------


def _classify(sig: bytes, digest: bytes) -> str:
    if len(sig) == 64:
        return "compact-64"
    if len(sig) != 65:
        return "wrong-length"
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big")
    if s > N // 2:
        return "high-s"
    if sig[64] not in (27, 28):
        return "bad-v"
    return "valid" if recover(digest, sig) is not None and r else "unrecoverable"


def _pub_address(pub: bytes) -> tuple[str | None, str | None]:
    if len(pub) == 33:
        try:
            point = PublicKey(pub).format(compressed=False)
        except ValueError:
            return None, "PointNotOnCurve"
        return hexed(keccak(point[1:])[12:]), None
    if len(pub) in (64, 65):
        return hexed(keccak(pub[-64:])[12:]), None
    return None, "InvalidPubKeyLength"


def _expect_signature(inp: dict[str, Any]) -> dict[str, Any]:
    op = inp["operation"]
    private = int(inp.get("privateKey", "0x0"), 16)
    if op == "key":
        pub = PrivateKey.from_int(private).public_key
        return {"address": hexed(address_of(private)),
                "publicKeyCompressed": hexed(pub.format()),
                "publicKeyUncompressed": hexed(pub.format(compressed=False))}
    if op == "sign-eip191":
        digest = keccak(PREFIX + b(inp["message"]))
        return {"digest": hexed(digest), "signature": hexed(sign(private, digest)),
                "signer": hexed(address_of(private))}
    if op == "sign-raw":
        return {"signature": hexed(sign(private, b(inp["digest"]))),
                "signer": hexed(address_of(private))}
    if op == "recover-eip191":
        return {"signer": hexed(recover(keccak(PREFIX + b(inp["message"])), b(inp["signature"])))}
    if op == "classify":
        sig, digest = b(inp["signature"]), b(inp["digest"])
        return {"class": _classify(sig, digest), "signer": hexed(recover(digest, sig))}
    if op == "normalise-v":
        sig = b(inp["signature"])
        return {"signature": hexed(sig[:64] + bytes([sig[64] + 27]) if sig[64] < 2 else sig)}
    address, error = _pub_address(b(inp["publicKey"]))
    return {"address": address, "error": error}


def test_signatures_recomputed(files: dict[str, dict[str, Any]]) -> None:
    seen = set()
    for vector in vectors_of(files, "signatures.json"):
        seen.add(vector["input"]["operation"])
        assert vector["expected"] == _expect_signature(vector["input"]), vector["name"]
    assert seen == {"key", "sign-eip191", "sign-raw", "recover-eip191", "classify",
                    "normalise-v", "public-key"}
    classes = {v["expected"].get("class") for v in files["signatures.json"]["vectors"]}
    assert classes >= {"valid", "compact-64", "wrong-length", "high-s", "bad-v", "unrecoverable"}


def test_signatures_hold_the_protocol_literals(files: dict[str, dict[str, Any]]) -> None:
    table = by_name(files, "signatures.json")
    assert table["key-1"]["expected"]["address"] == "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf"
    b17d = "0xa34e80f04240af8a52604ceb5408b6ed5e50bb42"
    assert table["key-b17d"]["expected"]["address"] == b17d
    assert table["sign-protocol-b17d"]["expected"]["signature"] == (
        "0x37fdeb99e042bb24c3681e94c9197297ddb753ebd729ae89f4a6c38d3c25fcf3"
        "30f0c1be9b539dc8c780a52c2038535365099102eab565b46de047f20b6ccc3d1c")
    assert table["recover-protocol-b17d"]["expected"]["signer"] == b17d
    assert table["classify-valid-dummy"]["input"]["signature"] == (
        "0x6f79009346b958973a8481f680a44b5075d56562b39aff2104395323b6bc666a"
        "2302f4e19a7da13bef02c866971d5b35ce8c0ad27542a1c476e103b99a7b6cd61b")


# --- selectors.json ---------------------------------------------------------------------------

SETS = {  # PROTOCOL.md §1, §5, §7, typed from the document
    "core": "4979ff72 84076765 3eeb8ee8 8af487aa 319b215c d9c8dbfe 29ca97eb 79ba5097",
    "dstack": "537d491c dfc77223 67b3f22c 2a819728 1d266200 7c4beeb8 6e4c7422 2514ce2d 7e02756a",
    "operator": "57977c40 01249ef0 a3b6909f",
    "pimlico-extra": "cedc29c2",
    "never-sponsorable": "64e985f8 4bc7cbb7 f21d2d40 1f931c1c f2fde38b 4f1ef286 d3346d6e "
                         "c4d66de8 19822f7c b61d27f6 34fcd5be 51945447",
    "historic": "3f330b63 e143887b",
    "error": "bd07c551 3b5fe322 cf04b1bb 68dbe400 4b016c90 3d30ea79 3a81d6fc 8b2fc9a0 438c4873 "
             "35565c11 9f106472 a3d28e13",
}
ALLOWED = {
    "pimlico": SETS["core"] + " " + SETS["dstack"] + " cedc29c2",
    "multi-attestor": SETS["core"] + " " + SETS["dstack"],
    "multi-attestor+operator": " ".join((SETS["core"], SETS["dstack"], SETS["operator"])),
    "base": SETS["core"] + " " + SETS["dstack"],
}


def test_selectors_recomputed(files: dict[str, dict[str, Any]]) -> None:
    for vector in vectors_of(files, "selectors.json"):
        inp, exp = vector["input"], vector["expected"]
        if inp["operation"] == "selector":
            sel = keccak(inp["signature"].encode())[:4]
        else:
            data = b(inp["innerData"].lower())
            sel = data[:4] if len(data) >= 4 else b""
        assert exp["selector"] == hexed(sel), vector["name"]
        if exp["set"] in SETS:
            assert sel.hex() in SETS[exp["set"]].split(), vector["name"]
        else:
            assert exp["set"] in ("chain-view", "unknown")
        for generation, allowed in ALLOWED.items():
            assert exp["sponsorable"][generation] == (sel.hex() in allowed.split()), vector["name"]
    listed = {v["expected"]["selector"][2:] for v in files["selectors.json"]["vectors"]}
    assert set(" ".join(SETS.values()).split()) <= listed  # every §1 literal has a vector
    assert {"d5455541", "80c872ae", "dbd01de1", "875f31fb", "35567e1a"} <= listed


# --- calldata.json ------------------------------------------------------------------------------

STRICT_KINDS = {
    "offset-forward-gap": "offset-not-canonical", "offset-smuggle": "offset-not-canonical",
    "offset-backward-into-head": "offset-not-canonical",
    "offset-overlap-value": "offset-not-canonical", "offset-zero": "offset-not-canonical",
    "offset-past-end": "offset-out-of-range", "offset-2-64": "offset-out-of-range",
    "offset-max": "offset-out-of-range", "length-past-end": "length-out-of-range",
    "length-2-64": "length-out-of-range", "length-max": "length-out-of-range",
    "missing-padding": "missing-padding", "dirty-padding": "dirty-padding",
    "trailing-zero-byte": "trailing-bytes", "trailing-word": "trailing-bytes",
    "no-length-word": "too-short", "dirty-address-top": "dirty-address",
    "dirty-address-low": "dirty-address", "selector-execute-batch": "wrong-selector",
    "selector-execute-4-args": "wrong-selector", "selector-inner-as-outer": "wrong-selector",
    "too-short-empty": "too-short", "too-short-selector-only": "too-short",
    "too-short-99": "too-short", "hex-odd-length": "hex-format", "hex-no-prefix": "hex-format",
    "hex-non-hex-digit": "hex-format", "hex-whitespace": "hex-format",
}  # fmt: skip
"""What is wrong with each non-canonical vector, by construction (the first thing in order)."""

EXECUTE_TYPES = ["address", "uint256", "bytes"]
CALLER = "0x" + "11" * 20


def _canonical_reading(data: bytes) -> tuple[str, int, bytes] | None:
    """Canonical ⇔ the execute selector and eth-abi re-encodes the decoded values identically."""
    if data[:4] != bytes.fromhex("b61d27f6"):
        return None
    try:
        values = eth_abi.decode(EXECUTE_TYPES, data[4:])
    except (DecodingError, OverflowError):
        return None
    return values if eth_abi.encode(EXECUTE_TYPES, values) == data[4:] else None


@pytest.fixture(scope="module")
def solc_execute() -> Callable[[bytes], tuple[str, int, bytes, int] | None]:
    """Real solc 0.8.24 bytecode (tests/fixtures) answering what execute() decoded."""
    pyrevm = pytest.importorskip("pyrevm")
    probe = json.loads((ROOT / "tests/fixtures/solidity_decoder_probe.json").read_text())
    evm = pyrevm.EVM(spec_id="Cancun")  # revm's exact name ("CANCUN" would mean latest)
    evm.set_balance(CALLER, 10**18)
    address = evm.deploy(CALLER, bytes.fromhex(probe["bytecode"]["legacy"][2:]))

    def call(data: bytes) -> tuple[str, int, bytes, int] | None:
        try:
            out = evm.message_call(CALLER, address, data)
        except RuntimeError as exc:
            assert str(exc).startswith("Revert"), exc
            return None
        (inner,) = eth_abi.decode(["bytes"], bytes(out))
        return eth_abi.decode(["address", "uint256", "bytes32", "uint256"], inner)

    return call


def test_calldata_recomputed(
    files: dict[str, dict[str, Any]],
    solc_execute: Callable[[bytes], tuple[str, int, bytes, int] | None],
) -> None:
    for vector in vectors_of(files, "calldata.json"):
        text, exp, name = vector["input"]["callData"], vector["expected"], vector["name"]
        assert exp["hexCanonical"] == bool(re.fullmatch(r"0x(?:[0-9a-f]{2})*", text)), name
        if not re.fullmatch(r"0x(?:[0-9a-fA-F]{2})*", text):
            assert exp["strict"] == {"accepted": False, "errorKind": "hex-format"}, name
            assert exp["solidity"] is None and STRICT_KINDS[name] == "hex-format"
            continue
        data = b(text.lower())
        reading = _canonical_reading(data)
        strict = exp["strict"]
        assert strict["accepted"] == (reading is not None), name
        if reading is None:
            assert strict["errorKind"] == STRICT_KINDS[name], name
        else:
            assert (strict["target"], n(strict["value"]), b(strict["data"])) == (
                reading[0].lower(), reading[1], reading[2]), name
        evm = solc_execute(data)
        solidity = exp["solidity"]
        assert solidity["accepted"] == (evm is not None), name
        if evm is not None:
            target, value, digest, length = evm
            assert solidity["target"] == target.lower() and n(solidity["value"]) == value, name
            assert keccak(b(solidity["data"])) == digest and len(b(solidity["data"])) == length
            assert solidity["innerSelector"] == hexed(b(solidity["data"])[:4]
                                                      if length >= 4 else b"")


def test_calldata_covers_each_non_canonical_family(files: dict[str, dict[str, Any]]) -> None:
    kinds = {v["expected"]["strict"].get("errorKind") for v in files["calldata.json"]["vectors"]}
    assert kinds >= set(STRICT_KINDS.values())
    disagreements = [v["name"] for v in files["calldata.json"]["vectors"]
                     if not v["expected"]["strict"]["accepted"]
                     and (v["expected"]["solidity"] or {}).get("accepted")]
    assert {"offset-smuggle", "trailing-word", "dirty-padding"} <= set(disagreements)


# --- binding_hashes.json ---------------------------------------------------------------------

ATTESTOR = keccak(b"attestmesh.attestor.dstack")


def _parties(inp: dict[str, Any]) -> list[bytes]:
    return [b(inp[k]) for k in ("cluster", "member", "xPubKey", "wgPubKey")]


def _binding(inp: dict[str, Any]) -> bytes:
    return eth_abi.encode(["string", "address", "address", "bytes32", "bytes32"],
                          ["attestmesh.bind.v1", *_parties(inp)])


def _operator_binding(inp: dict[str, Any], owner: bytes, expiry: int) -> bytes:
    return eth_abi.encode(
        ["string", "address", "address", "bytes32", "bytes32", "address", "uint64"],
        ["attestmesh.operator.bind.v1", *_parties(inp), owner, expiry])


def test_binding_hashes_recomputed(files: dict[str, dict[str, Any]]) -> None:
    for vector in vectors_of(files, "binding_hashes.json"):
        inp, exp, op = vector["input"], vector["expected"], vector["input"]["operation"]
        if op == "binding":
            encoded, key = _binding(inp), "bindingHash"
            assert len(encoded) == 224
        elif op == "operator-binding":
            encoded = _operator_binding(inp, b(inp["ownerKey"]), n(inp["expiry"]))
            key = "operatorBindingHash"
        elif op == "member-id":
            assert exp["attestorId"] == hexed(ATTESTOR)
            encoded = eth_abi.encode(["address", "address", "bytes32"],
                                     [b(inp["cluster"]), b(inp["member"]), ATTESTOR])
            assert exp["memberId"] == hexed(keccak(encoded))
            continue
        else:
            assert exp == {"codeId": inp["member"] + "00" * 12}
            continue
        assert exp["abiEncoded"] == hexed(encoded), vector["name"]
        assert exp[key] == hexed(keccak(encoded))
        assert exp["eip191Digest"] == hexed(keccak(PREFIX + keccak(encoded)))
    table = by_name(files, "binding_hashes.json")
    assert table["binding-protocol"]["expected"]["bindingHash"] == (
        "0x2de4c55a4fed77e1a8b1423735d699b594f71eca394ed97a14293b0a61b37d84")
    assert table["operator-binding-protocol"]["expected"]["operatorBindingHash"] == (
        "0x07676eaf539da47f4192973b1183aadfe5284aca19cf536153de084bea91ab2f")


# --- proof_chains.json -------------------------------------------------------------------------

DSTACK_TUPLE = "(bytes32,bytes32,bytes,bytes,bytes,bytes,bytes,string)"


def _verify_dstack(inp: dict[str, Any]) -> tuple[str | None, str | None]:
    """(owner, failure) by PROTOCOL.md §4: codeId, binding, then chain steps 1, 2, 3."""
    p = inp["proof"]
    member = b(inp["member"])
    if b(p["codeId"]) != member + bytes(12):
        return None, "CodeIdMismatch"
    if b(p["messageHash"]) != keccak(_binding(inp)):
        return None, "BindingMismatch"
    derived, app = b(p["derivedCompressedPubkey"]), b(p["appCompressedPubkey"])
    app_digest = keccak(p["purpose"].encode() + b":" + derived.hex().encode())
    app_signer = recover(app_digest, b(p["appSignature"]))
    app_address, error = _pub_address(app)
    if error:
        return None, error
    if app_signer is None or hexed(app_signer) != app_address:
        return None, "InvalidSigChain"
    kms = recover(keccak(b"dstack-kms-issued:" + member + app), b(p["kmsSignature"]))
    if kms is None or hexed(kms) not in inp["allowedKmsRoots"]:
        return None, "InvalidSigChain"
    owner, error = _pub_address(derived)
    if error:
        return None, error
    signer = recover(keccak(PREFIX + b(p["messageHash"])), b(p["messageSignature"]))
    return (owner, None) if hexed(signer) == owner else (None, "InvalidSigChain")


def _verify_operator(inp: dict[str, Any]) -> tuple[str | None, str | None]:
    p = inp["proof"]
    if p["signer"] not in inp["allowedSigners"]:
        return None, "OperatorSignerNotAllowed"
    if n(inp["now"]) > n(p["expiry"]):
        return None, "VoucherExpired"
    digest = keccak(_operator_binding(inp, b(p["ownerKey"]), n(p["expiry"])))
    if hexed(recover(keccak(PREFIX + digest), b(p["signature"]))) != p["signer"]:
        return None, "BindingMismatch"
    return p["ownerKey"], None


def _register_calldata(inp: dict[str, Any]) -> bytes:
    p, tail = inp["proof"], [b(inp["member"]), b(inp["xPubKey"]), b(inp["wgPubKey"])]
    if inp["operation"] == "operator":
        values = (b(p["signer"]), b(p["ownerKey"]), n(p["expiry"]), b(p["signature"]))
        return bytes.fromhex("57977c40") + eth_abi.encode(
            ["(address,address,uint64,bytes)", "address", "bytes32", "bytes32"], [values, *tail])
    keys = ("codeId", "messageHash", "messageSignature", "appSignature", "kmsSignature",
            "derivedCompressedPubkey", "appCompressedPubkey")
    values = (*[b(p[k]) for k in keys], p["purpose"])
    return bytes.fromhex("537d491c") + eth_abi.encode(
        [DSTACK_TUPLE, "address", "bytes32", "bytes32"], [values, *tail])


def test_proof_chains_recomputed(files: dict[str, dict[str, Any]]) -> None:
    failures = set()
    for vector in vectors_of(files, "proof_chains.json"):
        inp, exp = vector["input"], vector["expected"]
        verify = _verify_dstack if inp["operation"] == "dstack" else _verify_operator
        owner, failure = verify(inp)
        assert (exp["valid"], exp["owner"], exp["failure"]) == (failure is None, owner, failure), (
            vector["name"])
        failures.add(failure)
        assert exp["registerCalldata"] == hexed(_register_calldata(inp)), vector["name"]
        if inp["operation"] == "dstack":
            p = inp["proof"]
            assert exp["bindingHash"] == hexed(keccak(_binding(inp)))
            assert exp["appMessageDigest"] == hexed(keccak(
                p["purpose"].encode() + b":" + p["derivedCompressedPubkey"][2:].encode()))
            assert exp["kmsMessageDigest"] == hexed(keccak(
                b"dstack-kms-issued:" + b(p["codeId"])[:20] + b(p["appCompressedPubkey"])))
    assert failures == {None, "CodeIdMismatch", "BindingMismatch", "InvalidSigChain",
                        "InvalidPubKeyLength", "PointNotOnCurve", "OperatorSignerNotAllowed",
                        "VoucherExpired"}
    valid = by_name(files, "proof_chains.json")["dstack-valid"]
    assert valid["expected"]["owner"] == "0xa34e80f04240af8a52604ceb5408b6ed5e50bb42"  # §4
    assert valid["input"]["allowedKmsRoots"] == ["0x7e5f4552091a69125d5dfcb7b8c2659029395bdf"]


# --- webhook_signatures.json ------------------------------------------------------------------

ALPHABET_57 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvxyz"
ALPHABET_58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _base_x(text: str, alphabet: str) -> bytes:
    number = 0
    for char in text:
        number = number * len(alphabet) + alphabet.index(char)
    zeros = len(text) - len(text.lstrip(alphabet[0]))
    return b"\x00" * zeros + (number.to_bytes((number.bit_length() + 7) // 8, "big")
                              if number else b"")


def _key(secret: str, derivation: str) -> bytes | None:
    body = re.sub(r"^(pim_whsec_|whsec_)", "", secret)
    alphabet = {"live-base57": ALPHABET_57, "base58": ALPHABET_58}.get(derivation)
    if alphabet is not None:
        if not body or set(body) - set(alphabet):
            return None
        body = _base_x(body, alphabet).hex()
    try:
        key = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except ValueError:
        return None
    return key or None


def _mac(key: bytes, msg_id: str, stamp: str, body: bytes) -> str:
    digest = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _verify_webhook(inp: dict[str, Any]) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in inp["headers"].items()}
    names = ("webhook-id", "webhook-timestamp", "webhook-signature")
    if not all(headers.get(name) for name in names):
        return {"valid": False, "errorKind": "missing-headers"}
    msg_id, stamp, signature = (headers[name] for name in names)
    if not re.fullmatch(r"[0-9]+", stamp):
        return {"valid": False, "errorKind": "bad-timestamp"}
    age = n(inp["now"]) - int(stamp)
    if abs(age) > n(inp["tolerance"]):
        return {"valid": False, "errorKind": "stale" if age > 0 else "future"}
    key = _key(inp["secret"], inp["derivation"])
    assert key is not None
    mac = _mac(key, msg_id, stamp, b(inp["body"]))
    ok = any(entry == f"v1,{mac}" for entry in signature.split(" "))
    return {"valid": ok, "errorKind": None if ok else "no-match"}


def test_webhook_signatures_recomputed(files: dict[str, dict[str, Any]]) -> None:
    for vector in vectors_of(files, "webhook_signatures.json"):
        inp, exp, op = vector["input"], vector["expected"], vector["input"]["operation"]
        if op == "derive-key":
            key = _key(inp["secret"], inp["derivation"])
            assert exp == {"key": hexed(key), "error": None if key else "secret-format"}, (
                vector["name"])
        elif op == "sign":
            key = _key(inp["secret"], inp["derivation"])
            assert key is not None and exp["key"] == hexed(key)
            stamp = str(n(inp["timestamp"]))
            assert exp["signedContent"] == hexed(f"{inp['id']}.{stamp}.".encode() + b(inp["body"]))
            assert exp["signature"] == "v1," + _mac(key, inp["id"], stamp, b(inp["body"])), (
                vector["name"])
        else:
            assert exp == _verify_webhook(inp), vector["name"]
    table = by_name(files, "webhook_signatures.json")
    assert table["sign-golden"]["expected"]["signature"] == (
        "v1,FegSBwAL3Dulyu7SFiGvw1GCj7N+us7vJohmBsP9cxY=")  # PROTOCOL.md §5 golden vector
    assert table["sign-golden"]["input"]["secret"] == (
        "pim_whsec_12oeWzGziAeWhm1Hpi4zvXDz54bzSMCBj3CeCb6rAPV")
    derivations = {v["input"]["derivation"] for v in table.values()
                   if v["input"]["operation"] == "derive-key" and v["expected"]["key"]}
    assert derivations == {"standard", "live-base57", "base58"}
    edges = {name: table[f"verify-window-{name}"]["expected"]["valid"]
             for name in ("plus-300", "plus-301", "minus-300", "minus-301")}
    assert edges == {"plus-300": True, "plus-301": False, "minus-300": True, "minus-301": False}


# --- CLI ---------------------------------------------------------------------------------------


def test_export_refuses_a_non_empty_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["vectors", "export", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("amc: error: ") and "--force" in err and "\n" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
    assert main(["vectors", "export", str(tmp_path), "--force", "--kind", "selectors"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.json", "keep.txt",
                                                           "selectors.json"]


def test_export_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vectors", "export", str(tmp_path / "x"), "--kind", "calldta"]) == 2
    assert "did you mean 'calldata'" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert main(["vectors", "export", str(tmp_path / "file")]) == 2
    assert main(["vectors"]) == 2
    assert main(["vectors", "check", str(tmp_path)]) == 2  # no index.json
    assert "index.json" in capsys.readouterr().err


def test_check_passes_a_fresh_export_and_finds_hand_edits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["vectors", "export", str(tmp_path), "--kind", "calldata", "--kind",
                 "binding_hashes"]) == 0
    capsys.readouterr()
    assert main(["vectors", "check", str(tmp_path)]) == 0
    assert "ok" in capsys.readouterr().out
    path = tmp_path / "binding_hashes.json"
    document = json.loads(path.read_text())
    document["vectors"][0]["expected"]["bindingHash"] = "0x" + "00" * 32
    document["vectors"][1]["rule_ids"] = ["AT-999"]
    path.write_text(json.dumps(document, indent=2))
    assert main(["vectors", "check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "binding-protocol: expected.bindingHash" in out
    assert "AT-999" in out and "sha256 differs" in out
