"""Up-front checks of strategy options, and the composite helper that names a strategy's repr.

Hypothesis' house style: options are keyword-only and validated when the strategy is built
(not when it is first drawn from), and every message names the bad value.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from enum import StrEnum
from typing import Any, TypeVar

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from conformance.errors import did_you_mean
from conformance.rules import GENERATIONS

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)

MAX_UINT256 = (1 << 256) - 1


def composite_named(name: str) -> Callable[[Callable[..., T]], Callable[..., SearchStrategy[T]]]:
    """``st.composite`` whose strategies repr as ``name(options…)`` (only non-default options).

    The public function validates its options, then calls the composite built here, so the
    repr reads like the public call (``user_operations(paymaster=True)``).
    """

    def decorate(draw_function: Callable[..., T]) -> Callable[..., SearchStrategy[T]]:
        draw_function.__name__ = name
        draw_function.__qualname__ = name
        return st.composite(draw_function)

    return decorate


def _fail(name: str, value: object, expected: str) -> InvalidArgument:
    return InvalidArgument(f"{name}={value!r}: {expected}")


def check_strategy(name: str, value: object) -> None:
    """``value`` is None (use the default) or a hypothesis strategy."""
    if value is not None and not isinstance(value, SearchStrategy):
        raise _fail(name, value, "expected a hypothesis strategy or None")


def check_bool(name: str, value: object, *, optional: bool = False) -> None:
    """``value`` is a bool (or None when ``optional``: None means either)."""
    if value is None and optional:
        return
    if not isinstance(value, bool):
        raise _fail(name, value, "expected True or False" + (" or None" if optional else ""))


def check_int(name: str, value: object, low: int, high: int) -> int:
    """``value`` is an int (not a bool) with ``low <= value <= high``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(name, value, f"expected an int in [{low}, {high}]")
    if not low <= value <= high:
        raise _fail(name, value, f"must be in [{low}, {high}]")
    return value


def check_chain_id(value: object) -> int:
    """A chain id: a positive int that fits in uint256."""
    return check_int("chain_id", value, 1, MAX_UINT256)


def check_address(name: str, value: object) -> bytes:
    """A 20-byte address given as ``bytes``."""
    if not isinstance(value, bytes) or len(value) != 20:
        raise _fail(name, value, "expected 20 bytes")
    return value


def check_generation(value: object) -> str:
    """One of the protocol generations of PROTOCOL.md §0 (``GENERATIONS``)."""
    if not isinstance(value, str) or value not in GENERATIONS:
        hint = did_you_mean(value, GENERATIONS) if isinstance(value, str) else ""
        raise _fail("generation", value, f"expected one of {', '.join(GENERATIONS)}{hint}")
    return value


def check_choice(name: str, value: object, choices: Collection[str]) -> str:
    """``value`` is one of the strings ``choices``."""
    if not isinstance(value, str) or value not in choices:
        hint = did_you_mean(value, choices) if isinstance(value, str) else ""
        raise _fail(name, value, f"expected one of {', '.join(sorted(choices))}{hint}")
    return value


def check_kinds(name: str, value: object, enum: type[E], available: Collection[E]) -> tuple[E, ...]:
    """None (every available kind) or a non-empty collection of ``enum`` members or values.

    A kind that exists but is not available under the other options (e.g. OPERATOR_NOT_ENABLED
    under ``multi-attestor`` with the operator gate on) is refused, naming the options.
    """
    if value is None:
        return tuple(available)
    if isinstance(value, str | bytes) or not isinstance(value, Collection) or not value:
        raise _fail(name, value, f"expected None or a non-empty collection of {enum.__name__}")
    kinds: list[E] = []
    for item in value:
        kinds.append(_enum_member(name, item, enum))
    for kind in kinds:
        if kind not in available:
            raise _fail(name, kind.value, "not available with these options")
    return tuple(dict.fromkeys(kinds))


def _enum_member(name: str, item: Any, enum: type[E]) -> E:
    try:
        return enum(item)
    except ValueError:
        values = [member.value for member in enum]
        hint = did_you_mean(item, values) if isinstance(item, str) else ""
        raise _fail(name, item, f"not a {enum.__name__}{hint}") from None
