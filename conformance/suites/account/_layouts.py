"""Non-canonical encodings of a bootstrap callData, for the decoder-agreement checks
(PROTOCOL.md §3: dirty address bits, offsets forward/backward/into the head/past the end,
length words too large or too small, trailing bytes, missing or dirty padding).

``outer_layouts`` re-lays the ``execute`` arguments around a real inner call and a decoy one
(a different registration a fixed-offset reader would find at the canonical place);
``inner_mutations`` breaks the ``dstack_register`` encoding itself. Each draws
``(label, callData)``; ``pinned_outer_layouts`` gives the decoy layouts every run tries, at any
seed (AC-035). What the account must answer is the oracle's business.
"""

from __future__ import annotations

from hypothesis import strategies as st

from conformance.protocol.calldata import EXECUTE_SELECTOR
from conformance.protocol.hexutil import address_word, word

OUTER_KINDS = ("decoy-before", "gap-before", "into-head", "dirty-address", "trailing",
               "dirty-padding", "missing-padding", "length-too-large", "length-too-small",
               "past-end", "random-offset", "duplicate-after")
INNER_KINDS = ("truncate", "proof-offset", "member-offset", "member-length", "dirty-member",
               "trailing", "flip-head", "drop-padding")


def _block(data: bytes) -> bytes:
    """``word(len) ‖ data`` zero-padded to a multiple of 32."""
    return word(len(data)) + data + bytes(-len(data) % 32)


def _head(target: bytes, offset: int, target_word: bytes | None = None) -> bytes:
    return EXECUTE_SELECTOR + (target_word or address_word(target)) + word(0) + word(offset)


def pinned_outer_layouts(target: bytes, inner: bytes,
                         decoy: bytes) -> tuple[tuple[str, bytes], ...]:
    """Two valid layouts where the offset word, not the canonical place, finds the call Solidity
    reads: ``decoy`` at the canonical place with the offset past it to ``inner``, and ``inner``
    at the canonical place with the offset past it to ``decoy``. A fixed-offset reader reads the
    other call in each (AC-035)."""
    real, fake = _block(inner), _block(decoy)
    return (("decoy-before", _head(target, 0x60 + len(fake)) + fake + real),
            ("offset-past-canonical", _head(target, 0x60 + len(real)) + real + fake))


@st.composite
def outer_layouts(draw: st.DrawFn, target: bytes, inner: bytes,
                  decoy: bytes) -> tuple[str, bytes]:
    """One non-canonical layout of ``execute(target, 0, inner)`` with ``decoy`` around."""
    kind = draw(st.sampled_from(OUTER_KINDS))
    real, fake = _block(inner), _block(decoy)
    if kind == "decoy-before":
        return kind, _head(target, 0x60 + len(fake)) + fake + real
    if kind == "duplicate-after":
        return kind, _head(target, 0x60) + real + fake
    if kind == "gap-before":
        gap = draw(st.binary(min_size=1, max_size=96))
        return kind, _head(target, 0x60 + len(gap)) + gap + real
    if kind == "into-head":
        offset = draw(st.sampled_from([0x00, 0x20, 0x40]))
        return kind, _head(target, offset) + real
    if kind == "dirty-address":
        dirt = draw(st.binary(min_size=12, max_size=12).filter(any))
        return kind, _head(target, 0x60, dirt + target) + real
    if kind == "trailing":
        return kind, _head(target, 0x60) + real + draw(st.binary(min_size=1, max_size=64))
    if kind == "dirty-padding":
        padded = bytearray(real)
        if len(padded) > 32 + len(inner):
            padded[-1] = draw(st.integers(1, 255))
        return kind, _head(target, 0x60) + bytes(padded)
    if kind == "missing-padding":
        return kind, _head(target, 0x60) + real[: 32 + len(inner)]
    if kind in ("length-too-large", "length-too-small"):
        delta = draw(st.integers(1, 2**64 if kind == "length-too-large" else len(inner)))
        length = len(inner) + delta if kind == "length-too-large" else len(inner) - delta
        return kind, _head(target, 0x60) + word(length) + real[32:]
    body = real
    if kind == "past-end":
        offset = draw(st.integers(0x60 + len(body) - 0x1F, 2**256 - 1))
    else:
        offset = draw(st.integers(0, 0x60 + len(body)))
    return kind, _head(target, offset) + body


@st.composite
def inner_mutations(draw: st.DrawFn, inner: bytes) -> tuple[str, bytes]:
    """``inner`` (canonical dstack_register) broken or re-laid in one way."""
    kind = draw(st.sampled_from(INNER_KINDS))
    body = bytearray(inner[4:])
    struct = int.from_bytes(body[0:32], "big")
    if kind == "truncate":
        return kind, inner[: draw(st.integers(4, len(inner) - 1))]
    if kind == "trailing":
        return kind, inner + draw(st.binary(min_size=1, max_size=64))
    if kind == "drop-padding":
        cut = draw(st.integers(1, 31))
        return kind, inner[:-cut]
    if kind == "proof-offset":
        value = draw(st.one_of(st.integers(0, len(body) + 64), st.integers(0, 2**256 - 1)))
        body[0:32] = word(value)
    elif kind == "dirty-member":
        body[32:44] = draw(st.binary(min_size=12, max_size=12).filter(any))
    elif kind == "flip-head":
        position = draw(st.integers(0, min(len(body), struct + 256) - 1))
        body[position] ^= draw(st.integers(1, 255))
    else:
        field = draw(st.integers(2, 7))
        slot = struct + 32 * field
        if kind == "member-offset":
            value = draw(st.one_of(st.integers(0, len(body)), st.integers(0, 2**256 - 1)))
            body[slot : slot + 32] = word(value)
        else:
            at = struct + int.from_bytes(body[slot : slot + 32], "big")
            length = int.from_bytes(body[at : at + 32], "big")
            value = draw(st.one_of(st.integers(0, length + 96), st.integers(0, 2**256 - 1)))
            body[at : at + 32] = word(value)
    return kind, inner[:4] + bytes(body)
