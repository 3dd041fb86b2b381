"""Equivalence classes of the account checks' inputs, one explicit example each (issue 7 §9).

A gate must hold for every class of input, not only for the values its author thought of: the
EntryPoint gate (AC-001) is crossed with every signature class of PROTOCOL.md §2, every owner
state and a prefund due or not, so an account that answers a stranger before its gate (on the
invalid-signature early return, say) is caught at any seed.

``signature_classes`` builds one signature of each class from a genuine one (so a lenient
verifier would recover a real signer from many of them); ``SIGNATURE_CLASSES`` names them with
their boundary. ``INPUT_CLASSES`` is the table of the account rules' input classes and where
each is pinned.
"""

from __future__ import annotations

from types import MappingProxyType

from conformance.protocol.signatures import (
    HALF_N,
    SECP256K1_N,
    to_compact,
    to_high_s,
    with_v,
)

R_OFF_CURVE = 5
"""The smallest r with no curve point of that x (x³ + 7 = 132 is not a square mod p)."""

SIGNATURE_CLASSES: MappingProxyType[str, str] = MappingProxyType({
    "valid-signer": "65 bytes, v 27/28, low s, recovers the expected signer",
    "valid-other": "65 bytes, v 27/28, low s, recovers another key",
    "empty": "length 0",
    "one-byte": "length 1",
    "compact-eip2098": "length 64, yParity folded into s (EIP-2098)",
    "compact-r-s": "length 64, r ‖ s without v",
    "length-66": "the 65-byte signature and one more byte (boundary above 65)",
    "v-0-or-1": "raw recovery id instead of 27/28",
    "v-29": "first v above 28 (boundary)",
    "v-26": "last v below 27 (boundary)",
    "high-s": "the malleated twin: s' = n - s > n/2",
    "s-half-n-plus-1": "s = n/2 + 1, the first high s (boundary)",
    "r-zero": "r = 0",
    "s-zero": "s = 0",
    "r-at-least-n": "r = n",
    "r-off-curve": f"r = {R_OFF_CURVE}, no point with that x",
    "all-zero": "65 zero bytes",
})
"""Every class of userOp signature PROTOCOL.md §2 distinguishes, with its boundary."""

OWNER_STATES: tuple[str, ...] = ("fresh-valid-bootstrap", "fresh-reverting-calldata", "owned")
"""Owner states a gate is crossed with: unset with a bootstrap callData that validates, unset
with one that would revert if read, and set."""

_SIGS = "every invalid class of SIGNATURE_CLASSES"

