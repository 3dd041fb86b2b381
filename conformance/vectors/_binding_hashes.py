"""``binding_hashes.json``: binding hash, operator binding hash, memberId and codeId (§4).

``input.operation``:

- ``binding``: cluster, member, xPubKey, wgPubKey → ``abiEncoded`` (224 bytes),
  ``bindingHash`` and ``eip191Digest`` (what the derived key signs as messageSignature).
- ``operator-binding``: the same plus ownerKey and expiry (uint64) → ``abiEncoded``,
  ``operatorBindingHash`` and ``eip191Digest`` (what the operator signer signs).
- ``member-id``: cluster, member → ``attestorId`` (keccak256("attestmesh.attestor.dstack")),
  ``memberId``.
- ``code-id``: member → ``codeId`` (the address left-aligned in bytes32).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

from eth_abi import encode

from conformance.protocol.attestation import (
    BIND_DOMAIN,
    DSTACK_ATTESTOR_ID,
    OPERATOR_BIND_DOMAIN,
    binding_hash,
    code_id_of,
    member_id,
    operator_binding_hash,
)
from conformance.protocol.signatures import eip191_digest
from conformance.vectors.model import (
    Case,
    Json,
    VectorInputError,
    hx,
    num,
    read_hex,
    read_num,
    read_str,
)

SEED = 0xB1D
CLUSTER_0A = bytes(19) + b"\x0a"
MEMBER_0B = bytes(19) + b"\x0b"
OWNER_0D = bytes(19) + b"\x0d"
X_11, WG_22 = b"\x11" * 32, b"\x22" * 32
MAX_UINT64 = (1 << 64) - 1


def _parties(inp: Mapping[str, Any]) -> tuple[bytes, bytes, bytes, bytes]:
    return (read_hex(inp, "cluster", size=20), read_hex(inp, "member", size=20),
            read_hex(inp, "xPubKey", size=32), read_hex(inp, "wgPubKey", size=32))


def _eval_binding(inp: Mapping[str, Any]) -> Json:
    cluster, member, x, wg = _parties(inp)
    encoded = encode(["string", "address", "address", "bytes32", "bytes32"],
                     [BIND_DOMAIN, cluster, member, x, wg])
    digest = binding_hash(cluster, member, x, wg)
    return {"abiEncoded": hx(encoded), "bindingHash": hx(digest),
            "eip191Digest": hx(eip191_digest(digest))}


def _eval_operator(inp: Mapping[str, Any]) -> Json:
    cluster, member, x, wg = _parties(inp)
    owner, expiry = read_hex(inp, "ownerKey", size=20), read_num(inp, "expiry")
    if not 0 <= expiry <= MAX_UINT64:
        raise VectorInputError(f"expiry={expiry}: must fit in uint64")
    encoded = encode(["string", "address", "address", "bytes32", "bytes32", "address", "uint64"],
                     [OPERATOR_BIND_DOMAIN, cluster, member, x, wg, owner, expiry])
    digest = operator_binding_hash(cluster, member, x, wg, owner, expiry)
    return {"abiEncoded": hx(encoded), "operatorBindingHash": hx(digest),
            "eip191Digest": hx(eip191_digest(digest))}


def _eval_member_id(inp: Mapping[str, Any]) -> Json:
    cluster, member = read_hex(inp, "cluster", size=20), read_hex(inp, "member", size=20)
    return {"attestorId": hx(DSTACK_ATTESTOR_ID), "memberId": hx(member_id(cluster, member))}


def _eval_code_id(inp: Mapping[str, Any]) -> Json:
    return {"codeId": hx(code_id_of(read_hex(inp, "member", size=20)))}


_OPERATIONS: dict[str, Callable[[Mapping[str, Any]], Json]] = {
    "binding": _eval_binding,
    "operator-binding": _eval_operator,
    "member-id": _eval_member_id,
    "code-id": _eval_code_id,
}


def evaluate(inp: Mapping[str, Any]) -> Json:
    """Dispatch on ``input.operation`` (see the module docstring)."""
    operation = read_str(inp, "operation")
    if operation not in _OPERATIONS:
        raise VectorInputError(f"operation={operation!r}: expected one of {', '.join(_OPERATIONS)}")
    return _OPERATIONS[operation](inp)


def _parties_json(cluster: bytes, member: bytes, x: bytes, wg: bytes) -> Json:
    return {"cluster": hx(cluster), "member": hx(member), "xPubKey": hx(x), "wgPubKey": hx(wg)}


def _binding_cases(rng: random.Random) -> list[Case]:
    rules = ("AT-011",)
    out = [Case("binding-protocol", "PROTOCOL.md §4 literal: cluster 0x..0a, member 0x..0b, "
                "x = 0x11 x 32, wg = 0x22 x 32", rules,
                {"operation": "binding", **_parties_json(CLUSTER_0A, MEMBER_0B, X_11, WG_22)},
                {"bindingHash":
                 "0x2de4c55a4fed77e1a8b1423735d699b594f71eca394ed97a14293b0a61b37d84"})]
    variants = [
        ("other-cluster", "cluster 0x..0c: another cluster, another hash",
         (bytes(19) + b"\x0c", MEMBER_0B, X_11, WG_22)),
        ("keys-swapped", "xPubKey and wgPubKey swapped", (CLUSTER_0A, MEMBER_0B, WG_22, X_11)),
        ("cluster-member-swapped", "cluster and member swapped",
         (MEMBER_0B, CLUSTER_0A, X_11, WG_22)),
    ]
    variants += [(f"seeded-{i}", f"random parties (seed {SEED:#x}, draw {i})",
                  (rng.randbytes(20), rng.randbytes(20), rng.randbytes(32), rng.randbytes(32)))
                 for i in range(3)]
    out += [Case(f"binding-{name}", text, rules, {"operation": "binding", **_parties_json(*p)})
            for name, text, p in variants]
    return out


def _operator_cases(rng: random.Random) -> list[Case]:
    rules = ("AT-017",)
    parties = _parties_json(CLUSTER_0A, MEMBER_0B, X_11, WG_22)
    items = [
        ("protocol", "PROTOCOL.md §4 literal: (0x..0a, 0x..0b, 0x11 x 32, 0x22 x 32, owner "
         "0x..0d, expiry 1000)", parties, OWNER_0D, 1000,
         {"operatorBindingHash":
          "0x07676eaf539da47f4192973b1183aadfe5284aca19cf536153de084bea91ab2f"}),
        ("expiry-1001", "the literal with expiry 1001", parties, OWNER_0D, 1001, {}),
        ("expiry-max", "expiry 2^64 - 1 (uint64 max, a decimal string)", parties, OWNER_0D,
         MAX_UINT64, {}),
        ("seeded", f"random parties (seed {SEED:#x})",
         _parties_json(rng.randbytes(20), rng.randbytes(20), rng.randbytes(32), rng.randbytes(32)),
         rng.randbytes(20), rng.getrandbits(40), {}),
    ]
    return [Case(f"operator-binding-{name}", text, rules,
                 {"operation": "operator-binding", **p, "ownerKey": hx(owner),
                  "expiry": num(expiry)}, pinned)
            for name, text, p, owner, expiry, pinned in items]


def _id_cases(rng: random.Random) -> list[Case]:
    pairs = [("literal-parties", CLUSTER_0A, MEMBER_0B),
             ("seeded", rng.randbytes(20), rng.randbytes(20))]
    out = [Case(f"member-id-{name}", "memberId = keccak256(abi.encode(cluster, member, "
                "keccak256(\"attestmesh.attestor.dstack\")))", ("AT-012",),
                {"operation": "member-id", "cluster": hx(c), "member": hx(m)})
           for name, c, m in pairs]
    out += [Case(f"code-id-{name}", "codeId: the member address left-aligned, low 12 bytes zero",
                 ("AT-002",), {"operation": "code-id", "member": hx(m)})
            for name, m in [("0b", MEMBER_0B), ("seeded", rng.randbytes(20))]]
    return out


def cases() -> list[Case]:
    """Every binding_hashes case, literals first."""
    rng = random.Random(SEED)
    return [*_binding_cases(rng), *_operator_cases(rng), *_id_cases(rng)]
