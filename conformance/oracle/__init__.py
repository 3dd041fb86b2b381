"""Oracles: what a conforming implementation must answer for an input (pure, no I/O).

``webhook`` reads PROTOCOL.md §5 (policy, routes, decoder agreement) independently of the
reference implementation; ``webhook_body`` and ``webhook_chain`` are its body and chain readings.
"""
