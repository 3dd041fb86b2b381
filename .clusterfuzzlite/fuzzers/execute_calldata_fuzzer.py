#!/usr/bin/env python3
"""ClusterFuzzLite fuzzer for the amc fuzz target ``execute_calldata``
(conformance/fuzz/; see amc fuzz list)."""

from conformance.fuzz.entry import main

if __name__ == "__main__":
    main("execute_calldata")
