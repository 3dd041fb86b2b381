"""Structure-aware mutators (libFuzzer custom mutators) for ABI calldata and JSON bodies.

Half of the mutations are libFuzzer's own (``atheris.Mutate``: bit flips, dictionary tokens,
crossover-free byte edits); the other half know the shape of the input and make the edits a
byte mutator finds only by luck on a 1 kB input (PROTOCOL.md §3 names these classes): set a
32-byte ABI word — of the outer head or of the nested data it points to — to an interesting
value (0, 0x20, 0x40, 0x60, ±1, ±32, the bytes that remain, 2^64-1, 2^64, dirty upper bytes),
re-lay the data block after a gap with the offset word following it, cut or extend the tail;
in JSON text, toggle the case of one hex letter or of the ``0x`` prefix. None of them knows a
planted bug: they are the classes of non-canonical encodings §3 lists.
"""

from __future__ import annotations

import random

_HEAD = 4
"""Calldata: the ABI words start after the 4-byte selector."""


def _words(data: bytes) -> tuple[list[int], list[int]]:
    """Positions of 32-byte words: (heads, all). Heads are the outer head words, the length word
    the offset points to and the first head words of the nested call there; all adds every other
    word of both levels."""
    offset = int.from_bytes(data[68:100], "big") if len(data) >= 100 else 1 << 256
    outer = list(range(_HEAD, max(_HEAD, len(data) - 31), 32))
    heads = [p for p in (_HEAD, 36, 68) if p + 32 <= len(data)]
    inner: list[int] = []
    if _HEAD + offset + 32 <= len(data):
        heads.append(_HEAD + offset)
        inner = list(range(_HEAD + offset + 36, len(data) - 31, 32))
        heads += inner[:4]
    return heads, outer + inner


def _interesting(rng: random.Random, old: int, remaining: int) -> int:
    choices = (0, 0x20, 0x40, 0x60, 0x80, old + 1, old - 1, old + 32, old - 32, remaining,
               remaining + 1, remaining - 1, (1 << 64) - 1, 1 << 64, (1 << 256) - 1,
               old | (rng.randrange(1, 1 << 96) << 160))
    return rng.choice(choices) % (1 << 256)


def _set_word(data: bytes, rng: random.Random) -> bytes:
    heads, every = _words(data)
    positions = heads if heads and rng.random() < 0.5 else every
    if not positions:
        return data
    pos = rng.choice(positions)
    old = int.from_bytes(data[pos:pos + 32], "big")
    new = _interesting(rng, old, len(data) - pos - 32)
    return data[:pos] + new.to_bytes(32, "big") + data[pos + 32:]


def _relay(data: bytes, rng: random.Random) -> bytes:
    """Insert a gap of whole words before the data block and point the offset word past it."""
    if len(data) < 100:
        return data
    offset = int.from_bytes(data[68:100], "big")
    start = _HEAD + offset
    if start > len(data):
        return data
    gap = bytes(rng.choice((32, 64))) if rng.random() < 0.5 else rng.randbytes(32)
    moved = data[:start] + gap + data[start:]
    return moved[:68] + (offset + len(gap)).to_bytes(32, "big") + moved[100:]


def _tail(data: bytes, rng: random.Random) -> bytes:
    if rng.random() < 0.5 and data:
        return data[: len(data) - rng.randint(1, min(33, len(data)))]
    extra = rng.randint(1, 32)
    return data + (bytes(extra) if rng.random() < 0.5 else rng.randbytes(extra))


def calldata_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    """libFuzzer's mutation half the time; an ABI-aware edit otherwise."""
    import atheris

    rng = random.Random(seed)
    if rng.random() < 0.5 or len(data) < 36:
        return atheris.Mutate(data, max_size)
    edit = rng.choice((_set_word, _set_word, _set_word, _relay, _tail))
    return edit(data, rng)[:max_size]


def prefixed_calldata_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    """For inputs that start with one control byte (register_calldata): a quarter of the time
    only the control byte changes (a small value: the transforms), else ``calldata_mutator``
    on the rest with the control byte kept."""
    rng = random.Random(seed)
    if rng.random() < 0.25 or len(data) < 37:
        return bytes([rng.randrange(8)]) + data[1:]
    return data[:1] + calldata_mutator(data[1:], max_size - 1, seed ^ 0x5EED)


_HEX_LETTERS = b"abcdefABCDEFxX"


def json_hex_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    """libFuzzer's mutation half the time; otherwise toggle the case of one hex letter."""
    import atheris

    rng = random.Random(seed)
    spots = [i for i, b in enumerate(data) if b in _HEX_LETTERS] if rng.random() >= 0.5 else []
    if not spots:
        return atheris.Mutate(data, max_size)
    i = rng.choice(spots)
    return data[:i] + bytes([data[i] ^ 0x20]) + data[i + 1:]
