"""Valid callData: allowlisted inner calls and canonical ``execute`` calls (PROTOCOL.md §1, §3).

Every operation a node sends is ``execute(ownCluster, 0, inner)`` with an inner selector on
the profile generation's allowlist (PROTOCOL.md §0, policy step 6).
"""

from __future__ import annotations

import functools

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from conformance.protocol.calldata import ExecuteCall, argument_types, encode_call
from conformance.protocol.selectors import (
    CORE,
    DSTACK,
    OPERATOR,
    PIMLICO_EXTRA,
    Method,
    allowlist,
)
from conformance.strategies._abi import abi_values
from conformance.strategies._validation import (
    check_bool,
    check_generation,
    check_strategy,
    composite_named,
)
from conformance.strategies.keys import addresses

DEFAULT_GENERATION = "base"


@functools.cache
def allowed_methods(generation: str, operator_enabled: bool) -> tuple[Method, ...]:
    """The named methods whose selectors ``generation``'s webhook sponsors (§0, step 6)."""
    allowed = allowlist(generation, operator_enabled=operator_enabled)
    return tuple(m for m in (*CORE, *DSTACK, *OPERATOR, *PIMLICO_EXTRA) if m.selector in allowed)


@composite_named("method_calls")
def method_calls(draw: st.DrawFn, method: Method) -> bytes:
    """``selector ‖ abi.encode(args)`` of ``method`` with drawn arguments (eth-abi)."""
    types = argument_types(method.signature)
    args = [draw(abi_values(t)) for t in types]
    return encode_call(method.signature, args)


@functools.cache
def _method_choices(generation: str, operator_enabled: bool) -> SearchStrategy[Method]:
    """The allowlisted methods, sampled (built once per option set: speed only)."""
    return st.sampled_from(allowed_methods(generation, operator_enabled))


@functools.cache
def _calls_of(method: Method) -> SearchStrategy[bytes]:
    """``method_calls(method)``, built once per method."""
    return method_calls(method)


def inner_calls(
    *, generation: str = DEFAULT_GENERATION, operator_enabled: bool = False
) -> SearchStrategy[bytes]:
    """Inner calldata on ``generation``'s allowlist, ABI-encoded with drawn arguments.

    ``generation`` is a PROTOCOL.md §0 generation (pimlico, multi-attestor, base);
    ``operator_enabled`` is the multi-attestor ``SPONSOR_OPERATOR_METHOD`` gate (ignored by
    the other generations, as the webhook ignores it).
    """
    check_generation(generation)
    check_bool("operator_enabled", operator_enabled)
    return _cached_inner_calls(generation, operator_enabled)


@composite_named("inner_calls")
def _inner_calls(
    draw: st.DrawFn, *, generation: str = DEFAULT_GENERATION, operator_enabled: bool = False
) -> bytes:
    method = draw(_method_choices(generation, operator_enabled))
    return draw(_calls_of(method))


def execute_calls(
    *,
    generation: str = DEFAULT_GENERATION,
    operator_enabled: bool = False,
    targets: SearchStrategy[bytes] | None = None,
) -> SearchStrategy[ExecuteCall]:
    """``execute(target, 0, inner)`` with an allowlisted inner call (PROTOCOL.md §3, §7).

    ``targets`` draws the cluster addresses (default: ``addresses()``).
    """
    check_generation(generation)
    check_bool("operator_enabled", operator_enabled)
    check_strategy("targets", targets)
    return _cached_execute_calls(generation, operator_enabled, targets)


@composite_named("execute_calls")
def _execute_calls(
    draw: st.DrawFn,
    *,
    generation: str = DEFAULT_GENERATION,
    operator_enabled: bool = False,
    targets: SearchStrategy[bytes] | None = None,
) -> ExecuteCall:
    target = draw(targets if targets is not None else addresses())
    inner = draw(_cached_inner_calls(generation, operator_enabled))
    return ExecuteCall(target, 0, inner)


def execute_calldata(
    *,
    generation: str = DEFAULT_GENERATION,
    operator_enabled: bool = False,
    targets: SearchStrategy[bytes] | None = None,
) -> SearchStrategy[bytes]:
    """Canonical callData of ``execute_calls(...)``: what a conforming sidecar sends (UO-017)."""
    check_generation(generation)
    check_bool("operator_enabled", operator_enabled)
    check_strategy("targets", targets)
    return _cached_execute_calldata(generation, operator_enabled, targets)


@composite_named("execute_calldata")
def _execute_calldata(
    draw: st.DrawFn,
    *,
    generation: str = DEFAULT_GENERATION,
    operator_enabled: bool = False,
    targets: SearchStrategy[bytes] | None = None,
) -> bytes:
    call = draw(_cached_execute_calls(generation, operator_enabled, targets))
    return call.encode()


# Strategy objects built once per option set and reused: drawing from a freshly built strategy
# makes hypothesis validate and analyse it again on every draw (speed only, same values).
_CACHE_SIZE = 256


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _cached_inner_calls(generation: str, operator_enabled: bool) -> SearchStrategy[bytes]:
    return _inner_calls(generation=generation, operator_enabled=operator_enabled)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _cached_execute_calls(
    generation: str, operator_enabled: bool, targets: SearchStrategy[bytes] | None
) -> SearchStrategy[ExecuteCall]:
    return _execute_calls(generation=generation, operator_enabled=operator_enabled, targets=targets)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _cached_execute_calldata(
    generation: str, operator_enabled: bool, targets: SearchStrategy[bytes] | None
) -> SearchStrategy[bytes]:
    return _execute_calldata(
        generation=generation, operator_enabled=operator_enabled, targets=targets
    )
