"""Fuzzer dictionaries per target: selectors, offset and length words, magic strings
(libFuzzer ``-dict=`` files, written by ``corpus.write_dictionary``).

Tokens come from the protocol layer (the selector registry, §1; the canonical layout, §3; the
Standard Webhooks header grammar, §5), never typed-in hex.
"""

from __future__ import annotations

from conformance.protocol.calldata import CANONICAL_OFFSET, EXECUTE_SELECTOR
from conformance.protocol.hexutil import word
from conformance.protocol.selectors import known_methods
from conformance.protocol.webhook_wire import SECRET_PREFIXES, SPONSORSHIP_EVENT

_WORDS = (0, 0x20, 0x40, CANONICAL_OFFSET, 0x80, 0xA0, 0xFFFFFFFFFFFFFFFF, 1 << 64, (1 << 256) - 1)

CALLDATA_TOKENS: tuple[bytes, ...] = (
    EXECUTE_SELECTOR,
    *sorted(known_methods()),
    *(word(w) for w in _WORDS),
    bytes(12),
    b"\xff" * 12,
)
"""Selectors of every known method, offset and length words, address-word padding."""

HEX_TOKENS: tuple[bytes, ...] = (
    b"0x", b"0X", b"0x" + EXECUTE_SELECTOR.hex().encode(),
    b"0x" + EXECUTE_SELECTOR.hex().upper().encode(),
    *(m.hex().encode() for m in sorted(known_methods())),
    *(m.hex().upper().encode() for m in sorted(known_methods())),
    word(CANONICAL_OFFSET).hex().encode(), b"00" * 32,
)
"""callData as JSON hex text: prefixes, selectors in both cases, the canonical offset word."""

JSON_TOKENS: tuple[bytes, ...] = (
    b'"userOperation"', b'"sender"', b'"callData"', b'"chainId"', b'"entryPoint"', b'"type"',
    b'"data"', b'"object"', b'"sponsorshipPolicyId"', f'"{SPONSORSHIP_EVENT}"'.encode(),
    b"null", b"true", b"false", b"NaN", b"Infinity", b"1e400", b"-0", b"\\u0000", b"\\ud800",
    b"[[[[[[[[", b"{}", b"[]", b'"0x2105"', b'"8453"', b"8453", b"84532.0",
)
"""JSON keys of both bodies, §5 chainId forms, JSON edge values."""

SIGNATURE_TOKENS: tuple[bytes, ...] = (
    b"v1,", b"v1a,", b"v2,", b" ", b"\x1e", b"=", b"==",
    *(p.encode() for p in SECRET_PREFIXES),
    b"webhook-id", b"webhook-timestamp", b"webhook-signature",
)
"""Standard Webhooks entries, secret prefixes, the field separator of the framed input."""


def dictionary_text(tokens: tuple[bytes, ...]) -> str:
    """``tokens`` in libFuzzer's dictionary syntax (one ``"\\xNN..."`` per line)."""
    lines = []
    for index, token in enumerate(tokens):
        escaped = "".join(chr(b) if 0x20 <= b < 0x7F and b not in b'"\\' else f"\\x{b:02x}"
                          for b in token)
        lines.append(f'kw{index}="{escaped}"')
    return "\n".join(lines) + "\n"
