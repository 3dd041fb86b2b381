"""End-to-end checks (PROTOCOL.md §7 "End to end"): the whole sponsored path — sidecar, bundler,
paymaster, sponsorship webhook, EntryPoint, ClusterMember, cluster — each hop the reference or
an implementation under test, each verdict attributed to the hop that broke it."""
