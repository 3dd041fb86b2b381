"""The reference sidecar (PROTOCOL.md §7): ``python -m conformance.reference.sidecar``, its
mutants (``mutants.py``) and the VerifyingPaymaster artifact the sidecar world deploys."""
