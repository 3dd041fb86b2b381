#!/usr/bin/env python3
"""ClusterFuzzLite fuzzer for the amc fuzz target ``webhook_body``
(conformance/fuzz/; see amc fuzz list)."""

from conformance.fuzz.entry import main

if __name__ == "__main__":
    main("webhook_body")
