"""Selector registry: every 4-byte id the protocol names, computed from canonical signatures.

PROTOCOL.md §1. A selector over a struct argument is computed over the expanded tuple. No hex
is typed in here except ``HISTORIC_OLD_PROOF_TUPLE`` (0x3f330b63), whose tuple is not known.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.protocol.hexutil import keccak

DSTACK_PROOF_TUPLE = "(bytes32,bytes32,bytes,bytes,bytes,bytes,bytes,string)"
"""DstackProof expanded (PROTOCOL.md §1, §4)."""

OPERATOR_PROOF_TUPLE = "(address,address,uint64,bytes)"
"""OperatorProof expanded (PROTOCOL.md §1, §4)."""


def selector(signature: str) -> bytes:
    """The first four bytes of keccak256 of a canonical function or error signature."""
    return keccak(signature.encode("ascii"))[:4]


@dataclass(frozen=True)
class Method:
    """A named selector: the canonical signature and its 4-byte id."""

    name: str
    signature: str

    @property
    def selector(self) -> bytes:
        """The 4-byte selector of ``signature``."""
        return selector(self.signature)

    @property
    def hex(self) -> str:
        """``0x`` + lower-case hex of the selector."""
        return "0x" + self.selector.hex()


def _methods(*signatures: str) -> tuple[Method, ...]:
    return tuple(Method(sig.split("(", 1)[0], sig) for sig in signatures)


EXECUTE = Method("execute", "execute(address,uint256,bytes)")
"""The only outer call a node sends (PROTOCOL.md §1, §3)."""

CORE: tuple[Method, ...] = _methods(
    "publishWgKey(bytes32)",
    "send(bytes32,bytes32,bytes)",
    "setCskCommitment(bytes32)",
    "transferClusterOwnership(address)",
    "acceptClusterOwnership()",
    "transferBothOwners(address)",
    "acceptBothOwners()",
    "acceptOwnership()",
)
"""CORE inner selectors, sponsorable under every generation (PROTOCOL.md §1)."""

DSTACK: tuple[Method, ...] = _methods(
    f"dstack_register({DSTACK_PROOF_TUPLE},address,bytes32,bytes32)",
    "addComposeHash(bytes32)",
    "removeComposeHash(bytes32)",
    "addDevice(bytes32)",
    "removeDevice(bytes32)",
    "setAllowAnyDevice(bool)",
    "setRequireTcbUpToDate(bool)",
    "addAllowedKmsRoot(address)",
    "removeAllowedKmsRoot(address)",
)
"""DSTACK inner selectors, sponsorable under every generation (PROTOCOL.md §1)."""

OPERATOR: tuple[Method, ...] = _methods(
    f"operator_register({OPERATOR_PROOF_TUPLE},address,bytes32,bytes32)",
    "addOperatorSigner(address)",
    "removeOperatorSigner(address)",
)
"""OPERATOR inner selectors: multi-attestor only, and only with the operator gate on (§0)."""

PIMLICO_EXTRA: tuple[Method, ...] = _methods("publishEd25519Key(bytes32)")
"""The extra inner selector of the ``pimlico`` generation (§0)."""

NEVER_SPONSORABLE: tuple[Method, ...] = _methods(
    "addAllowedAppId(address)",
    "removeAllowedAppId(address)",
    "sendOwnerCommand(bytes32,bytes32,bytes)",
    "diamondCut((address,uint8,bytes4[])[],address,bytes)",
    "transferOwnership(address)",
    "upgradeToAndCall(address,bytes)",
    "__setOwnerFromCluster(address)",
    "initialize(address)",
    "validateUserOp((address,uint256,bytes,bytes,bytes32,uint256,bytes32,bytes,bytes),bytes32,uint256)",
    "execute(address,uint256,bytes)",
    "executeBatch((address,uint256,bytes)[])",
    "execute(address,uint256,bytes,uint8)",
)
"""Selectors that exist on a cluster or member but are never sponsorable (§1 negatives)."""

STRUCT_NAME_MISTAKE = Method(
    "dstack_register", "dstack_register(DstackProof,address,bytes32,bytes32)"
)
"""A real past mistake: the selector hashed over the literal text ``DstackProof`` (0xe143887b)."""

HISTORIC_OLD_PROOF_TUPLE = bytes.fromhex("3f330b63")
"""An older 11-field proof tuple's register selector; its tuple is not known, so a literal."""

HISTORIC_WRONG: tuple[bytes, ...] = (STRUCT_NAME_MISTAKE.selector, HISTORIC_OLD_PROOF_TUPLE)
"""Historic wrong forms of the register selector: never sponsorable."""

DSTACK_REGISTER = DSTACK[0]
OPERATOR_REGISTER = OPERATOR[0]
SEND = CORE[1]

# Chain views the webhook and sidecar call (PROTOCOL.md §5, §7).
IS_OUR_MEMBER = Method("isOurMember", "isOurMember(address)")
IS_DEPLOYED_CLUSTER = Method("isDeployedCluster", "isDeployedCluster(address)")
CLUSTER = Method("cluster", "cluster()")
ALLOWED_APP_IDS = Method("allowedAppIds", "allowedAppIds(address)")
GET_NONCE = Method("getNonce", "getNonce(address,uint192)")
MEMBER_OF = Method("memberOf", "memberOf(address)")
CLUSTER_OWNER = Method("clusterOwner", "clusterOwner()")

ERRORS: tuple[Method, ...] = _methods(
    "OnlyEntryPoint()",
    "OnlyCluster()",
    "OwnerAlreadySet()",
    "InvalidBootstrapCall()",
    "NotClusterOwner()",
    "NotOurMember()",
    "AlreadyRegistered()",
    "CodeIdMismatch()",
    "BindingMismatch()",
    "InvalidSigChain()",
    "InvalidPubKeyLength()",
    "PointNotOnCurve()",
)
"""Custom errors an account or cluster may revert with (PROTOCOL.md §1)."""

ERROR_BY_NAME: dict[str, Method] = {m.name: m for m in ERRORS}


def allowlist(generation: str, *, operator_enabled: bool = False) -> frozenset[bytes]:
    """The inner selectors a webhook of ``generation`` may sponsor (PROTOCOL.md §0, policy step 6).

    ``operator_enabled`` is the multi-attestor gate ``SPONSOR_OPERATOR_METHOD`` being exactly
    ``true``; other generations ignore it.
    """
    methods: list[Method] = [*CORE, *DSTACK]
    if generation == "pimlico":
        methods += PIMLICO_EXTRA
    elif generation == "multi-attestor":
        if operator_enabled:
            methods += OPERATOR
    elif generation != "base":
        raise ValueError(f"generation={generation!r}: expected pimlico, multi-attestor or base")
    return frozenset(m.selector for m in methods)


def known_methods() -> dict[bytes, Method]:
    """Every named method of the registry by selector (for labelling reports)."""
    table: dict[bytes, Method] = {}
    for m in (*CORE, *DSTACK, *OPERATOR, *PIMLICO_EXTRA, *NEVER_SPONSORABLE, EXECUTE):
        table.setdefault(m.selector, m)
    return table