INPUT_CLASSES: MappingProxyType[str, tuple[str, str]] = MappingProxyType({
    # rule: (the input classes and boundaries, where each class is pinned at any seed)
    "AC-001": ("caller (cluster, its owner, member owner, members, paymaster, bundler, zero, "
               "v0.6 and look-alike EntryPoints, random) x every signature class x owner state "
               "(fresh valid bootstrap, fresh reverting callData, owned) x prefund 0 / due",
               "test_gate_holds_for_every_signature_class, "
               "test_validate_user_op_rejects_named_callers"),
    "AC-002": (f"{_SIGS} x path (owner, bootstrap) x prefund 0 / due; the owner's own "
               "signature's malleated twins",
               "test_every_invalid_signature_class_returns_one"),
    "AC-003": (f"{_SIGS} x reverting bootstrap shape (noise, selector, cluster, value, inner "
               "selector, truncated register)",
               "test_every_invalid_class_before_every_reverting_shape"),
    "AC-004": ("outer selector: random, executeBatch, 4-argument execute, 0-3 bytes; handleOps",
               "@examples (zero, execute off by a bit, 0 and 3 bytes), "
               "test_malformed_bootstrap_fails_aa23, test_no_batch_form_exists (UO-015)"),
    "AC-005": ("target: another cluster, the account, the EntryPoint, random",
               "@examples: zero, all-ones, each named address"),
    "AC-006": ("value: 1 .. 2^256-1", "@examples 1, 2^255, 2^256-1"),
    "AC-007": ("inner selector: other register selectors, historic, operator outside "
               "multi-attestor, random; inner shorter than 4 bytes",
               "@examples (historic, CORE, never-sponsorable; 0-3 bytes), "
               "test_operator_register_is_no_bootstrap_outside_multi_attestor, "
               "test_register_selector_is_over_the_expanded_tuple (UO-016)"),
    "AC-008": ("memberContract: another member, the cluster, a stranger, zero, all-ones",
               "@examples"),
    "AC-009": ("userOp signer: binding key, another key; proof.messageHash trusted or not",
               "@examples: each variant (plain, proof hash differs, other binding)"),
    "AC-010": ("proof.messageSignature invalid (every class) x userOp signer",
               "@examples: zero signature x each twin x binding / other key"),
    "AC-011": ("operator bootstrap signed by ownerKey, another key; memberContract another",
               "drawn (multi-attestor)"),
    "AC-012": ("owner path: owner, other key, bootstrap-shaped op by the binding key; "
               "handleOps sequence with getNonce",
               "test_owner_path_ignores_bootstrap_shape, test_owner_operations_land_with_getnonce"),
    "AC-013": ("answer 0 / 1 (owner, other key, invalid signature, bootstrap, zero signer) x "
               "missingAccountFunds 0, 1 wei, 10^18; reverting cases are not judged",
               "@example missing 0, 1, 10^18"),
    "AC-014": ("every answer class x prefund", "drawn (test_answers_are_only_zero_or_one)"),
    "AC-015": ("userOpHash of another chain id / EntryPoint; chain id changed under the world",
               "test_signature_for_the_old_chain_fails_after_a_chain_id_change"),
    "AC-016": ("replay of the bootstrap, of an owner operation",
               "test_replayed_operation_fails_aa25"),
    "AC-017": ("caller (named actors, random) x member (owned, fresh); EntryPoint control",
               "test_execute_rejects_named_callers, test_execute_answers_the_entry_point"),
    "AC-018": ("target, value, data of the call", "drawn (test_execute_performs_the_call_exactly)"),
    "AC-019": ("callee revert data: empty, short, long", "drawn"),
    "AC-020": ("caller: everyone but the cluster (EntryPoint included) x owner unset / set",
               "test_set_owner_rejects_everyone_but_the_cluster, "
               "test_the_cluster_installs_the_owner"),
    "AC-021": ("second installation: registered member, installed by hand",
               "test_second_installation_reverts"),
    "AC-022": ("second installation under multi-attestor", "test_second_installation_is_skipped"),
    "AC-023": ("upgrader: member owner, cluster, EntryPoint, member, cluster owner, random",
               "test_only_the_cluster_owner_upgrades"),
    "AC-024": ("ownership transferred: former owner, new owner",
               "test_upgrade_authority_follows_the_live_cluster_owner"),
    "AC-025": ("every admin operation from a member", "test_admin_calls_from_a_member_revert"),
    "AC-026": ("member operation from another cluster's member, from anyone",
               "test_member_calls_from_a_non_member_revert"),
    "AC-027": ("member outside the factory, random address", "drawn"),
    "AC-028": ("Path A member allowlisted", "test_path_a_member_registers"),
    "AC-029": ("codeId low bits set, another member", "drawn"),
    "AC-030": ("messageHash for another cluster, other keys", "drawn"),
    "AC-031": ("each broken link of the proof chain", "drawn"),
    "AC-032": ("registered member again, same or other key", "test_already_registered"),
    "AC-033": ("several gates failing at once", "drawn"),
    "AC-034": ("dstack_register layouts: truncate, proof offset (head, forward, 2^64-1, 2^64, "
               "2^256-1), member offset / length (0, past end, 2^64, 2^256-1), dirty "
               "memberContract bits (top, bottom, all), trailing bytes, padding short of a "
               "multiple of 32, flipped head byte", "PINNED_INNER @examples"),
    "AC-035": ("execute layouts: decoy before, duplicate after, gap (1 byte, a word), offset "
               "into the head (0x00/0x20/0x40), forward (a word, odd), past the end "
               "(boundary, 2^256-1), dirty target bits (top, bottom, all), trailing bytes, "
               "dirty / missing padding, length past the end (1, 2^64-1) or short (1, to 0)",
               "PINNED_OUTER @examples, test_offset_word_is_followed"),
    **{rule: ("the cluster's proof verification (not the account)", "drawn; reference only")
       for rule in ("AT-003", "AT-004", "AT-005", "AT-007", "AT-008", "AT-009", "AT-010",
                    "AT-013", "AT-015", "AT-016", "AT-018", "AT-019")},
    "AT-006": ("KMS message bytes", "test_kms_signature_covers_app_id_and_key_bytes"),
    "AT-014": ("boot gates", "test_boot_gates_do_not_gate_registration"),
    "AT-020": ("one-operation registration; derived key encodings 33/64/65",
               "test_fresh_member_registers_in_one_sponsored_operation"),
})
"""The input classes of every account rule with their boundaries, and where each class is
pinned at any seed (a deterministic check or explicit @examples). "drawn" marks rules whose
classes are still only reached by hypothesis draws: the next ones to pin."""


def signature_classes(genuine: bytes, other: bytes) -> dict[str, bytes]:
    """One signature of every class of ``SIGNATURE_CLASSES``: ``genuine`` by the expected signer,
    ``other`` valid by another key; the invalid ones are built from ``genuine``."""
    r, v = genuine[:32], genuine[64]
    return {
        "valid-signer": genuine,
        "valid-other": other,
        "empty": b"",
        "one-byte": genuine[:1],
        "compact-eip2098": to_compact(genuine),
        "compact-r-s": genuine[:64],
        "length-66": genuine + b"\x00",
        "v-0-or-1": with_v(genuine, v - 27),
        "v-29": with_v(genuine, 29),
        "v-26": with_v(genuine, 26),
        "high-s": to_high_s(genuine),
        "s-half-n-plus-1": r + (HALF_N + 1).to_bytes(32, "big") + bytes([v]),
        "r-zero": bytes(32) + genuine[32:],
        "s-zero": r + bytes(32) + bytes([v]),
        "r-at-least-n": SECP256K1_N.to_bytes(32, "big") + genuine[32:],
        "r-off-curve": R_OFF_CURVE.to_bytes(32, "big") + genuine[32:],
        "all-zero": bytes(65),
    }
