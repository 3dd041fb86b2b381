"""Values for any ABI type string, for encoding inner calls with eth-abi (PROTOCOL.md §1, §3).

Sizes are kept small (dynamic bytes ≤ 64, arrays ≤ 2 items) so a whole ``execute`` callData
stays under ~1.5 KiB: the malformed-calldata labels rely on that bound (see OFFSET_BACKWARD).
"""

from __future__ import annotations

import functools
from typing import Any

from eth_abi.grammar import ABIType, BasicType, TupleType, parse
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

MAX_DYNAMIC_BYTES = 64
MAX_ARRAY_ITEMS = 2

_TEXT = st.text(st.characters(codec="utf-8"), max_size=16)


@functools.cache
def abi_values(type_str: str) -> SearchStrategy[Any]:
    """Values eth-abi can encode as ``type_str`` (canonical type strings only)."""
    return _values(parse(type_str))


def _values(abi_type: ABIType) -> SearchStrategy[Any]:
    if abi_type.arrlist:
        item = _values(abi_type.item_type)
        dims = abi_type.arrlist[-1]
        size = dims[0] if dims else None
        low, high = (size, size) if size is not None else (0, MAX_ARRAY_ITEMS)
        return st.lists(item, min_size=low, max_size=high)
    if isinstance(abi_type, TupleType):
        return st.tuples(*(_values(c) for c in abi_type.components))
    assert isinstance(abi_type, BasicType)
    return _basic(abi_type.base, abi_type.sub)


def _basic(base: str, sub: Any) -> SearchStrategy[Any]:
    if base == "address":
        return st.binary(min_size=20, max_size=20)
    if base == "bool":
        return st.booleans()
    if base == "string":
        return _TEXT
    if base == "bytes":
        if sub is None:
            return st.binary(max_size=MAX_DYNAMIC_BYTES)
        return st.binary(min_size=sub, max_size=sub)
    if base == "uint":
        return st.integers(0, (1 << sub) - 1)
    if base == "int":
        return st.integers(-(1 << (sub - 1)), (1 << (sub - 1)) - 1)
    raise ValueError(f"type={base}{sub or ''}: no value strategy")
