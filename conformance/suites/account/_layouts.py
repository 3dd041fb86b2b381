"""Non-canonical encodings of a bootstrap callData, for the decoder-agreement checks
(PROTOCOL.md §3: dirty address bits, offsets forward/backward/into the head/past the end,
length words too large or too small, trailing bytes, data not a multiple of 32, dirty padding).

A layout is a world-independent recipe (``Layout``: a kind and its free parameters) applied to
the world's calls, so every kind is pinned by an explicit hypothesis ``@example``
(``PINNED_OUTER``, ``PINNED_INNER``: each kind at its boundaries) and caught at any seed, not
only when a random draw hits it. ``Layout.outer`` re-lays the ``execute`` arguments around a
real inner call and a decoy one (a different registration a fixed-offset reader would find at
the canonical place); ``Layout.inner`` breaks the ``dstack_register`` encoding itself.
``pinned_outer_layouts`` gives the decoy layouts every run tries (AC-035). What the account
must answer is the oracle's business.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from conformance.protocol.calldata import EXECUTE_SELECTOR
from conformance.protocol.hexutil import address_word, word

OUTER_KINDS = ("decoy-before", "gap-before", "into-head", "dirty-address", "trailing",
               "dirty-padding", "missing-padding", "length-too-large", "length-too-small",
               "past-end", "offset-forward", "duplicate-after")
INNER_KINDS = ("truncate", "proof-offset", "member-offset", "member-length", "dirty-member",
               "trailing", "flip-head", "drop-padding")
_WORD_LIMIT = 2**256 - 1


def _block(data: bytes) -> bytes:
    """``word(len) ‖ data`` zero-padded to a multiple of 32."""
    return word(len(data)) + data + bytes(-len(data) % 32)


def _head(target: bytes, offset: int, target_word: bytes | None = None) -> bytes:
    return EXECUTE_SELECTOR + (target_word or address_word(target)) + word(0) + word(offset)


@dataclass(frozen=True)
class Layout:
    """One way to lay out or break a call: ``kind`` and its free parameters.

    ``number`` is the kind's integer (an offset, a length delta, a cut, a flipped position),
    read relative to the call so any value is meaningful; ``blob`` its bytes (address dirt, a
    gap, trailing bytes); ``field`` the struct member an inner kind aims at (2…7) or the
    flipped bits.
    """

    kind: str
    number: int = 0
    blob: bytes = b""
    field: int = 2

    def outer(self, target: bytes, inner: bytes, decoy: bytes) -> bytes:
        """``execute(target, 0, inner)`` laid out as ``kind`` says, ``decoy`` around."""
        real, fake = _block(inner), _block(decoy)
        n = self.number
        simple = {
            "decoy-before": lambda: _head(target, 0x60 + len(fake)) + fake + real,
            "duplicate-after": lambda: _head(target, 0x60) + real + fake,
            "gap-before": lambda: _head(target, 0x60 + len(self.blob)) + self.blob + real,
            "into-head": lambda: _head(target, n % 0x60) + real,
            "dirty-address": lambda: _head(target, 0x60, self.blob[-12:].rjust(12, b"\x01")
                                           + target) + real,
            "trailing": lambda: _head(target, 0x60) + real + self.blob,
            "missing-padding": lambda: _head(target, 0x60) + real[: 32 + len(inner)],
            "length-too-large": lambda: (_head(target, 0x60) + word(len(inner) + 1 + n % 2**64)
                                         + real[32:]),
            "length-too-small": lambda: (_head(target, 0x60) + word(max(0, len(inner) - 1 - n))
                                         + real[32:]),
            "past-end": lambda: _head(target, min(_WORD_LIMIT, 0x60 + len(real) - 0x1F + n))
                                + real,
            "offset-forward": lambda: _head(target, n % (0x60 + len(real) + 1)) + real,
        }
        if self.kind == "dirty-padding":
            padded = bytearray(real)
            if len(padded) > 32 + len(inner):
                padded[-1] = 1 + n % 255
            return _head(target, 0x60) + bytes(padded)
        return simple[self.kind]()

    def inner(self, call: bytes) -> bytes:
        """The canonical register call ``call`` broken or re-laid as ``kind`` says."""
        n, body = self.number, bytearray(call[4:])
        struct = int.from_bytes(body[0:32], "big")
        if self.kind == "truncate":
            return call[: max(4, len(call) - 1 - n)]
        if self.kind == "trailing":
            return call + self.blob
        if self.kind == "drop-padding":
            return call[: -(1 + n % 31)]
        if self.kind == "proof-offset":
            body[0:32] = word(n % 2**256)
        elif self.kind == "dirty-member":
            body[32:44] = self.blob[-12:].rjust(12, b"\x01")
        elif self.kind == "flip-head":
            body[n % min(len(body), struct + 256)] ^= 1 + self.field % 255
        else:
            slot = struct + 32 * (2 + self.field % 6)
            if self.kind == "member-offset":
                body[slot : slot + 32] = word(n % 2**256)
            else:
                at = struct + int.from_bytes(body[slot : slot + 32], "big")
                body[at : at + 32] = word(n % 2**256)
        return call[:4] + bytes(body)


_DIRT = st.binary(min_size=12, max_size=12).filter(any)


def _outer_params(kind: str) -> SearchStrategy[Layout]:
    if kind == "gap-before":
        return st.builds(Layout, st.just(kind), blob=st.binary(min_size=1, max_size=96))
    if kind == "dirty-address":
        return st.builds(Layout, st.just(kind), blob=_DIRT)
    if kind == "trailing":
        return st.builds(Layout, st.just(kind), blob=st.binary(min_size=1, max_size=64))
    return st.builds(Layout, st.just(kind), number=st.integers(0, _WORD_LIMIT))


def _inner_params(kind: str) -> SearchStrategy[Layout]:
    if kind == "dirty-member":
        return st.builds(Layout, st.just(kind), blob=_DIRT)
    if kind == "trailing":
        return st.builds(Layout, st.just(kind), blob=st.binary(min_size=1, max_size=64))
    values = st.one_of(st.integers(0, 4096), st.integers(0, _WORD_LIMIT))
    return st.builds(Layout, st.just(kind), number=values, field=st.integers(0, 255))


def outer_layouts() -> SearchStrategy[Layout]:
    """Non-canonical layouts of an ``execute`` call, every kind of ``OUTER_KINDS``."""
    return st.sampled_from(OUTER_KINDS).flatmap(_outer_params)


def inner_layouts() -> SearchStrategy[Layout]:
    """Broken or re-laid ``dstack_register`` encodings, every kind of ``INNER_KINDS``."""
    return st.sampled_from(INNER_KINDS).flatmap(_inner_params)


def inner_mutations(inner: bytes) -> SearchStrategy[tuple[str, bytes]]:
    """``(kind, inner broken as kind says)`` for the model-vs-solc test."""
    return inner_layouts().map(lambda layout: (layout.kind, layout.inner(inner)))


_HIGH_BIT = b"\x80" + bytes(11)
_LOW_BIT = bytes(11) + b"\x01"

PINNED_OUTER: tuple[Layout, ...] = (
    Layout("decoy-before"), Layout("duplicate-after"),
    Layout("gap-before", blob=b"\x00"), Layout("gap-before", blob=b"\xff" * 32),
    Layout("into-head", 0x00), Layout("into-head", 0x20), Layout("into-head", 0x40),
    Layout("dirty-address", blob=b"\xff" * 12), Layout("dirty-address", blob=_HIGH_BIT),
    Layout("dirty-address", blob=_LOW_BIT),
    Layout("trailing", blob=b"\x00"), Layout("trailing", blob=b"\xab" * 32),
    Layout("dirty-padding", 0), Layout("missing-padding"),
    Layout("length-too-large", 0), Layout("length-too-large", 2**64 - 1),
    Layout("length-too-small", 0), Layout("length-too-small", 2**64),
    Layout("past-end", 0), Layout("past-end", _WORD_LIMIT),
    Layout("offset-forward", 0x80), Layout("offset-forward", 0x61),
)
"""Every outer kind at its boundaries: dirty bits at the top, bottom and everywhere of the
target word; the gap and trailing data one byte (not a multiple of 32) and one word; the
offset into each head word, just past the last place a length word fits and at 2^256-1,
forward by a word and by an odd amount; the length one too large, 2^64 too large, one too
small and zero."""

PINNED_INNER: tuple[Layout, ...] = (
    Layout("truncate", 0), Layout("truncate", 2**64),
    Layout("trailing", blob=b"\x00"), Layout("trailing", blob=b"\xff" * 33),
    Layout("drop-padding", 0), Layout("drop-padding", 30),
    Layout("proof-offset", 0), Layout("proof-offset", 0xA0), Layout("proof-offset", 2**64 - 1),
    Layout("proof-offset", 2**64), Layout("proof-offset", _WORD_LIMIT),
    Layout("dirty-member", blob=b"\xff" * 12), Layout("dirty-member", blob=_HIGH_BIT),
    Layout("dirty-member", blob=_LOW_BIT),
    Layout("flip-head", 0, field=0), Layout("flip-head", 200, field=0x7F),
    Layout("member-offset", 0, field=0), Layout("member-offset", 10**6, field=4),
    Layout("member-offset", 2**64, field=5), Layout("member-offset", _WORD_LIMIT, field=0),
    Layout("member-length", 0, field=0), Layout("member-length", 10**6, field=1),
    Layout("member-length", 2**64, field=5), Layout("member-length", _WORD_LIMIT, field=0),
)
"""Every inner kind at its boundaries: cut by one byte and down to the selector; trailing one
byte and 33; padding short by 1 and 31 bytes (not a multiple of 32); the proof offset into the
head, one word forward, at 2^64-1 (the largest solc allows), 2^64 and 2^256-1; dirty
memberContract bits at the top, bottom and everywhere; a member's offset or length at zero,
past the end, 2^64 and 2^256-1."""


def pinned_outer_layouts(target: bytes, inner: bytes,
                         decoy: bytes) -> tuple[tuple[str, bytes], ...]:
    """Two valid layouts where the offset word, not the canonical place, finds the call Solidity
    reads: ``decoy`` at the canonical place with the offset past it to ``inner``, and ``inner``
    at the canonical place with the offset past it to ``decoy``. A fixed-offset reader reads the
    other call in each (AC-035)."""
    real, fake = _block(inner), _block(decoy)
    return (("decoy-before", _head(target, 0x60 + len(fake)) + fake + real),
            ("offset-past-canonical", _head(target, 0x60 + len(real)) + real + fake))
