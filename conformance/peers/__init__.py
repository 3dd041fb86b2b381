"""Peers: the parties an implementation under test talks to, played by the suite.

The fake chain JSON-RPC node (PROTOCOL.md §5 "Chain calls"): ``ChainScenario`` says what the
chain holds, ``ChainPeer`` serves it over HTTP with injectable faults (``Fault``).
"""

from __future__ import annotations

from conformance.peers.chain import CallOutcome, RecordedCall, evaluate_call
from conformance.peers.chain_scenario import ACTORS, Actors, ChainScenario, revert_reason
from conformance.peers.chain_server import ChainPeer
from conformance.peers.faults import Fault, FaultKind, FaultPlan, Malformation

__all__ = [
    "ACTORS",
    "Actors",
    "CallOutcome",
    "ChainPeer",
    "ChainScenario",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "Malformation",
    "RecordedCall",
    "evaluate_call",
    "revert_reason",
]
