"""Sidecar conformance checks (PROTOCOL.md §7): the suite starts the sidecar, plays every party
it talks to over a real chain, and judges the recorded transcript and the chain state."""
