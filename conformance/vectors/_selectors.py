"""``selectors.json``: every 4-byte id PROTOCOL.md §1 names, and who may sponsor it.

``input.operation``:

- ``selector``: signature (canonical, struct arguments expanded) → selector, set, sponsorable.
- ``inner-data``: innerData (hex, either case) → the inner selector (``0x`` when shorter than
  4 bytes), its set and sponsorable.

``set`` is one of core, dstack, operator, pimlico-extra, never-sponsorable, historic, error,
chain-view, unknown. ``sponsorable`` maps each webhook generation to whether policy step 6
allows the selector: ``pimlico``, ``multi-attestor`` (operator gate off),
``multi-attestor+operator`` (``SPONSOR_OPERATOR_METHOD=true``) and ``base`` (PROTOCOL.md §0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.protocol.selectors import (
    ALLOWED_APP_IDS,
    CLUSTER,
    CLUSTER_OWNER,
    CORE,
    DSTACK,
    ERRORS,
    EXECUTE,
    GET_NONCE,
    HISTORIC_OLD_PROOF_TUPLE,
    HISTORIC_WRONG,
    IS_DEPLOYED_CLUSTER,
    IS_OUR_MEMBER,
    MEMBER_OF,
    NEVER_SPONSORABLE,
    OPERATOR,
    PIMLICO_EXTRA,
    STRUCT_NAME_MISTAKE,
    Method,
    allowlist,
    selector,
)
from conformance.vectors.model import Case, Json, VectorInputError, hx, read_hex, read_str

CHAIN_VIEWS: tuple[Method, ...] = (IS_OUR_MEMBER, IS_DEPLOYED_CLUSTER, CLUSTER, ALLOWED_APP_IDS,
                                   GET_NONCE, MEMBER_OF, CLUSTER_OWNER)

_SETS: tuple[tuple[str, frozenset[bytes]], ...] = (
    ("core", frozenset(m.selector for m in CORE)),
    ("dstack", frozenset(m.selector for m in DSTACK)),
    ("operator", frozenset(m.selector for m in OPERATOR)),
    ("pimlico-extra", frozenset(m.selector for m in PIMLICO_EXTRA)),
    ("never-sponsorable", frozenset(m.selector for m in NEVER_SPONSORABLE)),
    ("historic", frozenset(HISTORIC_WRONG)),
    ("error", frozenset(m.selector for m in ERRORS)),
    ("chain-view", frozenset(m.selector for m in CHAIN_VIEWS)),
)

GENERATION_KEYS: tuple[tuple[str, str, bool], ...] = (
    ("pimlico", "pimlico", False),
    ("multi-attestor", "multi-attestor", False),
    ("multi-attestor+operator", "multi-attestor", True),
    ("base", "base", False),
)
"""(key in ``sponsorable``, generation, operator gate) (PROTOCOL.md §0)."""

LITERALS: dict[str, str] = {
    "publishWgKey": "0x4979ff72", "send": "0x84076765", "setCskCommitment": "0x3eeb8ee8",
    "transferClusterOwnership": "0x8af487aa", "acceptClusterOwnership": "0x319b215c",
    "transferBothOwners": "0xd9c8dbfe", "acceptBothOwners": "0x29ca97eb",
    "acceptOwnership": "0x79ba5097", "dstack_register": "0x537d491c",
    "addComposeHash": "0xdfc77223", "removeComposeHash": "0x67b3f22c", "addDevice": "0x2a819728",
    "removeDevice": "0x1d266200", "setAllowAnyDevice": "0x7c4beeb8",
    "setRequireTcbUpToDate": "0x6e4c7422", "addAllowedKmsRoot": "0x2514ce2d",
    "removeAllowedKmsRoot": "0x7e02756a", "operator_register": "0x57977c40",
    "addOperatorSigner": "0x01249ef0", "removeOperatorSigner": "0xa3b6909f",
    "publishEd25519Key": "0xcedc29c2", "addAllowedAppId": "0x64e985f8",
    "removeAllowedAppId": "0x4bc7cbb7", "sendOwnerCommand": "0xf21d2d40",
    "diamondCut": "0x1f931c1c", "transferOwnership": "0xf2fde38b",
    "upgradeToAndCall": "0x4f1ef286", "__setOwnerFromCluster": "0xd3346d6e",
    "initialize": "0xc4d66de8", "validateUserOp": "0x19822f7c", "execute": "0xb61d27f6",
    "executeBatch": "0x34fcd5be", "OnlyEntryPoint": "0xbd07c551", "OnlyCluster": "0x3b5fe322",
    "OwnerAlreadySet": "0xcf04b1bb", "InvalidBootstrapCall": "0x68dbe400",
    "NotClusterOwner": "0x4b016c90", "NotOurMember": "0x3d30ea79",
    "AlreadyRegistered": "0x3a81d6fc", "CodeIdMismatch": "0x8b2fc9a0",
    "BindingMismatch": "0x438c4873", "InvalidSigChain": "0x35565c11",
    "InvalidPubKeyLength": "0x9f106472", "PointNotOnCurve": "0xa3d28e13",
    "isOurMember": "0xd5455541", "isDeployedCluster": "0x80c872ae", "cluster": "0xdbd01de1",
    "allowedAppIds": "0x875f31fb", "getNonce": "0x35567e1a",
}  # fmt: skip
"""PROTOCOL.md §1, §5, §7 literal selectors by name (signatures with one name per line there)."""

_SIGNATURE_LITERALS = {
    "execute(address,uint256,bytes,uint8)": "0x51945447",
    STRUCT_NAME_MISTAKE.signature: "0xe143887b",
}
"""Literals whose name is shared by two signatures."""

_ERROR_RULES = {
    "OnlyEntryPoint": ("AC-001", "AC-017"), "OnlyCluster": ("AC-020",),
    "OwnerAlreadySet": ("AC-021",), "InvalidBootstrapCall": ("AC-004",),
    "NotClusterOwner": ("AC-023",), "NotOurMember": ("AC-027",),
    "AlreadyRegistered": ("AC-032",), "CodeIdMismatch": ("AC-029",),
    "BindingMismatch": ("AC-030",), "InvalidSigChain": ("AC-031",),
    "InvalidPubKeyLength": ("AT-009",), "PointNotOnCurve": ("AT-010",),
}  # fmt: skip
_VIEW_RULES = {
    "isOurMember": ("WH-016",), "isDeployedCluster": ("WH-031", "WH-059"),
    "cluster": ("WH-017", "WH-019"), "allowedAppIds": ("WH-017",), "getNonce": ("SC-001",),
    "memberOf": ("SC-016",), "clusterOwner": ("AC-023",),
}  # fmt: skip


def _classify(sel: bytes) -> Json:
    name = next((label for label, members in _SETS if sel in members), "unknown")
    sponsorable = {key: sel in allowlist(generation, operator_enabled=gate)
                   for key, generation, gate in GENERATION_KEYS}
    return {"selector": hx(sel), "set": name, "sponsorable": sponsorable}


def evaluate(inp: Mapping[str, Any]) -> Json:
    """The selector of a signature or of inner call data, its set and who sponsors it."""
    operation = read_str(inp, "operation")
    if operation == "selector":
        return _classify(selector(read_str(inp, "signature")))
    if operation == "inner-data":
        data = read_hex(inp, "innerData")
        return _classify(data[:4] if len(data) >= 4 else b"")
    raise VectorInputError(f"operation={operation!r}: expected selector or inner-data")


def _rules_for(method: Method, group: str) -> tuple[str, ...]:
    base = {"core": ("WH-025",), "dstack": ("WH-025",), "operator": ("WH-027",),
            "pimlico-extra": ("WH-026",), "never-sponsorable": ("WH-028",),
            "historic": ("WH-028", "UO-016")}.get(group, ())
    if group == "error":
        base = _ERROR_RULES[method.name]
    elif group == "chain-view":
        base = _VIEW_RULES[method.name]
    if method.name in ("dstack_register", "operator_register"):
        base = (*base, "UO-016")
    if method.name.startswith("execute"):
        base = (*base, "UO-015", "WH-023")
    return base


def _method_case(method: Method, group: str) -> Case:
    literal = _SIGNATURE_LITERALS.get(method.signature) or LITERALS.get(method.name)
    where = "" if literal is None else " (PROTOCOL.md literal)"
    return Case(f"{group}-{method.name}-{selector(method.signature).hex()}",
                f"{group} selector of {method.signature}{where}", _rules_for(method, group),
                {"operation": "selector", "signature": method.signature},
                {"selector": literal} if literal else {})


def _inner_cases() -> list[Case]:
    wg = CORE[0].selector
    items = [
        ("historic-old-proof-tuple", "0x3f330b63: an older 11-field proof tuple's register "
         "selector (PROTOCOL.md §1 literal; its tuple is unknown)",
         HISTORIC_OLD_PROOF_TUPLE + bytes(32), ("WH-028", "UO-016")),
        ("upper-case-hex", "publishWgKey inner data written in upper-case hex: selectors "
         "compare case-insensitively", None, ("WH-029", "WH-025")),
        ("empty", "no inner data: the empty selector 0x, never allowed", b"", ("WH-030",)),
        ("three-bytes", "3 bytes of an allowed selector: still the empty selector",
         wg[:3], ("WH-030",)),
        ("exactly-four", "exactly the 4 selector bytes of publishWgKey, no arguments", wg,
         ("WH-025",)),
    ]
    out = []
    for name, text, data, rules in items:
        hex_text = "0x" + (wg + b"\x11" * 32).hex().upper() if data is None else hx(data)
        out.append(Case(f"inner-{name}", text, rules,
                        {"operation": "inner-data", "innerData": hex_text}))
    return out


def cases() -> list[Case]:
    """Every selectors case: each §1 set, negatives, historic forms, errors and chain views."""
    groups: list[tuple[str, tuple[Method, ...]]] = [
        ("core", CORE), ("dstack", DSTACK), ("operator", OPERATOR),
        ("pimlico-extra", PIMLICO_EXTRA), ("never-sponsorable", NEVER_SPONSORABLE),
        ("historic", (STRUCT_NAME_MISTAKE,)), ("error", ERRORS), ("chain-view", CHAIN_VIEWS),
    ]
    out = [_method_case(m, group) for group, methods in groups for m in methods]
    assert EXECUTE in NEVER_SPONSORABLE
    return [*out, *_inner_cases()]
