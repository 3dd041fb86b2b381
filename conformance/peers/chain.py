"""The chain's JSON-RPC answers for a ``ChainScenario``, as a real node gives them (pure, no I/O).

PROTOCOL.md §5 "Chain calls": ``isOurMember`` on the member factory, ``isDeployedCluster`` on
the cluster factories, ``cluster()`` on the sender, ``allowedAppIds`` on that cluster. Views are
answered the way Solidity and a node do: a 32-byte ABI word; an address without code → ``0x``;
a revert → JSON-RPC error code 3 with the revert data; an argument that Solidity's decoder
rejects (short, dirty address bits), an unknown selector, or no selector → empty revert,
except that empty calldata to a member account succeeds with ``0x`` (its ``receive()``).
JSON-RPC framing follows the 2.0 spec and geth: -32700 parse error, -32600 invalid request,
-32601 unknown method, -32602 invalid params; batches answer element by element; a
notification (no ``id``) gets no answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_abi import decode, encode
from eth_abi.exceptions import DecodingError

from conformance.peers.chain_scenario import ChainScenario
from conformance.peers.faults import CallKey, Fault, FaultKind
from conformance.protocol import selectors
from conformance.protocol.hexutil import (
    HexFormatError,
    parse_address,
    parse_data,
    parse_quantity,
    to_data,
    to_quantity,
)

JsonObject = dict[str, Any]

CODE_STUB = bytes.fromhex("6080604052")
"""What ``eth_getCode`` answers for an address with code (a stand-in, never executed)."""

BLOCK_TAGS = frozenset({"latest", "pending", "safe", "finalized", "earliest"})
"""Named block tags a node accepts."""

CHAIN_VIEWS: dict[bytes, selectors.Method] = {
    m.selector: m
    for m in (
        selectors.IS_OUR_MEMBER,
        selectors.IS_DEPLOYED_CLUSTER,
        selectors.CLUSTER,
        selectors.ALLOWED_APP_IDS,
        selectors.GET_NONCE,
        selectors.MEMBER_OF,
        selectors.CLUSTER_OWNER,
    )
}
"""Selectors the peer names in its log (the webhook's four views and the sidecar's)."""

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
REVERT_CODE = 3
"""The JSON-RPC error code of an ``eth_call`` that reverted (geth, anvil)."""


@dataclass(frozen=True)
class CallOutcome:
    """What executing one ``eth_call`` gave: ``return`` data, ``revert`` data, or ``no-code``."""

    kind: str
    data: bytes = b""


@dataclass(frozen=True)
class RpcCall:
    """One well-formed JSON-RPC request object, with the ``eth_call`` fields read out."""

    id: Any
    method: str
    params: list[Any]
    is_notification: bool = False
    to: bytes | None = None
    data: bytes = b""

    @property
    def selector(self) -> bytes | None:
        """The 4-byte selector of an ``eth_call`` with at least 4 bytes of data."""
        return self.data[:4] if self.method == "eth_call" and len(self.data) >= 4 else None

    @property
    def selector_name(self) -> str | None:
        """The chain-view name of the selector, else its ``0x`` hex, else None."""
        sel = self.selector
        if sel is None:
            return None
        method = CHAIN_VIEWS.get(sel)
        return method.name if method else to_data(sel)

    @property
    def argument(self) -> bytes | None:
        """The address argument of a chain view taking one, when it decodes cleanly."""
        return _address_argument(self.data)


@dataclass(frozen=True)
class Rejected:
    """A request element answered with an error before any execution (-32600, -32602)."""

    method: str | None
    response: JsonObject


@dataclass(frozen=True)
class ParsedBody:
    """A request body: its calls and the error answers for elements that were not calls."""

    is_batch: bool
    items: tuple[RpcCall | Rejected, ...]
    """In order: a ``RpcCall`` to answer, or an element already rejected."""


def error_response(id_: Any, code: int, message: str, data: str | None = None) -> JsonObject:
    """A JSON-RPC 2.0 error object."""
    error: JsonObject = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": id_, "error": error}


def result_response(id_: Any, result: Any) -> JsonObject:
    """A JSON-RPC 2.0 success object."""
    return {"jsonrpc": "2.0", "id": id_, "result": result}


def parse_body(body: bytes) -> ParsedBody | JsonObject:
    """Read an HTTP body as one request or a batch; a top-level error response otherwise."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return error_response(None, PARSE_ERROR, "parse error")
    if isinstance(payload, list):
        if not payload:
            return error_response(None, INVALID_REQUEST, "empty batch")
        return ParsedBody(True, tuple(parse_request(item) for item in payload))
    return ParsedBody(False, (parse_request(payload),))


