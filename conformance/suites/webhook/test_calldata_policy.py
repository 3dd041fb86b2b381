"""callData policy (PROTOCOL.md §5 steps 4–7, §0 allowlists, §1 selectors): WH-023…WH-032.

Each case has exactly one thing wrong (or nothing), from a fresh factory member, so the
answer names the step under test. Malformed callData comes from the suite's strategies
(``malformed_execute_calldata``, labelled by flaw); allowlisted inner calls from
``inner_calls``/``method_calls`` with ABI-encoded arguments.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.oracle.webhook import PolicyConfig
from conformance.protocol import selectors
from conformance.protocol.calldata import encode_execute
from conformance.strategies.calldata import method_calls
from conformance.strategies.labels import CalldataFlaw
from conformance.strategies.malformed_calldata import malformed_execute_calldata
from conformance.suites.webhook import cases
from conformance.suites.webhook.harness import Harness

OUTER_FLAWS = (CalldataFlaw.WRONG_OUTER_SELECTOR, CalldataFlaw.EXECUTE_BATCH,
               CalldataFlaw.EXECUTE_FOUR_ARGS, CalldataFlaw.NO_SELECTOR)


def _send(wh: Harness, observe: Observer, rule: str, call: bytes | str, *,
          target_webhook: object = None, policy: PolicyConfig | None = None,
          message: str = "wrong answer for this callData") -> None:
    wh.need_chain()
    wh.need_token()
    wh.confirm_baseline(rule)
    observe.case()
    sender = wh.add_sender("member")
    record, answer = wh.alchemy(cases.alchemy(sender, call, wh.chain_hex()), target=target_webhook)
    wh.judge(rule, record, answer, wh.expect_alchemy(record, policy=policy), message)


def _targets(wh: Harness) -> st.SearchStrategy[bytes]:
    return st.just(wh.actors.cluster)


@rules("WH-023")
@given(data=st.data())
def test_not_execute_is_outer_selector_not_execute(wh: Harness, observe: Observer,
                                                   data: st.DataObject) -> None:
    """Other selectors, executeBatch, the 4-argument execute and < 4 bytes → denied at step 4."""
    case = data.draw(malformed_execute_calldata(generation=wh.generation, targets=_targets(wh),
                                                kinds=OUTER_FLAWS))
    _send(wh, observe, "WH-023", case.value)


@rules("WH-023")
def test_listed_outer_look_alikes(wh: Harness, observe: Observer) -> None:
    """``0x``, one byte, the bare selector, look-alikes and the execute selector's neighbours."""
    inner = cases.DEFAULT_INNER
    body = encode_execute(wh.actors.cluster, 0, inner)[4:]
    outer = selectors.EXECUTE.selector
    neighbour = outer[:3] + bytes([outer[3] + 1])
    batch = selectors.selector("executeBatch((address,uint256,bytes)[])")
    four_args = selectors.selector("execute(address,uint256,bytes,uint8)")
    for call in (b"", outer[:1], outer[:3], batch + body, four_args + body, neighbour + body,
                 bytes(4) + body):
        _send(wh, observe, "WH-023", call)


@rules("WH-024")
@given(value=st.integers(min_value=1, max_value=2**256 - 1))
@example(value=1)
@example(value=2**256 - 1)
def test_nonzero_value_is_denied(wh: Harness, observe: Observer, value: int) -> None:
    """execute with any non-zero value → value-nonzero."""
    _send(wh, observe, "WH-024", encode_execute(wh.actors.cluster, value, cases.DEFAULT_INNER))


@rules("WH-025")
@given(data=st.data())
def test_core_and_dstack_selectors_pass(wh: Harness, observe: Observer,
                                        data: st.DataObject) -> None:
    """Every CORE and DSTACK inner call, with drawn arguments, is approved."""
    method = data.draw(st.sampled_from([*selectors.CORE, *selectors.DSTACK]))
    _send(wh, observe, "WH-025", cases.execute(wh.actors.cluster, data.draw(method_calls(method))))


@rules("WH-025")
def test_each_core_and_dstack_selector(wh: Harness, observe: Observer) -> None:
    """Each of the 17 selectors once, with zero arguments words."""
    for method in (*selectors.CORE, *selectors.DSTACK):
        _send(wh, observe, "WH-025", cases.execute(wh.actors.cluster,
                                                    method.selector + bytes(64)))


@rules("WH-026")
@given(key=st.binary(min_size=32, max_size=32))
def test_publish_ed25519_key_passes(wh: Harness, observe: Observer, key: bytes) -> None:
    """Under pimlico publishEd25519Key (0xcedc29c2) is approved."""
    _send(wh, observe, "WH-026", cases.execute(wh.actors.cluster,
                                                selectors.PIMLICO_EXTRA[0].selector + key))


def _operator_calls(wh: Harness) -> list[bytes]:
    return [cases.execute(wh.actors.cluster, m.selector + bytes(96)) for m in selectors.OPERATOR]


