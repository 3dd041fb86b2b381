"""attestmesh-conformance: spec-conformance and fuzz testing for the AttestMesh protocol."""

__version__ = "0.1.0"