def parse_request(obj: Any) -> RpcCall | Rejected:
    """One request object → ``RpcCall``, or the -32600/-32602 error answer for it."""
    if not isinstance(obj, dict):
        return Rejected(None, error_response(None, INVALID_REQUEST, "invalid request"))
    id_ = obj.get("id")
    method, params = obj.get("method"), obj.get("params", [])
    if obj.get("jsonrpc") != "2.0" or not isinstance(method, str):
        name = method if isinstance(method, str) else None
        return Rejected(name, error_response(id_, INVALID_REQUEST, "invalid request"))
    if not isinstance(params, list):
        return Rejected(method, error_response(id_, INVALID_PARAMS, "params must be an array"))
    call = RpcCall(id_, method, params, is_notification="id" not in obj)
    if method != "eth_call":
        return call
    try:
        to, data = _read_call_object(params)
    except (HexFormatError, ValueError, TypeError) as exc:
        return Rejected(method, error_response(id_, INVALID_PARAMS, str(exc)))
    return RpcCall(id_, method, params, call.is_notification, to, data)


def _read_call_object(params: list[Any]) -> tuple[bytes, bytes]:
    if not params or not isinstance(params[0], dict):
        raise ValueError("missing value for required argument 0")
    tx = params[0]
    if not isinstance(tx.get("to"), str):
        raise ValueError("eth_call without 'to' (contract creation) is not supported")
    to = parse_address(tx["to"])
    data_text: Any = tx.get("input", tx.get("data", "0x"))
    if "input" in tx and "data" in tx and tx["input"] != tx["data"]:
        raise ValueError("both 'data' and 'input' are set and not equal")
    _check_block(params[1] if len(params) > 1 else "latest")
    return to, parse_data(data_text)


def _check_block(block: Any) -> None:
    if isinstance(block, dict) and ("blockNumber" in block or "blockHash" in block):
        return
    if isinstance(block, str) and (block in BLOCK_TAGS or _is_quantity(block)):
        return
    raise ValueError(f"invalid block tag {block!r}")


def _is_quantity(text: str) -> bool:
    try:
        parse_quantity(text)
    except HexFormatError:
        return False
    return True


def _address_argument(data: bytes) -> bytes | None:
    """Solidity's reading of one ``address`` argument; None when it would revert."""
    try:
        (value,) = decode(["address"], data[4:36])
    except DecodingError:
        return None
    return parse_address(value)


def _word_bool(value: bool) -> CallOutcome:
    return CallOutcome("return", encode(["bool"], [value]))


def _view(scenario: ChainScenario, to: bytes, data: bytes) -> CallOutcome:
    """The answer of a deployed contract at ``to`` (roles from the scenario)."""
    s = scenario
    sel = data[:4]
    arg = _address_argument(data)
    if sel == selectors.CLUSTER.selector:
        if to in s.reverting_cluster:
            return CallOutcome("revert", s.reverting_cluster[to])
        if to in s.member_clusters:
            return CallOutcome("return", encode(["address"], [s.member_clusters[to]]))
        return CallOutcome("revert")
    if not data and to in s.member_clusters:
        return CallOutcome("return")  # a ClusterMember has receive(): plain calls succeed
    if len(data) < 4 or sel not in CHAIN_VIEWS or arg is None:
        return CallOutcome("revert")
    if sel == selectors.IS_OUR_MEMBER.selector and to == s.member_factory:
        return _word_bool(arg in s.members)
    if sel == selectors.IS_DEPLOYED_CLUSTER.selector:
        if to == s.cluster_factory:
            return _word_bool(arg in s.clusters)
        if to == s.cluster_factory_v2:
            return _word_bool(arg in s.clusters_v2)
    if sel == selectors.ALLOWED_APP_IDS.selector:
        if to in s.hostile_clusters:
            return _word_bool(True)
        if to in s.clusters or to in s.clusters_v2 or to in s.allowed_app_ids:
            return _word_bool(arg in s.allowed_app_ids.get(to, frozenset()))
    return CallOutcome("revert")