@rules("WH-027")
def test_operator_selectors_follow_the_gate(wh: Harness, observe: Observer) -> None:
    """OPERATOR selectors pass only when SPONSOR_OPERATOR_METHOD is exactly ``true``."""
    wh.need_chain()
    gate = wh.settings.operator_method
    for call in _operator_calls(wh):
        _send(wh, observe, "WH-027", call, message=f"operator gate {str(gate).lower()}")
    for value in ("true", "TRUE") if not gate else ("false", "True"):
        policy = PolicyConfig.for_generation(wh.generation, wh.profile.chain_id,
                                             operator_enabled=value == "true",
                                             daily_cap=wh.settings.daily_cap)
        with wh.variant({"SPONSOR_OPERATOR_METHOD": value}) as webhook:
            for call in _operator_calls(wh):
                _send(wh, observe, "WH-027", call, target_webhook=webhook, policy=policy,
                      message=f"SPONSOR_OPERATOR_METHOD={value!r}")


def _gated(wh: Harness) -> frozenset[bytes]:
    """Selectors WH-028 leaves to another rule: under multi-attestor the OPERATOR ones, whose
    answer follows SPONSOR_OPERATOR_METHOD (WH-027). Under pimlico and base no setting ever
    allows them, so they are just outside the allowlist (PROTOCOL.md §0)."""
    if wh.generation != "multi-attestor":
        return frozenset()
    return frozenset(m.selector for m in selectors.OPERATOR)


def _forbidden(wh: Harness) -> list[bytes]:
    allowed = wh.policy.allowlist | _gated(wh)
    found = [m.selector for m in selectors.NEVER_SPONSORABLE] + list(selectors.HISTORIC_WRONG)
    found += [m.selector for m in (*selectors.PIMLICO_EXTRA, *selectors.OPERATOR)]
    return [s for s in dict.fromkeys(found) if s not in allowed]


@rules("WH-028")
def test_never_sponsorable_and_historic_selectors(wh: Harness, observe: Observer) -> None:
    """Never-sponsorable selectors, execute itself, the historic 0xe143887b and 0x3f330b63,
    publishEd25519Key outside pimlico and the OPERATOR selectors outside multi-attestor →
    inner-selector-not-allowed."""
    for sel in _forbidden(wh):
        _send(wh, observe, "WH-028", cases.execute(wh.actors.cluster, sel + bytes(64)))


@rules("WH-028")
@given(sel=st.binary(min_size=4, max_size=4), tail=st.binary(max_size=68))
@example(sel=selectors.OPERATOR[0].selector, tail=bytes(64))
@example(sel=selectors.OPERATOR[1].selector, tail=bytes(64))
@example(sel=selectors.OPERATOR[2].selector, tail=bytes(64))
def test_unknown_selectors_are_denied(wh: Harness, observe: Observer, sel: bytes,
                                      tail: bytes) -> None:
    """Any selector outside the allowlist → denied at step 6 (OPERATOR ones included, except
    under multi-attestor: WH-027)."""
    if sel in wh.policy.allowlist or sel in _gated(wh):
        return
    _send(wh, observe, "WH-028", cases.execute(wh.actors.cluster, sel + tail))


@rules("WH-029")
@given(data=st.data(), style=st.sampled_from(["upper", "mixed"]))
def test_upper_case_hex_reads_the_same(wh: Harness, observe: Observer, data: st.DataObject,
                                       style: str) -> None:
    """callData spelled in upper-case (or mixed-case) hex digits is read as the same bytes."""
    method = data.draw(st.sampled_from([m for m in (*selectors.CORE, *selectors.DSTACK)]))
    raw = cases.execute(wh.actors.cluster, data.draw(method_calls(method))).hex()
    if style == "upper":
        digits = raw.upper()
    else:
        digits = "".join(c.upper() if i % 2 else c for i, c in enumerate(raw))
    _send(wh, observe, "WH-029", "0x" + digits)


@rules("WH-030")
@given(inner=st.binary(max_size=3))
@example(inner=b"")
def test_short_inner_data_is_never_allowed(wh: Harness, observe: Observer, inner: bytes) -> None:
    """Inner data of 0–3 bytes has the empty selector ``0x``: denied at step 6."""
    _send(wh, observe, "WH-030", cases.execute(wh.actors.cluster, inner))


@rules("WH-031")
@given(data=st.data())
def test_target_not_a_deployed_cluster(wh: Harness, observe: Observer,
                                       data: st.DataObject) -> None:
    """A target no configured factory reports as deployed → target-not-our-cluster."""
    a = wh.actors
    fixed = [a.cluster_factory, a.member_factory, a.hostile_cluster, a.factory_member]
    if wh.profile.cluster_factory_v2 is None:
        fixed.append(a.cluster_v2)
    target = data.draw(st.one_of(st.sampled_from(fixed), st.binary(min_size=20, max_size=20)))
    if target in wh.scenario().clusters or target in wh.scenario().clusters_v2:
        return
    _send(wh, observe, "WH-031", cases.execute(target))


@rules("WH-032")
@given(inner=st.binary(min_size=32, max_size=32))
def test_v2_cluster_passes(wh: Harness, observe: Observer, inner: bytes) -> None:
    """With a v2 cluster factory configured, a cluster only it deployed passes step 7."""
    import pytest

    if wh.profile.cluster_factory_v2 is None:
        pytest.skip(f"profile {wh.profile.name} configures no v2 cluster factory")
    wh.need_chain()
    target = wh.add_cluster(v2=True)
    _send(wh, observe, "WH-032", cases.execute(target, selectors.CORE[0].selector + inner))