def evaluate_call(scenario: ChainScenario, to: bytes, data: bytes) -> CallOutcome:
    """Execute ``eth_call(to, data)`` against the scenario (PROTOCOL.md §5)."""
    if not scenario.has_code(to):
        return CallOutcome("no-code")
    return _view(scenario, to, data)


def outcome_response(id_: Any, outcome: CallOutcome) -> JsonObject:
    """The node's JSON-RPC answer for an ``eth_call`` outcome."""
    if outcome.kind == "revert":
        return error_response(id_, REVERT_CODE, "execution reverted", to_data(outcome.data))
    return result_response(id_, to_data(outcome.data))


def _get_code(scenario: ChainScenario, call: RpcCall) -> JsonObject:
    try:
        address = parse_address(call.params[0])
        _check_block(call.params[1] if len(call.params) > 1 else "latest")
    except (HexFormatError, IndexError, ValueError, TypeError) as exc:
        return error_response(call.id, INVALID_PARAMS, f"invalid params: {exc}")
    return result_response(call.id, to_data(CODE_STUB if scenario.has_code(address) else b""))


_SIMPLE: dict[str, Callable[[ChainScenario], str]] = {
    "eth_chainId": lambda s: to_quantity(s.chain_id),
    "net_version": lambda s: str(s.chain_id),
    "eth_blockNumber": lambda s: to_quantity(s.block_number),
}


def answer_call(scenario: ChainScenario, call: RpcCall) -> tuple[JsonObject, str]:
    """The answer to one call, and a one-word outcome for the log."""
    if call.method == "eth_call" and call.to is not None:
        outcome = evaluate_call(scenario, call.to, call.data)
        return outcome_response(call.id, outcome), outcome.kind
    if call.method == "eth_getCode":
        response = _get_code(scenario, call)
        return response, "error" if "error" in response else "return"
    if call.method in _SIMPLE:
        return result_response(call.id, _SIMPLE[call.method](scenario)), "return"
    message = f"the method {call.method} does not exist/is not available"
    return error_response(call.id, METHOD_NOT_FOUND, message), "error"


@dataclass(frozen=True)
class RecordedCall:
    """One JSON-RPC call the peer received (a batch records one per element).

    ``outcome``: ``return``, ``revert``, ``no-code``, ``error`` (a JSON-RPC error answer),
    ``invalid`` (not a request at all), or ``fault`` when an injected fault replaced it.
    """

    timestamp: float
    method: str | None
    to: bytes | None
    selector_name: str | None
    argument: bytes | None
    data: bytes
    fault: Fault | None
    outcome: str
    batch_size: int


def call_keys(parsed: ParsedBody | JsonObject | None) -> list[CallKey]:
    """The fault-matching key of each element (one key for a body that is no request)."""
    if not isinstance(parsed, ParsedBody):
        return [CallKey(None)]
    keys = []
    for item in parsed.items:
        if isinstance(item, Rejected):
            keys.append(CallKey(item.method))
        else:
            keys.append(CallKey(item.method, item.selector_name, item.to, item.argument))
    return keys


def record_call(
    received: float, item: RpcCall | Rejected | None, outcome: str, fault: Fault | None, size: int
) -> RecordedCall:
    """The log entry of one element; an applied fault other than LATENCY is the outcome."""
    if fault is not None and fault.kind is not FaultKind.LATENCY:
        outcome = "fault"
    if not isinstance(item, RpcCall):
        method = item.method if isinstance(item, Rejected) else None
        return RecordedCall(received, method, None, None, None, b"", fault, outcome, size)
    return RecordedCall(
        received,
        item.method,
        item.to,
        item.selector_name,
        item.argument,
        item.data,
        fault,
        outcome,
        size,
    )
